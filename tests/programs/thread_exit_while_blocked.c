// One thread is blocked in read() on a pipe while another thread calls pthread_exit; main then feeds the pipe.
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fds[2];
static volatile int reader_started;
static char got[64];
static ssize_t got_len = -2;

static void *reader(void *arg) {
    (void)arg;
    reader_started = 1;
    got_len = read(fds[0], got, sizeof got - 1);
    if (got_len > 0) got[got_len] = 0;
    return (void *)(long)got_len;
}

static void *exiter(void *arg) {
    long code = (long)arg;
    pthread_exit((void *)(code * 2));
    return NULL;  // not reached
}

int main(void) {
    pipe(fds);
    pthread_t r, e;
    pthread_create(&r, NULL, reader, NULL);
    usleep(5000);  // give the reader a chance to block (not needed for correctness)
    pthread_create(&e, NULL, exiter, (void *)21L);
    void *exit_value = NULL;
    pthread_join(e, &exit_value);
    printf("exiter returned %ld via pthread_exit\n", (long)exit_value);
    printf("reader still waiting: %d (started %d)\n", got_len == -2, reader_started);
    const char *msg = "wake up";
    ssize_t w = write(fds[1], msg, strlen(msg));
    void *reader_value = NULL;
    pthread_join(r, &reader_value);
    printf("wrote %zd, reader read %ld bytes: '%s'\n", w, (long)reader_value, got);
    close(fds[0]);
    close(fds[1]);
    return 0;
}
