// Two threads race on an unlocked volatile counter, 10 million increments each; lost updates are expected.
#include <pthread.h>
#include <stdio.h>

#define ITERS 10000000

static volatile long counter;

static void *worker(void *arg) {
    (void)arg;
    for (long i = 0; i < ITERS; i++) counter = counter + 1;
    return NULL;
}

int main(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, worker, NULL);
    pthread_create(&b, NULL, worker, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    long final = counter;
    printf("final counter %ld of %d, lost %ld updates\n", final, 2 * ITERS, 2L * ITERS - final);
    return 0;
}
