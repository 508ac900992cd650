// A daemon (fork, setsid, fork) that outlives the recorded process: the original exits at once, the daemon writes a line after ~300 ms.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    // argv[1]: a file the daemon appends to; without it the daemon writes to stdout.
    const char *out = argc > 1 ? argv[1] : NULL;
    printf("parent: starting the daemon\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        if (setsid() < 0) _exit(2);
        pid_t d = fork();
        if (d < 0) _exit(3);
        if (d > 0) _exit(0);  // the session leader goes; the daemon is reparented
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
        const char *msg = "daemon: woke up and wrote this line\n";
        int fd = out ? open(out, O_WRONLY | O_CREAT | O_APPEND, 0644) : 1;
        if (fd < 0) _exit(4);
        if (write(fd, msg, strlen(msg)) < 0) _exit(5);
        if (out) close(fd);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);  // only the intermediate child; it exits at once
    printf("parent: intermediate child exited %d, leaving now\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
