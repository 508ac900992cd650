/* A parent signals its computing child, which reports the iteration it
 * was at and signals back. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile unsigned long iterations;
static volatile int got;

static void on_usr1(int signo) {
    (void)signo;
    got = 1;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        kill(parent, SIGUSR1);
        while (!got)
            iterations++;
        printf("child interrupted at iteration %lu\n", iterations);
        fflush(stdout);
        _exit(0);
    }
    sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    usleep(20000);
    kill(child, SIGUSR1);
    int status;
    waitpid(child, &status, 0);
    printf("parent: child exited %d\n", WEXITSTATUS(status));
    return 0;
}
