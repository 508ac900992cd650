// Terminal ioctls on non-terminals, and FIONREAD on a pipe.
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <errno.h>

int main(void) {
    struct winsize ws;
    int r = ioctl(0, TIOCGWINSZ, &ws);
    printf("TIOCGWINSZ on stdin=%d errno=%d\n", r, r ? errno : 0);
    struct termios t;
    r = tcgetattr(1, &t);
    printf("tcgetattr on stdout=%d isatty=%d\n", r, isatty(1));
    int p[2], avail = -1;
    pipe(p);
    write(p[1], "12345", 5);
    ioctl(p[0], FIONREAD, &avail);
    printf("FIONREAD=%d\n", avail);
    return 0;
}
