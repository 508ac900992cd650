// Group stops (argv[1] stop|tstp|raise picks one): SIGSTOP/SIGCONT to a child with 8 busy or blocked threads, raise(SIGSTOP) continued by the parent, SIGTSTP (default action) to a threaded child.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8

static int quit_pipe[2];
static volatile int stop_flag;

static void *worker(void *arg) {
    long id = (long)arg;
    if (id % 3 == 0) {  // computes until told to stop
        volatile long n = 0;
        while (!stop_flag) n++;
    } else if (id % 3 == 1) {  // sleeps in short naps
        struct timespec ts = {0, 2 * 1000 * 1000};
        while (!stop_flag) nanosleep(&ts, NULL);
    } else {  // blocked in read until the pipe closes
        char c;
        while (read(quit_pipe[0], &c, 1) > 0) {
        }
    }
    return NULL;
}

// The child: starts the threads, says ready, then waits for "quit" on fd `cmd`.
static void threaded_child(int ready, int cmd) {
    if (pipe(quit_pipe) != 0) _exit(10);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    if (write(ready, "r", 1) != 1) _exit(11);
    char c;
    if (read(cmd, &c, 1) != 1) _exit(12);
    stop_flag = 1;
    close(quit_pipe[1]);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    _exit(7);
}

static void run(int sig) {
    int ready[2], cmd[2];
    if (pipe(ready) || pipe(cmd)) exit(1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) threaded_child(ready[1], cmd[0]);
    char c;
    if (read(ready[0], &c, 1) != 1) exit(2);
    kill(pid, sig);
    int status = 0;
    pid_t w = waitpid(pid, &status, WUNTRACED);
    printf("%s: waited %d stopped %d by %s\n", sig == SIGSTOP ? "SIGSTOP" : "SIGTSTP", w == pid, WIFSTOPPED(status),
           WIFSTOPPED(status) ? (WSTOPSIG(status) == sig ? "that signal" : "another signal") : "-");
    kill(pid, SIGCONT);
    w = waitpid(pid, &status, WCONTINUED);
    printf("  continued %d\n", w == pid && WIFCONTINUED(status));
    if (write(cmd[1], "q", 1) != 1) exit(3);
    waitpid(pid, &status, 0);
    printf("  child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    close(ready[0]);
    close(ready[1]);
    close(cmd[0]);
    close(cmd[1]);
}

int main(int argc, char **argv) {
    // argv[1] picks one part: "stop", "tstp" or "raise"; without it all three run.
    const char *only = argc > 1 ? argv[1] : "";
    if (!*only || !strcmp(only, "stop")) run(SIGSTOP);
    if (!*only || !strcmp(only, "tstp")) run(SIGTSTP);
    if (*only && strcmp(only, "raise")) return 0;

    // A child that stops itself; the parent continues it.
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        raise(SIGSTOP);
        printf("  self-stopped child resumed\n");
        fflush(stdout);
        _exit(3);
    }
    int status = 0;
    waitpid(pid, &status, WUNTRACED);
    printf("raise(SIGSTOP): stopped %d sig %d\n", WIFSTOPPED(status), WIFSTOPPED(status) ? WSTOPSIG(status) : 0);
    fflush(stdout);
    kill(pid, SIGCONT);
    waitpid(pid, &status, 0);
    printf("  child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
