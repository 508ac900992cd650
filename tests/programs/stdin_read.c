// Reads all of stdin and prints its length and checksum.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    unsigned char buf[4096];
    unsigned long total = 0, sum = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum = sum * 31 + buf[i];
        total += n;
    }
    printf("stdin %lu bytes sum %lu\n", total, sum);
    return 0;
}
