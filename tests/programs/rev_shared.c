/* Shared memory a move back must see as it was: counters in an anonymous
 * MAP_SHARED page that a child process also writes, and in a file mapped
 * MAP_SHARED. Each round calls mark(), writes the round into the first
 * counter and, every tenth round, into the others, and makes a syscall
 * (an event, where the replay may keep a copy). A replay from a copy
 * rewrites the first counter before the next mark(); the others keep
 * what was written before the copy was taken. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

volatile long *anon_counter;
volatile long *file_counter;

__attribute__((noinline)) void mark(long round) {
    __asm__ volatile("" ::"r"(round) : "memory");
}

int main(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/rewind-rev-shared.%d", (int)getpid());
    anon_counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (anon_counter == MAP_FAILED || fd < 0 || ftruncate(fd, 4096) != 0)
        return 1;
    file_counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (file_counter == MAP_FAILED)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        anon_counter[1] = 1000;
        _exit(0);
    }
    waitpid(child, NULL, 0);
    for (long round = 1; round <= 50; round++) {
        mark(round);
        anon_counter[0] = round + anon_counter[1];
        if (round % 10 == 0) {
            anon_counter[2] = round;
            file_counter[1] = round;
        }
        getppid();
    }
    printf("%ld %ld %ld\n", anon_counter[0], anon_counter[2], file_counter[1]);
    unlink(path);
    return 0;
}
