// A loop whose time goes into `rep stosb` while SIGVTALRM comes every few
// milliseconds of its CPU time: the recorder runs the string instruction
// whole and places each signal at the next instruction it can patch,
// which the loop passes once per iteration. A gdb breakpoint may sit
// there too.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

#define ROUNDS 1500
#define BYTES (1 << 20)

static volatile int ticks;
static unsigned char buffer[BYTES];
static volatile unsigned long sink;

static void on_tick(int signo) {
    (void)signo;
    ticks++;
}

int main(void) {
    signal(SIGVTALRM, on_tick);
    struct itimerval every = {{0, 5000}, {0, 5000}};
    setitimer(ITIMER_VIRTUAL, &every, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        void *to = buffer;
        unsigned long count = BYTES;
        __asm__ volatile("rep stosb" : "+D"(to), "+c"(count) : "a"(i) : "memory");
        sink += buffer[i % BYTES] + 0x12345678UL;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_VIRTUAL, &off, NULL);
    printf("rounds %d, ticks %s\n", ROUNDS, ticks > 0 ? "some" : "none");
    return 0;
}
