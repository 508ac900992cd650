// A seccomp filter traps getppid 1000 times; the SIGSYS handler counts and fixes the result up to 1234 via ucontext.
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static volatile int traps, wrong_nr;

static void on_sys(int signo, siginfo_t *info, void *ctx) {
    (void)signo;
    ucontext_t *uc = ctx;
    if (info->si_syscall != SYS_getppid) wrong_nr++;
    traps++;
    uc->uc_mcontext.gregs[REG_RAX] = 1234 + (traps % 2);  // 1234 or 1235: shows the handler ran each time
}

int main(void) {
    pid_t real = getppid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("no_new_privs"); return 1; }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) { perror("seccomp"); return 1; }
    long last = 0, sum = 0;
    for (int i = 0; i < 1000; i++) {
        last = syscall(SYS_getppid);
        sum += last;
    }
    printf("traps=%d wrong_nr=%d last=%ld sum=%ld\n", traps, wrong_nr, last, sum);
    printf("getpid still allowed: %d; real parent nonzero: %d\n", getpid() > 0, real > 0);
    return traps == 1000 && sum == 1234500 ? 0 : 1;
}
