/* An ordinary libc program whose calls reach the syscall buffer through
 * the syscall sites rewind patches: stdio's internal writes and reads of
 * a file, stat, a directory listing, the vDSO's clock_gettime, libc's
 * syscall(), vectored reads and writes of the file, a socketpair's
 * send, sendmsg and recv, poll, ppoll, epoll_wait, epoll_pwait and
 * epoll_pwait2 on it, futex wakes, accept4 of a listening socket's
 * connections. Mode "blocked": a second thread waits in read() on a pipe,
 * at the very site the main thread's reads of the file use, while the
 * main thread reads the file; then it is woken and the main thread reads
 * on. argv[1] is a scratch directory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static int pipe_fds[2];

static void *waiter(void *arg) {
    (void)arg;
    char byte;
    long got = read(pipe_fds[0], &byte, 1);
    return (void *)got;
}

/* Reads the file at `path` `times` times from the start; returns the sum
 * of the bytes read. */
static long read_file(int fd, int times) {
    long sum = 0;
    char buf[64];
    for (int i = 0; i < times; i++) {
        lseek(fd, 0, SEEK_SET);
        long n = read(fd, buf, sizeof buf);
        for (long j = 0; j < n; j++)
            sum += (unsigned char)buf[j];
    }
    return sum;
}

static int blocked(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0 || pipe(pipe_fds))
        return 1;
    printf("file fd %d, pipe write fd %d\n", fd, pipe_fds[1]);
    fflush(stdout);
    pthread_t thread;
    pthread_create(&thread, NULL, waiter, NULL);
    /* Long enough for the waiter to sit in its read. */
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    long before = read_file(fd, 20);
    write(pipe_fds[1], "x", 1);
    void *woken;
    pthread_join(thread, &woken);
    long after = read_file(fd, 20);
    printf("before %ld, woken %ld, after %ld\n", before, (long)woken, after);
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/patched-calls.txt", dir);
    FILE *out = fopen(path, "w");
    if (!out)
        return 1;
    /* Unbuffered: each fprintf writes, from inside libc. */
    setvbuf(out, NULL, _IONBF, 0);
    for (int i = 0; i < 100; i++)
        fprintf(out, "line %03d\n", i);
    fclose(out);
    if (argc > 2 && !strcmp(argv[2], "blocked"))
        return blocked(path);

    FILE *in = fopen(path, "r");
    char line[64], buffer[64];
    long lines = 0, sum = 0;
    setvbuf(in, buffer, _IOFBF, sizeof buffer);
    while (fgets(line, sizeof line, in)) {
        lines++;
        sum += atoi(line + 5);
    }
    fclose(in);

    struct stat st;
    stat(path, &st);
    DIR *listing = opendir(dir);
    int found = 0;
    for (struct dirent *e; listing && (e = readdir(listing));)
        found += !strcmp(e->d_name, "patched-calls.txt");
    if (listing)
        closedir(listing);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long ticks = 0;
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ticks += t1.tv_nsec != t0.tv_nsec;
    }
    long parents = 0;
    for (int i = 0; i < 1000; i++)
        parents += syscall(SYS_getppid) == getppid();
    /* Queries that libc makes of descriptors and of the system, each more
     * than once: the first call at a site is traced (it patches it). */
    int queries = 0;
    for (int i = 0; i < 3; i++) {
        int copy = dup(1);
        char cwd[4096];
        struct utsname name;
        unsigned char random[8];
        queries += !isatty(copy) || isatty(copy);
        queries += fcntl(copy, F_GETFD) >= 0;
        queries += getcwd(cwd, sizeof cwd) != NULL;
        queries += uname(&name) == 0;
        queries += getrandom(random, sizeof random, 0) == sizeof random;
        close(copy);
    }
    /* Vectored I/O of the file, messages over a socketpair, futex wakes
     * with no waiter. */
    long vectored = 0, messages = 0, wakes = 0;
    int file = open(path, O_RDWR);
    int pair[2];
    if (file < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair))
        return 1;
    static int word;
    int ep = epoll_create1(0);
    struct epoll_event watch = {.events = EPOLLIN, .data.u64 = 0x1234};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pair[1], &watch))
        return 1;
    struct sockaddr_un place = {.sun_family = AF_UNIX};
    snprintf(place.sun_path, sizeof place.sun_path, "%s/patched-calls.sock", dir);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&place, sizeof place) ||
        listen(listener, 4))
        return 1;
    long ready = 0, polled = 0, accepted = 0;
    for (int i = 0; i < 3; i++) {
        char a[3] = "ab", b[4] = "cde", x[3] = {0}, y[4] = {0};
        struct iovec out[2] = {{a, 2}, {b, 3}}, in[2] = {{x, 2}, {y, 3}};
        vectored += pwritev(file, out, 2, 0) == 5;
        vectored += preadv(file, in, 2, 0) == 5 && !memcmp(x, "ab", 2) && !memcmp(y, "cde", 3);
        lseek(file, 0, SEEK_SET);
        vectored += writev(file, out, 2) == 5;
        lseek(file, 0, SEEK_SET);
        vectored += readv(file, in, 2) == 5 && !memcmp(y, "cde", 3);
        char got[8];
        messages += send(pair[0], "ping", 4, 0) == 4;
        struct iovec part = {"pong", 4};
        struct msghdr message = {.msg_iov = &part, .msg_iovlen = 1};
        messages += sendmsg(pair[0], &message, 0) == 4;
        /* The kernel writes every revents, the ignored entry's (fd -1)
         * too, and reads only fd and events. */
        struct pollfd watched[2] = {{.fd = pair[1], .events = POLLIN, .revents = 0x777},
                                    {.fd = -1, .events = POLLIN, .revents = 0x777}};
        polled += poll(watched, 2, -1) == 1 && watched[0].revents == POLLIN &&
                  watched[0].fd == pair[1] && watched[1].revents == 0 && watched[1].fd == -1;
        watched[0].revents = watched[1].revents = 0x777;
        polled += ppoll(watched, 2, NULL, NULL) == 1 && watched[0].revents == POLLIN &&
                  watched[1].revents == 0;
        struct epoll_event events[4];
        ready += epoll_wait(ep, events, 4, -1) == 1 && events[0].data.u64 == 0x1234;
        memset(events, 0, sizeof events);
        ready += epoll_pwait(ep, events, 4, -1, NULL) == 1 && events[0].data.u64 == 0x1234;
        memset(events, 0, sizeof events);
        struct timespec forever_ish = {.tv_sec = 60};
        ready += epoll_pwait2(ep, events, 4, &forever_ish, NULL) == 1 &&
                 events[0].data.u64 == 0x1234;
        int client = socket(AF_UNIX, SOCK_STREAM, 0);
        if (client < 0 || connect(client, (struct sockaddr *)&place, sizeof place))
            return 1;
        int connection = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        accepted += connection >= 0 && (fcntl(connection, F_GETFD) & FD_CLOEXEC);
        close(connection);
        close(client);
        messages += recv(pair[1], got, sizeof got, 0) == 8 && !memcmp(got, "pingpong", 8);
        wakes += syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0;
    }
    close(file);
    close(ep);
    close(listener);
    unlink(place.sun_path);
    unlink(path);
    printf("lines %ld sum %ld size %ld listed %d clock %s getppid %ld queries %d vectored %ld "
           "messages %ld polled %ld ready %ld wakes %ld accepted %ld\n",
           lines, sum, (long)st.st_size, found, ticks > 0 ? "moved" : "still", parents, queries,
           vectored, messages, polled, ready, wakes, accepted);
    return 0;
}
