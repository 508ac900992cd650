/* A blocking read interrupted by SIGALRM: EINTR without SA_RESTART; with
 * SA_RESTART the read goes on and gets the data a thread writes later. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int fds[2];
static volatile int alarms;

static void on_alarm(int signo) {
    (void)signo;
    alarms++;
}

static void *late_writer(void *arg) {
    (void)arg;
    usleep(60 * 1000);
    if (write(fds[1], "x", 1) != 1)
        return NULL;
    return NULL;
}

int main(void) {
    if (pipe(fds) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval once = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &once, NULL);
    char c;
    ssize_t n = read(fds[0], &c, 1);
    printf("without SA_RESTART: read %zd, EINTR %d, alarms %d\n", n, n < 0 && errno == EINTR, alarms);

    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, late_writer, NULL);
    setitimer(ITIMER_REAL, &once, NULL);
    n = read(fds[0], &c, 1);
    printf("with SA_RESTART: read %zd '%c', alarms %d\n", n, n == 1 ? c : '?', alarms);
    pthread_join(t, NULL);
    return 0;
}
