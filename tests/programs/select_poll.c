// select, pselect6, ppoll on pipes.
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <sys/select.h>
#include <unistd.h>

int main(void) {
    int p[2], q[2];
    pipe(p);
    pipe(q);
    write(p[1], "x", 1);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    FD_SET(q[0], &r);
    struct timeval tv = {0, 50000};
    int n = select(q[0] + 1, &r, NULL, NULL, &tv);
    printf("select=%d p=%d q=%d\n", n, FD_ISSET(p[0], &r), FD_ISSET(q[0], &r));
    FD_ZERO(&r);
    FD_SET(q[0], &r);
    struct timespec ts = {0, 20000000};
    n = pselect(q[0] + 1, &r, NULL, NULL, &ts, NULL);
    printf("pselect timeout=%d\n", n);
    struct pollfd fds[2] = {{.fd = p[0], .events = POLLIN}, {.fd = q[1], .events = POLLOUT}};
    n = ppoll(fds, 2, &ts, NULL);
    printf("ppoll=%d %d %d\n", n, fds[0].revents, fds[1].revents);
    return 0;
}
