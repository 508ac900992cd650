// mremap in many shapes: grow in place, forced move, grow into a hole, shrink, odd lengths, MREMAP_FIXED, MREMAP_DONTUNMAP, shared anonymous and shared file mappings.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL

static unsigned long hash(const unsigned char *p, size_t n) {
    unsigned long h = 14695981039346656037UL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211UL;
    return h;
}

static unsigned char *anon(size_t len) {
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) exit(1);
    for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i * 31 + len);
    return p;
}

static void show(const char *what, unsigned char *old, unsigned char *p, size_t len) {
    if (p == MAP_FAILED) { printf("%s: failed\n", what); return; }
    printf("%s: moved %d hash %016lx\n", what, p != old, hash(p, len));
}

int main(void) {
    // A region with a guard after it, so growing in place must be possible or impossible on purpose.
    unsigned char *area = mmap(NULL, 64 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area, 64 * PAGE);
    unsigned char *a = mmap(area, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    memset(a, 1, 4 * PAGE);
    unsigned char *g = mmap(area + 8 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    unsigned char *p = mremap(a, 4 * PAGE, 8 * PAGE, 0);  // exactly fills the gap: in place
    show("grow in place", a, p, 8 * PAGE);
    p[8 * PAGE - 1] = 5;
    unsigned char *q = mremap(p, 8 * PAGE, 16 * PAGE, 0);  // blocked by the guard, no MAYMOVE
    printf("grow without MAYMOVE into the guard: %s\n", q == MAP_FAILED ? "refused" : "allowed?");
    q = mremap(p, 8 * PAGE, 16 * PAGE, MREMAP_MAYMOVE);
    show("grow with move", p, q, 16 * PAGE);
    munmap(g, PAGE);
    munmap(q, 16 * PAGE);

    // Grow into a hole made by munmap right after the mapping.
    a = anon(12 * PAGE);
    munmap(a + 4 * PAGE, 8 * PAGE);
    p = mremap(a, 4 * PAGE, 10 * PAGE, 0);
    show("grow into hole", a, p, 10 * PAGE);
    // Shrink.
    q = mremap(p, 10 * PAGE, 3 * PAGE, 0);
    show("shrink", p, q, 3 * PAGE);
    munmap(q, 3 * PAGE);

    // Lengths that are not page multiples.
    a = anon(5000);
    p = mremap(a, 5000, 9000, MREMAP_MAYMOVE);
    show("5000 -> 9000", a, p, 9000);
    memset(p + 5000, 7, 4000);
    q = mremap(p, 9000, 100, MREMAP_MAYMOVE);
    show("9000 -> 100", p, q, 100);
    munmap(q, 100);

    // MREMAP_FIXED to a chosen address.
    a = anon(3 * PAGE);
    unsigned char *target = area + 32 * PAGE;
    p = mremap(a, 3 * PAGE, 5 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    printf("fixed: at target %d\n", p == target);
    show("fixed", a, p, 5 * PAGE);
    munmap(p, 5 * PAGE);

    // MREMAP_DONTUNMAP: the old range stays mapped but empty (zero-filled on access).
    a = anon(2 * PAGE);
    p = mremap(a, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    if (p == MAP_FAILED) {
        printf("dontunmap: refused errno %d\n", errno);
    } else {
        show("dontunmap new", a, p, 2 * PAGE);
        printf("dontunmap old now: %d %d\n", a[0], a[PAGE + 5]);
        munmap(p, 2 * PAGE);
    }
    munmap(a, 2 * PAGE);

    // A MAP_SHARED anonymous mapping remapped in the parent after fork; the child writes its own view.
    unsigned char *s = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(s, 3, 2 * PAGE);
    int pfd[2], status;
    pipe(pfd);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(pfd[0], &c, 1);  // wait until the parent has moved its view
        memset(s, 9, PAGE);
        _exit(0);
    }
    // Same size: the shmem object stays 2 pages, growing past it would SIGBUS.
    unsigned char *s2 = mremap(s, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, area + 40 * PAGE);
    write(pfd[1], "x", 1);
    waitpid(pid, &status, 0);
    printf("shared anon remapped %d: child's write seen %d, second page %d\n", s2 == area + 40 * PAGE, s2[100],
           s2[PAGE + 1]);
    munmap(s2, 2 * PAGE);

    // A MAP_SHARED file mapping, grown with the file.
    char dir[] = "/tmp/mremap_shapes-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char path[256];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    ftruncate(fd, 4 * PAGE);
    unsigned char *f = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(f, 'f', 2 * PAGE);
    unsigned char *f2 = mremap(f, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
    memset(f2 + 2 * PAGE, 'g', 2 * PAGE);
    unsigned char buf[4 * PAGE];
    ssize_t r = pread(fd, buf, sizeof buf, 0);
    printf("shared file remapped: pread %zd hash %016lx mapping hash %016lx\n", r, hash(buf, sizeof buf),
           hash(f2, 4 * PAGE));
    munmap(f2, 4 * PAGE);
    close(fd);
    unlink(path);
    rmdir(dir);
    return 0;
}
