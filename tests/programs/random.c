// getrandom and /dev/urandom.
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

static void hex(const char *label, const unsigned char *b, int n) {
    printf("%s ", label);
    for (int i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

int main(void) {
    unsigned char buf[32];
    ssize_t n = getrandom(buf, sizeof buf, 0);
    hex("getrandom", buf, (int)n);
    int fd = open("/dev/urandom", O_RDONLY);
    n = read(fd, buf, sizeof buf);
    hex("urandom", buf, (int)n);
    close(fd);
    n = getrandom(buf, 8, GRND_NONBLOCK);
    hex("nonblock", buf, (int)n);
    return 0;
}
