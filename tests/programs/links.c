// symlink, readlink(at), link, unlinkat, renameat2, access, faccessat2.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *base = argc > 1 ? argv[1] : "/tmp";
    char target[4096], lnk[4096], hard[4096], moved[4096], buf[4096];
    snprintf(target, sizeof target, "%s/links_target", base);
    snprintf(lnk, sizeof lnk, "%s/links_symlink", base);
    snprintf(hard, sizeof hard, "%s/links_hard", base);
    snprintf(moved, sizeof moved, "%s/links_moved", base);
    close(open(target, O_CREAT | O_WRONLY, 0600));
    symlink(target, lnk);
    ssize_t n = readlink(lnk, buf, sizeof buf);
    printf("readlink=%zd %.*s\n", n, (int)n, buf + (n > 12 ? n - 12 : 0));
    n = readlinkat(AT_FDCWD, lnk, buf, sizeof buf);
    printf("readlinkat=%zd\n", n);
    printf("link=%d\n", link(target, hard));
    printf("access=%d access_missing=%d\n", access(target, R_OK), access("/nonexistent", F_OK));
    printf("faccessat2=%ld\n", syscall(SYS_faccessat2, AT_FDCWD, target, W_OK, 0));
    printf("renameat2=%ld\n", syscall(SYS_renameat2, AT_FDCWD, hard, AT_FDCWD, moved, 0));
    printf("unlinkat=%d %d %d\n", unlinkat(AT_FDCWD, moved, 0), unlinkat(AT_FDCWD, lnk, 0),
           unlinkat(AT_FDCWD, target, 0));
    n = readlink("/proc/self/exe", buf, sizeof buf);
    printf("exe name length=%zd\n", n);
    return 0;
}
