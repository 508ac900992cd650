// unshare of user, UTS, mount, net and pid namespaces and setns back, each in its own forked child.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static char parent_host[65], marker[64];
static pid_t parent_pid;

#define TRY(what, call)                                                                   \
    do {                                                                                  \
        if ((call) != 0) { printf("  %s: %s\n", what, strerrorname_np(errno)); return 0; } \
    } while (0)

static int put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int user_ns(void) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];
    TRY("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
    snprintf(map, sizeof map, "0 %u 1\n", uid);
    TRY("uid_map", put("/proc/self/uid_map", map));
    TRY("setgroups", put("/proc/self/setgroups", "deny"));
    snprintf(map, sizeof map, "0 %u 1\n", gid);
    TRY("gid_map", put("/proc/self/gid_map", map));
    printf("  uid=%u gid=%u\n", getuid(), getgid());
    return 0;
}

static int uts_ns(void) {
    struct utsname u;
    TRY("unshare(CLONE_NEWUTS)", unshare(CLONE_NEWUTS));
    TRY("sethostname", sethostname("rewind-uts", 10));
    uname(&u);
    printf("  nodename=%s\n", u.nodename);
    return 0;
}

static int mount_ns(void) {
    TRY("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
    TRY("make / private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    TRY("mount tmpfs on /tmp", mount("none", "/tmp", "tmpfs", 0, "size=1m"));
    int fd = creat(marker, 0600);  // lands in the private tmpfs only
    printf("  mount tmpfs ok; create in it: %d\n", fd >= 0);
    return 0;
}

static int net_ns(void) {
    TRY("unshare(CLONE_NEWNET)", unshare(CLONE_NEWNET));
    struct if_nameindex *ifs = if_nameindex();
    if (!ifs) { printf("  if_nameindex: %s\n", strerrorname_np(errno)); return 0; }
    printf("  interfaces:");
    for (struct if_nameindex *i = ifs; i->if_index; i++) printf(" %u:%s", i->if_index, i->if_name);
    printf("\n");
    if_freenameindex(ifs);
    return 0;
}

static int pid_ns(void) {
    TRY("unshare(CLONE_NEWPID)", unshare(CLONE_NEWPID));
    pid_t p = fork();
    if (p == 0) {
        printf("  grandchild getpid=%d getppid=%d\n", getpid(), getppid());
        fflush(stdout);
        _exit(5);
    }
    int st;
    waitpid(p, &st, 0);
    printf("  grandchild exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}

static int setns_back(void) {
    char path[64];
    struct utsname u;
    snprintf(path, sizeof path, "/proc/%d/ns/uts", parent_pid);
    int fd = open(path, O_RDONLY);
    TRY("open ns/uts", fd < 0);
    TRY("unshare(CLONE_NEWUTS)", unshare(CLONE_NEWUTS));
    TRY("sethostname", sethostname("elsewhere", 9));
    TRY("setns", setns(fd, CLONE_NEWUTS));
    uname(&u);
    printf("  back in parent's uts: %d\n", strcmp(u.nodename, parent_host) == 0);
    return 0;
}

static void run(const char *name, int (*fn)(void)) {
    printf("%s:\n", name);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        int rc = fn();
        fflush(stdout);
        _exit(rc);
    }
    int st;
    waitpid(p, &st, 0);
    printf("  exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(void) {
    parent_pid = getpid();
    gethostname(parent_host, sizeof parent_host - 1);
    snprintf(marker, sizeof marker, "/tmp/rewind-ns-marker-%d", parent_pid);
    run("user", user_ns);
    run("uts", uts_ns);
    run("mount", mount_ns);
    run("net", net_ns);
    run("pid", pid_ns);
    run("setns", setns_back);
    printf("file leaked outside the mount ns: %d\n", access(marker, F_OK) == 0);
    return 0;
}
