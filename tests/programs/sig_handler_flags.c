/* sigaction flags: SA_SIGINFO (si_code, si_pid), SA_RESETHAND (the
 * handler runs once, then the default is back), SA_NODEFER (a handler
 * interrupted by its own signal), SA_ONSTACK with sigaltstack. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int info_code, info_pid_ok, resethand_runs, nodefer_depth, nodefer_max;
static volatile int on_alt_stack;
static char *alt_base;
static const size_t ALT_SIZE = 64 * 1024;

static void on_info(int signo, siginfo_t *info, void *context) {
    (void)signo;
    (void)context;
    info_code = info->si_code;
    info_pid_ok = info->si_pid == getpid();
}

static void on_resethand(int signo) {
    (void)signo;
    resethand_runs++;
}

static void on_nodefer(int signo) {
    nodefer_depth++;
    if (nodefer_depth > nodefer_max)
        nodefer_max = nodefer_depth;
    if (nodefer_depth == 1)
        raise(signo);
    nodefer_depth--;
}

static void on_onstack(int signo) {
    (void)signo;
    char here;
    on_alt_stack = &here >= alt_base && &here < alt_base + ALT_SIZE;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    kill(getpid(), SIGUSR1);
    printf("SA_SIGINFO: si_code %d (SI_USER %d), si_pid is ours %d\n", info_code, SI_USER, info_pid_ok);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_resethand;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    printf("SA_RESETHAND: ran %d, default again %d\n", resethand_runs, now.sa_handler == SIG_DFL);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_nodefer;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGHUP, &sa, NULL);
    raise(SIGHUP);
    printf("SA_NODEFER: nested depth %d\n", nodefer_max);

    alt_base = malloc(ALT_SIZE);
    stack_t ss = {.ss_sp = alt_base, .ss_size = ALT_SIZE, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_onstack;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGWINCH, &sa, NULL);
    raise(SIGWINCH);
    printf("SA_ONSTACK: handler ran on the alternate stack %d\n", on_alt_stack);
    return 0;
}
