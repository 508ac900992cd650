/* signalfd: blocked signals read as records from a file descriptor. */
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

int main(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = signalfd(-1, &set, 0);
    raise(SIGUSR2);
    raise(SIGUSR1);
    for (int i = 0; i < 2; i++) {
        struct signalfd_siginfo info;
        ssize_t n = read(fd, &info, sizeof info);
        printf("read %zd bytes: signal %u, code %d, from us %d\n", n, info.ssi_signo, info.ssi_code,
               info.ssi_pid == (unsigned)getpid());
    }
    close(fd);
    return 0;
}
