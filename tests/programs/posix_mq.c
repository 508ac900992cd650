// POSIX message queues: mq_open/mq_send/mq_receive (priority order)/mq_getattr/mq_timedreceive timeout/mq_notify/mq_unlink.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    char name[32];
    snprintf(name, sizeof name, "/rewind-mq-%d", getpid());
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 64};
    mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (q == (mqd_t)-1) { printf("mq_open: %s\n", strerrorname_np(errno)); return 1; }
    const char *msgs[] = {"low", "high", "mid"};
    unsigned prios[] = {1, 9, 5};
    for (int i = 0; i < 3; i++)
        if (mq_send(q, msgs[i], strlen(msgs[i]) + 1, prios[i]) != 0) { perror("mq_send"); return 1; }
    struct mq_attr got;
    if (mq_getattr(q, &got) != 0) { perror("mq_getattr"); return 1; }
    printf("maxmsg=%ld msgsize=%ld curmsgs=%ld\n", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs);
    char buf[64];
    unsigned prio;
    for (int i = 0; i < 2; i++) {
        ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
        printf("received %zd prio=%u: %s\n", n, prio, n > 0 ? buf : "");
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    ssize_t n = mq_timedreceive(q, buf, sizeof buf, &prio, &ts);
    printf("timedreceive %zd prio=%u: %s\n", n, prio, n > 0 ? buf : "");
    n = mq_timedreceive(q, buf, sizeof buf, &prio, &ts);  // empty now: times out
    printf("timedreceive on empty: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    n = mq_receive(q, buf, 8, &prio);
    printf("receive with small buffer: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    printf("mq_notify(NULL): %d\n", mq_notify(q, NULL));
    struct mq_attr nb = {.mq_flags = O_NONBLOCK}, old;
    mq_setattr(q, &nb, &old);
    n = mq_receive(q, buf, sizeof buf, &prio);
    printf("nonblocking receive: %zd %s (old flags %ld)\n", n, n < 0 ? strerrorname_np(errno) : "", old.mq_flags);
    mq_close(q);
    if (mq_unlink(name) != 0) { perror("mq_unlink"); return 1; }
    int r = mq_unlink(name);
    printf("second unlink: %d %s\n", r, strerrorname_np(errno));
    return 0;
}
