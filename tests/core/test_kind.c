/* Device kinds: golden argv for each boot kind, validation errors with
 * their messages, and real QEMU accepting the emitted argv (the guest name,
 * holding a comma, is read back through QMP). */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kind.h"
#include "proc.h"
#include "rundir.h"
#include "test.h"

typedef struct kv {
    const char *k, *v;
} kv_t;

/* Builds a device from text values; returns 0 or the error code. */
static int build(const char *kind, const kv_t *vals, vc_dev_t **out, vc_error_t *err)
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

static char *emit_shell(const char *kind, const kv_t *vals)
{
    vc_error_t err = {0};
    vc_dev_t *d;
    if (build(kind, vals, &d, &err)) VC_FAIL("%s: %s", kind, err.msg);
    vc_argv_t a = VC_ARGV_INIT;
    if (vc_dev_emit(d, &a, &err)) VC_FAIL("emit %s: %s", kind, err.msg);
    char *s = vc_argv_render_shell(&a);
    vc_argv_free(&a);
    vc_dev_free(d);
    return s;
}

#define GOLDEN(kind, expect, ...)                                                                  \
    do {                                                                                           \
        kv_t vals_[] = {__VA_ARGS__, {NULL, NULL}};                                                \
        char *got_ = emit_shell(kind, vals_);                                                      \
        ASSERT_STR_EQ(got_, expect);                                                               \
        free(got_);                                                                                \
    } while (0)

static void test_golden(void)
{
    GOLDEN("name", "-name vm,,1,debug-threads=on", {"name", "vm,1"}, {"debug_threads", "true"});
    GOLDEN("machine", "-machine q35,accel=tcg", {"type", "q35"}, {"accel", "tcg"});
    GOLDEN("cpu", "-cpu max", {"model", "max"});
    GOLDEN("smp", "-smp 2,sockets=4,cores=1,threads=1,maxcpus=4", {"cpus", "2"}, {"sockets", "4"},
           {"cores", "1"}, {"threads", "1"}, {"maxcpus", "4"});
    GOLDEN("memory", "-m 512M,slots=2,maxmem=4G", {"size", "512m"}, {"slots", "2"},
           {"maxmem", "4G"});
    GOLDEN("kernel", "-kernel /k,x -initrd /i -append 'console=ttyS0 a=b,c'", {"path", "/k,x"},
           {"initrd", "/i"}, {"append", "console=ttyS0 a=b,c"});
    GOLDEN("chardev", "-chardev socket,id=qmp,fd=3,server=on,wait=off", {"backend", "socket"},
           {"id", "qmp"}, {"fd", "3"}, {"server", "on"}, {"wait", "off"});
    GOLDEN("chardev", "-chardev file,id=c1,path=/a,,b", {"backend", "file"}, {"id", "c1"},
           {"path", "/a,b"});
    GOLDEN("mon", "-mon chardev=qmp,mode=control", {"chardev", "qmp"});
    GOLDEN("serial", "-serial chardev:con0", {"chardev", "con0"});
    GOLDEN("pidfile", "-pidfile /run/x/pid", {"path", "/run/x/pid"});
    GOLDEN("flags", "-nodefaults -no-user-config -nographic", {"nodefaults", "on"},
           {"no_user_config", "on"}, {"nographic", "on"}, {"no_reboot", "off"});
}

#define REJECT(kind, expect, ...)                                                                  \
    do {                                                                                           \
        kv_t vals_[] = {__VA_ARGS__, {NULL, NULL}};                                                \
        vc_error_t err_ = {0};                                                                     \
        vc_dev_t *d_ = NULL;                                                                       \
        ASSERT_INT_EQ(build(kind, vals_, &d_, &err_), VC_ERECIPE);                                 \
        ASSERT_STR_EQ(err_.msg, expect);                                                           \
    } while (0)

static void test_rejects(void)
{
    REJECT("machine", "machine: field 'accel': \"hvf\" is not one of: kvm, tcg", {"type", "q35"},
           {"accel", "hvf"});
    REJECT("machine", "machine: field 'type': is required", {"accel", "tcg"});
    REJECT("smp", "smp: field 'cpus': 0 is out of range (1 to 4096)", {"cpus", "0"});
    REJECT("smp", "smp: field 'cpus': expected an integer, got \"two\"", {"cpus", "two"});
    REJECT("memory", "memory: field 'size': expected a size like 512M or 2G or bytes, got \"1X\"",
           {"size", "1X"});
    REJECT("chardev", "chardev 'c1': field 'path': holds a control character (0x0a)", {"id", "c1"},
           {"backend", "file"}, {"path", "/a\nb"});
    REJECT("chardev", "chardev: field 'id': id '9x' must start with a letter", {"id", "9x"});
    REJECT("chardev", "chardev 'c1': field 'fd': 2 is out of range (3 to 65535)", {"id", "c1"},
           {"fd", "2"});
    REJECT("flags", "flags: field 'nographic': expected a boolean, got \"yes\"",
           {"nographic", "yes"});
    REJECT("kernel", "kernel: field 'append': holds a control character (0x0a)", {"path", "/k"},
           {"append", "a\nb"});
}

