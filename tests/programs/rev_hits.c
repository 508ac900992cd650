/* A breakpoint hit two million times, in two loops with mid() between
 * them: reverse-continue to its last hit before the end counts the hits
 * in the tracee (one stop a hit would take minutes), and the hits before
 * it are kept for the next ones. Each hit runs a short loop of its own,
 * so that with copies due at every event the replay also finds where the
 * time goes (hot.rs) and counts there, which gives way to the hits. */
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void hit(long i) {
    for (int k = 0; k < 8; k++)
        sink += i;
}

__attribute__((noinline)) void mid(void) { sink++; }

__attribute__((noinline)) void after(void) { sink++; }

int main(void) {
    sink = getppid() & 0;
    for (long i = 0; i < 1000000; i++)
        hit(i);
    mid();
    for (long i = 1000000; i < 2000000; i++)
        hit(i);
    after();
    return 0;
}
