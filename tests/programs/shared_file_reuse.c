// A file mapped shared, written through the mapping, unmapped and
// deleted; then a new file in the same directory (ext4 gives it the same
// inode number) mapped shared: it must read as zeros, not as the old one.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fresh_file(const char *dir, struct stat *st) {
    char path[4096];
    snprintf(path, sizeof path, "%s/sharedXXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 4096) != 0) {
        perror("file");
        exit(1);
    }
    unlink(path);
    fstat(fd, st);
    return fd;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    struct stat first, second;
    int fd = fresh_file(dir, &first);
    char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return 2;
    memset(map, 'A', 4096);
    munmap(map, 4096);
    close(fd);
    fd = fresh_file(dir, &second);
    map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return 3;
    int zeros = 0;
    for (int i = 0; i < 4096; i++) zeros += map[i] == 0;
    printf("same inode %d, zero bytes in the new file %d\n", first.st_ino == second.st_ino, zeros);
    return 0;
}
