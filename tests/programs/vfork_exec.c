// vfork + execve of /bin/true and /bin/false, and a vfork child that _exits directly; parent prints statuses.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, pid_t pid) {
    int status = 0;
    pid_t w = waitpid(pid, &status, 0);
    printf("%s: vfork ok %d waited right child %d exited %d status %d\n", what, pid > 0, w == pid,
           WIFEXITED(status), WEXITSTATUS(status));
}

int main(void) {
    char *envp[] = {"PATH=/bin:/usr/bin", NULL};
    fflush(stdout);

    pid_t pid = vfork();
    if (pid == 0) {
        char *argv[] = {"true", NULL};
        execve("/bin/true", argv, envp);
        _exit(127);
    }
    show("/bin/true", pid);

    pid = vfork();
    if (pid == 0) {
        char *argv[] = {"false", NULL};
        execve("/bin/false", argv, envp);
        _exit(127);
    }
    show("/bin/false", pid);

    // The vfork child shares memory with the suspended parent until it exits.
    static volatile int written_by_child;
    pid = vfork();
    if (pid == 0) {
        written_by_child = 1234;
        _exit(5);
    }
    show("direct _exit", pid);
    printf("value written by vfork child visible in parent: %d\n", written_by_child);
    return 0;
}
