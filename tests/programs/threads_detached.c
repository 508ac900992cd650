// Detached threads (by attribute and by pthread_detach) report completion through a POSIX semaphore.
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

#define THREADS 5

static sem_t done;
static long results[THREADS];

static void *worker(void *arg) {
    long id = (long)arg;
    long sum = 0;
    for (long i = 1; i <= 10000 * (id + 1); i++) sum += i % 7;
    results[id] = sum;
    sem_post(&done);
    return NULL;
}

int main(void) {
    sem_init(&done, 0, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int state = -1;
    pthread_attr_getdetachstate(&attr, &state);
    printf("attribute detached: %d\n", state == PTHREAD_CREATE_DETACHED);
    for (long i = 0; i < THREADS; i++) {
        pthread_t t;
        int rc;
        if (i % 2 == 0) {
            rc = pthread_create(&t, &attr, worker, (void *)i);
        } else {
            rc = pthread_create(&t, NULL, worker, (void *)i);
            if (rc == 0) rc = pthread_detach(t);
        }
        if (rc != 0) printf("thread %ld failed %d\n", i, rc);
    }
    pthread_attr_destroy(&attr);
    for (int i = 0; i < THREADS; i++) sem_wait(&done);
    int value = -1;
    sem_getvalue(&done, &value);
    for (int i = 0; i < THREADS; i++) printf("thread %d result %ld\n", i, results[i]);
    printf("semaphore value after waits %d\n", value);
    sem_destroy(&done);
    return 0;
}
