/* Computes without a syscall for argv[1] iterations (default 3e9, a few
 * seconds), then prints the result. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 3000000000UL;
    unsigned long h = 1469598103934665603UL;
    for (unsigned long i = 0; i < n; i++) {
        h ^= i;
        h *= 1099511628211UL;
    }
    printf("%lu\n", h);
    return 0;
}
