// Readers and writers sharing a pthread_rwlock-protected table.
#include <pthread.h>
#include <stdio.h>

#define READERS 3
#define WRITERS 2
#define WRITES 2000
#define READS 5000
#define SLOTS 8

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long table[SLOTS];
static long torn_reads;
static long reads_done[READERS];

static void *writer(void *arg) {
    (void)arg;
    for (int i = 0; i < WRITES; i++) {
        pthread_rwlock_wrlock(&rw);
        for (int s = 0; s < SLOTS; s++) table[s]++;
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void *reader(void *arg) {
    long id = (long)arg;
    long torn = 0;
    for (int i = 0; i < READS; i++) {
        pthread_rwlock_rdlock(&rw);
        for (int s = 1; s < SLOTS; s++)
            if (table[s] != table[0]) torn++;
        reads_done[id]++;
        pthread_rwlock_unlock(&rw);
    }
    __atomic_fetch_add(&torn_reads, torn, __ATOMIC_RELAXED);
    return NULL;
}

int main(void) {
    pthread_t w[WRITERS], r[READERS];
    for (long i = 0; i < READERS; i++) pthread_create(&r[i], NULL, reader, (void *)i);
    for (long i = 0; i < WRITERS; i++) pthread_create(&w[i], NULL, writer, (void *)i);
    for (int i = 0; i < WRITERS; i++) pthread_join(w[i], NULL);
    for (int i = 0; i < READERS; i++) pthread_join(r[i], NULL);
    long total_reads = 0;
    for (int i = 0; i < READERS; i++) total_reads += reads_done[i];
    printf("slot0 %ld slot7 %ld (expected %d)\n", table[0], table[SLOTS - 1], WRITERS * WRITES);
    printf("total reads %ld torn reads %ld\n", total_reads, torn_reads);
    return table[0] == WRITERS * WRITES && torn_reads == 0 ? 0 : 1;
}
