/* A thread blocked in read() on a pipe is cancelled. Compiled with
 * -fexceptions, its cleanup-attributed variable is cleaned up by the
 * forced unwind that cancellation runs from the blocked syscall: through
 * a patched site's stub, the unwind must reach the thread's frames. The
 * first reads let the recorder patch the read site; the last one blocks
 * in the patched site. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int fds[2];
static volatile int cleaned;

static void clean(int *unused) {
    (void)unused;
    cleaned = 1;
}

static void *reader(void *arg) {
    (void)arg;
    int guard __attribute__((cleanup(clean))) = 0;
    char c;
    for (int i = 0; i < 3; i++)
        if (read(fds[0], &c, 1) != 1)
            return NULL;
    read(fds[0], &c, 1);
    return (void *)(long)guard;
}

int main(void) {
    if (pipe(fds))
        return 1;
    pthread_t thread;
    pthread_create(&thread, NULL, reader, NULL);
    write(fds[1], "abc", 3);
    usleep(100 * 1000);
    pthread_cancel(thread);
    void *result;
    pthread_join(thread, &result);
    printf("cancelled %d, cleaned up %d\n", result == PTHREAD_CANCELED, cleaned);
    return 0;
}