static void test_lookup_and_suggest(void)
{
    ASSERT(vc_kind_find("memory") != NULL);
    ASSERT(vc_kind_find("memroy") == NULL);
    ASSERT_STR_EQ(vc_kind_suggest_kind("memroy"), "memory");
    const vc_kind_t *k = vc_kind_find("smp");
    ASSERT_STR_EQ(vc_kind_suggest(k, "maxcpu"), "maxcpus");
    ASSERT(vc_kind_suggest(k, "completely-different") == NULL);
    ASSERT_INT_EQ(vc_kind_field(k, "cores"), 2);
    ASSERT_INT_EQ(vc_kind_field(k, "nope"), -1);
    vc_error_t err = {0};
    vc_dev_t *d;
    ASSERT_INT_EQ(vc_dev_new(k, &d, &err), 0);
    ASSERT_INT_EQ(vc_dev_set_bool(d, 0, 1, &err), VC_ERECIPE);
    ASSERT_STR_EQ(err.msg, "smp: field 'cpus': expected an integer, got a boolean");
    vc_dev_free(d);
}

/* Reads one line from a blocking socket. */
static void read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0) VC_FAIL("QMP socket closed");
        if (buf[n] == '\n') break;
        n++;
    }
    if (n && buf[n - 1] == '\r') n--;
    buf[n] = '\0';
}

/* Sends a command and returns the first line that is not an event. */
static void qmp(int fd, const char *cmd, char *reply, size_t size)
{
    ASSERT_INT_EQ(write(fd, cmd, strlen(cmd)), (long long)strlen(cmd));
    do
        read_line(fd, reply, size);
    while (strstr(reply, "\"event\""));
}

typedef struct exit_state {
    int done, status, sig;
} exit_state_t;

static void on_exit_cb(vc_proc_t *p, int status, int sig, void *ud)
{
    exit_state_t *e = ud;
    (void)p;
    e->done = 1, e->status = status, e->sig = sig;
}

static void test_qemu_accepts(void)
{
    char dir[] = "/tmp/vc-test-kind-XXXXXX";
    ASSERT(mkdtemp(dir));
    char sock[100];
    snprintf(sock, sizeof sock, "%s/qmp.sock", dir);
    vc_error_t err = {0};
    int lfd;
    if (vc_socket_listen(sock, &lfd, &err)) VC_FAIL("%s", err.msg);

    vc_argv_t a = VC_ARGV_INIT;
    vc_argv_push(&a, vc_test_qemu());
    struct {
        const char *kind;
        kv_t vals[6];
    } devs[] = {
        {"name", {{"name", "vm,with,commas"}}},
        {"machine", {{"type", "q35"}, {"accel", "tcg"}}},
        {"cpu", {{"model", "max"}}},
        {"smp",
         {{"cpus", "2"}, {"sockets", "4"}, {"cores", "1"}, {"threads", "1"}, {"maxcpus", "4"}}},
        {"memory", {{"size", "128M"}, {"slots", "2"}, {"maxmem", "1G"}}},
        {"chardev",
         {{"backend", "socket"}, {"id", "qmp"}, {"fd", "3"}, {"server", "on"}, {"wait", "off"}}},
        {"mon", {{"chardev", "qmp"}}},
        {"flags",
         {{"nodefaults", "on"}, {"no_user_config", "on"}, {"nographic", "on"}, {"freeze", "on"}}},
    };
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        vc_dev_t *d;
        if (build(devs[i].kind, devs[i].vals, &d, &err)) VC_FAIL("%s", err.msg);
        ASSERT_INT_EQ(vc_dev_emit(d, &a, &err), 0);
        vc_dev_free(d);
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    exit_state_t ex = {0};
    vc_proc_t *p = NULL;
    vc_proc_options_t o = {.argv = (const char *const *)a.v, .fds = &lfd, .nfds = 1};
    if (vc_proc_spawn(&loop, &o, NULL, on_exit_cb, &ex, &p, &err)) VC_FAIL("%s", err.msg);
    close(lfd);

    int cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    ASSERT_INT_EQ(connect(cfd, (struct sockaddr *)&sa, sizeof sa), 0);
    char line[8192];
    read_line(cfd, line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"QMP\"");
    qmp(cfd, "{\"execute\":\"qmp_capabilities\"}\n", line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": {}}");
    qmp(cfd, "{\"execute\":\"query-name\"}\n", line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": {\"name\": \"vm,with,commas\"}}");
    qmp(cfd, "{\"execute\":\"query-status\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"status\": \"prelaunch\"");
    qmp(cfd, "{\"execute\":\"query-cpus-fast\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"cpu-index\": 1");
    ASSERT(!strstr(line, "\"cpu-index\": 2"));
    qmp(cfd, "{\"execute\":\"query-memory-size-summary\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"base-memory\": 134217728");
    qmp(cfd, "{\"execute\":\"quit\"}\n", line, sizeof line);
    close(cfd);
    vc_test_run_until(&loop, &ex.done, 30, "qemu exit after quit");
    ASSERT_INT_EQ(ex.status, 0);
    vc_proc_close(p);
    vc_test_loop_teardown(&loop);
    vc_argv_free(&a);
    ASSERT_INT_EQ(vc_rundir_remove(dir, &err), 0);
}

int main(void)
{
    RUN(test_golden);
    RUN(test_rejects);
    RUN(test_lookup_and_suggest);
    RUN(test_qemu_accepts);
    return 0;
}
