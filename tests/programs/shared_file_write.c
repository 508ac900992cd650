// A MAP_SHARED read/write file mapping: stores seen by read()/pread(), write()/pwrite() seen through the mapping, ftruncate/truncate growth under it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096

static unsigned long sum(const unsigned char *p, size_t n) {
    unsigned long h = 14695981039346656037UL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211UL;
    return h;
}

static void fail(const char *what) {
    perror(what);
    exit(1);
}

int main(void) {
    char dir[] = "/tmp/shared_file_write-XXXXXX";
    if (!mkdtemp(dir)) fail("mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) fail("open");
    if (ftruncate(fd, 2 * PAGE) != 0) fail("ftruncate");
    // Map 4 pages; only 2 are backed by the file for now.
    unsigned char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) fail("mmap");

    // 1. Stores through the mapping, seen by read() and pread().
    for (int i = 0; i < 2 * PAGE; i++) m[i] = (unsigned char)(i * 13 + 1);
    unsigned char buf[2 * PAGE];
    if (lseek(fd, 0, SEEK_SET) != 0) fail("lseek");
    ssize_t r = read(fd, buf, sizeof buf);
    printf("read %zd bytes after mapping stores: hash %016lx (mapping %016lx)\n", r, sum(buf, sizeof buf),
           sum(m, 2 * PAGE));
    r = pread(fd, buf, 100, PAGE + 50);
    printf("pread %zd: %d %d %d, equal to mapping %d\n", r, buf[0], buf[1], buf[99],
           memcmp(buf, m + PAGE + 50, 100) == 0);

    // 2. write()/pwrite() seen through the mapping.
    const char *msg = "written with write()";
    if (lseek(fd, 10, SEEK_SET) != 10) fail("lseek");
    r = write(fd, msg, strlen(msg));
    printf("write %zd, mapping at 10: '%.20s'\n", r, (const char *)m + 10);
    const char *msg2 = "and with pwrite()";
    r = pwrite(fd, msg2, strlen(msg2), PAGE + 7);
    printf("pwrite %zd, mapping at %d: '%.17s'\n", r, PAGE + 7, (const char *)m + PAGE + 7);
    memset(buf, 0xa5, PAGE);
    r = pwrite(fd, buf, PAGE, 0);
    printf("pwrite of a page %zd, mapping hash %016lx\n", r, sum(m, 2 * PAGE));

    // 3. Grow the file with ftruncate under the mapping and use the new page.
    if (ftruncate(fd, 3 * PAGE) != 0) fail("ftruncate grow");
    printf("new page after ftruncate: first %d last %d\n", m[2 * PAGE], m[3 * PAGE - 1]);
    for (int i = 0; i < PAGE; i++) m[2 * PAGE + i] = (unsigned char)(i ^ 0x5a);
    r = pread(fd, buf, PAGE, 2 * PAGE);
    printf("pread of page 2: %zd hash %016lx\n", r, sum(buf, PAGE));

    // 4. Grow with truncate() by path and write the new page with pwrite, read through the mapping.
    if (truncate(path, 4 * PAGE) != 0) fail("truncate grow");
    printf("new page after truncate: first %d\n", m[3 * PAGE]);
    for (int i = 0; i < PAGE; i++) buf[i] = (unsigned char)(i * 3);
    r = pwrite(fd, buf, PAGE, 3 * PAGE);
    printf("pwrite to page 3 %zd; mapping page 3 hash %016lx equal %d\n", r, sum(m + 3 * PAGE, PAGE),
           memcmp(m + 3 * PAGE, buf, PAGE) == 0);
    m[4 * PAGE - 1] = 77;
    r = pread(fd, buf, 1, 4 * PAGE - 1);
    printf("last byte stored through the mapping, pread %zd: %d\n", r, buf[0]);

    // 5. msync and a whole-file checksum both ways.
    if (msync(m, 4 * PAGE, MS_SYNC) != 0) fail("msync");
    unsigned char *all = malloc(4 * PAGE);
    r = pread(fd, all, 4 * PAGE, 0);
    printf("final: pread %zd hash %016lx mapping hash %016lx\n", r, sum(all, 4 * PAGE), sum(m, 4 * PAGE));
    free(all);
    munmap(m, 4 * PAGE);
    close(fd);
    unlink(path);
    rmdir(dir);
    return 0;
}
