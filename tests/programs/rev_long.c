/* A long history for interrupting a move back: first() once at the start,
 * then argv[1] rounds (default 40000) of a little computation and a
 * syscall each, so that the replay keeps copies all along. The syscall
 * is the program's own instruction, which rewind leaves traced (libc's
 * getppid would go through the syscall buffer and leave no events). */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long raw_getppid(void) {
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
    return result;
}

volatile long sink;

__attribute__((noinline)) void first(void) { sink++; }

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 40000;
    first();
    for (long round = 0; round < rounds; round++) {
        for (int i = 0; i < 2000; i++)
            sink += i;
        sink += raw_getppid();
    }
    return 0;
}
