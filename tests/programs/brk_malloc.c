// The program break and malloc, small and large.
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    void *start = sbrk(0);
    char *grown = sbrk(1 << 16);
    memset(grown, 3, 1 << 16);
    printf("grew %d\n", sbrk(0) == (char *)start + (1 << 16));
    sbrk(-(1 << 15));
    unsigned long sum = 0;
    for (int round = 0; round < 100; round++) {
        char *small = malloc(100 + round);
        char *large = malloc(200000 + round * 1000);
        memset(small, round, 100);
        memset(large, round, 200000);
        sum += small[50] + large[199999];
        free(small);
        free(large);
    }
    printf("sum %lu\n", sum);
    return 0;
}
