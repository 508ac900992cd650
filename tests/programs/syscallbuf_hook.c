/* Drives the preload library alone, natively: maps what rewind would map
 * (the rewind page with its untraced `syscall; ret`, the thread slot and a
 * buffer), calls the library's hook as a patched call site will, and
 * writes the buffer to argv[2] for the test to read with rewind's reader.
 * Then it does what replay does: puts the replay entry (argv[3], hex) in
 * place of the untraced syscall, lays the recorded records into a fresh
 * buffer and makes the same calls again, on a file that is now empty.
 * argv[1]: the library; argv[4]: a scratch file. Prints one line per call:
 * "nr handled result". */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct call {
    long nr;
    uint64_t args[6];
    long result;
};

#define PAGE 0x70000000UL
#define HEADER 32

static unsigned char recorded[4096], replayed[4096];

static void use_buffer(unsigned char *page, unsigned char *buffer) {
    uint32_t header[8] = {0x42535752 /* "RWSB" */, 2, 0, 4096 - HEADER, 0, 0, 0, 0};
    memcpy(buffer, header, sizeof header);
    uint64_t *slot = (uint64_t *)(page + 0x2000);
    slot[0] = (uint64_t)buffer;
    slot[1] = 4096;
}

/* file[0] reads the scratch file, file[1] appends to it. */
static void run_calls(bool (*hook)(struct call *), int file[2], int pipe_read, char *got,
                      const char *label) {
    struct stat st = {0};
    struct timespec now = {0};
    struct call calls[] = {
        {SYS_getpid, {0}, 0},
        {SYS_read, {file[0], (uint64_t)got, 64}, 0},
        {SYS_write, {file[1], (uint64_t)"x", 1}, 0},
        {SYS_read, {12345, (uint64_t)got, 8}, 0},             /* EBADF: traced */
        {SYS_read, {pipe_read, (uint64_t)got, 8}, 0},         /* may block: traced */
        {SYS_openat, {AT_FDCWD, (uint64_t)"/", O_RDONLY | O_TRUNC}, 0}, /* truncating: traced */
        {SYS_read, {file[0], (uint64_t)got, 8192}, 0},        /* larger than the buffer */
        {SYS_fstat, {file[0], (uint64_t)&st}, 0},
        {SYS_clock_gettime, {CLOCK_MONOTONIC, (uint64_t)&now}, 0},
        {SYS_read, {file[0], 0, 8}, 0}, /* a null pointer: traced, for its EFAULT */
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        int handled = hook(&calls[i]);
        if (!handled)
            calls[i].result = 0; /* the traced way is the caller's */
        printf("%s %ld %d %ld\n", label, calls[i].nr, handled, calls[i].result);
    }
    printf("%s read '%s', size %ld, time %s\n", label, got, (long)st.st_size,
           now.tv_sec || now.tv_nsec ? "set" : "unset");
}

int main(int argc, char **argv) {
    if (argc != 5)
        return 2;
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    bool (*hook)(struct call *) = (bool (*)(struct call *))dlsym(lib, "rewind_syscall_hook");
    if (!hook)
        return 1;
    unsigned char *page = mmap((void *)PAGE, 0x3000, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (page != (void *)PAGE)
        return 1;
    static const unsigned char untraced[] = {0x0f, 0x05, 0x31, 0xc9, 0x45, 0x31, 0xdb, 0xc3};
    memcpy(page + 0x10, untraced, sizeof untraced);

    /* No buffer in the slot, and no rewind to register one with. */
    struct call getpid_call = {SYS_getpid, {0}, 0};
    printf("alone %ld %d %ld\n", getpid_call.nr, hook(&getpid_call), getpid_call.result);

    use_buffer(page, recorded);
    int file[2] = {open(argv[4], O_RDWR | O_CREAT | O_TRUNC, 0600),
                   open(argv[4], O_WRONLY | O_APPEND)};
    int fds[2];
    if (file[0] < 0 || file[1] < 0 || write(file[1], "through the buffer", 18) != 18 || pipe(fds))
        return 1;
    char got[64] = {0};
    run_calls(hook, file, fds[0], got, "record");
    printf("pid %d\n", getpid());
    FILE *out = fopen(argv[2], "wb");
    if (!out || fwrite(recorded, 1, sizeof recorded, out) != sizeof recorded || fclose(out))
        return 1;

    /* Replay: the entry returns recorded results; the kernel is not asked. */
    const char *hex = argv[3];
    for (size_t i = 0; hex[2 * i] && hex[2 * i + 1]; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
            return 1;
        page[0x10 + i] = (unsigned char)byte;
    }
    use_buffer(page, replayed);
    uint32_t used;
    memcpy(&used, recorded + 8, 4);
    memcpy(replayed + HEADER, recorded + HEADER, used);
    /* Should the kernel be asked after all, it answers 0 and EAGAIN. */
    if (ftruncate(file[0], 0) || lseek(file[0], 0, SEEK_SET) || fcntl(fds[0], F_SETFL, O_NONBLOCK))
        return 1;
    memset(got, 0, sizeof got);
    run_calls(hook, file, fds[0], got, "replay");
    out = fopen(argv[2], "ab");
    if (!out || fwrite(replayed, 1, sizeof replayed, out) != sizeof replayed || fclose(out))
        return 1;
    return 0;
}
