// Threads that create threads while main computes; with argv[1] "exit", main calls pthread_exit early and the last thread ends the process with exit(0).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTER 4
#define INNER 2

static long results[OUTER][INNER];
static int finished;  // outer threads done, under lock
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int exit_mode;

static void *inner(void *arg) {
    long id = (long)arg;
    long s = 0;
    for (long i = 0; i < 200000 + id * 1000; i++) s += (i ^ id) & 7;
    return (void *)s;
}

static void *outer(void *arg) {
    long id = (long)arg;
    pthread_t t[INNER];
    for (int j = 0; j < INNER; j++) {
        if (pthread_create(&t[j], NULL, inner, (void *)(id * 10 + j)) != 0) {
            fprintf(stderr, "inner pthread_create failed\n");
            exit(1);
        }
    }
    for (int j = 0; j < INNER; j++) {
        void *r;
        pthread_join(t[j], &r);
        results[id][j] = (long)r;
    }
    pthread_mutex_lock(&lock);
    int last = ++finished == OUTER;
    pthread_mutex_unlock(&lock);
    if (exit_mode && last) {
        long total = 0;
        for (int i = 0; i < OUTER; i++)
            for (int j = 0; j < INNER; j++) total += results[i][j];
        printf("last outer thread: total %ld, exiting the process\n", total);
        exit(0);
    }
    return NULL;
}

int main(int argc, char **argv) {
    exit_mode = argc > 1 && strcmp(argv[1], "exit") == 0;
    pthread_t t[OUTER];
    for (long i = 0; i < OUTER; i++) {
        if (pthread_create(&t[i], NULL, outer, (void *)i) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    if (exit_mode) {
        printf("main: leaving with pthread_exit\n");
        fflush(stdout);
        pthread_exit(NULL);
    }
    volatile long counter = 0;
    for (long i = 0; i < 3000000; i++) counter += i & 3;
    for (int i = 0; i < OUTER; i++) pthread_join(t[i], NULL);
    long total = 0;
    for (int i = 0; i < OUTER; i++)
        for (int j = 0; j < INNER; j++) total += results[i][j];
    printf("main: counter %ld, total %ld\n", (long)counter, total);
    return 0;
}
