/* Two threads ping-pong argv[1] one-byte messages (default 20000) over a
 * socketpair: every message is a blocking read woken by the other
 * thread's write. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int sv[2];
static long rounds;

static void *echo(void *arg) {
    (void)arg;
    char byte;
    for (long i = 0; i < rounds; i++) {
        if (read(sv[1], &byte, 1) != 1 || write(sv[1], &byte, 1) != 1)
            return (void *)1;
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 20000;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return 1;
    pthread_t thread;
    pthread_create(&thread, NULL, echo, NULL);
    char byte = 'x';
    for (long i = 0; i < rounds; i++) {
        if (write(sv[0], &byte, 1) != 1 || read(sv[0], &byte, 1) != 1)
            return 1;
    }
    void *failed;
    pthread_join(thread, &failed);
    printf("%ld round trips\n", rounds);
    return failed != NULL;
}
