// Reading /proc/self files (their contents come from the kernel at record
// time and are replayed as recorded).
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char buf[8192];
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    int lines = 0;
    for (char *p = buf; *p; p++) lines += *p == '\n';
    printf("maps: %d lines in the first read, mentions the rewind page: %d\n", lines, strstr(buf, "70000000-") != NULL);
    fd = open("/proc/self/stat", O_RDONLY);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("stat read %d\n", n > 0);
    return 0;
}
