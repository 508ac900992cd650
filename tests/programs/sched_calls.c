// Scheduler calls from several threads: sched_yield, sched_getaffinity/sched_setaffinity, getcpu, policy queries.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static cpu_set_t original;
static int first_cpu = -1, last_cpu = -1;

struct report {
    int yield_rc, setaff_rc, getaff_count, pinned_ok, getcpu_rc;
    unsigned cpu, node;
};

static void *worker(void *arg) {
    struct report *r = arg;
    int target = r->cpu == 0 ? first_cpu : last_cpu;  // cpu field carries the thread index on entry
    r->yield_rc = 0;
    for (int i = 0; i < 100; i++) r->yield_rc |= sched_yield();
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(target, &one);
    r->setaff_rc = sched_setaffinity(0, sizeof one, &one);  // pid 0: this thread only
    cpu_set_t now;
    CPU_ZERO(&now);
    sched_getaffinity(0, sizeof now, &now);
    r->getaff_count = CPU_COUNT(&now);
    sched_yield();
    r->getcpu_rc = syscall(SYS_getcpu, &r->cpu, &r->node, NULL);
    r->pinned_ok = (int)r->cpu == target;
    return NULL;
}

int main(void) {
    CPU_ZERO(&original);
    int rc = sched_getaffinity(0, sizeof original, &original);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &original)) {
            if (first_cpu < 0) first_cpu = c;
            last_cpu = c;
        }
    printf("getaffinity rc %d cpus %d first %d last %d\n", rc, CPU_COUNT(&original), first_cpu, last_cpu);
    // The raw syscall returns the kernel's mask size in bytes.
    unsigned long raw[16];
    long bytes = syscall(SYS_sched_getaffinity, 0, sizeof raw, raw);
    printf("raw sched_getaffinity returned %ld bytes, word0 %#lx\n", bytes, raw[0]);

    printf("policy is SCHED_OTHER %d, priority range %d..%d\n", sched_getscheduler(0) == SCHED_OTHER,
           sched_get_priority_min(SCHED_OTHER), sched_get_priority_max(SCHED_OTHER));
    struct sched_param param;
    printf("getparam rc %d priority %d\n", sched_getparam(0, &param), param.sched_priority);

    unsigned cpu = ~0u, node = ~0u;
    rc = syscall(SYS_getcpu, &cpu, &node, NULL);
    printf("main getcpu rc %d cpu in mask %d node %u\n", rc, CPU_ISSET(cpu, &original), node);

    struct report reports[2] = {{.cpu = 0}, {.cpu = 1}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, &reports[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        printf("thread %d: yield %d setaffinity %d now %d cpu(s), getcpu rc %d cpu %u node %u on pinned cpu %d\n", i,
               reports[i].yield_rc, reports[i].setaff_rc, reports[i].getaff_count, reports[i].getcpu_rc,
               reports[i].cpu, reports[i].node, reports[i].pinned_ok);

    // Main's own mask was not changed by the threads.
    cpu_set_t after;
    sched_getaffinity(0, sizeof after, &after);
    printf("main mask unchanged %d\n", CPU_EQUAL(&after, &original));
    // An empty mask is rejected.
    cpu_set_t empty;
    CPU_ZERO(&empty);
    printf("setaffinity(empty) rc %d\n", sched_setaffinity(0, sizeof empty, &empty));
    return 0;
}
