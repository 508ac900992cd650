// The 16 random bytes the kernel puts on the initial stack (AT_RANDOM), and
// the stack and auxv addresses.
#include <stdio.h>
#include <sys/auxv.h>

int main(int argc, char **argv) {
    unsigned char *r = (unsigned char *)getauxval(AT_RANDOM);
    printf("AT_RANDOM ");
    for (int i = 0; i < 16; i++) printf("%02x", r[i]);
    printf("\nargv at %p, stack local at %p\n", (void *)argv, (void *)&argc);
    printf("sysinfo_ehdr %#lx pagesz %lu hwcap %#lx\n", getauxval(AT_SYSINFO_EHDR), getauxval(AT_PAGESZ),
           getauxval(AT_HWCAP));
    return 0;
}
