// Thread-local storage: __thread variables and pthread keys with destructors, plus gettid.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 3

static __thread int tls_counter = 100;
static __thread char tls_name[16];
static pthread_key_t key;
static int destructor_runs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void destroy(void *p) {
    pthread_mutex_lock(&lock);
    destructor_runs++;
    pthread_mutex_unlock(&lock);
    free(p);
}

struct result {
    int id, counter, key_value;
    long tid;
    int tid_differs_from_pid;
    char name[16];
};

static struct result results[THREADS];

static void *worker(void *arg) {
    int id = (int)(long)arg;
    snprintf(tls_name, sizeof tls_name, "worker-%d", id);
    for (int i = 0; i <= id; i++) tls_counter += 10;
    int *v = malloc(sizeof *v);
    *v = id * 1000 + 7;
    pthread_setspecific(key, v);
    usleep(1000);  // let the other threads run and touch their own copies
    struct result *r = &results[id];
    r->id = id;
    r->counter = tls_counter;
    r->key_value = *(int *)pthread_getspecific(key);
    r->tid = gettid();
    r->tid_differs_from_pid = r->tid != getpid() && r->tid == syscall(SYS_gettid);
    snprintf(r->name, sizeof r->name, "%s", tls_name);
    return NULL;
}

int main(void) {
    pthread_key_create(&key, destroy);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++)
        printf("thread %d name %s counter %d key %d tid %ld tid_ok %d\n", results[i].id, results[i].name,
               results[i].counter, results[i].key_value, results[i].tid, results[i].tid_differs_from_pid);
    printf("main counter %d name '%s' key %p pid==tid %d\n", tls_counter, tls_name, pthread_getspecific(key),
           getpid() == gettid());
    printf("destructor runs %d\n", destructor_runs);
    pthread_key_delete(key);
    return 0;
}
