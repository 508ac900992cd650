// Three sources of nondeterminism at once: rdtsc, clock_gettime, getrandom.
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

int main(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t r = 0;
    getrandom(&r, sizeof r, 0);
    printf("tsc %llu clock %ld.%09ld random %016llx\n", ((unsigned long long)hi << 32) | lo, (long)ts.tv_sec,
           ts.tv_nsec, (unsigned long long)r);
    return 0;
}
