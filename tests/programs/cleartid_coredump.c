// A forked child with a pthread (CLONE_CHILD_CLEARTID) dies with a core dump (abort, then SIGSEGV in the thread).
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/rewind-core-XXXXXX";
static int pipefd[2];

static void *blocker(void *arg) {
    char c;
    if (arg) {  // the faulting thread
        volatile int *p = (volatile int *)(long)(c = 0);
        *p = 1;
    }
    if (read(pipefd[0], &c, 1) < 0) return NULL;  // never written: blocks until the process dies
    return NULL;
}

static void child(int fault_in_thread) {
    if (chdir(dir) != 0) _exit(2);
    struct rlimit rl = {64 << 20, 64 << 20};
    setrlimit(RLIMIT_CORE, &rl);
    pthread_t t;
    if (pthread_create(&t, NULL, blocker, NULL) != 0) _exit(3);
    if (fault_in_thread) {
        pthread_t t2;
        if (pthread_create(&t2, NULL, blocker, (void *)1) != 0) _exit(4);
        pthread_join(t2, NULL);
        _exit(5);
    }
    usleep(1000);  // let the thread reach its read
    abort();
}

static void report(const char *what, pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); exit(1); }
    printf("%s: signaled=%d termsig=%s coredump=%d\n", what, WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-", WIFSIGNALED(st) ? !!WCOREDUMP(st) : 0);
}

static void clean(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[300];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
}

int main(void) {
    if (!mkdtemp(dir) || pipe(pipefd) != 0) { perror("setup"); return 1; }
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) child(0);
    report("abort with a thread", a);
    clean();
    pid_t b = fork();
    if (b == 0) child(1);
    report("SIGSEGV in a second thread", b);
    clean();
    rmdir(dir);
    return 0;
}
