// MAP_SHARED|MAP_ANONYMOUS memory shared with a forked child (and a MAP_PRIVATE region that is not).
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define INCREMENTS 100000

struct shared {
    int values[8];
    char message[32];
    long counter;
};

int main(void) {
    struct shared *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED || priv == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    sh->values[0] = 100;  // written before fork, seen by the child
    priv[0] = 100;
    fflush(stdout);

    // Phase 1: child writes, exits; parent reads after waiting.
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 1; i < 8; i++) sh->values[i] = sh->values[i - 1] + i * i;
        strcpy(sh->message, "written by the child");
        priv[0] = 999;
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child exited %d\n", WEXITSTATUS(status));
    printf("shared values:");
    for (int i = 0; i < 8; i++) printf(" %d", sh->values[i]);
    printf("\nshared message: '%s'\nprivate value after child write: %d\n", sh->message, priv[0]);

    // Phase 2: parent and child concurrently increment a shared counter atomically.
    pid = fork();
    if (pid == 0) {
        for (int i = 0; i < INCREMENTS; i++) __atomic_fetch_add(&sh->counter, 1, __ATOMIC_SEQ_CST);
        _exit(0);
    }
    for (int i = 0; i < INCREMENTS; i++) __atomic_fetch_add(&sh->counter, 1, __ATOMIC_SEQ_CST);
    waitpid(pid, &status, 0);
    printf("shared counter %ld (expected %d)\n", sh->counter, 2 * INCREMENTS);
    munmap(sh, 4096);
    munmap(priv, 4096);
    return 0;
}
