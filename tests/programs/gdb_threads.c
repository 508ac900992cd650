/* Threads for debugger tests: three workers print their ids, then all
 * meet in checkpoint() while every thread is alive. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_barrier_t started;
static pthread_barrier_t finish;

__attribute__((noinline)) void checkpoint(void) {
    __asm__ volatile("" ::: "memory");
}

static void *worker(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "worker");
    printf("thread %d\n", gettid());
    fflush(stdout);
    pthread_barrier_wait(&started);
    pthread_barrier_wait(&finish);
    return NULL;
}

int main(void) {
    pthread_t threads[3];
    pthread_barrier_init(&started, NULL, 4);
    pthread_barrier_init(&finish, NULL, 4);
    pthread_setname_np(pthread_self(), "coordinator");
    printf("thread %d\n", gettid());
    fflush(stdout);
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, worker, NULL);
    pthread_barrier_wait(&started);
    checkpoint();
    pthread_barrier_wait(&finish);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    return 0;
}
