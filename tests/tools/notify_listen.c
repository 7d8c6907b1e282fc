/* notify_listen SOCKET COUNT: plays systemd's side of sd_notify for tests.
 * Binds a datagram socket at SOCKET (a path, or @name in the abstract
 * namespace), prints "listening", then prints each datagram it receives on
 * one line (its newlines as spaces) and exits 0 after COUNT of them, or 1
 * when none came for 120 seconds. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: notify_listen SOCKET COUNT\n");
        return 2;
    }
    const char *path = argv[1];
    int count = atoi(argv[2]);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n < 2 || n >= sizeof sa.sun_path) {
        fprintf(stderr, "notify_listen: bad socket name '%s'\n", path);
        return 2;
    }
    memcpy(sa.sun_path, path, n);
    int abstract = path[0] == '@';
    if (abstract) sa.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + !abstract);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0) {
        fprintf(stderr, "notify_listen: %s: %s\n", path, strerror(errno));
        return 2;
    }
    struct timeval tv = {.tv_sec = 120};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    printf("listening\n");
    fflush(stdout);
    for (int i = 0; i < count; i++) {
        char buf[4096];
        ssize_t got = recv(fd, buf, sizeof buf - 1, 0);
        if (got < 0) {
            fprintf(stderr, "notify_listen: %s\n", strerror(errno));
            if (!abstract) unlink(path);
            return 1;
        }
        for (ssize_t j = 0; j < got; j++)
            if (buf[j] == '\n') buf[j] = ' ';
        buf[got] = '\0';
        printf("%s\n", buf);
        fflush(stdout);
    }
    if (!abstract) unlink(path);
    return 0;
}
