// Reads a file given on the command line through read(), in 128 KiB pieces
// and then in one call, and prints checksums.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long fnv(const unsigned char *p, size_t n, unsigned long h) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211UL;
    return h;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 1; }
    unsigned char *piece = malloc(1 << 17);
    unsigned long h = 14695981039346656037UL;
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, piece, 1 << 17)) > 0) { h = fnv(piece, n, h); total += n; }
    printf("pieces: %zu bytes hash %016lx\n", total, h);
    struct stat st;
    fstat(fd, &st);
    unsigned char *all = malloc(st.st_size);
    n = pread(fd, all, st.st_size, 0);
    printf("whole: %zd bytes hash %016lx\n", n, fnv(all, n, 14695981039346656037UL));
    return 0;
}
