// Rarely used syscalls: keyctl/add_key, mempolicy/mbind, quotactl, sysfs, _sysctl, ioperm/iopl, bpf, perf_event_open.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/mempolicy.h>
#include <linux/perf_event.h>
#include <linux/quota.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: ok\n", what);
}

int main(void) {
    long ring = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1);
    show("keyctl GET_KEYRING_ID", ring);
    long key = syscall(SYS_add_key, "user", "rewind:test", "payload-42", 10, KEY_SPEC_PROCESS_KEYRING);
    show("add_key", key);
    if (key > 0) {
        char buf[32] = {0};
        long n = syscall(SYS_keyctl, KEYCTL_READ, key, buf, sizeof buf - 1);
        printf("  KEYCTL_READ=%ld: %s\n", n, n > 0 ? buf : "");
    }

    int mode = -1;
    show("get_mempolicy", syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 0));
    printf("  mode=%d\n", mode);
    show("set_mempolicy(MPOL_DEFAULT)", syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0));
    size_t len = 4 * 4096;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 1; }
    show("mbind(MPOL_DEFAULT)", syscall(SYS_mbind, m, len, MPOL_DEFAULT, NULL, 0, 0));
    m[0] = 1;
    mode = -1;
    show("get_mempolicy(MPOL_F_ADDR)", syscall(SYS_get_mempolicy, &mode, NULL, 0, m, MPOL_F_ADDR));
    printf("  mode=%d\n", mode);

    struct if_dqinfo dqi;
    show("quotactl(Q_GETINFO, /)", syscall(SYS_quotactl, QCMD(Q_GETINFO, USRQUOTA), "/", 0, &dqi));

    long nfs = syscall(SYS_sysfs, 3);
    show("sysfs(3)", nfs);
    char fsname[64] = {0};
    long r = syscall(SYS_sysfs, 2, 0, fsname);
    show("sysfs(2, 0)", r);
    printf("  have types=%d first named=%d\n", nfs > 0, fsname[0] != 0);
    printf("  index of first by name matches: %d\n", r == 0 && syscall(SYS_sysfs, 1, fsname) == 0);

    show("_sysctl(NULL)", syscall(SYS__sysctl, NULL));

    show("ioperm(0x80, 1, 1)", r = syscall(SYS_ioperm, 0x80, 1, 1));  // no port I/O is done
    if (r == 0) show("ioperm off", syscall(SYS_ioperm, 0x80, 1, 0));
    show("iopl(3)", r = syscall(SYS_iopl, 3));
    if (r == 0) show("iopl(0)", syscall(SYS_iopl, 0));

    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 8;
    attr.max_entries = 4;
    long map = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    show("bpf MAP_CREATE", map);
    if (map >= 0) {
        uint32_t k = 2;
        uint64_t v = 0xfeedULL, out = 0;
        memset(&attr, 0, sizeof attr);
        attr.map_fd = map;
        attr.key = (uintptr_t)&k;
        attr.value = (uintptr_t)&v;
        show("bpf MAP_UPDATE_ELEM", syscall(SYS_bpf, BPF_MAP_UPDATE_ELEM, &attr, sizeof attr));
        attr.value = (uintptr_t)&out;
        show("bpf MAP_LOOKUP_ELEM", syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof attr));
        printf("  value=%#llx\n", (unsigned long long)out);
        close(map);
    }
    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uintptr_t)prog;
    attr.insn_cnt = 2;
    attr.license = (uintptr_t) "GPL";
    long pfd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    show("bpf PROG_LOAD", pfd);
    if (pfd >= 0) close(pfd);

    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.size = sizeof pe;
    pe.type = PERF_TYPE_SOFTWARE;
    pe.config = PERF_COUNT_SW_TASK_CLOCK;
    pe.exclude_kernel = 1;
    long fd = syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
    show("perf_event_open(SW_TASK_CLOCK)", fd);
    if (fd >= 0) {
        uint64_t count;
        for (volatile int i = 0; i < 100000; i++) {}
        printf("  read 8 bytes: %d\n", read(fd, &count, sizeof count) == 8);
        close(fd);
    }
    pe.type = PERF_TYPE_HARDWARE;
    pe.config = PERF_COUNT_HW_INSTRUCTIONS;
    fd = syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
    show("perf_event_open(HW_INSTRUCTIONS)", fd);
    if (fd >= 0) close(fd);
    return 0;
}
