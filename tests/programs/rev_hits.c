/* A breakpoint hit two million times: reverse-continue to its last hit
 * before the end counts the hits in the tracee (one stop a hit would take
 * minutes), and the hits before it are kept for the next ones. */
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void hit(long i) { sink += i; }

__attribute__((noinline)) void after(void) { sink++; }

int main(void) {
    sink = getppid() & 0;
    for (long i = 0; i < 2000000; i++)
        hit(i);
    after();
    return 0;
}
