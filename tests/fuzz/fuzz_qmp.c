/* libFuzzer target: the QMP client's input path.
 *
 * The fuzz input is every byte the QMP server (QEMU) sends: greeting,
 * replies, events, garbage, half lines, long lines, NUL bytes. Each run
 * connects a vc_qmp_t through the public API to a listening unix socket in a
 * private temporary directory, writes the input from the server side in one
 * go, then shuts that side down, so every run ends with EOF. Once ready, the
 * client sends a few commands (one with an fd); the client ids are
 * deterministic (vc-0 is qmp_capabilities, then vc-1, vc-2, ...) so that
 * inputs can answer them. Two event names steer the client from inside its
 * callbacks: VC_FUZZ_CLOSE closes it, VC_FUZZ_EXEC sends one more command.
 *
 * Checked on every run: the reply fields the header promises, one callback
 * per accepted command, the disconnect hook at most once and never after a
 * failed ready, no handle left on the loop, no fd left open (leaks and
 * memory errors are the sanitizers'). The core of this tree is built with a
 * 2 KiB line limit, so short inputs reach it. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "qmp.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Generous: a run ends with the server's EOF within milliseconds; these only
 * matter if the client failed to notice it, and libFuzzer's -timeout reports
 * that as a hang first. */
#define CONNECT_TIMEOUT 30.0
#define COMMAND_TIMEOUT 30.0
#define MAX_COMMANDS 8
#define PROBE_FDS 64

static char dir[96];
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int listen_fd = -1;
static int pass_fd = -1; /* handed to getfd; the client sends a dup */

typedef struct run {
    uv_loop_t loop;
    vc_qmp_t *q;
    int q_closed;
    uv_pipe_t srv;
    int srv_open;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    char rbuf[4096];
    int ready_calls;
    int ready_status;
    int disconnects;
    int accepted; /* commands vc_qmp_execute took */
    int answered; /* reply callbacks */
} run_t;

static void cleanup(void)
{
    if (listen_fd >= 0) close(listen_fd);
    if (sock_path[0]) unlink(sock_path);
    if (dir[0]) rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* As the Lua binding does: a write to a peer that went away must fail
     * with EPIPE, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    /* libFuzzer exits on a finding without running atexit handlers, so the
     * directory stays behind then: run.sh points TMPDIR into its build dir.
     * A socket path must fit sun_path, hence the fallback. */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 64) tmp = "/tmp";
    snprintf(dir, sizeof dir, "%s/vcfuzz-XXXXXX", tmp);
    CHECK(mkdtemp(dir));
    CHECK((size_t)snprintf(sock_path, sizeof sock_path, "%s/qmp.sock", dir) < sizeof sock_path);
    atexit(cleanup);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    CHECK(listen_fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    CHECK(bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(listen_fd, 4) == 0);
    pass_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(pass_fd >= 0);
    /* The first uv_loop_init opens libuv's process-wide signal pipe; open it
     * now so that the per-run fd check does not count it. */
    uv_loop_t warm;
    CHECK(uv_loop_init(&warm) == 0);
    CHECK(uv_loop_close(&warm) == 0);
    return 0;
}

/* ---- the server side ------------------------------------------------------ */

static void on_srv_closed(uv_handle_t *h)
{
    (void)h;
}

static void srv_close(run_t *r)
{
    if (!r->srv_open) return;
    r->srv_open = 0;
    uv_close((uv_handle_t *)&r->srv, on_srv_closed);
}

static void on_srv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    run_t *r = h->data;
    (void)suggested;
    *buf = uv_buf_init(r->rbuf, sizeof r->rbuf);
}

/* What the client sends is read and dropped, so its writes never block. */
static void on_srv_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0) srv_close(s->data);
}

static void on_srv_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

static void on_srv_write(uv_write_t *req, int status)
{
    run_t *r = req->data;
    if (status < 0 || !r->srv_open) return;
    r->sreq.data = r;
    if (uv_shutdown(&r->sreq, (uv_stream_t *)&r->srv, on_srv_shutdown) < 0) srv_close(r);
}

/* ---- the client side ------------------------------------------------------ */

/* Ends the run from inside any client callback: both ends close. */
static void end_run(run_t *r)
{
    srv_close(r);
    if (!r->q_closed) {
        r->q_closed = 1;
        vc_qmp_close(r->q);
    }
}

static void on_reply(vc_qmp_t *q, const vc_qmp_reply_t *rep, void *ud);

static void send_command(run_t *r, const char *name, int with_args, int fd)
{
    if (r->accepted >= MAX_COMMANDS) return;
    cJSON *args = NULL;
    if (with_args) {
        args = cJSON_CreateObject();
        CHECK(args);
        CHECK(cJSON_AddStringToObject(args, fd >= 0 ? "fdname" : "path",
                                      fd >= 0 ? "fuzz" : "/machine"));
    }
    vc_error_t err;
    int rc = vc_qmp_execute(r->q, name, args, fd, COMMAND_TIMEOUT, on_reply, r, &err);
    if (rc == 0)
        r->accepted++;
    else
        CHECK(rc < 0 && err.msg[0]); /* refused at once: no callback, args freed */
}

