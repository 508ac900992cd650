// SysV message queues: msgget/msgsnd/msgrcv (by type)/msgctl(IPC_STAT, IPC_RMID) between parent and child.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

struct msg { long type; char text[32]; };

int main(void) {
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id < 0) { perror("msgget"); return 1; }
    pid_t pid = fork();
    if (pid == 0) {
        struct msg m;
        for (int i = 0; i < 3; i++) {  // type 1: requests; replies go back as type 2
            ssize_t n = msgrcv(id, &m, sizeof m.text, 1, 0);
            if (n < 0) _exit(2);
            printf("child got %zd: %s\n", n, m.text);
            m.type = 2;
            for (char *c = m.text; *c; c++) *c = *c >= 'a' && *c <= 'z' ? *c - 32 : *c;
            if (msgsnd(id, &m, strlen(m.text) + 1, 0) != 0) _exit(3);
        }
        fflush(stdout);
        _exit(0);
    }
    const char *words[] = {"alpha", "bravo", "charlie"};
    for (int i = 0; i < 3; i++) {
        struct msg m = {.type = 1};
        strcpy(m.text, words[i]);
        if (msgsnd(id, &m, strlen(m.text) + 1, 0) != 0) { perror("msgsnd"); return 1; }
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    struct msqid_ds ds;
    if (msgctl(id, IPC_STAT, &ds) != 0) { perror("IPC_STAT"); return 1; }
    printf("qnum=%lu lspid_is_child=%d\n", (unsigned long)ds.msg_qnum, ds.msg_lspid == pid);
    struct msg m;
    for (int i = 0; i < 3; i++) {
        ssize_t n = msgrcv(id, &m, sizeof m.text, 2, IPC_NOWAIT);
        printf("parent got %zd: %s\n", n, n > 0 ? m.text : "");
    }
    ssize_t n = msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT);
    printf("empty queue nowait: %zd %s\n", n, strerrorname_np(errno));
    if (msgctl(id, IPC_RMID, NULL) != 0) { perror("IPC_RMID"); return 1; }
    return 0;
}
