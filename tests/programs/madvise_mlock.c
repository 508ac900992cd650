// madvise (DONTNEED, FREE, hints, DONTFORK seen from a child, REMOVE on a shared file), mlock/mlock2/mlockall/munlockall and mincore.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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

static unsigned char *anon(size_t len, int fill) {
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    memset(p, fill, len);
    return p;
}

static void result(const char *what, int r) { printf("%s: %s\n", what, r == 0 ? "ok" : strerror(errno)); }

static sigjmp_buf env;
static void on_segv(int sig) { (void)sig; siglongjmp(env, 1); }

int main(void) {
    unsigned char *a = anon(8 * PAGE, 0x11);
    result("MADV_DONTNEED", madvise(a + 2 * PAGE, 3 * PAGE, MADV_DONTNEED));
    printf("  after DONTNEED: %d %d %d hash %016lx\n", a[PAGE], a[2 * PAGE], a[5 * PAGE - 1], hash(a, 8 * PAGE));

    result("MADV_FREE", madvise(a, 8 * PAGE, MADV_FREE));
    unsigned long h = hash(a, 8 * PAGE);  // the kernel may or may not have dropped them: record decides
    printf("  after FREE: hash %016lx\n", h);
    a[0] = 0x22;  // a store cancels the free for that page
    printf("  stored after FREE: %d\n", a[0]);

    result("MADV_WILLNEED", madvise(a, 8 * PAGE, MADV_WILLNEED));
    result("MADV_SEQUENTIAL", madvise(a, 8 * PAGE, MADV_SEQUENTIAL));
    result("MADV_RANDOM", madvise(a, 8 * PAGE, MADV_RANDOM));
    result("MADV_NORMAL", madvise(a, 8 * PAGE, MADV_NORMAL));
    unsigned char *big = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int hp = madvise(big, 4 << 20, MADV_HUGEPAGE);
    printf("MADV_HUGEPAGE: %s\n", hp == 0 ? "ok" : errno == EINVAL ? "EINVAL (no THP)" : strerror(errno));
    memset(big, 0x33, 4 << 20);
    int nhp = madvise(big, 4 << 20, MADV_NOHUGEPAGE);
    printf("MADV_NOHUGEPAGE: %s, hash %016lx\n", nhp == 0 ? "ok" : errno == EINVAL ? "EINVAL (no THP)" : strerror(errno),
           hash(big, 4 << 20));
    munmap(big, 4 << 20);

    // MADV_DONTFORK: the child has no such mapping.
    unsigned char *nf = anon(2 * PAGE, 0x44);
    result("MADV_DONTFORK", madvise(nf, 2 * PAGE, MADV_DONTFORK));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, on_segv);
        if (sigsetjmp(env, 1) == 0) {
            printf("  child read %d: not expected\n", nf[0]);
            _exit(1);
        }
        printf("  child: SIGSEGV touching the DONTFORK mapping\n");
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("  child exited %d, parent still reads %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1, nf[PAGE]);
    result("MADV_DOFORK", madvise(nf, 2 * PAGE, MADV_DOFORK));
    munmap(nf, 2 * PAGE);

    // MADV_REMOVE punches a hole in a shared file mapping.
    char dir[] = "/tmp/madvise_mlock-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char path[256];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    ftruncate(fd, 4 * PAGE);
    unsigned char *f = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(f, 'r', 4 * PAGE);
    int rm = madvise(f + PAGE, 2 * PAGE, MADV_REMOVE);
    printf("MADV_REMOVE: %s\n", rm == 0 ? "ok" : errno == EOPNOTSUPP ? "EOPNOTSUPP" : strerror(errno));
    unsigned char b[3];
    pread(fd, &b[0], 1, 0);
    pread(fd, &b[1], 1, PAGE + 1);
    pread(fd, &b[2], 1, 3 * PAGE);
    printf("  mapping %d %d %d file %d %d %d\n", f[0], f[PAGE + 1], f[3 * PAGE], b[0], b[1], b[2]);
    munmap(f, 4 * PAGE);
    close(fd);
    unlink(path);
    rmdir(dir);

    // Locking. Small RLIMIT_MEMLOCK or missing privilege may refuse: the result is printed.
    unsigned char *l = anon(4 * PAGE, 0x55);
    result("mlock", mlock(l, 2 * PAGE));
    result("munlock", munlock(l, 2 * PAGE));
    result("mlock2 ONFAULT", mlock2(l, 4 * PAGE, MLOCK_ONFAULT));
    result("munlock", munlock(l, 4 * PAGE));
    result("mlockall", mlockall(MCL_CURRENT | MCL_FUTURE));
    unsigned char *after = anon(PAGE, 0x66);
    printf("  mapped after mlockall: %d\n", after[10]);
    result("munlockall", munlockall());

    // mincore: which pages are resident.
    unsigned char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    m[2 * PAGE] = 1;
    unsigned char vec[4];
    int mc = mincore(m, 4 * PAGE, vec);
    printf("mincore %d: %d %d %d %d\n", mc, vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
    return 0;
}
