// modify_ldt: install a 32-bit data segment in the LDT, read the LDT back, and read memory through %gs with it.
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    uint32_t *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (buf == MAP_FAILED) { perror("mmap MAP_32BIT"); return 1; }
    buf[0] = 0x5eed1234;
    buf[1] = 0xabcdef01;
    struct user_desc d = {
        .entry_number = 0,
        .base_addr = (unsigned)(uintptr_t)buf,
        .limit = 4095,
        .seg_32bit = 1,
        .contents = 0,  // data, read/write
        .read_exec_only = 0,
        .limit_in_pages = 0,
        .seg_not_present = 0,
        .useable = 1,
    };
    long r = syscall(SYS_modify_ldt, 1, &d, sizeof d);
    if (r != 0) { printf("modify_ldt(1): %s\n", strerrorname_np(errno)); return 1; }
    printf("modify_ldt(1) installed entry 0\n");

    unsigned char ldt[16];
    memset(ldt, 0xff, sizeof ldt);
    r = syscall(SYS_modify_ldt, 0, ldt, sizeof ldt);
    printf("modify_ldt(0) read %ld bytes\n", r);
    if (r < 8) return 1;
    uint32_t lo, hi;
    memcpy(&lo, ldt, 4);
    memcpy(&hi, ldt + 4, 4);
    uint32_t base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    uint32_t limit = (lo & 0xffff) | (hi & 0xf0000);
    printf("entry 0: limit=%#x access=%#x flags=%#x base_matches=%d\n", limit, (hi >> 8) & 0xff,
           (hi >> 20) & 0xf, base == (uint32_t)(uintptr_t)buf);
    printf("entry 1 bytes:");
    for (long i = 8; i < r; i++) printf(" %02x", ldt[i]);
    printf("\n");

    unsigned short sel = (0 << 3) | 4 | 3, old;  // LDT entry 0, RPL 3
    uint32_t v0, v1;
    __asm__ volatile("mov %%gs, %0" : "=r"(old));
    __asm__ volatile("mov %3, %%gs\n\t"
                     "movl %%gs:0, %0\n\t"
                     "movl %%gs:4, %1\n\t"
                     "mov %%gs, %2\n\t"
                     : "=&r"(v0), "=&r"(v1), "=&r"(sel)
                     : "r"(sel)
                     : "memory");
    __asm__ volatile("mov %0, %%gs" : : "r"(old));
    printf("old gs=%#x, gs loaded=%#x, read via gs: %#x %#x\n", old, sel, v0, v1);
    buf[0] = 0x600d;
    __asm__ volatile("mov %2, %%gs\n\tmovl %%gs:0, %0\n\tmov %1, %%gs" : "=&r"(v0) : "r"(old), "r"(sel));
    printf("after write: %#x\n", v0);
    return 0;
}
