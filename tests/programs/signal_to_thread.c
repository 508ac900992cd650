/* Main sends SIGUSR1 with tgkill to a worker thread that computes without
 * syscalls; the worker's handler records the iteration it interrupted. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile unsigned long iterations;
static volatile int worker_tid;
static volatile int hits;
static unsigned long at[3];
static volatile int handler_tid;

static void on_usr1(int signo) {
    (void)signo;
    if (hits < 3)
        at[hits] = iterations;
    handler_tid = gettid();
    hits++;
}

static void *worker(void *arg) {
    (void)arg;
    worker_tid = gettid();
    while (hits < 3)
        iterations++;
    return NULL;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (!worker_tid || iterations < 1000)
        usleep(1000);
    for (int i = 0; i < 3; i++) {
        int before = hits;
        syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1);
        while (hits == before)
            usleep(1000);
    }
    pthread_join(t, NULL);
    for (int i = 0; i < 3; i++)
        printf("signal %d at iteration %lu\n", i, at[i]);
    printf("handled by the worker: %d\n", handler_tid == worker_tid);
    return 0;
}
