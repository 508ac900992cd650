/* Calls the preloaded syscall-buffering library's hook directly, as a
 * patched syscall site will: a pipe read, file writes and reads, lseek and
 * getters go through the thread's buffer. Without the library (-n) it says
 * so and makes the calls itself. Prints what every call returned and read,
 * so replay must give the same. argv[1]: a scratch file; argv[2], if
 * given: "threads" runs the rounds in two threads at once (each with its
 * own buffer, the slot switching between them; argv[3] rounds each and
 * after, 300 and 200 by default), "fork" in a forked child too (which inherits its parent's
 * buffer). */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct call {
    long nr;
    uint64_t args[6];
    long result;
};

static bool (*hook)(struct call *);
static _Thread_local int buffered;

static long call6(long nr, uint64_t a0, uint64_t a1, uint64_t a2) {
    struct call c = {nr, {a0, a1, a2, 0, 0, 0}, 0};
    if (hook && hook(&c)) {
        buffered++;
        return c.result;
    }
    return syscall(nr, a0, a1, a2);
}

/* Rounds of a message through a pipe and into a file; returns the bytes
 * written to the file, or a negative step that failed. */
static long rounds(int file, int count) {
    int fds[2];
    if (pipe(fds))
        return -1;
    long total = 0;
    for (int round = 0; round < count; round++) {
        char message[64], got[64] = {0};
        int len = snprintf(message, sizeof message, "round %04d tid %010ld", round,
                           call6(SYS_gettid, 0, 0, 0));
        if (call6(SYS_write, fds[1], (uint64_t)message, len) != len)
            return -2;
        long n = call6(SYS_read, fds[0], (uint64_t)got, sizeof got - 1);
        if (n != len || memcmp(got, message, len))
            return -3;
        total += call6(SYS_write, file, (uint64_t)got, n);
    }
    close(fds[0]);
    close(fds[1]);
    return total;
}

struct worker {
    int file;
    int rounds;
    long total;
    int buffered;
};

static void *work(void *arg) {
    struct worker *w = arg;
    w->total = rounds(w->file, w->rounds);
    w->buffered = buffered;
    return NULL;
}

int main(int argc, char **argv) {
    hook = (bool (*)(struct call *))dlsym(RTLD_DEFAULT, "rewind_syscall_hook");
    printf("hook %s\n", hook ? "found" : "absent");
    fflush(stdout);
    char default_path[64];
    snprintf(default_path, sizeof default_path, "/tmp/rewind-syscallbuf-%d", getpid());
    const char *path = argc > 1 ? argv[1] : default_path;
    const char *mode = argc > 2 ? argv[2] : "";
    int file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (file < 0)
        return 1;
    int worker_rounds = argc > 3 ? atoi(argv[3]) : 300;
    if (!strcmp(mode, "threads")) {
        struct worker workers[2] = {{file, worker_rounds, 0, 0}, {file, worker_rounds, 0, 0}};
        pthread_t threads[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&threads[i], NULL, work, &workers[i]);
        for (int i = 0; i < 2; i++) {
            pthread_join(threads[i], NULL);
            printf("thread %d wrote %ld, buffered %s\n", i, workers[i].total,
                   workers[i].buffered ? "some" : "none");
        }
    } else if (!strcmp(mode, "fork")) {
        long before = rounds(file, 50);
        pid_t child = fork();
        if (child == 0) {
            long total = rounds(file, 100);
            printf("child wrote %ld, buffered %s\n", total, buffered > 50 ? "more" : "none");
            fflush(stdout);
            _exit(0);
        }
        long after = rounds(file, 100);
        int status;
        waitpid(child, &status, 0);
        printf("parent wrote %ld then %ld, child status %d\n", before, after, status);
    }
    long total = rounds(file, argc > 3 ? worker_rounds : 200);
    long end = call6(SYS_lseek, file, 0, SEEK_CUR);
    call6(SYS_lseek, file, 6, SEEK_SET);
    char back[32] = {0};
    long n = call6(SYS_read, file, (uint64_t)back, 12);
    long bad = call6(SYS_read, 999, (uint64_t)back, 1);
    unlink(path);
    printf("wrote %ld, at %ld, read back %ld '%s', bad fd %ld, buffered %s\n", total, end, n,
           back, bad, buffered ? "some" : "none");
    return 0;
}
