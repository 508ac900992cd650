// sendmmsg/recvmmsg: three two-iovec datagrams over a UNIX socketpair, then over UDP loopback with msg_name.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N 3

static int exchange(int tx, int rx, struct sockaddr_in *to) {
    char heads[N][8], bodies[N][16];
    struct iovec siov[N][2];
    struct mmsghdr smsg[N];
    memset(smsg, 0, sizeof smsg);
    for (int i = 0; i < N; i++) {
        snprintf(heads[i], sizeof heads[i], "msg%d:", i);
        snprintf(bodies[i], sizeof bodies[i], "body-%c%c", 'a' + i, 'a' + i);
        siov[i][0] = (struct iovec){heads[i], strlen(heads[i])};
        siov[i][1] = (struct iovec){bodies[i], strlen(bodies[i])};
        smsg[i].msg_hdr.msg_iov = siov[i];
        smsg[i].msg_hdr.msg_iovlen = 2;
        if (to) {
            smsg[i].msg_hdr.msg_name = to;
            smsg[i].msg_hdr.msg_namelen = sizeof *to;
        }
    }
    int sent = sendmmsg(tx, smsg, N, 0);
    printf("sendmmsg=%d msg_len:", sent);
    for (int i = 0; i < N; i++) printf(" %u", smsg[i].msg_len);
    printf("\n");
    if (sent != N) return 1;

    char rh[N][4], rb[N][32];
    struct iovec riov[N][2];
    struct mmsghdr rmsg[N];
    struct sockaddr_in from[N];
    memset(rmsg, 0, sizeof rmsg);
    memset(rb, 0, sizeof rb);
    memset(from, 0, sizeof from);
    for (int i = 0; i < N; i++) {
        riov[i][0] = (struct iovec){rh[i], sizeof rh[i]};  // splits each datagram across the two iovecs
        riov[i][1] = (struct iovec){rb[i], sizeof rb[i] - 1};
        rmsg[i].msg_hdr.msg_iov = riov[i];
        rmsg[i].msg_hdr.msg_iovlen = 2;
        if (to) {
            rmsg[i].msg_hdr.msg_name = &from[i];
            rmsg[i].msg_hdr.msg_namelen = sizeof from[i];
        }
    }
    int got = recvmmsg(rx, rmsg, N, MSG_WAITFORONE, NULL);
    printf("recvmmsg=%d\n", got);
    for (int i = 0; i < got; i++) {
        printf("  [%d] len=%u head=%.4s body=%s", i, rmsg[i].msg_len, rh[i], rb[i]);
        if (to)
            printf(" from=%s same_port=%d namelen=%u", inet_ntoa(from[i].sin_addr),
                   from[i].sin_port == from[0].sin_port, rmsg[i].msg_hdr.msg_namelen);
        printf("\n");
    }
    return got < 1;
}

int main(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) { perror("socketpair"); return 1; }
    printf("unix:\n");
    if (exchange(sv[0], sv[1], NULL)) return 1;

    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(rx, (struct sockaddr *)&addr, &len) != 0) {
        perror("udp setup");
        return 1;
    }
    printf("udp:\n");
    if (exchange(tx, rx, &addr)) return 1;
    return 0;
}
