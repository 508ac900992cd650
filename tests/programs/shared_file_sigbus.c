// A 3-page MAP_SHARED file mapping whose file shrinks to 1 page: touching page 2 raises SIGBUS (caught with siglongjmp), then it grows back.
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096

static sigjmp_buf env;
static volatile uintptr_t fault_addr;
static volatile int fault_code;

static void on_bus(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    fault_addr = (uintptr_t)si->si_addr;
    fault_code = si->si_code;
    siglongjmp(env, 1);
}

static void fail(const char *what) {
    perror(what);
    exit(1);
}

// Reads one byte at m+off; returns -1 (and reports) when SIGBUS came.
static int touch(volatile unsigned char *m, long off, int store) {
    fault_addr = 0;
    if (sigsetjmp(env, 1) == 0) {
        if (store) m[off] = 42;
        return m[off];
    }
    printf("  SIGBUS at offset %ld (code %d) touching offset %ld\n", (long)(fault_addr - (uintptr_t)m), fault_code,
           off);
    return -1;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);

    char dir[] = "/tmp/shared_file_sigbus-XXXXXX";
    if (!mkdtemp(dir)) fail("mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) fail("open");
    unsigned char page[PAGE];
    for (int p = 0; p < 3; p++) {
        memset(page, 'a' + p, PAGE);
        if (write(fd, page, PAGE) != PAGE) fail("write");
    }
    volatile unsigned char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) fail("mmap");
    printf("before: %c %c %c\n", m[0], m[PAGE], m[2 * PAGE + 100]);

    if (ftruncate(fd, PAGE) != 0) fail("ftruncate shrink");
    printf("after shrinking to 1 page:\n");
    printf("  page 0 read %d\n", touch(m, 10, 0));
    printf("  page 1 read %d\n", touch(m, PAGE + 1, 0));
    printf("  page 2 read %d\n", touch(m, 2 * PAGE + 100, 0));
    printf("  page 2 write %d\n", touch(m, 2 * PAGE + 200, 1));

    if (ftruncate(fd, 3 * PAGE) != 0) fail("ftruncate grow");
    printf("after growing back to 3 pages:\n");
    printf("  page 2 read %d (zero-filled)\n", touch(m, 2 * PAGE + 100, 0));
    printf("  page 2 write %d\n", touch(m, 2 * PAGE + 200, 1));
    unsigned char b = 0;
    ssize_t r = pread(fd, &b, 1, 2 * PAGE + 200);
    printf("  pread of the stored byte %zd: %d\n", r, b);
    r = pread(fd, &b, 1, 10);
    printf("  page 0 unchanged %zd: %c\n", r, b);

    munmap((void *)m, 3 * PAGE);
    close(fd);
    unlink(path);
    rmdir(dir);
    return 0;
}
