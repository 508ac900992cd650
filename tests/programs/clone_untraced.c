// Raw fork-like clone(CLONE_UNTRACED | SIGCHLD): the child writes a line and exits 7; the parent waits for it.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    printf("parent before clone\n");
    fflush(stdout);
    long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, NULL, NULL, 0);
    if (pid < 0) { perror("clone"); return 1; }
    if (pid == 0) {
        char line[64];
        int n = snprintf(line, sizeof line, "child: getppid matches=%d\n", getppid() > 1);
        if (write(1, line, n) != n) _exit(1);
        _exit(7);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 1; }
    printf("parent: child exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    long pid2 = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, NULL, NULL, 0);
    if (pid2 == 0) {
        for (volatile int i = 0; i < 1000000; i++) {}
        _exit(0);
    }
    if (waitpid(pid2, &st, 0) != pid2) { perror("waitpid"); return 1; }
    printf("parent: second child exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    return 0;
}