static void on_reply(vc_qmp_t *q, const vc_qmp_reply_t *rep, void *ud)
{
    run_t *r = ud;
    CHECK(q == r->q);
    CHECK(rep->message && rep->command);
    switch (rep->status) {
    case 0:
        CHECK(rep->ret && !rep->err_class);
        break;
    case VC_EQMP:
        CHECK(!rep->ret && rep->err_class);
        break;
    case -ETIMEDOUT:
    case VC_EDISCONNECTED:
    case VC_ECLOSED:
        CHECK(!rep->ret && !rep->err_class);
        break;
    default:
        CHECK(!"unexpected reply status");
    }
    r->answered++;
    CHECK(r->answered <= r->accepted);
    /* A command sent from a reply callback. */
    if (rep->status == 0 || rep->status == VC_EQMP) send_command(r, "query-version", 0, -1);
}

static void on_ready(vc_qmp_t *q, int status, const vc_error_t *err, void *ud)
{
    run_t *r = ud;
    CHECK(q == r->q);
    r->ready_calls++;
    CHECK(r->ready_calls == 1);
    r->ready_status = status;
    if (status) {
        CHECK(status < 0 && err && err->code == status && err->msg[0]);
        CHECK(!vc_qmp_is_ready(q));
        end_run(r);
        return;
    }
    CHECK(vc_qmp_is_ready(q));
    const vc_qmp_version_t *v = vc_qmp_version(q);
    CHECK(v && memchr(v->package, '\0', sizeof v->package));
    const cJSON *caps = vc_qmp_capabilities(q);
    CHECK(!caps || cJSON_IsArray(caps));
    send_command(r, "query-status", 0, -1);
    send_command(r, "qom-list", 1, -1);
    send_command(r, "getfd", 1, pass_fd);
}

static void on_event(vc_qmp_t *q, const char *name, const cJSON *msg, void *ud)
{
    run_t *r = ud;
    CHECK(q == r->q);
    CHECK(name && cJSON_IsObject(msg));
    if (strcmp(name, "VC_FUZZ_CLOSE") == 0)
        end_run(r);
    else if (strcmp(name, "VC_FUZZ_EXEC") == 0)
        send_command(r, "query-status", 1, -1);
}

static void on_disconnect(vc_qmp_t *q, const vc_error_t *why, void *ud)
{
    run_t *r = ud;
    CHECK(q == r->q);
    r->disconnects++;
    CHECK(r->disconnects == 1);
    CHECK(r->ready_calls == 1 && r->ready_status == 0);
    CHECK(why && why->code < 0 && why->msg[0]);
    CHECK(r->answered == r->accepted); /* pending commands failed first */
    end_run(r);
}

static void on_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "handle left open: type %d\n", (int)h->type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char open_before[PROBE_FDS];
    for (int fd = 0; fd < PROBE_FDS; fd++)
        open_before[fd] = fcntl(fd, F_GETFD) >= 0;
    run_t *r = calloc(1, sizeof *r);
    CHECK(r);
    CHECK(uv_loop_init(&r->loop) == 0);
    CHECK(vc_qmp_new(&r->loop, &r->q) == 0);
    vc_qmp_set_event_cb(r->q, on_event, r);
    vc_qmp_set_disconnect_cb(r->q, on_disconnect, r);
    vc_error_t err;
    CHECK(vc_qmp_connect(r->q, sock_path, CONNECT_TIMEOUT, on_ready, r, &err) == 0);

    /* uv_pipe_connect has called connect(2), which a listening unix socket
     * completes at once: the peer is already in the backlog. */
    int sfd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    CHECK(sfd >= 0);
    CHECK(uv_pipe_init(&r->loop, &r->srv, 0) == 0);
    r->srv.data = r;
    CHECK(uv_pipe_open(&r->srv, sfd) == 0);
    r->srv_open = 1;
    CHECK(uv_read_start((uv_stream_t *)&r->srv, on_srv_alloc, on_srv_read) == 0);
    /* libuv writes from the caller's buffer: data outlives the loop run. */
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)size);
    r->wreq.data = r;
    CHECK(uv_write(&r->wreq, (uv_stream_t *)&r->srv, &b, 1, on_srv_write) == 0);

    uv_run(&r->loop, UV_RUN_DEFAULT);
    /* The loop ends only once the client closed: every way a session ends
     * goes through a callback that closes it. */
    CHECK(r->q_closed);
    CHECK(r->ready_calls == 1);
    CHECK(r->answered == r->accepted);
    if (uv_loop_close(&r->loop) != 0) {
        uv_walk(&r->loop, on_walk, NULL);
        CHECK(!"handles left on the loop");
    }
    free(r);
    for (int fd = 0; fd < PROBE_FDS; fd++)
        if ((fcntl(fd, F_GETFD) >= 0) != open_before[fd]) {
            fprintf(stderr, "fd %d leaked or closed by the run\n", fd);
            abort();
        }
    return 0;
}
