#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kindtest.h"
#include "rundir.h"

int vc_test_build_device(const char *kind, const kv_t *vals, vc_dev_t **out, vc_error_t *err)
{
    const vc_kind_t *k = vc_kind_find(kind);
    if (!k) VC_FAIL("no kind %s", kind);
    vc_dev_t *d;
    ASSERT_INT_EQ(vc_dev_new(k, &d, err), 0);
    int rc = 0;
    for (; rc == 0 && vals && vals->k; vals++) {
        int f = vc_kind_field(k, vals->k);
        if (f < 0) VC_FAIL("no field %s.%s", kind, vals->k);
        rc = vc_dev_set_str(d, f, vals->v, err);
    }
    if (rc == 0) rc = vc_dev_finish(d, err);
    if (rc) {
        vc_dev_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

char *vc_test_emit_shell(const char *kind, const kv_t *vals)
{
    vc_error_t err = {0};
    vc_dev_t *d;
    if (vc_test_build_device(kind, vals, &d, &err)) VC_FAIL("%s: %s", kind, err.msg);
    vc_argv_t a = VC_ARGV_INIT;
    if (vc_dev_emit(d, &a, &err)) VC_FAIL("emit %s: %s", kind, err.msg);
    char *s = vc_argv_render_shell(&a);
    vc_argv_free(&a);
    vc_dev_free(d);
    return s;
}

void vc_test_emit_devs(vc_argv_t *a, const vc_test_dev_t *devs, size_t ndevs)
{
    vc_error_t err = {0};
    for (size_t i = 0; i < ndevs; i++) {
        vc_dev_t *d;
        if (vc_test_build_device(devs[i].kind, devs[i].vals, &d, &err))
            VC_FAIL("%s: %s", devs[i].kind, err.msg);
        if (vc_dev_emit(d, a, &err)) VC_FAIL("emit %s: %s", devs[i].kind, err.msg);
        vc_dev_free(d);
    }
}

size_t vc_test_kinds_unique(void)
{
    size_t count = 0;
    for (const vc_kind_t *const *k = vc_kinds(); *k; k++, count++)
        for (const vc_kind_t *const *j = vc_kinds(); j < k; j++)
            if (strcmp((*j)->name, (*k)->name) == 0) VC_FAIL("kind %s declared twice", (*k)->name);
    return count;
}

void vc_test_read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0) VC_FAIL("QMP socket closed");
        if (buf[n] == '\n') break;
        n++;
    }
    if (n + 1 >= size) VC_FAIL("QMP line longer than %zu bytes", size);
    if (n && buf[n - 1] == '\r') n--;
    buf[n] = '\0';
}

void vc_test_qmp(int fd, const char *cmd, char *reply, size_t size)
{
    ASSERT_INT_EQ(write(fd, cmd, strlen(cmd)), (long long)strlen(cmd));
    do
        vc_test_read_line(fd, reply, size);
    while (strstr(reply, "\"event\""));
}

void vc_test_on_exit(vc_proc_t *p, int status, int sig, void *ud)
{
    vc_test_exit_t *e = ud;
    (void)p;
    e->done = 1, e->status = status, e->sig = sig;
}

const char *vc_test_qom_get(int fd, const char *path, const char *prop, char *buf, size_t size)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"%s\",\"property\":\"%s\"}}\n",
             path, prop);
    vc_test_qmp(fd, cmd, buf, size);
    return buf;
}

static void print_line(vc_proc_t *p, int stream, const char *line, size_t len, void *ud)
{
    (void)p, (void)stream, (void)ud;
    fprintf(stderr, "  | %.*s\n", (int)len, line);
}

/* QEMU died before or while greeting: wait for its exit (its stderr lines
 * are printed by print_line) and fail with the status. */
static void vm_died(vc_test_vm_t *vm)
{
    vc_test_run_until(vm->loop, &vm->ex.done, 30, "qemu exit");
    VC_FAIL("qemu exited before QMP was ready: status %d, signal %d (its stderr is above)",
            vm->ex.status, vm->ex.sig);
}

