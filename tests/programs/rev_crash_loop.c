/* A crash at the end of a long loop without syscalls: the fault is taken
 * by the loop's last pass, 20 million instructions after the last
 * syscall. */
#include <unistd.h>

volatile long sink;
long *volatile target;

__attribute__((noinline)) static void compute(long n) {
    for (long i = 0; i < n; i++) {
        sink += i;
        if (i == n - 1)
            *target = i; /* the fault */
    }
}

int main(void) {
    sink = getppid() & 0;
    compute(3000000);
    return 0;
}
