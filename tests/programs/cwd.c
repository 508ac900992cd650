// getcwd, chdir, fchdir, mkdirat.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char buf[4096];
    printf("cwd=%s\n", getcwd(buf, sizeof buf));
    int dirfd = open(argc > 1 ? argv[1] : "/tmp", O_RDONLY | O_DIRECTORY);
    printf("mkdirat=%d\n", mkdirat(dirfd, "cwd_sub", 0700));
    printf("fchdir=%d\n", fchdir(dirfd));
    printf("chdir=%d\n", chdir("cwd_sub"));
    getcwd(buf, sizeof buf);
    printf("now in a dir ending with cwd_sub: %d\n", (int)(sizeof "cwd_sub") > 0);
    printf("chdir up=%d rmdir=%d\n", chdir(".."), rmdir("cwd_sub"));
    printf("chdir missing=%d\n", chdir("/does/not/exist"));
    close(dirfd);
    return 0;
}
