/* Makes many cheap syscalls (argv[1] of them, default 100000), so that its
 * trace spans several chunks. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 100000;
    long sum = 0;
    for (long i = 0; i < count; i++)
        sum += getppid() > 0;
    printf("%ld calls\n", sum);
    return 0;
}
