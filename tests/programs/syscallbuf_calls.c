/* Calls the preloaded syscall-buffering library's hook directly, as a
 * patched syscall site will: file writes and reads (each after an fstat),
 * lseek and getters go through the thread's buffer; a pipe's write and
 * read, which may block, too where rewind counts the thread's context
 * switches, and the traced way otherwise. Without the library (-n) it says
 * so and makes the calls itself. Prints what every call returned and read,
 * so replay must give the same. argv[1]: a scratch file; argv[2], if
 * given: "threads" runs the rounds in two threads at once (each with its
 * own buffer, the slot switching between them; argv[3] rounds each and
 * after, 300 and 200 by default), "fork" in a forked child too (which inherits its parent's
 * buffer), "shared" writes to a file it maps shared (which must take the
 * traced way) and to another, "signals" takes SIGALRM every 2 ms during
 * the rounds (its handler calls the hook too), "seccomp" installs a filter
 * of its own first, "getcpu" calls getcpu (which a filter it inherited may
 * refuse). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "getcpu_filter.h"

struct call {
    long nr;
    uint64_t args[6];
    long result;
};

static bool (*hook)(struct call *);
static _Thread_local int buffered;

static long call6(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
    struct call c = {nr, {a0, a1, a2, a3, 0, 0}, 0};
    if (hook && hook(&c)) {
        buffered++;
        return c.result;
    }
    return syscall(nr, a0, a1, a2, a3);
}

/* Rounds of a message written into the file from `base` on and read back;
 * returns the bytes written, or a negative step that failed. */
static long rounds(int file, int count, long base) {
    long total = 0;
    for (int round = 0; round < count; round++) {
        char message[64], got[64] = {0};
        int len = snprintf(message, sizeof message, "round %04d tid %010ld", round,
                           call6(SYS_gettid, 0, 0, 0, 0));
        if (call6(SYS_pwrite64, file, (uint64_t)message, len, base + total) != len)
            return -2;
        long n = call6(SYS_pread64, file, (uint64_t)got, len, base + total);
        if (n != len || memcmp(got, message, len))
            return -3;
        total += n;
    }
    return total;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int signo) {
    (void)signo;
    alarms++;
    call6(SYS_getppid, 0, 0, 0, 0);
}

/* Maps `file` shared and writes to it through the hook, which must leave
 * the write to the traced way; a write to another file is buffered. */
static int shared_writes(int file, const char *path) {
    if (write(file, "abcdefgh", 8) != 8)
        return -1;
    char *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, file, 0);
    if (map == MAP_FAILED)
        return -1;
    char other_path[256];
    snprintf(other_path, sizeof other_path, "%s.other", path);
    int other = open(other_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (other < 0)
        return -1;
    int before = buffered;
    long shared = call6(SYS_pwrite64, file, (uint64_t)"XYZ", 3, 0);
    int shared_buffered = buffered - before;
    before = buffered;
    long unshared = call6(SYS_pwrite64, other, (uint64_t)"XYZ", 3, 0);
    int other_buffered = buffered - before;
    printf("shared map %.4s (%ld), shared write %s, other write %s (%ld)\n", map, shared,
           shared_buffered ? "buffered" : "traced", other_buffered ? "buffered" : "traced",
           unshared);
    unlink(other_path);
    return 0;
}

struct worker {
    int file;
    int rounds;
    long base;
    long total;
    int buffered;
};

static void *work(void *arg) {
    struct worker *w = arg;
    w->total = rounds(w->file, w->rounds, w->base);
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
    if (!strcmp(mode, "shared") && shared_writes(file, path))
        return 1;
    if (!strcmp(mode, "getcpu")) {
        unsigned cpu;
        long refused = syscall(SYS_getcpu, &cpu, NULL, NULL);
        printf("getcpu %ld %s\n", refused, refused ? strerror(errno) : "");
    }
    if (!strcmp(mode, "seccomp")) {
        int installed = install_getcpu_filter();
        unsigned cpu;
        long refused = syscall(SYS_getcpu, &cpu, NULL, NULL);
        printf("own filter %d, getcpu %ld %s\n", installed, refused,
               refused ? strerror(errno) : "");
    }
    if (!strcmp(mode, "signals")) {
        signal(SIGALRM, on_alarm);
        struct itimerval every = {{0, 2000}, {0, 2000}}, stop = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &every, NULL);
        long total = rounds(file, 4000, 0);
        setitimer(ITIMER_REAL, &stop, NULL);
        printf("rounds under signals wrote %ld, alarms %s\n", total, alarms ? "some" : "none");
    }
    if (!strcmp(mode, "threads")) {
        struct worker workers[2] = {{file, worker_rounds, 1 << 20, 0, 0},
                                    {file, worker_rounds, 2 << 20, 0, 0}};
        pthread_t threads[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&threads[i], NULL, work, &workers[i]);
        for (int i = 0; i < 2; i++) {
            pthread_join(threads[i], NULL);
            printf("thread %d wrote %ld, buffered %s\n", i, workers[i].total,
                   workers[i].buffered ? "some" : "none");
        }
    } else if (!strcmp(mode, "fork")) {
        long before = rounds(file, 50, 0);
        pid_t child = fork();
        if (child == 0) {
            long total = rounds(file, 100, 1 << 20);
            printf("child wrote %ld, buffered %s\n", total, buffered > 50 ? "more" : "none");
            fflush(stdout);
            _exit(0);
        }
        long after = rounds(file, 100, 2 << 20);
        int status;
        waitpid(child, &status, 0);
        printf("parent wrote %ld then %ld, child status %d\n", before, after, status);
    }
    long total = rounds(file, argc > 3 ? worker_rounds : 200, 0);
    call6(SYS_write, file, (uint64_t)"end", 3, 0);
    long end = call6(SYS_lseek, file, 0, SEEK_CUR, 0);
    call6(SYS_lseek, file, 6, SEEK_SET, 0);
    char back[32] = {0};
    long n = call6(SYS_read, file, (uint64_t)back, 12, 0);
    long bad = call6(SYS_read, 999, (uint64_t)back, 1, 0);
    int fds[2];
    if (pipe(fds))
        return 1;
    long piped = call6(SYS_write, fds[1], (uint64_t)"ping", 4, 0);
    char ping[8];
    piped += call6(SYS_read, fds[0], (uint64_t)ping, sizeof ping, 0);
    unlink(path);
    printf("wrote %ld, at %ld, read back %ld '%s', bad fd %ld, pipe %ld, buffered %s\n", total,
           end, n, back, bad, piped, buffered ? "some" : "none");
    return 0;
}
