// eventfd and timerfd.
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

int main(void) {
    int e = eventfd(5, EFD_CLOEXEC);
    uint64_t add = 7, value = 0;
    write(e, &add, sizeof add);
    read(e, &value, sizeof value);
    printf("eventfd value %llu\n", (unsigned long long)value);
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec spec = {.it_interval = {0, 3000000}, .it_value = {0, 3000000}}, old, cur;
    timerfd_settime(t, 0, &spec, &old);
    uint64_t expirations = 0;
    read(t, &expirations, sizeof expirations);
    timerfd_gettime(t, &cur);
    printf("expired %d interval %ld remaining %ld\n", expirations >= 1, cur.it_interval.tv_nsec, cur.it_value.tv_nsec);
    close(e);
    close(t);
    return 0;
}
