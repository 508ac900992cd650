// fstat, newfstatat, lstat and statx of files the program creates.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/stat_fields.dat", argc > 1 ? argv[1] : "/tmp");
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0640);
    write(fd, "12345", 5);
    struct stat st;
    fstat(fd, &st);
    printf("fstat size=%ld mode=%o nlink=%ld ino=%lu mtime=%ld.%09ld\n", (long)st.st_size,
           st.st_mode & 07777, (long)st.st_nlink, (unsigned long)st.st_ino, (long)st.st_mtim.tv_sec,
           st.st_mtim.tv_nsec);
    struct stat at;
    fstatat(AT_FDCWD, path, &at, 0);
    printf("fstatat same inode=%d\n", at.st_ino == st.st_ino);
    struct statx sx;
    statx(AT_FDCWD, path, 0, STATX_ALL, &sx);
    printf("statx size=%llu btime=%lld blocks=%llu\n", (unsigned long long)sx.stx_size,
           (long long)sx.stx_btime.tv_sec, (unsigned long long)sx.stx_blocks);
    struct stat root;
    lstat("/", &root);
    printf("root is dir=%d dev=%lu\n", S_ISDIR(root.st_mode), (unsigned long)root.st_dev);
    close(fd);
    unlink(path);
    return 0;
}
