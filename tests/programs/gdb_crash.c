// A crash through a corrupted pointer, after a handled SIGSEGV and a few
// SIGALRMs: for gdb to stop at each signal, show the stack, and then the
// recorded death.
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

struct node {
    int value;
    struct node *next;
};

static sigjmp_buf recover;
static volatile int alarms;

static void on_segv(int signo) {
    (void)signo;
    siglongjmp(recover, 1);
}

static void on_alarm(int signo) {
    (void)signo;
    alarms++;
}

static int sum_list(struct node *list) {
    int total = 0;
    for (struct node *n = list; n; n = n->next) total += n->value;  // crash here
    return total;
}

int main(void) {
    signal(SIGALRM, on_alarm);
    for (int i = 0; i < 3; i++) {
        alarm(0);
        raise(SIGALRM);
    }
    printf("alarms %d\n", alarms);
    signal(SIGSEGV, on_segv);
    if (sigsetjmp(recover, 1) == 0) {
        *(volatile int *)16 = 1;  // handled fault
    }
    printf("recovered from the first fault\n");
    fflush(stdout);
    signal(SIGSEGV, SIG_DFL);
    struct node *list = calloc(3, sizeof *list);
    for (int i = 0; i < 3; i++) {
        list[i].value = i + 1;
        list[i].next = i < 2 ? &list[i + 1] : NULL;
    }
    printf("sum %d\n", sum_list(list));
    fflush(stdout);
    memset(&list[1].next, 0x41, sizeof list[1].next);  // corrupt the pointer
    printf("sum %d\n", sum_list(list));
    return 0;
}
