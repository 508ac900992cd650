// UDP datagrams to itself with sendto/recvfrom and their addresses.
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(b, (struct sockaddr *)&addr, sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(b, (struct sockaddr *)&addr, &len);
    for (int i = 0; i < 3; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "datagram %d", i);
        sendto(a, msg, n, 0, (struct sockaddr *)&addr, sizeof addr);
        char buf[64] = {0};
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        ssize_t r = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        printf("got %zd '%s' from port %u len %u\n", r, buf, ntohs(from.sin_port), flen);
    }
    int size = 0;
    socklen_t slen = sizeof size;
    getsockopt(b, SOL_SOCKET, SO_RCVBUF, &size, &slen);
    printf("rcvbuf %d optlen %u\n", size, slen);
    close(a);
    close(b);
    return 0;
}
