/* A step back out of a long computation without syscalls: the
 * instruction before the call of after() is compute's last, some 20
 * million instructions after the program's last syscall. */
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void after(void) { sink++; }

__attribute__((noinline)) static void compute(long n) {
    for (long i = 0; i < n; i++)
        sink += i;
}

int main(void) {
    sink = getppid() & 0;
    compute(3000000);
    after();
    return 0;
}
