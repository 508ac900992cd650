// An unlocked check-then-act race between two threads: usually "ok", but an unlucky interleaving (preemption
// inside the narrow window) lets both threads claim the slot, printing "RACE DETECTED" and exiting 1.
#include <pthread.h>
#include <stdio.h>

static volatile int slot;          // 0 = free; otherwise the id of the claiming thread
static volatile int claims[3];     // how many times each thread believed it claimed the slot
static volatile unsigned long work;

static void *claimer(void *arg) {
    int id = (int)(long)arg;
    // Thread 2 does a little preamble first, so natively its check happens long after thread 1's act.
    if (id == 2)
        for (int i = 0; i < 20000; i++) work = work + i;
    if (slot == 0) {                               // check
        for (int i = 0; i < 400; i++) work = work * 31 + i;  // the window: a few thousand instructions
        slot = id;                                 // act
        claims[id]++;
    }
    return NULL;
}

int main(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, claimer, (void *)1L);
    pthread_create(&b, NULL, claimer, (void *)2L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    int total = claims[1] + claims[2];
    if (total != 1) {
        printf("RACE DETECTED: claims %d+%d, slot %d\n", claims[1], claims[2], slot);
        return 1;
    }
    printf("ok\n");
    return 0;
}
