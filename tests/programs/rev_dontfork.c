/* Memory a fork leaves out (MADV_DONTFORK): no copy of the replay can be
 * the same replay, so moves back replay from the start. */
#include <sys/mman.h>
#include <unistd.h>

volatile int seen;
char *kept;

__attribute__((noinline)) void mark(int round) { seen = round; }

int main(void) {
    kept = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (kept == MAP_FAILED || madvise(kept, 4096, MADV_DONTFORK) != 0)
        return 1;
    for (int round = 0; round < 50; round++) {
        kept[0] = (char)round;
        mark(round);
        getppid();
    }
    return 0;
}
