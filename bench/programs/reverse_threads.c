/* The threaded recording `cargo xtask bench reverse` moves back through:
 * a worker thread blocked in a pipe read all along (so every copy of the
 * replay copies two threads, one of them waiting at a syscall), and a
 * main thread doing rounds of about 1 ms of computation and 10 syscalls;
 * hit_100ms is called 100 rounds before the end, finish at the end. */
#include <pthread.h>
#include <unistd.h>

#define ROUNDS 1000

volatile long sink;
static int fds[2];

__attribute__((noinline)) void hit_100ms(void) { sink++; }
__attribute__((noinline)) void finish(void) { sink++; }

static void *worker(void *arg) {
    char c;
    (void)arg;
    while (read(fds[0], &c, 1) > 0) {
    }
    return NULL;
}

int main(void) {
    if (pipe(fds) != 0)
        return 1;
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    for (int round = 0; round < ROUNDS; round++) {
        if (round == ROUNDS - 100)
            hit_100ms();
        for (int call = 0; call < 10; call++)
            sink += getppid();
        for (long i = 0; i < 3300000; i++)
            sink += i;
    }
    close(fds[1]);
    pthread_join(thread, NULL);
    finish();
    return 0;
}
