// A pthread barrier shared by four threads over several phases; reports the serial thread per phase.
#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define PHASES 6

static pthread_barrier_t barrier;
static int serial_of[PHASES];
static int arrived[PHASES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
    int id = (int)(long)arg;
    for (int p = 0; p < PHASES; p++) {
        pthread_mutex_lock(&lock);
        arrived[p]++;
        pthread_mutex_unlock(&lock);
        int r = pthread_barrier_wait(&barrier);
        if (r == PTHREAD_BARRIER_SERIAL_THREAD) serial_of[p] = id;
        else if (r != 0) printf("barrier error %d\n", r);
    }
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int p = 0; p < PHASES; p++) printf("phase %d arrived %d serial thread %d\n", p, arrived[p], serial_of[p]);
    pthread_barrier_destroy(&barrier);
    return 0;
}
