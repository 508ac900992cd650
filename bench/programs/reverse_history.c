/* The recording `cargo xtask bench reverse` moves back through: about 10 s
 * and 100k events. Rounds of about 1 ms of computation and 10 syscalls
 * each; hit_5s, hit_100ms and hit_1ms are called that long before
 * finish, which ends the rounds; then a stretch of computation without
 * syscalls, with inside_long called in its middle. argv[1] scales the
 * rounds' computation (default 1). */
#include <stdlib.h>
#include <unistd.h>

#define ROUNDS 10000

volatile long sink;

__attribute__((noinline)) void hit_5s(void) { sink++; }
__attribute__((noinline)) void hit_100ms(void) { sink++; }
__attribute__((noinline)) void hit_1ms(void) { sink++; }
__attribute__((noinline)) void inside_long(void) { sink++; }
__attribute__((noinline)) void finish(void) { sink++; }

static void compute(long iterations) {
    for (long i = 0; i < iterations; i++)
        sink += i;
}

int main(int argc, char **argv) {
    long per_round = 3300000 * (argc > 1 ? atol(argv[1]) : 1);
    for (int round = 0; round < ROUNDS; round++) {
        if (round == ROUNDS - 5000)
            hit_5s();
        if (round == ROUNDS - 100)
            hit_100ms();
        if (round == ROUNDS - 1)
            hit_1ms();
        for (int call = 0; call < 10; call++)
            sink += getppid();
        compute(per_round);
    }
    finish();
    compute(per_round * 50);
    inside_long();
    compute(per_round * 50);
    return 0;
}