void vc_test_vm_start(vc_test_vm_t *vm, uv_loop_t *loop, const char *dir, const char *const *raw,
                      const vc_test_dev_t *devs, size_t ndevs, const int *fds, int nfds)
{
    vc_test_vm_start_bin(vm, loop, vc_test_qemu(), dir, raw, devs, ndevs, fds, nfds);
}

void vc_test_vm_start_bin(vc_test_vm_t *vm, uv_loop_t *loop, const char *qemu, const char *dir,
                          const char *const *raw, const vc_test_dev_t *devs, size_t ndevs,
                          const int *fds, int nfds)
{
    *vm = (vc_test_vm_t){.loop = loop, .qmp = -1};
    vc_error_t err = {0};
    char sock[VC_SOCKET_PATH_MAX];
    if (vc_rundir_socket_path(dir, "qmp.sock", sock, sizeof sock, &err)) VC_FAIL("%s", err.msg);
    int hand[16];
    if (nfds > 15) VC_FAIL("too many fds");
    if (vc_socket_listen(sock, &hand[0], &err)) VC_FAIL("%s", err.msg);
    for (int i = 0; i < nfds; i++)
        hand[i + 1] = fds[i];

    vc_argv_t a = VC_ARGV_INIT;
    vc_argv_push(&a, qemu);
    vc_argv_push2(&a, "-display", "none"); /* no kind for it: not under test */
    const vc_test_dev_t base[] = {
        {"flags", {{"nodefaults", "on"}, {"no_user_config", "on"}, {"freeze", "on"}}},
        {"chardev",
         {{"backend", "socket"}, {"id", "qmp"}, {"fd", "3"}, {"server", "on"}, {"wait", "off"}}},
        {"mon", {{"chardev", "qmp"}}},
    };
    vc_test_emit_devs(&a, base, sizeof base / sizeof base[0]);
    /* the raw arguments come before the caller's devices */
    for (const char *const *r = raw; r && *r; r++)
        vc_argv_push(&a, *r);
    vc_test_emit_devs(&a, devs, ndevs);
    char *shell = vc_argv_render_shell(&a);
    printf("argv: %s\n", shell);
    fflush(stdout);
    free(shell);

    vc_proc_options_t o = {.argv = (const char *const *)a.v, .fds = hand, .nfds = nfds + 1};
    if (vc_proc_spawn(loop, &o, print_line, vc_test_on_exit, &vm->ex, &vm->proc, &err))
        VC_FAIL("%s", err.msg);
    close(hand[0]);
    vc_argv_free(&a);

    vm->qmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    ASSERT_INT_EQ(connect(vm->qmp, (struct sockaddr *)&sa, sizeof sa), 0);
    /* The greeting, read without failing on EOF: a QEMU that refuses the
     * command line closes the socket, and its stderr says why. */
    char line[4096];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(vm->qmp, line + n, 1);
        if (r <= 0) vm_died(vm);
        if (line[n] == '\n' || n + 2 >= sizeof line) break;
        n++;
    }
    line[n] = '\0';
    ASSERT_STR_CONTAINS(line, "\"QMP\"");
    vc_test_qmp(vm->qmp, "{\"execute\":\"qmp_capabilities\"}\n", line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": {}}");
}

void vc_test_vm_quit(vc_test_vm_t *vm)
{
    char line[4096];
    vc_test_qmp(vm->qmp, "{\"execute\":\"quit\"}\n", line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": {}}");
    close(vm->qmp);
    vm->qmp = -1;
    vc_test_run_until(vm->loop, &vm->ex.done, 30, "qemu exit after quit");
    ASSERT_INT_EQ(vm->ex.sig, 0);
    ASSERT_INT_EQ(vm->ex.status, 0);
    vc_proc_close(vm->proc);
    vm->proc = NULL;
}

static void on_refuse_timeout(uv_timer_t *t)
{
    vc_proc_kill(t->data, SIGKILL);
}

