// Raw clone(CLONE_VFORK | CLONE_VM | CLONE_PIDFD) on a separate stack (child execs or exits), then clone3 with CLONE_PIDFD;
// the parent polls each pidfd and reaps it with waitid(P_PIDFD).
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

static char stack[64 * 1024] __attribute__((aligned(16)));

static void child_exec(void) {
    char *argv[] = {"true", NULL}, *envp[] = {NULL};
    syscall(SYS_execve, "/bin/true", argv, envp);
    syscall(SYS_exit, 127);
}

static void child_exit(void) { syscall(SYS_exit, 3); }

// clone on a new stack: the child calls fn, which never returns.
static long clone_on_stack(unsigned long flags, int *pidfd, void (*fn)(void)) {
    long ret;
    register long r10 __asm__("r10") = 0;  // child_tid
    register long r8 __asm__("r8") = 0;    // tls
    register void (*r12)(void) __asm__("r12") = fn;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "call *%%r12\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "a"((long)SYS_clone), "D"(flags), "S"(stack + sizeof stack), "d"(pidfd), "r"(r10),
                       "r"(r8), "r"(r12)
                     : "rcx", "r11", "memory");
    return ret;
}

static int reap(const char *what, long pid, int pidfd) {
    if (pid < 0) { printf("%s: clone failed: %s\n", what, strerrorname_np((int)-pid)); return 1; }
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r = poll(&p, 1, 5000);
    printf("%s: pidfd valid=%d poll=%d revents=%#x\n", what, pidfd >= 0, r, p.revents);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PIDFD, pidfd, &si, WEXITED) != 0) { printf("  waitid: %s\n", strerrorname_np(errno)); return 1; }
    printf("  waitid: pid matches=%d code=%s status=%d\n", si.si_pid == pid,
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status);
    close(pidfd);
    return 0;
}

struct clone_args3 { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; };

int main(void) {
    int pidfd = -1;
    long pid = clone_on_stack(CLONE_VFORK | CLONE_VM | CLONE_PIDFD | SIGCHLD, &pidfd, child_exec);
    if (reap("vfork+exec /bin/true", pid, pidfd)) return 1;
    pidfd = -1;
    pid = clone_on_stack(CLONE_VFORK | CLONE_VM | CLONE_PIDFD | SIGCHLD, &pidfd, child_exit);
    if (reap("vfork+_exit(3)", pid, pidfd)) return 1;

    pidfd = -1;
    struct clone_args3 args = {.flags = CLONE_PIDFD, .pidfd = (uintptr_t)&pidfd, .exit_signal = SIGCHLD};
    pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) _exit(9);
    if (pid < 0) pid = -errno;
    if (reap("clone3 fork-like", pid, pidfd)) return 1;
    return 0;
}
