/* Synchronous signals: SIGSEGV whose handler makes the page writable and
 * returns, SIGBUS beyond the end of a mapped file, SIGFPE from integer
 * division by zero, SIGILL from ud2, SIGTRAP from int3. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf back;
static char *page;
static volatile int last_code;
static volatile void *last_addr;
static volatile int traps;

static void on_segv(int signo, siginfo_t *info, void *ctx) {
    (void)signo;
    (void)ctx;
    last_code = info->si_code;
    last_addr = info->si_addr;
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

static void on_jump(int signo, siginfo_t *info, void *ctx) {
    (void)ctx;
    last_code = info->si_code;
    siglongjmp(back, signo);
}

static void on_trap(int signo) {
    (void)signo;
    traps++;
}

static void install(int signo, void (*fn)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO;
    sigaction(signo, &sa, NULL);
}

int main(int argc, char **argv) {
    (void)argv;
    page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    install(SIGSEGV, on_segv);
    page[100] = 42;
    printf("SIGSEGV: si_code %d, at the page %d, write done %d\n", last_code,
           last_addr == page + 100, page[100] == 42);

    char path[] = "/tmp/rewind-sigbus-XXXXXX";
    int fd = mkstemp(path);
    if (ftruncate(fd, 4096) != 0)
        return 1;
    char *mapped = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    unlink(path);
    install(SIGBUS, on_jump);
    if (sigsetjmp(back, 1) == 0) {
        volatile char c = mapped[5000];
        (void)c;
        printf("no SIGBUS\n");
    } else {
        printf("SIGBUS: si_code %d\n", last_code);
    }

    install(SIGFPE, on_jump);
    if (sigsetjmp(back, 1) == 0) {
        volatile int zero = argc - 1;
        volatile int r = 10 / zero;
        (void)r;
        printf("no SIGFPE\n");
    } else {
        printf("SIGFPE: si_code %d (FPE_INTDIV %d)\n", last_code, FPE_INTDIV);
    }

    install(SIGILL, on_jump);
    if (sigsetjmp(back, 1) == 0) {
        __asm__ volatile("ud2");
        printf("no SIGILL\n");
    } else {
        printf("SIGILL: si_code %d (ILL_ILLOPN %d)\n", last_code, ILL_ILLOPN);
    }

    signal(SIGTRAP, on_trap);
    __asm__ volatile("int3");
    __asm__ volatile("int3");
    printf("SIGTRAP: handler ran %d times, execution went on\n", traps);
    return 0;
}
