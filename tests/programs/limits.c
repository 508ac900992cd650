// Resource limits and usage, times, CPU affinity.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/times.h>

int main(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("nofile %lu %lu\n", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
    prlimit(0, RLIMIT_STACK, NULL, &rl);
    printf("stack %lu\n", (unsigned long)rl.rlim_cur);
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < 20000000; i++) spin += i;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("utime %ld.%06ld maxrss %ld minflt %ld\n", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
           ru.ru_maxrss, ru.ru_minflt);
    struct tms t;
    clock_t c = times(&t);
    printf("times %ld user %ld\n", (long)c, (long)t.tms_utime);
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    printf("cpus %d spin %lu\n", CPU_COUNT(&set), spin);
    return 0;
}
