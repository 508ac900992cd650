// Four threads increment a shared counter under a contended pthread mutex.
#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define ITERS 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long done_by[THREADS];

static void *worker(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        done_by[id]++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    printf("final count %ld (expected %d)\n", counter, THREADS * ITERS);
    for (int i = 0; i < THREADS; i++) printf("thread %d iterations %ld\n", i, done_by[i]);
    return counter == THREADS * ITERS ? 0 : 1;
}
