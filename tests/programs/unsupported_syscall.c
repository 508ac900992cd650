// Calls a syscall rewind does not support yet (SysV shared memory).
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(void) {
    printf("before\n");
    fflush(stdout);
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    printf("shmget=%d\n", id);
    if (id >= 0) shmctl(id, IPC_RMID, NULL);
    return 0;
}
