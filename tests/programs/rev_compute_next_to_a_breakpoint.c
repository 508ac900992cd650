/* The long computation of rev_compute.c at -O1, with after() right
 * behind compute's `ret`: gdb's breakpoint on after lies two bytes past
 * the loop's last branch, and the arrival counter's copy of the loop
 * must not be refused for it. */
#include <unistd.h>

volatile long sink;

__attribute__((noinline, optimize("O1"))) static void compute(long n) {
    for (long i = 0; i < n; i++)
        sink += i;
}

__attribute__((noinline)) void after(void) { sink++; }

int main(void) {
    sink = getppid() & 0;
    compute(3000000);
    after();
    return 0;
}
