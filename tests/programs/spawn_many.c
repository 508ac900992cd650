// posix_spawn (vfork and exec) forty times, then how much anonymous memory
// the process gained meanwhile, as /proc/self/maps shows it: the recorder's
// scratch areas for the vfork children must not pile up in the parent.
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

static unsigned long anonymous_kib(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return 0;
    char line[512];
    unsigned long total = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end, inode;
        char perms[8];
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %n", &start, &end, perms, &inode, &name_at) < 4) continue;
        int unnamed = line[name_at] == '\n' || line[name_at] == '\0';
        if (inode == 0 && unnamed && strcmp(perms, "rw-p") == 0) total += (end - start) / 1024;
    }
    fclose(maps);
    return total;
}

int main(void) {
    char *argv[] = {"true", NULL};
    // One spawn first, so that what a first spawn sets up is not counted.
    pid_t pid;
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0) return 1;
    waitpid(pid, NULL, 0);
    unsigned long before = anonymous_kib();
    for (int i = 0; i < 40; i++) {
        if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0) return 1;
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 2;
    }
    unsigned long after = anonymous_kib();
    printf("spawned 41, anonymous memory grew by %lu KiB\n", after > before ? after - before : 0);
    return 0;
}
