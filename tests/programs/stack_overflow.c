// Stack overflow by infinite recursion: a SIGSEGV handler on sigaltstack catches it and _exits 42; without one, SIGSEGV kills.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile unsigned long depth;

static unsigned long recurse(unsigned long n) {
    volatile char pad[256];
    pad[0] = (char)n;
    pad[255] = (char)(n >> 8);
    depth = n;
    if (n == ~0UL) return 0;  // never: keeps -Winfinite-recursion quiet
    return recurse(n + 1) + pad[0] + pad[255];  // not a tail call
}

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    static const char msg[] = "handler on the alternate stack: caught SIGSEGV\n";
    if (write(1, msg, sizeof msg - 1) < 0) _exit(1);
    _exit(si->si_signo == SIGSEGV && depth > 1000 ? 42 : 43);
}

static void limit_stack(void) {
    struct rlimit rl = {1 << 20, 1 << 20};  // 1 MiB keeps the overflow quick
    setrlimit(RLIMIT_STACK, &rl);
}

static void report(const char *what, pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); exit(1); }
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
}

int main(void) {
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        limit_stack();
        stack_t ss = {.ss_sp = malloc(SIGSTKSZ * 4), .ss_size = SIGSTKSZ * 4, .ss_flags = 0};
        if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) _exit(2);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaction(SIGSEGV, &sa, NULL);
        recurse(0);
        _exit(3);
    }
    report("with sigaltstack", a);
    pid_t b = fork();
    if (b == 0) {
        struct rlimit core = {0, 0};
        setrlimit(RLIMIT_CORE, &core);
        limit_stack();
        recurse(0);
        _exit(3);
    }
    report("without sigaltstack", b);
    return 0;
}
