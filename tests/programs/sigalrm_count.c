/* A SIGALRM handler records how far a loop of pure computation got each
 * time the timer fires: the signals land in the middle of user code, and
 * replay must deliver each at the same iteration. The loop counter lives
 * in memory (volatile), so every pass has the same registers. */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

#define TICKS 5

static volatile unsigned long counter;
static volatile int ticks;
static unsigned long seen[TICKS];

static void on_alarm(int signo) {
    (void)signo;
    if (ticks < TICKS)
        seen[ticks] = counter;
    ticks++;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &every, NULL);
    while (ticks < TICKS)
        counter++;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < TICKS; i++)
        printf("tick %d at iteration %lu\n", i, seen[i]);
    return 0;
}
