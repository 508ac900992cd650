/* Prints its pid and blocks in read on a pipe; a SIGUSR1 sent from
 * outside (by the test) interrupts the read (no SA_RESTART). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int got;

static void on_usr1(int signo) {
    (void)signo;
    got = 1;
}

int main(void) {
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    printf("ready %d\n", getpid());
    fflush(stdout);
    char c;
    ssize_t n = read(fds[0], &c, 1);
    printf("read %zd, EINTR %d, handler ran %d\n", n, n < 0 && errno == EINTR, got);
    return 0;
}
