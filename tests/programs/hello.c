// Output on stdout and stderr, and a non-zero exit status.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("hello from stdout\n");
    fflush(stdout);
    fprintf(stderr, "hello from stderr\n");
    write(1, "raw write\n", 10);
    return 3;
}
