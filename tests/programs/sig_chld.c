/* A SIGCHLD handler counts children that exit while the parent waits in
 * sigsuspend; then the children are reaped. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int exited;

static void on_chld(int signo) {
    (void)signo;
    exited++;
}

int main(void) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    for (int i = 0; i < 3; i++) {
        if (fork() == 0)
            _exit(i);
    }
    int reaped = 0, sum = 0;
    while (reaped < 3) {
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            reaped++;
            sum += WEXITSTATUS(status);
        }
        if (reaped < 3)
            sigsuspend(&old);
    }
    /* A SIGCHLD still pending (children that ended before the first
     * wait) is delivered here. */
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("reaped %d children, statuses sum %d, handler ran %d\n", reaped, sum, exited > 0);
    return 0;
}
