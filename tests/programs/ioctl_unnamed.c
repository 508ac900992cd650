// An ioctl rewind does not describe, which succeeds: TIOCGLCKTRMIOS (0x5456)
// on a pseudo-terminal. The recording must stop and name it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

int main(void) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) {
        perror("pty");
        return 1;
    }
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    if (slave < 0) {
        perror("open pty");
        return 1;
    }
    struct termios locked;
    printf("TIOCGLCKTRMIOS=%d\n", ioctl(slave, TIOCGLCKTRMIOS, &locked));
    return 0;
}
