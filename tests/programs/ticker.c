// Prints a numbered line every 50 ms, up to the count in argv[1] (default
// forever): a long-running program to stop while it is being recorded.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : -1;
    struct timespec pause = {0, 50 * 1000 * 1000};
    for (long i = 0; count < 0 || i < count; i++) {
        printf("line %ld\n", i);
        fflush(stdout);
        nanosleep(&pause, NULL);
    }
    return 0;
}
