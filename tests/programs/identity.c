// Process identity: ids, groups, umask, uname, sysinfo.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void) {
    printf("pid=%d ppid=%d tid=%d\n", getpid(), getppid(), gettid());
    printf("uid=%d euid=%d gid=%d egid=%d\n", getuid(), geteuid(), getgid(), getegid());
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("resuid=%d,%d,%d\n", r, e, s);
    gid_t groups[64];
    int n = getgroups(64, groups);
    printf("groups=%d first=%d\n", n, n > 0 ? (int)groups[0] : -1);
    mode_t old = umask(022);
    printf("umask was %o now %o\n", old, umask(old));
    struct utsname u;
    uname(&u);
    printf("uname %s %s %s\n", u.sysname, u.release, u.machine);
    struct sysinfo si;
    sysinfo(&si);
    printf("uptime=%ld procs=%d totalram=%lu\n", si.uptime, si.procs, si.totalram);
    printf("pgid=%d sid=%d\n", getpgid(0), getsid(0));
    return 0;
}
