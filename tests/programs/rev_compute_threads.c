/* A long computation without syscalls in a second thread while the first
 * waits for it in pthread_join: stepping back out of it counts the loop's
 * passes in that thread only. */
#include <pthread.h>
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void after(void) { sink++; }

__attribute__((noinline)) static void compute(long n) {
    for (long i = 0; i < n; i++)
        sink += i;
}

static void *worker(void *arg) {
    (void)arg;
    sink = getppid() & 0;
    compute(3000000);
    after();
    return NULL;
}

int main(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0)
        return 1;
    pthread_join(thread, NULL);
    return 0;
}
