// Many clock reads (the vDSO path), checked for monotonicity.
#include <stdio.h>
#include <time.h>

int main(void) {
    struct timespec prev = {0, 0}, now;
    int backwards = 0;
    long long spin = 0;
    for (int i = 0; i < 2000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec < prev.tv_sec || (now.tv_sec == prev.tv_sec && now.tv_nsec < prev.tv_nsec)) backwards++;
        prev = now;
        for (int j = 0; j < 1000; j++) spin += j ^ i;
    }
    printf("2000 reads, backwards %d, last %ld.%09ld spin %lld\n", backwards, (long)now.tv_sec, now.tv_nsec, spin);
    return 0;
}
