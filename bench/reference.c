/* bench_reference: the launch benchmark's baseline. Does what
 * `vclaunch --accel tcg bench/launch.lua N` does, in plain C with poll(2)
 * and no vclaunch code, libuv or JSON library:
 *
 *   for each of N VMs: a private directory, a listening unix socket in it,
 *   stdout and stderr pipes, fork + exec QEMU (the argv given, with the
 *   listening socket as fd 3); then, all N at once from one poll loop: connect, read
 *   the greeting, send qmp_capabilities, read its reply, send quit, read
 *   until EOF on the socket and on both pipes; then waitpid each and remove
 *   its files.
 *
 * usage: bench_reference [-r] N QEMU-ARGV...
 *   QEMU-ARGV  the full argv vclaunch starts for the recipe's first pod, as
 *              `vclaunch --dry-run bench/launch.lua 1` prints it (launch.sh
 *              passes it): the value after -name becomes benchI for VM I, as
 *              the recipe names its pods, and the runtime dir placeholder
 *              "<runtime-dir>/bench1-XXXXXX" becomes VM I's own directory
 *              (its QMP sockets and pidfile go there); fd 3 is the
 *              listening QMP socket, as with vclaunch
 *   -r         print "peak_rss_kib K" and "cpu_ms C" (this process only,
 *              as the recipe does) on stderr at the end
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_VMS 256
#define MAX_ARGS 256

enum { WANT_GREETING, WANT_CAPS, WANT_QUIT, WANT_EOF };

typedef struct vm {
    char dir[80], sock[108], name[24];
    pid_t pid;
    int qmp;      /* connected QMP socket, -1 at EOF */
    int out, err; /* QEMU's stdout and stderr, -1 at EOF */
    int state;
    char buf[8192];
    size_t len;
} vm_t;

static void die(const char *what)
{
    fprintf(stderr, "bench_reference: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The argv every VM shares, from the command line. */
static char **qemu_argv;
static int qemu_argc;
static const char *exe; /* qemu_argv[0] found along PATH */
#define PLACEHOLDER "<runtime-dir>/bench1-XXXXXX"

/* The given argv with this VM's name and directory; the strings that name
 * the directory are allocated once per VM and kept until exit. */
static void build_argv(const vm_t *v, const char **argv)
{
    for (int k = 0; k < qemu_argc; k++) {
        const char *a = qemu_argv[k], *at = strstr(a, PLACEHOLDER);
        if (k > 0 && !strcmp(qemu_argv[k - 1], "-name")) {
            a = v->name;
        } else if (at) {
            size_t len = strlen(a) + strlen(v->dir) + 1;
            char *s = malloc(len);
            if (!s) abort();
            snprintf(s, len, "%.*s%s%s", (int)(at - a), a, v->dir, at + strlen(PLACEHOLDER));
            a = s;
        }
        argv[k] = a;
    }
    argv[qemu_argc] = NULL;
}

/* Removes what QEMU left in dir (pidfile, sockets), then dir. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

static void spawn(vm_t *v, int i)
{
    snprintf(v->name, sizeof v->name, "bench%d", i + 1);
    const char *tmp = getenv("TMPDIR");
    int n =
        snprintf(v->dir, sizeof v->dir, "%s/vcref-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", v->name);
    if (n < 0 || (size_t)n >= sizeof v->dir) {
        errno = ENAMETOOLONG;
        die("TMPDIR");
    }
    if (!mkdtemp(v->dir)) die("mkdtemp");
    snprintf(v->sock, sizeof v->sock, "%s/qmp.sock", v->dir);

    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0) die("socket");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", v->sock);
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    if (listen(l, 8) < 0) die("listen");
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) die("pipe2");

    const char *argv[MAX_ARGS + 1];
    build_argv(v, argv);
    pid_t parent = getpid();
    v->pid = fork();
    if (v->pid < 0) die("fork");
    if (v->pid == 0) {
        /* Between fork and exec: async-signal-safe calls only. With 0-2
         * open, the listener took the lowest free fd: it is 3, or 3 holds
         * an earlier VM's QMP socket; either way no source below is 0-3. */
        setpgid(0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(127);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(127);
        if (l == 3) {
            if (fcntl(3, F_SETFD, 0) < 0) _exit(127);
        } else if (dup2(l, 3) < 0) {
            _exit(127);
        }
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(l);
    close(out[1]);
    close(err[1]);
    v->out = out[0];
    v->err = err[0];

    /* The listening socket exists before QEMU runs: connect now, no retry. */
    v->qmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (v->qmp < 0) die("socket");
    if (connect(v->qmp, (struct sockaddr *)&sa, sizeof sa) < 0) {
        /* Refused: QEMU (the listener's last holder) is already gone. */
        fprintf(stderr, "bench_reference: %s: connect: %s\n", v->name, strerror(errno));
        close(v->qmp);
        v->qmp = -1;
    }
    v->state = WANT_GREETING;
}

static void send_cmd(vm_t *v, const char *cmd)
{
    size_t n = strlen(cmd);
    if (write(v->qmp, cmd, n) != (ssize_t)n) die("write to QMP");
}

/* One complete QMP line (a JSON object). Events are skipped. */
static void on_line(vm_t *v, const char *line)
{
    if (strstr(line, "\"event\"")) return;
    if (strstr(line, "\"error\"")) {
        fprintf(stderr, "bench_reference: %s: QMP error: %s\n", v->name, line);
        exit(1);
    }
    switch (v->state) {
    case WANT_GREETING:
        if (!strstr(line, "\"QMP\"")) break;
        send_cmd(v, "{\"execute\": \"qmp_capabilities\", \"id\": \"c\"}\n");
        v->state = WANT_CAPS;
        break;
    case WANT_CAPS:
        if (!strstr(line, "\"return\"")) break;
        send_cmd(v, "{\"execute\": \"quit\", \"id\": \"q\"}\n");
        v->state = WANT_QUIT;
        break;
    case WANT_QUIT:
        if (strstr(line, "\"return\"")) v->state = WANT_EOF;
        break;
    }
}

static void on_qmp(vm_t *v)
{
    ssize_t n = read(v->qmp, v->buf + v->len, sizeof v->buf - 1 - v->len);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
        /* Before the quit reply: QEMU failed to start or died; waitpid in
         * main reports how. */
        if (v->state != WANT_EOF)
            fprintf(stderr, "bench_reference: %s: QMP closed early\n", v->name);
        close(v->qmp);
        v->qmp = -1;
        return;
    }
    v->len += (size_t)n;
    v->buf[v->len] = '\0';
    char *start = v->buf, *nl;
    while ((nl = strchr(start, '\n'))) {
        *nl = '\0';
        on_line(v, start);
        start = nl + 1;
    }
    v->len -= (size_t)(start - v->buf);
    memmove(v->buf, start, v->len);
    if (v->len == sizeof v->buf - 1) {
        fprintf(stderr, "bench_reference: %s: QMP line too long\n", v->name);
        exit(1);
    }
}

/* QEMU's stdout and stderr are read and passed on, as vclaunch does. */
static void on_pipe(vm_t *v, int *fd, FILE *to)
{
    char b[4096];
    ssize_t n = read(*fd, b, sizeof b);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return;
    }
    if (to == stderr) fprintf(stderr, "%s: ", v->name);
    fwrite(b, 1, (size_t)n, to);
}

