/* Masks: a blocked signal stays pending (rt_sigpending), sigtimedwait
 * takes it, sigsuspend waits for one, pthread_sigmask in a thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int handled;

static void on_usr(int signo) { handled = signo; }

static void *blocker(void *arg) {
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigset_t mine;
    pthread_sigmask(SIG_SETMASK, NULL, &mine);
    printf("thread blocks SIGUSR2: %d\n", sigismember(&mine, SIGUSR2));
    return NULL;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    sigset_t block, old, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR1);
    sigpending(&pending);
    printf("pending while blocked: %d, handled: %d\n", sigismember(&pending, SIGUSR1), handled);

    siginfo_t info;
    struct timespec wait = {1, 0};
    int got = sigtimedwait(&block, &info, &wait);
    printf("sigtimedwait took %d (si_code %d), handled: %d\n", got, info.si_code, handled);

    struct timespec short_wait = {0, 20 * 1000 * 1000};
    got = sigtimedwait(&block, &info, &short_wait);
    printf("sigtimedwait with nothing pending: %d\n", got);

    raise(SIGUSR1);
    sigset_t none;
    sigemptyset(&none);
    sigsuspend(&none);
    printf("sigsuspend returned after the handler: %d\n", handled == SIGUSR1);
    sigprocmask(SIG_SETMASK, &old, NULL);

    pthread_t t;
    pthread_create(&t, NULL, blocker, NULL);
    pthread_join(t, NULL);
    return 0;
}
