/* Makes many cheap syscalls (argv[1] of them, default 100000), so that its
 * trace spans several chunks: from its own syscall instruction, which
 * rewind leaves traced (libc's getppid would go through the syscall
 * buffer and leave no events). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long raw_getppid(void) {
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
    return result;
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 100000;
    long sum = 0;
    for (long i = 0; i < count; i++)
        sum += raw_getppid() > 0;
    printf("%ld calls\n", sum);
    return 0;
}
