/* ITIMER_VIRTUAL and ITIMER_PROF fire while the program computes (they
 * count CPU time, so they only ever land in user code here); the handlers
 * record the loop's progress, kept in a register-held local that the
 * handler sees through a global updated every pass. */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile unsigned long progress;
static volatile int virtual_hits, prof_hits;
static unsigned long at_virtual[3], at_prof[3];

static void on_virtual(int signo) {
    (void)signo;
    if (virtual_hits < 3)
        at_virtual[virtual_hits] = progress;
    virtual_hits++;
}

static void on_prof(int signo) {
    (void)signo;
    if (prof_hits < 3)
        at_prof[prof_hits] = progress;
    prof_hits++;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_virtual;
    sigaction(SIGVTALRM, &sa, NULL);
    sa.sa_handler = on_prof;
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval every = {{0, 15000}, {0, 15000}};
    setitimer(ITIMER_VIRTUAL, &every, NULL);
    setitimer(ITIMER_PROF, &every, NULL);
    unsigned long h = 1469598103934665603UL;
    for (unsigned long i = 0; virtual_hits < 3 || prof_hits < 3; i++) {
        h = (h ^ i) * 1099511628211UL;
        progress = i;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_VIRTUAL, &off, NULL);
    setitimer(ITIMER_PROF, &off, NULL);
    for (int i = 0; i < 3; i++)
        printf("virtual %d at %lu, prof %d at %lu\n", i, at_virtual[i], i, at_prof[i]);
    printf("hash %lu\n", h);
    return 0;
}
