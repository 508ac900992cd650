// Built -static: no dynamic loader; time, randomness and output.
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

int main(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned int r = 0;
    getrandom(&r, sizeof r, 0);
    printf("static: time %ld.%09ld random %08x\n", (long)ts.tv_sec, ts.tv_nsec, r);
    return 0;
}
