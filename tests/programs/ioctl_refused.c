// ioctls the kernel refuses or answers on files, pipes and sockets: unknown requests, FICLONE, FIEMAP, SIOCGIFCONF.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void show(const char *what, int r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %d\n", what, r);
}

int main(void) {
    char a[] = "/tmp/ioctl_refused_aXXXXXX", b[] = "/tmp/ioctl_refused_bXXXXXX";
    int fa = mkstemp(a), fb = mkstemp(b);
    if (fa < 0 || fb < 0) { perror("mkstemp"); return 1; }
    unlink(a);
    unlink(b);
    char buf[8192];
    memset(buf, 'x', sizeof buf);
    if (write(fa, buf, sizeof buf) != (ssize_t)sizeof buf) { perror("write"); return 1; }
    fsync(fa);

    int v = 0;
    show("unknown _IOR('x',0x77,int) on file", ioctl(fa, _IOR('x', 0x77, int), &v));
    show("FICLONE", ioctl(fb, FICLONE, fa));
    struct file_clone_range fcr = {.src_fd = fa, .src_offset = 0, .src_length = 4096, .dest_offset = 0};
    show("FICLONERANGE", ioctl(fb, FICLONERANGE, &fcr));
    struct winsize ws;
    show("TIOCGWINSZ on file", ioctl(fa, TIOCGWINSZ, &ws));
    int flags = -1;
    int r = ioctl(fa, FS_IOC_GETFLAGS, &flags);
    show("FS_IOC_GETFLAGS", r);
    if (r == 0) printf("  flags=%#x\n", flags);

    struct { struct fiemap fm; struct fiemap_extent ext[4]; } fmx;
    memset(&fmx, 0, sizeof fmx);
    fmx.fm.fm_length = ~0ULL;
    fmx.fm.fm_flags = FIEMAP_FLAG_SYNC;
    fmx.fm.fm_extent_count = 4;
    r = ioctl(fa, FS_IOC_FIEMAP, &fmx);
    show("FS_IOC_FIEMAP", r);
    if (r == 0 && fmx.fm.fm_mapped_extents > 0)
        printf("  extents=%u first len=%llu last=%d\n", fmx.fm.fm_mapped_extents,
               (unsigned long long)fmx.fm.fm_extents[0].fe_length,
               !!(fmx.fm.fm_extents[fmx.fm.fm_mapped_extents - 1].fe_flags & FIEMAP_EXTENT_LAST));

    int p[2];
    if (pipe(p) != 0) { perror("pipe"); return 1; }
    if (write(p[1], "hello", 5) != 5) return 1;
    show("TIOCGWINSZ on pipe", ioctl(p[0], TIOCGWINSZ, &ws));
    int avail = -1;
    show("FIONREAD on pipe", ioctl(p[0], FIONREAD, &avail));
    printf("  avail=%d\n", avail);
    int on = 1;
    show("FIONBIO on pipe", ioctl(p[0], FIONBIO, &on));
    printf("  O_NONBLOCK=%d\n", !!(fcntl(p[0], F_GETFL) & O_NONBLOCK));

    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) { perror("socket"); return 1; }
    struct ifreq ifr[16];
    struct ifconf ifc = {.ifc_len = sizeof ifr, .ifc_req = ifr};
    r = ioctl(s, SIOCGIFCONF, &ifc);
    show("SIOCGIFCONF", r);
    if (r == 0) {
        int n = ifc.ifc_len / (int)sizeof(struct ifreq);
        printf("  interfaces=%d:", n);
        for (int i = 0; i < n; i++) printf(" %s", ifr[i].ifr_name);
        printf("\n");
    }
    struct ifreq one;
    memset(&one, 0, sizeof one);
    strcpy(one.ifr_name, "lo");
    r = ioctl(s, SIOCGIFINDEX, &one);
    show("SIOCGIFINDEX lo", r);
    if (r == 0) printf("  index=%d\n", one.ifr_ifindex);
    r = ioctl(s, SIOCGIFFLAGS, &one);
    show("SIOCGIFFLAGS lo", r);
    if (r == 0) printf("  up=%d loopback=%d\n", !!(one.ifr_flags & IFF_UP), !!(one.ifr_flags & IFF_LOOPBACK));
    return 0;
}
