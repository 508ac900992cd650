// A thread spins on an atomic flag with no syscalls in the loop until main sets it after a sleep.
// Optional argv[1]: milliseconds main sleeps before setting the flag (default 20).
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_int flag;
static atomic_int spinning;
static unsigned long iterations;

static void *spinner(void *arg) {
    (void)arg;
    unsigned long n = 0;
    atomic_store(&spinning, 1);
    while (!atomic_load(&flag)) n++;
    iterations = n;
    return NULL;
}

int main(int argc, char **argv) {
    long ms = argc > 1 ? atol(argv[1]) : 20;
    if (ms < 0) ms = 0;
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    usleep(ms * 1000);
    atomic_store(&flag, 1);
    pthread_join(t, NULL);
    printf("slept %ld ms, spinner started %d, spun %lu iterations\n", ms, atomic_load(&spinning), iterations);
    return 0;
}
