// fork + execve with pipes: a child runs /bin/cat as a filter, another runs /bin/echo; parent collects output with waitpid.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static ssize_t read_all(int fd, char *buf, size_t cap) {
    size_t len = 0;
    ssize_t n;
    while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0) len += n;
    buf[len] = 0;
    return len;
}

static void report(const char *what, pid_t pid, const char *out, ssize_t len) {
    int status = 0;
    pid_t w = waitpid(pid, &status, 0);
    printf("%s: waited right child %d, %zd bytes: [%s]\n", what, w == pid, len, out);
    if (WIFEXITED(status)) printf("%s: exited with %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) printf("%s: killed by signal %d\n", what, WTERMSIG(status));
}

int main(void) {
    char buf[256];
    fflush(stdout);

    // Child 1: /bin/cat with both stdin and stdout on pipes.
    int to_child[2], from_child[2];
    pipe2(to_child, O_CLOEXEC);
    pipe2(from_child, O_CLOEXEC);
    pid_t cat = fork();
    if (cat == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        char *argv[] = {"cat", NULL};
        char *envp[] = {"PATH=/bin:/usr/bin", NULL};
        execve("/bin/cat", argv, envp);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    const char *text = "line one\nline two\n";
    ssize_t w = write(to_child[1], text, strlen(text));
    close(to_child[1]);
    ssize_t n = read_all(from_child[0], buf, sizeof buf);
    close(from_child[0]);
    printf("wrote %zd bytes to cat\n", w);
    report("cat", cat, buf, n);

    // Child 2: /bin/echo with arguments, stdout on a pipe.
    int echo_out[2];
    pipe2(echo_out, O_CLOEXEC);
    pid_t echo = fork();
    if (echo == 0) {
        dup2(echo_out[1], 1);
        char *argv[] = {"echo", "hello", "from", "echo", NULL};
        execv("/bin/echo", argv);
        _exit(127);
    }
    close(echo_out[1]);
    n = read_all(echo_out[0], buf, sizeof buf);
    close(echo_out[0]);
    report("echo", echo, buf, n);

    // Child 3: exec of a missing program fails; the child reports it through its exit status.
    pid_t missing = fork();
    if (missing == 0) {
        char *argv[] = {"nope", NULL};
        execv("/nonexistent/program", argv);
        _exit(errno == ENOENT ? 101 : 100);
    }
    report("missing", missing, "", 0);
    return 0;
}
