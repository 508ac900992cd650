// SysV shared memory: shmget/shmat/shmdt/shmctl(IPC_STAT, IPC_RMID); a forked child writes, the parent reads after wait.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    if (id < 0) { perror("shmget"); return 1; }
    char *p = shmat(id, NULL, 0);
    if (p == (void *)-1) { perror("shmat"); shmctl(id, IPC_RMID, NULL); return 1; }
    strcpy(p, "parent was here");
    pid_t pid = fork();
    if (pid == 0) {
        char *q = shmat(id, NULL, 0);  // a second attachment in the child
        if (q == (void *)-1) _exit(2);
        printf("child sees: %s\n", q);
        strcpy(q, "child wrote this");
        q[5000] = 'Z';
        shmdt(q);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    printf("parent sees: %s, byte 5000=%c\n", p, p[5000]);
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) != 0) { perror("IPC_STAT"); return 1; }
    printf("segsz=%zu nattch=%lu mode=%o cpid_is_me=%d lpid_is_child=%d\n", ds.shm_segsz,
           (unsigned long)ds.shm_nattch, ds.shm_perm.mode & 0777, ds.shm_cpid == getpid(), ds.shm_lpid == pid);
    if (shmdt(p) != 0) { perror("shmdt"); return 1; }
    if (shmctl(id, IPC_RMID, NULL) != 0) { perror("IPC_RMID"); return 1; }
    errno = 0;
    printf("shmat after RMID: %s\n", shmat(id, NULL, 0) == (void *)-1 ? strerrorname_np(errno) : "attached?");
    return 0;
}
