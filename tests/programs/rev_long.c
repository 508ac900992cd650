/* A long history for interrupting a move back: first() once at the start,
 * then argv[1] rounds (default 40000) of a little computation and a
 * syscall each, so that the replay keeps copies all along. */
#include <stdlib.h>
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void first(void) { sink++; }

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 40000;
    first();
    for (long round = 0; round < rounds; round++) {
        for (int i = 0; i < 2000; i++)
            sink += i;
        sink += getppid();
    }
    return 0;
}
