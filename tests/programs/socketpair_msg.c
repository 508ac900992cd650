// socketpair with sendmsg/recvmsg: scattered data and a passed descriptor.
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    char part1[] = "scatter-", part2[] = "gather";
    struct iovec out[2] = {{part1, strlen(part1)}, {part2, strlen(part2)}};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg = {.msg_iov = out, .msg_iovlen = 2, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int passed = 1;
    memcpy(CMSG_DATA(c), &passed, sizeof passed);
    printf("sendmsg=%zd\n", sendmsg(sv[0], &msg, 0));
    char a[5] = {0}, b[20] = {0};
    struct iovec in[2] = {{a, 4}, {b, 19}};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } rcontrol;
    struct msghdr rmsg = {.msg_iov = in, .msg_iovlen = 2, .msg_control = rcontrol.buf,
                          .msg_controllen = sizeof rcontrol.buf};
    ssize_t n = recvmsg(sv[1], &rmsg, 0);
    int fd = -1;
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rmsg);
    if (rc && rc->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(rc), sizeof fd);
    printf("recvmsg=%zd a='%s' b='%s' got fd %d controllen %zu\n", n, a, b, fd > 2, (size_t)rmsg.msg_controllen);
    printf("write through passed fd=%zd\n", write(fd, "", 0));
    close(sv[0]);
    close(sv[1]);
    return 0;
}
