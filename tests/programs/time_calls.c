// Clocks through the vDSO and syscalls, and sleeps.
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

int main(void) {
    struct timespec ts;
    clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_PROCESS_CPUTIME_ID,
                          CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE};
    for (unsigned i = 0; i < sizeof clocks / sizeof *clocks; i++) {
        clock_gettime(clocks[i], &ts);
        printf("clock %d: %ld.%09ld\n", (int)clocks[i], (long)ts.tv_sec, ts.tv_nsec);
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("gettimeofday %ld.%06ld time %ld\n", (long)tv.tv_sec, (long)tv.tv_usec, (long)time(NULL));
    clock_getres(CLOCK_MONOTONIC, &ts);
    printf("resolution %ld ns\n", ts.tv_nsec);
    struct timespec nap = {0, 2000000}, rem;
    printf("nanosleep=%d\n", nanosleep(&nap, &rem));
    printf("clock_nanosleep=%d\n", clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, NULL));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("after sleeping: %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
    return 0;
}
