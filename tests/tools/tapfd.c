/* tapfd: opens tap devices and runs a command that inherits their fds.
 *
 *   tapfd IFNAME... -- COMMAND [ARGS...]
 *
 * Each IFNAME is opened through /dev/net/tun as a tap (IFF_TAP | IFF_NO_PI;
 * a name that does not exist yet is created for the life of the fd). The
 * fds stay open across exec; VC_TAP_FDS holds their numbers, space
 * separated, in the order given. For tests of fds that a recipe passes to
 * QEMU. Needs root (CAP_NET_ADMIN). */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char fds[512] = "";
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        int fd = open("/dev/net/tun", O_RDWR);
        if (fd < 0) {
            perror("tapfd: /dev/net/tun");
            return 1;
        }
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[i]);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
            perror("tapfd: TUNSETIFF");
            return 1;
        }
        size_t used = strlen(fds);
        snprintf(fds + used, sizeof fds - used, "%s%d", used ? " " : "", fd);
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: tapfd IFNAME... -- COMMAND [ARGS...]\n");
        return 2;
    }
    setenv("VC_TAP_FDS", fds, 1);
    execvp(argv[i + 1], argv + i + 1);
    perror("tapfd: exec");
    return 127;
}
