// Threads exit (pthread_exit, and a plain return) while one thread is blocked in read() on a pipe and another in FUTEX_WAIT; main then wakes both.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fds[2];
static int futex_word;  // 0: wait, 1: go
static char got[32];

static void *reader(void *arg) {
    (void)arg;
    ssize_t n = read(fds[0], got, sizeof got - 1);
    if (n > 0) got[n] = 0;
    return (void *)n;
}

static void *futex_waiter(void *arg) {
    (void)arg;
    while (__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) == 0)
        syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void *exiter(void *arg) {
    long code = (long)arg;
    if (code & 1) pthread_exit((void *)(code * 3));
    return (void *)(code * 5);
}

int main(void) {
    if (pipe(fds) != 0) {
        perror("pipe");
        return 1;
    }
    pthread_t r, f, e[4];
    pthread_create(&r, NULL, reader, NULL);
    pthread_create(&f, NULL, futex_waiter, NULL);
    usleep(3000);  // lets both block first; correctness does not depend on it
    for (long i = 0; i < 4; i++) pthread_create(&e[i], NULL, exiter, (void *)(i + 1));
    long total = 0;
    for (int i = 0; i < 4; i++) {
        void *v;
        pthread_join(e[i], &v);
        total += (long)v;
    }
    printf("exiters returned total %ld\n", total);
    printf("reader still blocked %d, futex word %d\n", got[0] == 0, futex_word);

    // Wake the futex waiter first, then the reader.
    __atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
    long woken = syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(f, NULL);
    printf("futex waiter done, wake returned <= 1: %d\n", woken <= 1);  // whether it had slept varies
    const char *msg = "pipe data";
    ssize_t w = write(fds[1], msg, strlen(msg));
    void *rv;
    pthread_join(r, &rv);
    printf("wrote %zd, reader got %ld: '%s'\n", w, (long)rv, got);
    return 0;
}
