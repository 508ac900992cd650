// dup, dup2, dup3, fcntl, flock.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fcntl_dup", argc > 1 ? argv[1] : "/tmp");
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    int a = dup(fd), b = dup2(fd, 20), c = dup3(fd, 21, O_CLOEXEC);
    printf("dup=%d dup2=%d dup3=%d\n", a > 2, b, c);
    printf("getfd=%d getfl_rdwr=%d\n", fcntl(c, F_GETFD), (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    printf("setfl=%d nonblock=%d\n", fcntl(fd, F_SETFL, O_NONBLOCK),
           (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 30);
    printf("dupfd=%d\n", d);
    printf("flock=%d unlock=%d\n", flock(fd, LOCK_EX), flock(fd, LOCK_UN));
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    printf("getlk=%d type_unlocked=%d\n", fcntl(fd, F_GETLK, &lk), lk.l_type == F_UNLCK);
    close(a); close(b); close(c); close(d); close(fd);
    unlink(path);
    return 0;
}
