// Arguments, environment and working directory as the program saw them.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    const char *marker = getenv("REWIND_TEST_MARKER");
    printf("marker=%s\n", marker ? marker : "(unset)");
    int count = 0;
    for (char **e = environ; *e; e++) count++;
    printf("environment entries=%d\n", count);
    char cwd[4096];
    printf("cwd=%s\n", getcwd(cwd, sizeof cwd));
    return 0;
}
