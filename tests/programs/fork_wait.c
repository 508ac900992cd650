// fork several children with different exit statuses and reap them with wait4 and waitid, printing rusage.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn(int code) {
    pid_t pid = fork();
    if (pid == 0) {
        volatile unsigned long x = 0;
        unsigned long spin = 200000UL * (code < 0 ? 1 : code + 1);
        for (unsigned long i = 0; i < spin; i++) x += i;  // some CPU time
        if (code < 0) raise(-code);
        _exit(code);
    }
    return pid;
}

int main(void) {
    fflush(stdout);
    int codes[] = {0, 3, 42, 255};
    pid_t pids[4];
    for (int i = 0; i < 4; i++) pids[i] = spawn(codes[i]);

    // wait4 on specific pids, in reverse creation order.
    for (int i = 3; i >= 0; i--) {
        int status = 0;
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        pid_t w = wait4(pids[i], &status, 0, &ru);
        printf("wait4 child %d: right pid %d exited %d code %d utime %ld.%06ld stime %ld.%06ld maxrss>0 %d minflt %ld\n",
               i, w == pids[i], WIFEXITED(status), WEXITSTATUS(status), (long)ru.ru_utime.tv_sec,
               (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, ru.ru_maxrss > 0,
               ru.ru_minflt);
    }

    // A child killed by a signal and one that exits normally, reaped by waitid(P_ALL) in completion order.
    pid_t killed = spawn(-SIGKILL);
    pid_t normal = spawn(7);
    for (int i = 0; i < 2; i++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        // Peek first with WNOWAIT, then reap the same child.
        int r1 = waitid(P_ALL, 0, &si, WEXITED | WNOWAIT);
        pid_t peeked = si.si_pid;
        memset(&si, 0, sizeof si);
        int r2 = waitid(P_PID, peeked, &si, WEXITED);
        const char *who = si.si_pid == killed ? "killed-child" : si.si_pid == normal ? "normal-child" : "unknown";
        printf("waitid: %s r1 %d r2 %d signo %d code %s status %d\n", who, r1, r2, si.si_signo,
               si.si_code == CLD_EXITED ? "CLD_EXITED" : si.si_code == CLD_KILLED ? "CLD_KILLED" : "other",
               si.si_status);
    }

    // waitid with WNOHANG on a child that has not exited yet reports si_pid 0; then wait for it.
    int gate[2];
    pipe(gate);
    pid_t blocked = fork();
    if (blocked == 0) {
        char c;
        close(gate[1]);
        read(gate[0], &c, 1);
        _exit(9);
    }
    close(gate[0]);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, blocked, &si, WEXITED | WNOHANG);
    printf("waitid WNOHANG before exit: r %d si_pid %d\n", r, si.si_pid);
    close(gate[1]);  // EOF releases the child
    int status = 0;
    struct rusage ru;
    pid_t w = wait4(-1, &status, 0, &ru);
    printf("wait4(-1): right pid %d code %d\n", w == blocked, WEXITSTATUS(status));

    // No children left.
    errno = 0;
    w = wait4(-1, &status, WNOHANG, NULL);
    printf("wait4 with no children: %d errno ECHILD %d\n", w, errno == ECHILD);
    struct rusage children;
    getrusage(RUSAGE_CHILDREN, &children);
    printf("children utime+stime > 0: %d\n",
           children.ru_utime.tv_sec + children.ru_utime.tv_usec + children.ru_stime.tv_sec + children.ru_stime.tv_usec > 0);
    return 0;
}
