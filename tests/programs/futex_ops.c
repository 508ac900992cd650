// Raw futex syscalls: WAIT/WAKE (private), WAIT_BITSET/WAKE_BITSET, REQUEUE, CMP_REQUEUE and WAKE_OP between threads.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *timeout, uint32_t *uaddr2,
                  uint32_t val3) {
    return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

// val2 (a count, not a pointer) travels in the timeout slot for REQUEUE, CMP_REQUEUE and WAKE_OP.
static long futex2(uint32_t *uaddr, int op, uint32_t val, uint32_t val2, uint32_t *uaddr2, uint32_t val3) {
    return syscall(SYS_futex, uaddr, op, val, (unsigned long)val2, uaddr2, val3);
}

static uint32_t load(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void store(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

static const char *err(long r) {
    if (r >= 0) return "ok";
    return errno == EAGAIN ? "EAGAIN" : errno == ETIMEDOUT ? "ETIMEDOUT" : errno == EINTR ? "EINTR" : "other";
}

// Waiters block while their gate word is 0 and count the waits that returned 0 (were woken).
static uint32_t gate_a, gate_b;
static uint32_t wakeups;

static void *wait_gate_a(void *arg) {
    (void)arg;
    while (load(&gate_a) == 0)
        if (futex(&gate_a, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) == 0) __atomic_fetch_add(&wakeups, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *wait_gate_b_bitset(void *arg) {
    (void)arg;
    while (load(&gate_b) == 0)
        if (futex(&gate_b, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0x2) == 0)
            __atomic_fetch_add(&wakeups, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

// Requeue: waiters on `src` (while it is 0); they may be moved to `dst`.
static uint32_t src, dst;
static uint32_t waiting;

static void *wait_src(void *arg) {
    (void)arg;
    __atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
    while (load(&src) == 0) futex(&src, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void settle(void) {
    struct timespec ts = {0, 20 * 1000 * 1000};  // let waiters block (counts printed are informational)
    nanosleep(&ts, NULL);
}

static void requeue_round(const char *name, int cmp) {
    enum { N = 4 };
    pthread_t t[N];
    store(&src, 0);
    store(&dst, 0);
    store(&waiting, 0);
    for (int i = 0; i < N; i++) pthread_create(&t[i], NULL, wait_src, NULL);
    while (load(&waiting) < N) sched_yield();
    settle();
    store(&src, 1);  // late waiters now see 1 and do not block
    long woken, moved = 0;
    if (cmp) {
        long bad = futex2(&src, FUTEX_CMP_REQUEUE_PRIVATE, 1, INT_MAX, &dst, 0);  // expected value wrong
        printf("%s with stale value: %ld %s\n", name, bad, err(bad));
        woken = futex2(&src, FUTEX_CMP_REQUEUE_PRIVATE, 1, INT_MAX, &dst, 1);
    } else {
        woken = futex2(&src, FUTEX_REQUEUE_PRIVATE, 1, INT_MAX, &dst, 0);
    }
    // Release everything that was moved to dst.
    moved = futex(&dst, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    printf("%s: woke+requeued %ld, then woke %ld from the second futex, all %d waiters done\n", name, woken, moved, N);
}

static uint32_t op_x, op_y;

static void *wait_op_x(void *arg) {
    (void)arg;
    while (load(&op_x) == 0) futex(&op_x, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void *wait_op_y(void *arg) {
    (void)arg;
    while (load(&op_y) == 0) futex(&op_y, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

int main(void) {
    uint32_t word = 5;
    long r;

    // Single-threaded edge cases.
    r = futex(&word, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0);
    printf("wait with wrong value: %ld %s\n", r, err(r));
    struct timespec rel = {0, 10 * 1000 * 1000};
    r = futex(&word, FUTEX_WAIT_PRIVATE, 5, &rel, NULL, 0);
    printf("wait with 10ms relative timeout: %ld %s\n", r, err(r));
    r = futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    printf("wake with no waiters: %ld\n", r);
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 10 * 1000 * 1000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &abs, NULL, FUTEX_BITSET_MATCH_ANY);
    printf("wait_bitset with absolute monotonic timeout: %ld %s\n", r, err(r));
    r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0);
    printf("wait_bitset with empty bitset: %ld %s\n", r, errno == EINVAL ? "EINVAL" : err(r));

    // WAIT / WAKE between threads.
    pthread_t a;
    pthread_create(&a, NULL, wait_gate_a, NULL);
    settle();
    store(&gate_a, 1);
    long woke_a = futex(&gate_a, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(a, NULL);
    printf("wake: woke %ld thread(s)\n", woke_a);

    // WAIT_BITSET / WAKE_BITSET: a wake with a non-matching bitset wakes nobody.
    pthread_t b;
    pthread_create(&b, NULL, wait_gate_b_bitset, NULL);
    settle();
    long miss = futex(&gate_b, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x1);
    store(&gate_b, 1);
    long hit = futex(&gate_b, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x2);
    pthread_join(b, NULL);
    printf("wake_bitset: non-matching bitset woke %ld, matching woke %ld\n", miss, hit);
    printf("successful waits observed: %u\n", load(&wakeups));

    requeue_round("requeue", 0);
    requeue_round("cmp_requeue", 1);

    // WAKE_OP: set op_y = 1 atomically, wake one waiter on op_x, and one on op_y if op_y was 0.
    pthread_t x, y;
    pthread_create(&x, NULL, wait_op_x, NULL);
    pthread_create(&y, NULL, wait_op_y, NULL);
    settle();
    store(&op_x, 1);
    r = futex2(&op_x, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op_y, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0));
    pthread_join(x, NULL);
    pthread_join(y, NULL);
    printf("wake_op: woke %ld total, op_y now %u\n", r, load(&op_y));
    // Again with no waiters: op_y is 1, so the comparison fails; the op still runs (add 10).
    r = futex2(&op_x, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op_y, FUTEX_OP(FUTEX_OP_ADD, 10, FUTEX_OP_CMP_EQ, 0));
    printf("wake_op without waiters: %ld, op_y now %u\n", r, load(&op_y));
    return 0;
}