int main(int argc, char **argv)
{
    int report_rss = 0, i = 1;
    if (i < argc && !strcmp(argv[i], "-r")) report_rss = 1, i++;
    int n = i < argc ? atoi(argv[i]) : 0;
    i++;
    qemu_argv = argv + i;
    qemu_argc = argc - i;
    if (n < 1 || n > MAX_VMS || qemu_argc < 1 || qemu_argc > MAX_ARGS) {
        fprintf(stderr, "usage: bench_reference [-r] N QEMU-ARGV... (N: 1 to %d)\n", MAX_VMS);
        return 2;
    }
    /* Found along PATH once here, as vclaunch does, rather than by execvp in
     * every child. */
    static char path[4096];
    exe = qemu_argv[0];
    if (!strchr(exe, '/')) {
        const char *p = getenv("PATH");
        for (; p && *p; p += strcspn(p, ":") + (p[strcspn(p, ":")] == ':')) {
            int len = (int)strcspn(p, ":");
            snprintf(path, sizeof path, "%.*s/%s", len, p, qemu_argv[0]);
            if (access(path, X_OK) == 0) {
                exe = path;
                break;
            }
        }
    }
    static vm_t vms[MAX_VMS];
    for (int k = 0; k < n; k++)
        spawn(&vms[k], k);

    struct pollfd pfd[3 * MAX_VMS];
    vm_t *owner[3 * MAX_VMS];
    int *slot[3 * MAX_VMS];
    for (;;) {
        int m = 0;
        for (int k = 0; k < n; k++) {
            vm_t *v = &vms[k];
            int *fds[3] = {&v->qmp, &v->out, &v->err};
            for (int j = 0; j < 3; j++) {
                if (*fds[j] < 0) continue;
                pfd[m] = (struct pollfd){.fd = *fds[j], .events = POLLIN};
                owner[m] = v;
                slot[m++] = fds[j];
            }
        }
        if (m == 0) break;
        if (poll(pfd, (nfds_t)m, 30000) <= 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "bench_reference: no progress within 30s\n");
            return 1;
        }
        for (int k = 0; k < m; k++) {
            if (!pfd[k].revents) continue;
            vm_t *v = owner[k];
            if (slot[k] == &v->qmp)
                on_qmp(v);
            else
                on_pipe(v, slot[k], slot[k] == &v->out ? stdout : stderr);
        }
    }
    int failed = 0;
    for (int k = 0; k < n; k++) {
        vm_t *v = &vms[k];
        int ws;
        while (waitpid(v->pid, &ws, 0) < 0)
            if (errno != EINTR) die("waitpid");
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
            fprintf(stderr, "bench_reference: %s: QEMU ended with status 0x%x\n", v->name, ws);
            failed = 1;
        }
        remove_dir(v->dir);
    }
    if (report_rss) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "peak_rss_kib %ld\n", ru.ru_maxrss);
        fprintf(stderr, "cpu_ms %.2f\n", (double)clock() * 1000 / CLOCKS_PER_SEC);
    }
    return failed;
}
