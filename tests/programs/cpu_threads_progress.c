// Four CPU-bound threads (no syscalls in the hot loop) while main polls their progress every 10 ms.
// Optional argv[1]: work multiplier (default 1).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 4
#define BASE_ITERS 40000000ULL
#define CHUNK 65536

static unsigned long progress[THREADS];  // iterations done, updated with relaxed atomics
static int finished[THREADS];
static uint64_t results[THREADS];
static unsigned long long total_iters;

static void *worker(void *arg) {
    long id = (long)arg;
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)id;
    for (unsigned long long i = 0; i < total_iters; i++) {
        h ^= i & 0xff;
        h *= 1099511628211ULL;
        h ^= h >> 29;
        if ((i & (CHUNK - 1)) == 0) __atomic_store_n(&progress[id], i, __ATOMIC_RELAXED);
    }
    results[id] = h;
    __atomic_store_n(&progress[id], total_iters, __ATOMIC_RELAXED);
    __atomic_store_n(&finished[id], 1, __ATOMIC_RELEASE);
    return NULL;
}

int main(int argc, char **argv) {
    long mult = argc > 1 ? atol(argv[1]) : 1;
    if (mult < 1) mult = 1;
    total_iters = BASE_ITERS * (unsigned long long)mult;
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    int polls = 0;
    for (;;) {
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
        int done = 0;
        printf("poll %d:", ++polls);
        for (int i = 0; i < THREADS; i++) {
            unsigned long p = __atomic_load_n(&progress[i], __ATOMIC_RELAXED);
            done += __atomic_load_n(&finished[i], __ATOMIC_ACQUIRE);
            printf(" %3lu%%", (unsigned long)(p * 100 / total_iters));
        }
        printf("\n");
        if (done == THREADS) break;
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) printf("thread %d hash %016llx\n", i, (unsigned long long)results[i]);
    printf("multiplier %ld, %d polls\n", mult, polls);
    return 0;
}
