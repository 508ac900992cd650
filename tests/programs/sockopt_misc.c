// Socket options and names on a Unix socket pair, and misc. fd syscalls.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int type = 0;
    socklen_t len = sizeof type;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
    printf("type dgram=%d len=%u\n", type == SOCK_DGRAM, len);
    struct sockaddr_un name;
    socklen_t nlen = sizeof name;
    getsockname(sv[0], (struct sockaddr *)&name, &nlen);
    printf("unnamed unix socket name length=%u family=%d\n", nlen, name.sun_family);
    send(sv[0], "ping", 4, 0);
    char buf[8] = {0};
    printf("recv=%zd '%s'\n", recv(sv[1], buf, sizeof buf, 0), buf);
    printf("close=%d\n", close(sv[0]) + close(sv[1]));
    return 0;
}
