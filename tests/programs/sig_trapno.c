/* SIGALRM interrupts a computing loop; the handler keeps the trap number
 * and error code the kernel wrote into its signal frame. They come from
 * the last trap the thread took, which in a recording is the recorder's
 * own (its breakpoint at the delivery point): the replay must leave the
 * same there. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

static volatile int hits;
static long long trapno[3], err[3];

static void on_alarm(int signo, siginfo_t *info, void *context) {
    (void)signo;
    (void)info;
    ucontext_t *uc = context;
    if (hits < 3) {
        trapno[hits] = uc->uc_mcontext.gregs[REG_TRAPNO];
        err[hits] = uc->uc_mcontext.gregs[REG_ERR];
    }
    hits++;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &every, NULL);
    unsigned long spins = 0;
    while (hits < 3)
        spins++;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < 3; i++)
        printf("signal %d: trapno %lld err %lld\n", i, trapno[i], err[i]);
    printf("spun %s\n", spins > 0 ? "yes" : "no");
    return 0;
}
