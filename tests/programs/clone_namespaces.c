// clone and clone3 that create namespaces (UTS, PID, network): the child
// sees its own hostname and pid 1; the replay runs the clones without the
// namespaces, so it needs no privilege, and must still match.
#define _GNU_SOURCE
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(const char *name) {
    struct utsname u;
    int set = sethostname(name, strlen(name));
    uname(&u);
    printf("  child: sethostname %d, nodename %s, pid %d\n", set, set == 0 ? u.nodename : "-", (int)getpid());
    fflush(stdout);
    _exit(4);
}

static void report(const char *what, long pid) {
    if (pid < 0) {
        printf("%s: refused (%s)\n", what, pid == -1 ? "no privilege" : "error");
        return;
    }
    int status = 0;
    waitpid((pid_t)pid, &status, 0);
    printf("%s: child exited %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fflush(stdout);
}

int main(void) {
    struct utsname before, after;
    uname(&before);
    fflush(stdout);
    long pid = syscall(SYS_clone, CLONE_NEWUTS | CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) child("clone-uts");
    report("clone", pid);
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUTS | CLONE_NEWNET;
    args.exit_signal = SIGCHLD;
    pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) child("clone3-uts");
    report("clone3", pid);
    uname(&after);
    printf("parent's hostname unchanged: %d\n", strcmp(before.nodename, after.nodename) == 0);
    return 0;
}
