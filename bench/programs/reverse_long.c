/* The recording `cargo xtask bench reverse` steps back through last: a
 * stretch of computation without syscalls (two billion passes of a loop,
 * 0.7 s on the machine this was written on), then after. The first move
 * back into it replays it whole and takes copies inside it, which the
 * moves after it start from. */
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void after(void) { sink++; }

__attribute__((noinline)) static void compute(long n) {
    for (long i = 0; i < n; i++)
        sink += i;
}

int main(void) {
    sink = getppid() & 0;
    compute(2000000000);
    after();
    return 0;
}
