/* Drives the preload library alone, natively: maps what rewind would map
 * (the rewind page with its untraced `syscall; ret`, the thread slot and a
 * buffer), calls the library's hook as a patched call site will, and
 * writes the buffer to argv[2] for the test to read with rewind's reader.
 * Then it does what replay does: puts the replay entry (argv[3], hex) in
 * place of the untraced syscall, lays the recorded records into a fresh
 * buffer and makes the same calls again, on a pipe that is now empty.
 * argv[1]: the library. Prints one line per call: "nr handled result". */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
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
#define HEADER 32

static unsigned char recorded[4096], replayed[4096];

static void use_buffer(unsigned char *page, unsigned char *buffer) {
    uint32_t header[8] = {0x42535752 /* "RWSB" */, 1, 0, 4096 - HEADER, 0, 0, 0, 0};
    memcpy(buffer, header, sizeof header);
    uint64_t *slot = (uint64_t *)(page + 0x2000);
    slot[0] = (uint64_t)buffer;
    slot[1] = 4096;
}

static void run_calls(bool (*hook)(struct call *), int fds[2], char *got, const char *label) {
    struct call calls[] = {
        {SYS_getpid, {0}, 0},
        {SYS_read, {fds[0], (uint64_t)got, 64}, 0},
        {SYS_write, {fds[1], (uint64_t)"x", 1}, 0},
        {SYS_read, {12345, (uint64_t)got, 8}, 0},             /* EBADF */
        {SYS_openat, {AT_FDCWD, (uint64_t)"/", O_RDONLY}, 0}, /* not buffered */
        {SYS_read, {fds[0], (uint64_t)got, 8192}, 0},         /* larger than the buffer */
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        int handled = hook(&calls[i]);
        if (calls[i].nr == SYS_openat && !handled)
            calls[i].result = 0; /* the traced way is the caller's */
        printf("%s %ld %d %ld\n", label, calls[i].nr, handled, calls[i].result);
    }
    printf("%s read '%s'\n", label, got);
}

int main(int argc, char **argv) {
    if (argc != 4)
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
    static const unsigned char untraced[] = {0x0f, 0x05, 0xc3};
    memcpy(page + 0x10, untraced, sizeof untraced);

    /* No buffer in the slot, and no rewind to register one with. */
    struct call getpid_call = {SYS_getpid, {0}, 0};
    printf("alone %ld %d %ld\n", getpid_call.nr, hook(&getpid_call), getpid_call.result);

    use_buffer(page, recorded);
    int fds[2];
    if (pipe(fds) || write(fds[1], "through the buffer", 18) != 18)
        return 1;
    char got[64] = {0};
    run_calls(hook, fds, got, "record");
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
    char empty[1];
    if (read(fds[0], empty, 1) != 1) /* the "x" written above: the pipe is empty now */
        return 1;
    /* Should the kernel be asked after all, it answers EAGAIN, not a hang. */
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK))
        return 1;
    memset(got, 0, sizeof got);
    run_calls(hook, fds, got, "replay");
    out = fopen(argv[2], "ab");
    if (!out || fwrite(replayed, 1, sizeof replayed, out) != sizeof replayed || fclose(out))
        return 1;
    return 0;
}
