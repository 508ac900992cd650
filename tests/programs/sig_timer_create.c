/* timer_create with SIGEV_SIGNAL: a real-time signal carrying a value
 * fires while the program computes; the handler records the progress and
 * the value. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile unsigned long progress;
static volatile int hits;
static unsigned long at[3];
static int value_ok = 1;

static void on_timer(int signo, siginfo_t *info, void *ctx) {
    (void)signo;
    (void)ctx;
    if (hits < 3)
        at[hits] = progress;
    if (info->si_value.sival_int != 77 || info->si_code != SI_TIMER)
        value_ok = 0;
    hits++;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    ev.sigev_value.sival_int = 77;
    timer_t timer;
    timer_create(CLOCK_MONOTONIC, &ev, &timer);
    struct itimerspec every = {{0, 15000000}, {0, 15000000}};
    timer_settime(timer, 0, &every, NULL);
    while (hits < 3)
        progress++;
    timer_delete(timer);
    for (int i = 0; i < 3; i++)
        printf("timer %d at %lu\n", i, at[i]);
    printf("value and code as sent: %d\n", value_ok);
    return 0;
}
