// Two threads ping-pong 1000 times through a mutex and a condition variable.
#include <pthread.h>
#include <stdio.h>

#define ROUNDS 1000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn;  // 0: ping's turn, 1: pong's turn
static int round_no;
static long checksum;
static int out_of_order;

static void *player(void *arg) {
    int me = (int)(long)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        while (turn != me) pthread_cond_wait(&cond, &lock);
        if (round_no % 2 != me) out_of_order++;
        round_no++;
        checksum = checksum * 31 + me + 1;
        turn = !me;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void) {
    pthread_t ping, pong;
    pthread_create(&ping, NULL, player, (void *)0L);
    pthread_create(&pong, NULL, player, (void *)1L);
    pthread_join(ping, NULL);
    pthread_join(pong, NULL);
    printf("rounds %d out_of_order %d checksum %ld last_turn %d\n", round_no, out_of_order, checksum, turn);
    return round_no == 2 * ROUNDS && out_of_order == 0 ? 0 : 1;
}
