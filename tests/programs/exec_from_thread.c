// A non-main thread of a multithreaded process calls execve(/bin/echo); the other threads vanish.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int started;

static void *sleeper(void *arg) {
    (void)arg;
    atomic_fetch_add(&started, 1);
    for (;;) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void *looper(void *arg) {
    (void)arg;
    atomic_fetch_add(&started, 1);
    volatile unsigned long n = 0;
    for (;;) n++;
    return NULL;
}

static void *execer(void *arg) {
    (void)arg;
    while (atomic_load(&started) < 2) sched_yield();
    printf("exec from a non-main thread (is main: %d), %d other threads running\n", gettid() == getpid(),
           atomic_load(&started));
    fflush(stdout);
    char *argv[] = {"echo", "echo", "replaced", "the", "whole", "process", NULL};
    char *envp[] = {"PATH=/bin:/usr/bin", NULL};
    execve("/bin/echo", argv, envp);
    perror("execve");
    _exit(1);
}

int main(void) {
    pthread_t s, l, e;
    pthread_create(&s, NULL, sleeper, NULL);
    pthread_create(&l, NULL, looper, NULL);
    pthread_create(&e, NULL, execer, NULL);
    pthread_join(s, NULL);  // never returns: execve ends this process image
    printf("not reached\n");
    return 2;
}
