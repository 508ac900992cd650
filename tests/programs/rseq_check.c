// rseq must fail with ENOSYS under rewind (so libc does not use it).
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long r = syscall(SYS_rseq, NULL, 0, 0, 0);
    printf("rseq=%ld errno=%s\n", r, errno == ENOSYS ? "ENOSYS" : "other");
    return 0;
}
