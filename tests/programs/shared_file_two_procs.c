// A file mapped MAP_SHARED separately by a parent and its forked child (plus one mapping made before fork), values passed through it in turns; a read-only shared mapping seeing write().
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define ROUNDS 5

static void fail(const char *what) {
    perror(what);
    exit(1);
}

static void wait_token(int fd) {
    char c;
    if (read(fd, &c, 1) != 1) fail("read token");
}

static void give_token(int fd) {
    if (write(fd, "t", 1) != 1) fail("write token");
}

int main(void) {
    char dir[] = "/tmp/shared_file_two_procs-XXXXXX";
    if (!mkdtemp(dir)) fail("mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0 || ftruncate(fd, 2 * PAGE) != 0) fail("create");
    // Page 1 of the file, mapped before fork: the child inherits this mapping.
    volatile int *before = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
    if (before == MAP_FAILED) fail("mmap before fork");
    before[0] = 1000;

    int to_child[2], to_parent[2];
    if (pipe(to_child) || pipe(to_parent)) fail("pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        int cfd = open(path, O_RDWR);
        if (cfd < 0) fail("child open");
        volatile int *cm = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
        if (cm == MAP_FAILED) fail("child mmap");
        for (int i = 0; i < ROUNDS; i++) {
            wait_token(to_child[0]);
            cm[i + 1] = cm[i] * 3 + 1;       // page 0, through the child's own mapping
            before[i + 1] = before[i] + 7;   // page 1, through the inherited mapping
            give_token(to_parent[1]);
        }
        munmap((void *)cm, PAGE);
        close(cfd);
        _exit(0);
    }
    volatile int *pm = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (pm == MAP_FAILED) fail("parent mmap");
    pm[0] = 2;
    for (int i = 0; i < ROUNDS; i++) {
        give_token(to_child[1]);
        wait_token(to_parent[0]);
        printf("round %d: child wrote %d (page 0) and %d (page 1)\n", i, pm[i + 1], before[i + 1]);
        pm[i + 1] += 1;  // the child reads this next round
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    int v[ROUNDS + 1];
    if (pread(fd, v, sizeof v, 0) != (ssize_t)sizeof v) fail("pread");
    printf("file page 0:");
    for (int i = 0; i <= ROUNDS; i++) printf(" %d", v[i]);
    printf("\n");

    // A read-only shared mapping sees what write() puts into the file.
    const char *ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    if (ro == MAP_FAILED) fail("mmap read-only");
    printf("read-only mapping before write: %d\n", *(const int *)ro);
    if (pwrite(fd, "fresh bytes", 11, 100) != 11) fail("pwrite");
    printf("read-only mapping after pwrite: '%.11s'\n", ro + 100);
    if (lseek(fd, 200, SEEK_SET) != 200 || write(fd, "more bytes", 10) != 10) fail("write");
    printf("read-only mapping after write: '%.10s'\n", ro + 200);

    munmap((void *)ro, PAGE);
    munmap((void *)pm, PAGE);
    munmap((void *)before, PAGE);
    close(fd);
    unlink(path);
    rmdir(dir);
    return 0;
}
