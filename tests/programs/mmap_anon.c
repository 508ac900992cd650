// Anonymous memory: mmap, mprotect, mremap (growing and moving), madvise,
// munmap.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    size_t len = 1 << 20;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i * 7);
    unsigned long sum = 0;
    for (size_t i = 0; i < len; i += 4096) sum += p[i + 5];
    printf("sum %lu\n", sum);
    int made_readonly = mprotect(p, 4096, PROT_READ);
    int made_writable = mprotect(p, 4096, PROT_READ | PROT_WRITE);
    printf("mprotect %d %d\n", made_readonly, made_writable);
    unsigned char *q = mremap(p, len, 4 * len, MREMAP_MAYMOVE);
    printf("remapped %s, kept data %d\n", q == MAP_FAILED ? "failed" : "ok", q[len - 1] == (unsigned char)((len - 1) * 7));
    q[3 * len] = 9;
    printf("madvise %d after %d\n", madvise(q + len, len, MADV_DONTNEED), q[len + 1]);
    unsigned char *target = mmap(NULL, 16 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *fixed = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(fixed, 1, 8192);
    unsigned char *moved = mremap(fixed, 8192, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, target + 4 * 4096);
    printf("moved to requested place %d value %d\n", moved == target + 4 * 4096, moved[100]);
    printf("munmap %d %d\n", munmap(q, 4 * len), munmap(moved, 8192));
    return 0;
}
