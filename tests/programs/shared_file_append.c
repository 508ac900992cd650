// A file mapped shared while it is appended to (O_APPEND write, pwrite on
// an O_APPEND descriptor, which Linux appends too, pwritev2 with
// RWF_APPEND) and changed by fallocate (punching a hole, collapsing and
// inserting a range, which shift the rest): the mapping sees each change.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096
#define PAGES 8

static unsigned long hash(const unsigned char *p, size_t n) {
    unsigned long h = 1469598103934665603UL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211UL;
    return h;
}

static void show(const char *what, int fd, const unsigned char *map) {
    off_t size = lseek(fd, 0, SEEK_END);
    size_t visible = size < PAGES * PAGE ? (size_t)size : PAGES * PAGE;
    printf("%-28s size %6ld, mapping hash %016lx, byte at 4096 %d\n", what, (long)size,
           hash(map, visible), visible > PAGE ? map[PAGE] : -1);
}

int main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/appendXXXXXX", argc > 1 ? argv[1] : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    int appender = open(path, O_WRONLY | O_APPEND);
    unlink(path);
    unsigned char page[PAGE];
    for (int i = 0; i < PAGE; i++) page[i] = (unsigned char)(i * 7 + 1);
    if (write(fd, page, PAGE) != PAGE || appender < 0) return 2;
    unsigned char *map = mmap(NULL, PAGES * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return 3;
    memset(page, 'a', PAGE);
    printf("append write %zd\n", write(appender, page, PAGE));
    show("after an O_APPEND write", fd, map);
    memset(page, 'p', PAGE);
    printf("pwrite at 0 on O_APPEND %zd\n", pwrite(appender, page, PAGE, 0));
    show("after pwrite (appends)", fd, map);
    memset(page, 'r', PAGE);
    struct iovec iov = {page, PAGE};
    ssize_t got = pwritev2(fd, &iov, 1, 0, RWF_APPEND);
    printf("pwritev2 RWF_APPEND %zd\n", got);
    show("after pwritev2", fd, map);
    int punched = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PAGE, PAGE);
    printf("punch hole %d\n", punched);
    show("after the hole", fd, map);
    int collapsed = fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, PAGE);
    printf("collapse %s\n", collapsed == 0 ? "ok" : "refused");
    show("after collapsing", fd, map);
    int inserted = fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, PAGE);
    printf("insert %s\n", inserted == 0 ? "ok" : "refused");
    show("after inserting", fd, map);
    return 0;
}
