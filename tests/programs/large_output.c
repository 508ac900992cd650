// A megabyte of output in writes of many sizes.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char line[200];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(line, sizeof line, "line %d %.*s\n", i, i % 90, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnop");
        fwrite(line, 1, n, stdout);
    }
    fflush(stdout);
    static char block[300000];
    memset(block, 'z', sizeof block - 1);
    block[sizeof block - 1] = '\n';
    write(1, block, sizeof block);
    return 0;
}
