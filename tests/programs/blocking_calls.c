/* Calls that block, through libc's patched sites and so the syscall
 * buffer where rewind hears a thread block (tests/blocking.rs). argv[1]:
 *   "threads"   a reader thread sets a word, then blocks reading a pipe;
 *               the writer waits (yielding) until it sees the word, then
 *               computes and writes one byte: the reader's write before
 *               it blocked must be visible to the writer in replay too;
 *   "polls"     as "threads", but the reader waits in poll (on the pipe
 *               and an entry that poll ignores) before each read;
 *   "processes" a parent and its forked child ping-pong bytes over two
 *               pipes;
 *   "signals"   a read of an empty pipe is cut short by SIGALRM from a
 *               handler without SA_RESTART (EINTR), then one with it
 *               (restarted, and ended by a thread's write).
 * argv[2]: rounds (default 200). Prints what each side saw. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int rounds = 200;
static int data[2];
static volatile int posted = -1;
static volatile long seen;

static void *writer(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        while (posted != i)
            sched_yield();
        long work = 0;
        for (int j = 0; j < 20000; j++)
            work += j ^ i;
        seen += posted + (work & 1);
        char byte = (char)i;
        if (write(data[1], &byte, 1) != 1)
            return (void *)1;
    }
    return NULL;
}

/* With `polling`, the reader waits in poll before each read. */
static int threads(int polling) {
    if (pipe(data))
        return 1;
    pthread_t thread;
    pthread_create(&thread, NULL, writer, NULL);
    long sum = 0, ready = 0;
    for (int i = 0; i < rounds; i++) {
        posted = i;
        if (polling) {
            /* The kernel reads each entry's fd and events and writes every
             * revents, the ignored one's (fd -1) too. */
            struct pollfd watched[2] = {{.fd = data[0], .events = POLLIN, .revents = 0x777},
                                        {.fd = -1, .events = POLLIN, .revents = 0x777}};
            ready += poll(watched, 2, -1) == 1 && watched[0].revents == POLLIN &&
                     watched[1].revents == 0;
        }
        unsigned char byte;
        if (read(data[0], &byte, 1) != 1)
            return 1;
        sum += byte;
    }
    void *failed;
    pthread_join(thread, &failed);
    if (polling)
        printf("%ld polls ready, ", ready);
    printf("read %d bytes, sum %ld; the writer saw %ld\n", rounds, sum, seen);
    return failed != NULL;
}

static int processes(void) {
    int there[2], back[2];
    if (pipe(there) || pipe(back))
        return 1;
    pid_t child = fork();
    if (child == 0) {
        close(there[1]);
        close(back[0]);
        unsigned char byte;
        while (read(there[0], &byte, 1) == 1) {
            byte++;
            if (write(back[1], &byte, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    close(there[0]);
    close(back[1]);
    long sum = 0;
    for (int i = 0; i < rounds; i++) {
        unsigned char byte = (unsigned char)i, got;
        if (write(there[1], &byte, 1) != 1 || read(back[0], &got, 1) != 1)
            return 1;
        sum += got;
    }
    close(there[1]);
    int status;
    waitpid(child, &status, 0);
    printf("%d round trips, sum %ld, child status %d\n", rounds, sum, status);
    return 0;
}

static volatile int alarms;

static void on_alarm(int signo) {
    (void)signo;
    alarms++;
}

static void *late_writer(void *arg) {
    (void)arg;
    usleep(150 * 1000);
    if (write(data[1], "z", 1) != 1)
        return (void *)1;
    return NULL;
}

static int signals(void) {
    if (pipe(data))
        return 1;
    /* Reads that do not block come first: the recorder patches read's
     * site at the first, so the blocking ones go through the buffer. */
    char warm[3];
    if (write(data[1], "abc", 3) != 3)
        return 1;
    for (int i = 0; i < 3; i++)
        if (read(data[0], &warm[i], 1) != 1)
            return 1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alarm;
    sigaction(SIGALRM, &action, NULL);
    struct itimerval once = {{0, 0}, {0, 50 * 1000}};
    setitimer(ITIMER_REAL, &once, NULL);
    char byte;
    long got = read(data[0], &byte, 1);
    printf("without SA_RESTART: %ld (%s), %d alarm\n", got, got < 0 ? strerror(errno) : "-",
           alarms);
    action.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &action, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, late_writer, NULL);
    setitimer(ITIMER_REAL, &once, NULL);
    got = read(data[0], &byte, 1);
    void *failed;
    pthread_join(thread, &failed);
    printf("with SA_RESTART: %ld '%c', %d alarms\n", got, got == 1 ? byte : '-', alarms);
    return failed != NULL;
}

int main(int argc, char **argv) {
    if (argc > 2)
        rounds = atoi(argv[2]);
    const char *mode = argc > 1 ? argv[1] : "threads";
    if (!strcmp(mode, "threads"))
        return threads(0);
    if (!strcmp(mode, "polls"))
        return threads(1);
    if (!strcmp(mode, "processes"))
        return processes();
    if (!strcmp(mode, "signals"))
        return signals();
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}
