// Huge sparse mappings (a 1 TiB PROT_NONE reservation partly made writable, a 4 GiB NORESERVE area touched at 3 pages) while one thread computes ~100 ms and another sleeps.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define TIB (1UL << 40)
#define GIB (1UL << 30)

static volatile int phase;
static long computed;

static void *computer(void *arg) {
    unsigned char *p = arg;
    long s = 0;
    // ~100 ms of computing without syscalls, so the recorder must preempt it.
    for (long i = 0; i < 100000000; i++) s += (i * 7) ^ p[(i & 3) * PAGE];
    computed = s != 0;
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    struct timespec ts = {0, 30 * 1000 * 1000};
    for (int i = 0; i < 3; i++) nanosleep(&ts, NULL);
    return NULL;
}

int main(int argc, char **argv) {
    int with_threads = argc < 2;  // any argument: no threads
    unsigned char *res = mmap(NULL, TIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED) {
        perror("mmap 1 TiB");
        return 1;
    }
    // Commit a few pages scattered through the reservation.
    unsigned long offs[4] = {0, 5 * GIB, 300 * GIB + 7 * PAGE, TIB - 4 * PAGE};
    for (int i = 0; i < 4; i++) {
        if (mprotect(res + offs[i], 4 * PAGE, PROT_READ | PROT_WRITE) != 0) {
            perror("mprotect");
            return 1;
        }
        for (int j = 0; j < 4; j++) res[offs[i] + j * PAGE + 1] = (unsigned char)(i * 10 + j);
    }
    unsigned char *big = mmap(NULL, 4 * GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (big == MAP_FAILED) {
        perror("mmap 4 GiB");
        return 1;
    }
    big[0] = 1;
    big[2 * GIB + 123] = 2;
    big[4 * GIB - 1] = 3;

    if (with_threads) {
        pthread_t c, s;
        pthread_create(&c, NULL, computer, res + offs[2]);
        pthread_create(&s, NULL, sleeper, NULL);
        // Main also changes the sparse memory while the others run.
        for (int i = 0; i < 50; i++) {
            big[(unsigned long)i * 64 * 1024 * 1024] += (unsigned char)i;
            res[offs[3] + (i % 4) * PAGE] += 1;
            usleep(1000);
        }
        pthread_join(c, NULL);
        pthread_join(s, NULL);
        printf("threads done, computed %ld\n", computed);
    }
    unsigned long sum = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) sum = sum * 31 + res[offs[i] + j * PAGE + 1] + res[offs[i] + j * PAGE];
    printf("reservation pages sum %lu\n", sum);
    printf("big: %d %d %d, untouched %d\n", big[0], big[2 * GIB + 123], big[4 * GIB - 1], big[3 * GIB + 5]);
    if (munmap(big, 4 * GIB) != 0 || munmap(res, TIB) != 0) {
        perror("munmap");
        return 1;
    }
    printf("unmapped\n");
    return 0;
}
