/* A program for debugger tests: a random local, a function to step into
 * and finish out of, a global and a heap variable that change, a libc
 * function calling back into the program. Exits with status 5. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

int counter;
long *heap_total;

__attribute__((noinline)) int square(int x) {
    int result = x * x;
    return result;
}

__attribute__((noinline)) void bump(int by) {
    counter += by;
    *heap_total += by * 10;
}

static int compare(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

int main(void) {
    unsigned int secret = 0;
    if (getrandom(&secret, sizeof secret, 0) != sizeof secret)
        return 1;
    secret %= 100000;
    heap_total = calloc(1, sizeof *heap_total);
    int squared = square(7); /* line: after_secret */
    bump(3);
    bump(4);
    int values[4] = {40, 10, 30, 20};
    qsort(values, 4, sizeof values[0], compare);
    printf("secret %u squared %d counter %d heap %ld first %d\n", secret, squared,
           counter, *heap_total, values[0]);
    return 5;
}
