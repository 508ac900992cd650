// A file the program writes, maps (private and shared, read-only), sums
// and deletes.
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/mmap_file.dat", argc > 1 ? argv[1] : "/tmp");
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    unsigned char block[4096];
    for (int b = 0; b < 64; b++) {
        for (int i = 0; i < 4096; i++) block[i] = (unsigned char)(b + i);
        write(fd, block, sizeof block);
    }
    unsigned char *priv = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    unsigned char *shared = mmap(NULL, 8 * 4096, PROT_READ, MAP_SHARED, fd, 4096 * 8);
    unsigned long sum = 0;
    for (int i = 0; i < 64 * 4096; i++) sum += priv[i];
    priv[0] = 99;
    printf("sum %lu shared[0]=%d private[0]=%d\n", sum, shared[0], priv[0]);
    munmap(priv, 64 * 4096);
    munmap(shared, 8 * 4096);
    close(fd);
    unlink(path);
    return 0;
}
