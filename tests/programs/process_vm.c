// process_vm_readv/process_vm_writev on a forked child (same addresses after fork) and on the process itself.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char secret[32] = "child-original";
static char inbox[32] = "inbox-empty";

int main(void) {
    int go[2], ready[2];
    if (pipe(go) != 0 || pipe(ready) != 0) { perror("pipe"); return 1; }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        strcpy(secret, "child-changed");  // only the child's copy
        char c = 'r';
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1) _exit(2);
        printf("child sees inbox=%s\n", inbox);
        fflush(stdout);
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) return 1;

    char part1[6] = {0}, part2[32] = {0};
    struct iovec local[2] = {{part1, 5}, {part2, sizeof part2 - 1}};
    struct iovec remote[1] = {{secret, 20}};
    ssize_t n = process_vm_readv(pid, local, 2, remote, 1, 0);
    printf("readv child = %zd (%s) part1=%s part2=%s\n", n, n < 0 ? strerrorname_np(errno) : "ok", part1,
           part2);

    char msg[] = "written-by-parent";
    struct iovec lw[1] = {{msg, sizeof msg}};
    struct iovec rw[2] = {{inbox, 8}, {inbox + 8, sizeof msg - 8}};
    n = process_vm_writev(pid, lw, 1, rw, 2, 0);
    printf("writev child = %zd (%s); parent's inbox still %s\n", n, n < 0 ? strerrorname_np(errno) : "ok",
           inbox);
    fflush(stdout);
    if (write(go[1], "g", 1) != 1) return 1;
    int status;
    if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); return 1; }
    printf("child exit=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    char self[16] = {0};
    struct iovec ls[1] = {{self, 14}}, rs[1] = {{secret, 14}};
    n = process_vm_readv(getpid(), ls, 1, rs, 1, 0);
    printf("readv self = %zd: %s\n", n, self);
    struct iovec bad[1] = {{(void *)16, 8}};
    n = process_vm_readv(getpid(), ls, 1, bad, 1, 0);
    printf("readv bad address = %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    return 0;
}