static void qemu_fails(const char *const *args, const char *expect, int abort_expected)
{
    vc_argv_t a = VC_ARGV_INIT;
    const char *head[] = {vc_test_qemu(),    "-display", "none",     "-nodefaults",
                          "-no-user-config", "-S",       "-machine", "q35,accel=tcg"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        vc_argv_push(&a, head[i]);
    for (const char *const *r = args; *r; r++)
        vc_argv_push(&a, *r);
    /* an abort writes no core file (the child inherits the limit) */
    if (abort_expected) setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_test_exit_t ex = {0};
    vc_proc_t *p = NULL;
    vc_error_t err = {0};
    vc_proc_options_t o = {.argv = (const char *const *)a.v};
    if (vc_proc_spawn(&loop, &o, NULL, vc_test_on_exit, &ex, &p, &err)) VC_FAIL("%s", err.msg);
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    timer.data = p;
    uv_timer_start(&timer, on_refuse_timeout, 10000, 0);
    vc_test_run_until(&loop, &ex.done, 30, "qemu exit");
    uv_close((uv_handle_t *)&timer, NULL);
    char tail[2048];
    vc_proc_stderr_tail(p, tail, sizeof tail);
    char *shell = vc_argv_render_shell(&a);
    printf("QEMU %s %s: exit %d, signal %d: %s\n", abort_expected ? "aborts on" : "refuses", shell,
           ex.status, ex.sig, tail);
    free(shell);
    if (abort_expected) {
        ASSERT_INT_EQ(ex.sig, SIGABRT);
    } else {
        if (ex.sig) VC_FAIL("QEMU accepted the arguments (killed after 10s)");
        ASSERT_INT_EQ(ex.status, 1);
    }
    ASSERT_STR_CONTAINS(tail, expect);
    vc_proc_close(p);
    vc_test_loop_teardown(&loop);
    vc_argv_free(&a);
}

void vc_test_qemu_refuses(const char *const *args, const char *expect)
{
    qemu_fails(args, expect, 0);
}

void vc_test_qemu_aborts(const char *const *args, const char *expect)
{
    qemu_fails(args, expect, 1);
}

static char warnings[8192];

static void collect_warning(const char *msg, void *ud)
{
    (void)ud;
    size_t used = strlen(warnings);
    snprintf(warnings + used, sizeof warnings - used, "%s\n", msg);
}

void vc_test_warn_begin(void)
{
    warnings[0] = '\0';
    vc_kind_set_warn(collect_warning, NULL);
}

const char *vc_test_warnings(void)
{
    static char copy[sizeof warnings];
    memcpy(copy, warnings, sizeof copy);
    warnings[0] = '\0';
    return copy;
}

void vc_test_warn_end(void)
{
    vc_kind_set_warn(NULL, NULL);
}

int vc_test_run_cmd(uv_loop_t *loop, const char *const *argv, double timeout)
{
    vc_error_t err = {0};
    vc_test_exit_t ex = {0};
    vc_proc_t *p;
    vc_proc_options_t o = {.argv = argv};
    if (vc_proc_spawn(loop, &o, print_line, vc_test_on_exit, &ex, &p, &err)) VC_FAIL("%s", err.msg);
    vc_test_run_until(loop, &ex.done, timeout, argv[0]);
    vc_proc_close(p);
    return ex.sig ? -1 : ex.status;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

void vc_test_await_socket(uv_loop_t *loop, const char *path, const int *exited, double timeout,
                          const char *what)
{
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    uint64_t deadline = uv_now(loop) + (uint64_t)(timeout * 1000);
    struct stat st;
    int ready;
    while (!(ready = stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) && !*exited &&
           uv_now(loop) < deadline) {
        uv_timer_start(&tick, on_tick, 10, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    if (!ready && *exited) VC_FAIL("%s exited before its socket %s appeared", what, path);
    if (!ready) VC_FAIL("timed out after %.1fs waiting for %s's socket %s", timeout, what, path);
}
