/* Real-time signals queued with values (pthread_sigqueue) from another
 * thread while the main thread computes: each handler run must see its own
 * value, also when several arrive at once. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SENT 6

static volatile int received;
static int values[SENT];
static int codes_ok = 1;
static pthread_t main_thread;
static volatile unsigned long progress;

static void on_rt(int signo, siginfo_t *info, void *ctx) {
    (void)signo;
    (void)ctx;
    if (received < SENT)
        values[received] = info->si_value.sival_int;
    if (info->si_code != SI_QUEUE)
        codes_ok = 0;
    received++;
}

static void *sender(void *arg) {
    (void)arg;
    while (progress < 1000)
        usleep(1000);
    for (int i = 0; i < SENT; i++) {
        union sigval value = {.sival_int = 100 + i};
        pthread_sigqueue(main_thread, SIGRTMIN, value);
        if (i % 2 == 1)
            usleep(2000);
    }
    return NULL;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN, &sa, NULL);
    main_thread = pthread_self();
    pthread_t t;
    pthread_create(&t, NULL, sender, NULL);
    while (received < SENT)
        progress++;
    pthread_join(t, NULL);
    printf("values:");
    for (int i = 0; i < SENT; i++)
        printf(" %d", values[i]);
    printf("\nsi_code SI_QUEUE each time: %d\n", codes_ok);
    return 0;
}
