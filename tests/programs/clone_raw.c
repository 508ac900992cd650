// Raw clone(): a thread made with CLONE_THREAD and PARENT_SETTID/CHILD_SETTID/CHILD_CLEARTID (joined by futex),
// then a child process made with the clone3 syscall; prints the tids the kernel wrote.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

struct clone3_args {  // layout of struct clone_args (CLONE_ARGS_SIZE_VER0 = 64 bytes)
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static volatile pid_t parent_tid_slot;
static volatile pid_t child_tid_slot = -1;  // nonzero until the kernel clears it at thread exit

static struct {
    long gettid, getpid;
    pid_t ctid_seen, ptid_seen;
    long sum;
} seen;

// Runs without its own TLS (no CLONE_SETTLS), so it avoids libc state beyond the raw syscall() wrapper.
static int thread_fn(void *arg) {
    long n = (long)arg;
    seen.gettid = syscall(SYS_gettid);
    seen.getpid = syscall(SYS_getpid);
    seen.ctid_seen = child_tid_slot;
    seen.ptid_seen = parent_tid_slot;
    long sum = 0;
    for (long i = 1; i <= n; i++) sum += i;
    seen.sum = sum;
    return 0;  // glibc's clone then calls SYS_exit for this thread only
}

int main(void) {
    size_t stack_size = 256 * 1024;
    char *stack = malloc(stack_size);
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
    pid_t tid = clone(thread_fn, stack + stack_size, flags, (void *)1000L, &parent_tid_slot, NULL, &child_tid_slot);
    if (tid < 0) {
        perror("clone");
        return 1;
    }
    pid_t ptid = parent_tid_slot;
    // Wait for CLONE_CHILD_CLEARTID: the kernel zeroes the slot and does a FUTEX_WAKE on it.
    int waits = 0;
    for (;;) {
        pid_t v = __atomic_load_n(&child_tid_slot, __ATOMIC_SEQ_CST);
        if (v == 0) break;
        syscall(SYS_futex, &child_tid_slot, FUTEX_WAIT, v, NULL, NULL, 0);
        waits++;
    }
    free(stack);
    printf("clone thread: returned tid %d parent_tid %d\n", tid, ptid);
    printf("clone thread: parent_tid==tid %d child saw ctid==tid %d ptid==tid %d gettid==tid %d same pid %d\n",
           ptid == tid, seen.ctid_seen == tid, seen.ptid_seen == tid, seen.gettid == tid, seen.getpid == getpid());
    printf("clone thread: sum %ld, child_tid cleared after exit %d, futex waits %d\n", seen.sum, child_tid_slot == 0,
           waits);

    // clone3: a new process (fork-like, no new stack) whose exit status says whether CHILD_SETTID was right.
    static volatile pid_t p3 = -1, c3 = -1;
    struct clone3_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PARENT_SETTID | CLONE_CHILD_SETTID;
    args.parent_tid = (uintptr_t)&p3;
    args.child_tid = (uintptr_t)&c3;
    args.exit_signal = SIGCHLD;
    fflush(stdout);
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        long me = syscall(SYS_getpid);
        _exit(c3 == me && syscall(SYS_gettid) == me ? 7 : 8);
    }
    if (pid < 0) {
        printf("clone3 failed: %s\n", errno == ENOSYS ? "ENOSYS" : strerror(errno));
        return 0;
    }
    int status = 0;
    pid_t w = waitpid((pid_t)pid, &status, 0);
    printf("clone3 child: returned pid %ld parent_tid %d\n", pid, p3);
    printf("clone3 child: parent_tid==pid %d waited right child %d exited %d status %d (7 = child_tid was right)\n",
           p3 == pid, w == pid, WIFEXITED(status), WEXITSTATUS(status));
    printf("clone3 child: parent's own child_tid slot untouched %d\n", c3 == -1);
    return 0;
}
