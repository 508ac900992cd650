// Loopback TCP to itself driven by epoll: socket, bind, listen, connect,
// accept4, send, recv, epoll_ctl, epoll_wait, getsockname, getpeername.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(listener, (struct sockaddr *)&addr, sizeof addr);
    listen(listener, 4);
    socklen_t len = sizeof addr;
    getsockname(listener, (struct sockaddr *)&addr, &len);
    printf("listening on an ephemeral port: %d\n", ntohs(addr.sin_port) > 0);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(client, (struct sockaddr *)&addr, sizeof addr);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
    struct epoll_event got[4];
    int n = epoll_wait(ep, got, 4, 2000);
    printf("listener ready: %d tag %u\n", n, got[0].data.u32);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int server = accept4(listener, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    printf("accepted from loopback: %d port %u\n", peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK), ntohs(peer.sin_port));
    ev.events = EPOLLIN;
    ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, server, &ev);
    for (int i = 0; i < 3; i++) {
        char msg[64];
        int m = snprintf(msg, sizeof msg, "message %d", i);
        send(client, msg, m, 0);
        n = epoll_pwait(ep, got, 4, 2000, NULL);
        char buf[64] = {0};
        ssize_t r = recv(server, buf, sizeof buf, 0);
        printf("ready %d tag %u received %zd '%s'\n", n, got[0].data.u32, r, buf);
    }
    shutdown(client, SHUT_WR);
    char buf[8];
    printf("after shutdown recv=%zd\n", recv(server, buf, sizeof buf, 0));
    socklen_t pl = sizeof peer;
    printf("getpeername=%d\n", getpeername(server, (struct sockaddr *)&peer, &pl));
    close(client); close(server); close(listener); close(ep);
    return 0;
}
