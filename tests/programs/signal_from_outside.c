/* Prints its pid, then computes until a SIGUSR1 sent from outside (by the
 * test) arrives; the handler records the iteration it interrupted. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile unsigned long iterations;
static volatile unsigned long at;
static volatile int hit;

static void on_usr1(int signo) {
    (void)signo;
    at = iterations;
    hit = 1;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    printf("ready %d\n", getpid());
    fflush(stdout);
    while (!hit)
        iterations++;
    printf("signal at iteration %lu\n", at);
    return 0;
}
