// Calls a syscall rewind cannot record: ptrace.
#include <stdio.h>
#include <sys/ptrace.h>

int main(void) {
    printf("before\n");
    fflush(stdout);
    long got = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    printf("ptrace=%ld\n", got);
    return 0;
}
