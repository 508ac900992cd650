// Built -no-pie: code at a fixed address.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void) {
    srand((unsigned)time(NULL));
    printf("main at %p, rand %d\n", (void *)main, rand());
    return 0;
}
