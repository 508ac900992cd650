/* Drives the preload library alone, natively: maps what rewind would map
 * (the rewind page with its untraced `syscall; ret`, the thread slot and a
 * buffer), calls the library's hook as a patched call site will, and
 * writes the buffer to argv[2] for the test to read with rewind's reader.
 * argv[1]: the library. Prints one line per call: "nr handled result". */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct call {
    long nr;
    uint64_t args[6];
    long result;
};

#define PAGE 0x70000000UL

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    int (*hook)(struct call *) = (int (*)(struct call *))dlsym(lib, "rewind_syscall_hook");
    if (!hook)
        return 1;
    unsigned char *page = mmap((void *)PAGE, 0x3000, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (page != (void *)PAGE)
        return 1;
    static const unsigned char untraced[] = {0x0f, 0x05, 0xc3};
    memcpy(page + 0x10, untraced, sizeof untraced);

    /* No buffer in the slot: nothing is buffered. */
    struct call getpid_call = {SYS_getpid, {0}, 0};
    printf("%ld %d %ld\n", getpid_call.nr, hook(&getpid_call), getpid_call.result);

    static unsigned char buffer[4096];
    uint32_t header[8] = {0x42535752 /* "RWSB" */, 1, 0, sizeof buffer - 32, 0, 0, 0, 0};
    memcpy(buffer, header, sizeof header);
    uint64_t *slot = (uint64_t *)(page + 0x2000);
    slot[0] = (uint64_t)buffer;
    slot[1] = sizeof buffer;

    int fds[2];
    if (pipe(fds))
        return 1;
    if (write(fds[1], "through the buffer", 18) != 18)
        return 1;
    char got[64] = {0};
    struct call calls[] = {
        {SYS_getpid, {0}, 0},
        {SYS_read, {fds[0], (uint64_t)got, sizeof got}, 0},
        {SYS_write, {fds[1], (uint64_t)"x", 1}, 0},
        {SYS_read, {12345, (uint64_t)got, 8}, 0},     /* EBADF */
        {SYS_openat, {AT_FDCWD, (uint64_t)"/", O_RDONLY}, 0}, /* not buffered */
        {SYS_read, {fds[0], (uint64_t)got, 8192}, 0},  /* larger than the buffer */
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        int handled = hook(&calls[i]);
        printf("%ld %d %ld\n", calls[i].nr, handled, calls[i].result);
    }
    printf("pid %d read '%s'\n", getpid(), got);

    FILE *out = fopen(argv[2], "wb");
    if (!out || fwrite(buffer, 1, sizeof buffer, out) != sizeof buffer || fclose(out))
        return 1;
    return 0;
}
