/* A computation long enough for copies of the replay inside it when
 * they are due at every event (about 0.1 s): the forward run finds where
 * the thread spends its time, the first step back counts the arrivals
 * there and takes copies as it goes, and the step backs after it begin
 * from those. At -O1, after() lies right behind compute's `ret`, two
 * bytes past the loop's last branch: gdb's breakpoint there must not
 * keep the arrival counter out. The 8 MiB the program writes first make
 * the copies' memory budget (twice the program's) no limit here. */
#include <string.h>
#include <unistd.h>

volatile long sink;
static char ballast[8 << 20];

__attribute__((noinline, optimize("O1"))) static void compute(long n) {
    for (long i = 0; i < n; i++)
        sink += i;
}

__attribute__((noinline)) void after(void) { sink++; }

int main(void) {
    memset(ballast, 1, sizeof ballast);
    sink = getppid() & 0 & ballast[12345];
    compute(300000000);
    after();
    return 0;
}
