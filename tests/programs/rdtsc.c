// rdtsc and rdtscp straight from user code.
#include <stdint.h>
#include <stdio.h>

static uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t rdtscp(uint32_t *aux) {
    uint32_t lo, hi;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
    return ((uint64_t)hi << 32) | lo;
}

int main(void) {
    uint64_t first = rdtsc();
    uint64_t sum = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t t = rdtsc();
        sum += t;
        printf("rdtsc %d: %llu\n", i, (unsigned long long)t);
    }
    uint32_t aux;
    uint64_t p = rdtscp(&aux);
    printf("rdtscp %llu aux=%u\n", (unsigned long long)p, aux);
    printf("elapsed %llu sum %llu\n", (unsigned long long)(p - first), (unsigned long long)sum);
    return 0;
}
