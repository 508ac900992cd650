/* SIGALRM while the program copies memory (memcpy of large blocks, which
 * glibc does with rep movsb where the CPU is fast at it) and makes no
 * syscall: the handler records how many copies were done. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define BLOCK (8 << 20)

static volatile unsigned long copies;
static volatile int hits;
static unsigned long at[3];

static void on_alarm(int signo) {
    (void)signo;
    if (hits < 3)
        at[hits] = copies;
    hits++;
}

int main(void) {
    char *from = malloc(BLOCK), *to = malloc(BLOCK);
    memset(from, 7, BLOCK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = {{0, 30000}, {0, 30000}};
    setitimer(ITIMER_REAL, &every, NULL);
    while (hits < 3) {
        memcpy(to, from, BLOCK);
        copies++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < 3; i++)
        printf("signal %d after %lu copies\n", i, at[i]);
    printf("checksum %d\n", to[BLOCK - 1]);
    return 0;
}
