// A pipe to itself: pipe2, write, poll, read, FIONREAD.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
    int fds[2];
    pipe2(fds, O_CLOEXEC);
    const char *msg = "through the pipe";
    write(fds[1], msg, strlen(msg));
    int avail = 0;
    ioctl(fds[0], FIONREAD, &avail);
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    int ready = poll(&p, 1, 1000);
    char buf[64] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf);
    printf("available=%d ready=%d revents=%d read=%zd '%s'\n", avail, ready, p.revents, n, buf);
    close(fds[1]);
    printf("eof read=%zd\n", read(fds[0], buf, sizeof buf));
    return 0;
}
