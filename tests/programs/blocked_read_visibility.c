// One thread blocks in read() into a buffer that another thread watches,
// spinning, after it has written the data into the pipe: when the watcher
// sees the bytes arrive must be the same in replay (the recorder lands a
// blocking syscall's writes only when it handles the syscall's end).
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fds[2];
static volatile char buffer[64];
static volatile int reader_done;

static void *reader(void *arg) {
    (void)arg;
    ssize_t n = read(fds[0], (char *)buffer, sizeof buffer);
    reader_done = (int)n;
    return NULL;
}

int main(void) {
    pipe(fds);
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    usleep(10000);
    write(fds[1], "payload", 7);
    unsigned long spins = 0;
    while (buffer[0] == 0) spins++;
    unsigned long after = 0;
    while (reader_done == 0) after++;
    pthread_join(t, NULL);
    printf("saw '%.7s' after %lu spins, then %lu more until read returned %d\n", (const char *)buffer, spins, after,
           reader_done);
    return 0;
}
