// open/read/write/pread/pwrite/lseek/readv/writev/ftruncate/fsync on a file.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/file_io.txt", argc > 1 ? argv[1] : "/tmp");
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) { perror("open"); return 1; }
    const char *text = "The quick brown fox jumps over the lazy dog\n";
    write(fd, text, strlen(text));
    struct iovec out[2] = {{"abc", 3}, {"defgh\n", 6}};
    writev(fd, out, 2);
    pwrite(fd, "XYZ", 3, 4);
    fsync(fd);
    off_t end = lseek(fd, 0, SEEK_END);
    char buf[128] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    printf("size=%ld pread=%zd text=%s", (long)end, n, buf);
    lseek(fd, 10, SEEK_SET);
    char a[5] = {0}, b[7] = {0};
    struct iovec in[2] = {{a, 4}, {b, 6}};
    ssize_t m = readv(fd, in, 2);
    printf("readv=%zd a=%s b=%s\n", m, a, b);
    ftruncate(fd, 8);
    printf("after truncate=%ld\n", (long)lseek(fd, 0, SEEK_END));
    close(fd);
    unlink(path);
    return 0;
}
