/* For reverse execution in gdb: a global written many times, a read()
 * into a buffer that held something else, and a function called in a
 * loop. Prints what it computed. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int counter;
int history[64];

__attribute__((noinline)) void bump(int i) {
    counter = counter * 3 + i; /* the write */
    history[i % 64] = counter;
}

__attribute__((noinline)) int square(int x) {
    int y = x * x; /* square body */
    return y;
}

int main(void) {
    char buf[32];
    memset(buf, 'o', sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    for (int i = 0; i < 200; i++)
        bump(i);
    int p[2];
    if (pipe(p) != 0 || write(p[1], "fresh data", 10) != 10)
        return 1;
    ssize_t got = read(p[0], buf, 10); /* the read */
    printf("got %zd: %s\n", got, buf); /* after the read */
    int total = 0;
    for (int i = 0; i < 5; i++)
        total += square(i); /* the calls */
    printf("total %d counter %d\n", total, counter);
    return 0;
}
