/* Runs argv[1..] under a seccomp filter, as a container's profile would
 * run rewind (getcpu_filter.h). */
#include <stdio.h>
#include <unistd.h>

#include "getcpu_filter.h"

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    if (install_getcpu_filter()) {
        perror("seccomp");
        return 1;
    }
    execvp(argv[1], argv + 1);
    perror("execvp");
    return 127;
}
