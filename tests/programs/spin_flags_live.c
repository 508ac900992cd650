/* A thread spins until main sets a flag after a sleep, counting passes in
 * a register, in a loop where the status flags are live across its only
 * long instruction (the load of the flag): `jc` reads the carry of the
 * counter's add. A replay's trampoline there must not touch the flags.
 * argv[1]: "rcx" or "rsi", the register that counts. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int flag;
static unsigned long passes;
static int in_rcx;

/* add to the counter; load the flag (the long instruction); jc reads the
 * add's carry; leave when the flag is set. */
#define SPIN(reg, constraint)                                   \
    __asm__ volatile("1: add $1, %%" reg "\n"                  \
                     "   movl %[flag], %%edx\n"                 \
                     "   jc 2f\n"                               \
                     "   test %%edx, %%edx\n"                   \
                     "   jz 1b\n"                               \
                     "2:\n"                                     \
                     : "+" constraint(n)                        \
                     : [flag] "m"(flag)                         \
                     : "rdx", "cc", "memory")

static void *spinner(void *arg) {
    (void)arg;
    unsigned long n = 0;
    if (in_rcx)
        SPIN("rcx", "c");
    else
        SPIN("rsi", "S");
    passes = n;
    return NULL;
}

int main(int argc, char **argv) {
    in_rcx = argc > 1 && strcmp(argv[1], "rcx") == 0;
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    usleep(20 * 1000);
    flag = 1;
    pthread_join(t, NULL);
    printf("counted in %s: %lu passes\n", in_rcx ? "rcx" : "rsi", passes);
    return 0;
}
