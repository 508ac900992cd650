/* The long computation of rev_compute.c with its loop in registers only
 * (compiled at -O2): no instruction of it is 5 bytes long, so an arrival
 * counter's jump covers two and a debug register guards the second. */
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void after(void) { sink++; }

__attribute__((noinline, optimize("O2"))) static long compute(long n) {
    long s = 0;
    for (long i = 0; i < n; i++)
        s += i ^ (s >> 3);
    return s;
}

int main(void) {
    sink = compute(3000000 + (getppid() & 0));
    after();
    return 0;
}
