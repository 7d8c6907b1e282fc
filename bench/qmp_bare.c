/* bench_qmp_bare: the QMP throughput benchmark's baseline. The least a C
 * program does to send query-status N times to a QEMU monitor: one blocking
 * unix socket, no event loop, no JSON library; replies are framed by their
 * LF and checked only for the "return" and the id the command carried.
 *
 *   bench_qmp_bare SOCKET N serial      write one command, read its reply,
 *                                       N times
 *   bench_qmp_bare SOCKET N pipelined   write all N commands, then read all
 *                                       N replies
 *   bench_qmp_bare SOCKET N spin        serial, but the socket is
 *                                       non-blocking and a read that finds
 *                                       nothing is retried at once: the
 *                                       client never sleeps between a
 *                                       command and its reply (a busy poll,
 *                                       as a Go runtime thread spins before
 *                                       it parks); not a side of qmp.sh, a
 *                                       probe of what waking up costs
 *
 * SOCKET is QEMU's `-qmp unix:SOCKET,server=on,wait=off`; the client retries
 * the connect for up to 10 s while QEMU starts. The greeting and
 * qmp_capabilities are not timed. Prints on stdout, for the N commands only:
 *
 *   cmds_per_s R        N / wall time
 *   wall_ms W           wall time (CLOCK_MONOTONIC)
 *   cpu_us_per_cmd C    this process's user + system CPU (getrusage) / N
 *
 * In pipelined mode the writes block whenever the socket is full: QEMU
 * reads commands while its replies queue up in its own output buffer, so
 * writing everything before reading anything cannot deadlock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int sock = -1;
static char rbuf[1 << 16];
static size_t rlen, roff; /* rbuf[roff..rlen) is unread input */
static int spin;          /* non-blocking socket: retry reads and writes at once */

static void die(const char *what)
{
    fprintf(stderr, "bench_qmp_bare: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static void write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(sock, p, n);
        if (w < 0 && (errno == EINTR || (spin && errno == EAGAIN))) continue;
        if (w <= 0) die("write");
        p += w;
        n -= (size_t)w;
    }
}

/* The next line (without its LF), NUL-terminated in place; valid until the
 * next call. Lines are short here: query-status, the greeting, and events
 * QEMU may send. */
static char *read_line(void)
{
    for (;;) {
        char *nl = memchr(rbuf + roff, '\n', rlen - roff);
        if (nl) {
            char *line = rbuf + roff;
            *nl = '\0';
            roff = (size_t)(nl - rbuf) + 1;
            return line;
        }
        if (roff) {
            memmove(rbuf, rbuf + roff, rlen - roff);
            rlen -= roff;
            roff = 0;
        }
        if (rlen == sizeof rbuf) {
            errno = 0;
            die("line too long");
        }
        ssize_t r = read(sock, rbuf + rlen, sizeof rbuf - rlen);
        if (r < 0 && (errno == EINTR || (spin && errno == EAGAIN))) continue;
        if (r <= 0) {
            if (r == 0) errno = 0;
            die("read (QEMU closed the monitor?)");
        }
        rlen += (size_t)r;
    }
}

/* Reads lines until the reply carrying id; events are skipped. */
static void read_reply(const char *id)
{
    char want[48];
    snprintf(want, sizeof want, "\"id\": \"%s\"", id);
    for (;;) {
        char *line = read_line();
        if (strncmp(line, "{\"event\"", 8) == 0) continue;
        if (strncmp(line, "{\"return\"", 9) != 0 || !strstr(line, want)) {
            errno = 0;
            fprintf(stderr, "bench_qmp_bare: unexpected line: %s\n", line);
            exit(1);
        }
        return;
    }
}

static int command(char *buf, size_t size, const char *id)
{
    return snprintf(buf, size, "{\"execute\":\"query-status\",\"id\":\"%s\"}\n", id);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 4 ||
        (strcmp(argv[3], "serial") && strcmp(argv[3], "pipelined") && strcmp(argv[3], "spin"))) {
        fprintf(stderr, "usage: bench_qmp_bare SOCKET N serial|pipelined|spin\n");
        return 2;
    }
    long n = strtol(argv[2], NULL, 10);
    if (n < 1) {
        fprintf(stderr, "bench_qmp_bare: N must be at least 1\n");
        return 2;
    }
    int pipelined = strcmp(argv[3], "pipelined") == 0;

    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        die(argv[1]);
    }
    strcpy(sa.sun_path, argv[1]);
    for (int tries = 0;; tries++) {
        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0) die("socket");
        if (connect(sock, (struct sockaddr *)&sa, sizeof sa) == 0) break;
        if ((errno != ENOENT && errno != ECONNREFUSED) || tries == 1000) die("connect");
        close(sock);
        usleep(10000);
    }

    char *greeting = read_line();
    if (strncmp(greeting, "{\"QMP\"", 6) != 0) {
        errno = 0;
        die("no QMP greeting");
    }
    static const char caps[] = "{\"execute\":\"qmp_capabilities\",\"id\":\"caps\"}\n";
    write_all(caps, sizeof caps - 1);
    read_reply("caps");
    if (strcmp(argv[3], "spin") == 0) {
        spin = 1;
        if (fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
    }

    char line[96], id[32];
    double t0 = now_s(), c0 = cpu_s();
    if (!pipelined) {
        for (long i = 0; i < n; i++) {
            snprintf(id, sizeof id, "b-%ld", i);
            write_all(line, (size_t)command(line, sizeof line, id));
            read_reply(id);
        }
    } else {
        /* All commands in one buffer, written as the socket takes them. */
        size_t cap = (size_t)n * 64, len = 0;
        char *out = malloc(cap);
        if (!out) die("malloc");
        for (long i = 0; i < n; i++) {
            snprintf(id, sizeof id, "b-%ld", i);
            len += (size_t)command(out + len, cap - len, id);
        }
        write_all(out, len);
        free(out);
        for (long i = 0; i < n; i++) {
            snprintf(id, sizeof id, "b-%ld", i);
            read_reply(id);
        }
    }
    double wall = now_s() - t0, cpu = cpu_s() - c0;

    printf("cmds_per_s %.0f\nwall_ms %.1f\ncpu_us_per_cmd %.2f\n", (double)n / wall, wall * 1000,
           cpu * 1e6 / (double)n);
    close(sock);
    return 0;
}
