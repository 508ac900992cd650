// SysV semaphores: semget/semop/semctl(SETVAL, GETVAL, IPC_RMID); parent and child ping-pong a few rounds.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; };

static int op(int id, unsigned short num, short delta) {
    struct sembuf b = {.sem_num = num, .sem_op = delta, .sem_flg = 0};
    return semop(id, &b, 1);
}

int main(void) {
    int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);  // sem 0: child's turn, sem 1: parent's turn
    if (id < 0) { perror("semget"); return 1; }
    union semun arg = {.val = 0};
    if (semctl(id, 0, SETVAL, arg) != 0 || semctl(id, 1, SETVAL, arg) != 0) { perror("SETVAL"); return 1; }
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 4; i++) {
            if (op(id, 0, -1) != 0) _exit(2);
            printf("child round %d\n", i);
            if (op(id, 1, 1) != 0) _exit(3);
        }
        _exit(0);
    }
    for (int i = 0; i < 4; i++) {
        printf("parent round %d\n", i);
        if (op(id, 0, 1) != 0 || op(id, 1, -1) != 0) { perror("semop"); return 1; }
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    arg.val = 7;
    semctl(id, 1, SETVAL, arg);
    printf("GETVAL 0=%d 1=%d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));
    struct sembuf nb = {.sem_num = 0, .sem_op = -1, .sem_flg = IPC_NOWAIT};
    int r = semop(id, &nb, 1);
    printf("semop nowait on 0: %d %s\n", r, strerrorname_np(errno));
    if (semctl(id, 0, IPC_RMID) != 0) { perror("IPC_RMID"); return 1; }
    r = semctl(id, 0, GETVAL);
    printf("GETVAL after RMID: %d %s\n", r, strerrorname_np(errno));
    return 0;
}
