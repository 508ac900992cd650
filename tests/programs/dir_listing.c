// mkdir, files, a sorted directory listing through getdents64, rename, rmdir.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(int argc, char **argv) {
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/listing", argc > 1 ? argv[1] : "/tmp");
    mkdir(dir, 0755);
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/file%d", dir, i);
        close(open(path, O_CREAT | O_WRONLY, 0644));
    }
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/file4", dir);
    snprintf(to, sizeof to, "%s/renamed", dir);
    rename(from, to);
    DIR *d = opendir(dir);
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 16)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) {
        printf("%s\n", names[i]);
        if (names[i][0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            unlink(path);
        }
    }
    printf("rmdir=%d\n", rmdir(dir));
    return 0;
}
