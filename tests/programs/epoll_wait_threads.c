// Threads blocked in epoll_pwait2 (raw syscall) and epoll_pwait with a sigmask while main computes, then woken by eventfd/pipe writes; one is interrupted by a signal its temporary mask lets in.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

static int efd, pipe_a[2], pipe_b[2];
static volatile sig_atomic_t handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static int epoll_on(int fd) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)fd + 1000};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        perror("epoll");
        exit(1);
    }
    return ep;
}

static void *waiter_pwait2(void *arg) {
    (void)arg;
    int ep = epoll_on(efd);
    struct epoll_event ev;
    long n = syscall(SYS_epoll_pwait2, ep, &ev, 1, NULL, NULL, 8);
    if (n < 0 && errno == ENOSYS) return (void *)-2L;  // kernel older than 5.11
    uint64_t v = 0;
    if (n == 1 && read(efd, &v, sizeof v) != sizeof v) return (void *)-3L;
    close(ep);
    return (void *)(n == 1 ? (long)(ev.data.u64 - 1000 == (uint64_t)efd) * 100 + (long)v : -1L);
}

static void *waiter_pwait(void *arg) {
    (void)arg;
    int ep = epoll_on(pipe_a[0]);
    sigset_t mask;
    sigfillset(&mask);  // nothing gets in while waiting
    struct epoll_event ev;
    int n = epoll_pwait(ep, &ev, 1, -1, &mask);
    char buf[16] = {0};
    if (n == 1 && read(pipe_a[0], buf, sizeof buf - 1) <= 0) return (void *)-3L;
    close(ep);
    return (void *)(long)(n == 1 ? buf[0] : -1);
}

static void *waiter_interrupted(void *arg) {
    (void)arg;
    int ep = epoll_on(pipe_b[0]);  // nobody writes pipe_b
    sigset_t mask;
    sigemptyset(&mask);  // SIGUSR1, blocked in this thread's own mask, gets in only here
    struct epoll_event ev;
    int n = epoll_pwait(ep, &ev, 1, -1, &mask);
    long r = n < 0 && errno == EINTR ? 1 : 0;
    close(ep);
    return (void *)r;
}

int main(void) {
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, NULL);  // the threads inherit it
    efd = eventfd(0, 0);
    if (efd < 0 || pipe(pipe_a) || pipe(pipe_b)) {
        perror("setup");
        return 1;
    }
    pthread_t t[3];
    pthread_create(&t[0], NULL, waiter_pwait2, NULL);
    pthread_create(&t[1], NULL, waiter_pwait, NULL);
    pthread_create(&t[2], NULL, waiter_interrupted, NULL);

    volatile long counter = 0;
    for (long i = 0; i < 20000000; i++) counter += i & 1;
    uint64_t one = 5;
    if (write(efd, &one, sizeof one) != sizeof one || write(pipe_a[1], "P", 1) != 1) {
        perror("write");
        return 1;
    }
    for (long i = 0; i < 5000000; i++) counter += i & 1;
    pthread_kill(t[2], SIGUSR1);

    void *r[3];
    for (int i = 0; i < 3; i++) pthread_join(t[i], &r[i]);
    printf("counter %ld\n", (long)counter);
    printf("epoll_pwait2 waiter: %ld\n", (long)r[0]);
    printf("epoll_pwait waiter read '%c'\n", (int)(long)r[1]);
    printf("interrupted waiter: EINTR %ld, handler ran %d\n", (long)r[2], (int)handled);
    return 0;
}
