/* vclaunch core: an asynchronous QMP client on libuv and cJSON. */
#include "qmp.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The fuzz tree builds core with a small VC_QMP_FUZZ_LINE_MAX so that
 * libFuzzer's inputs of a few KiB reach the limit; every other build uses the
 * public one. */
#ifdef VC_QMP_FUZZ_LINE_MAX
#define LINE_LIMIT ((size_t)VC_QMP_FUZZ_LINE_MAX)
#else
#define LINE_LIMIT ((size_t)VC_QMP_LINE_MAX)
#endif
#define READ_CHUNK ((size_t)65536)
/* A read buffer that one big reply grew past this is shrunk back once that
 * line is handled: a query-qmp-schema must not pin its buffer for the whole
 * session. */
#define RBUF_KEEP (4 * READ_CHUNK)

enum { ST_NEW, ST_CONNECTING, ST_GREETING, ST_NEGOTIATING, ST_READY, ST_DEAD };

typedef struct qmp_out {
    struct qmp_out *next;
    char *data;
    size_t len;
    size_t off;
    int fd;
} qmp_out_t;

typedef struct qmp_cmd {
    struct qmp_cmd *prev, *next;
    vc_qmp_t *q;
    char id[32];
    char *name;
    vc_qmp_reply_cb cb;
    void *ud;
    uv_timer_t timer;
} qmp_cmd_t;

struct vc_qmp {
    uv_loop_t *loop;
    uv_pipe_t pipe;
    uv_connect_t connreq;
    uv_timer_t timer; /* connect timeout, later deferred work */
    uv_write_t wreq;
    int pipe_inited;
    int handles; /* open handles whose close callbacks are pending */
    int state;
    int closing;
    int disconnect_called;
    int writing;
    int deferred_code; /* fatal error to report from the timer, 0 if none */
    char deferred_msg[256];
    char *rbuf;     /* the unterminated tail of the input, at most LINE_LIMIT + 1 */
    size_t rlen;    /* bytes in rbuf */
    size_t rcap;    /* its allocation, never above LINE_LIMIT + 1 */
    size_t scanned; /* rbuf[0..scanned) holds no LF */
    vc_qmp_ready_cb ready_cb;
    void *ready_ud;
    vc_qmp_event_cb event_cb;
    void *event_ud;
    vc_qmp_disconnect_cb disc_cb;
    void *disc_ud;
    vc_qmp_version_t version;
    cJSON *caps;
    char caps_id[32];
    uint64_t next_id;
    uint64_t garbage;
    uint64_t unknown;
    qmp_cmd_t *pending; /* doubly linked list head */
    qmp_out_t *out_head, *out_tail;
};

static void q_flush(vc_qmp_t *q);
static void q_fatal(vc_qmp_t *q, int code, const char *msg);

/* ---- lifetime ------------------------------------------------------------ */

static void q_free(vc_qmp_t *q)
{
    qmp_out_t *o = q->out_head;
    while (o) {
        qmp_out_t *n = o->next;
        if (o->fd >= 0) close(o->fd);
        free(o->data);
        free(o);
        o = n;
    }
    cJSON_Delete(q->caps);
    free(q->rbuf);
    free(q);
}

static void on_handle_closed(uv_handle_t *h)
{
    vc_qmp_t *q = h->data;
    if (--q->handles == 0) q_free(q);
}

static void on_cmd_timer_closed(uv_handle_t *h)
{
    qmp_cmd_t *c = h->data;
    vc_qmp_t *q = c->q;
    free(c->name);
    free(c);
    if (--q->handles == 0) q_free(q);
}

static void cmd_unlink(vc_qmp_t *q, qmp_cmd_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        q->pending = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* Unlinks c, reports r to its callback and releases it. */
static void cmd_finish(vc_qmp_t *q, qmp_cmd_t *c, vc_qmp_reply_t *r)
{
    cmd_unlink(q, c);
    uv_timer_stop(&c->timer);
    r->command = c->name;
    if (c->cb) c->cb(q, r, c->ud);
    uv_close((uv_handle_t *)&c->timer, on_cmd_timer_closed);
}

static void fail_pending(vc_qmp_t *q, int code, const char *what)
{
    while (q->pending) {
        qmp_cmd_t *c = q->pending;
        char msg[512];
        snprintf(msg, sizeof msg, "%s while waiting for the reply to %s", what, c->name);
        vc_qmp_reply_t r = {code, NULL, NULL, msg, NULL};
        cmd_finish(q, c, &r);
    }
}

/* ---- session end --------------------------------------------------------- */

static void q_fatal(vc_qmp_t *q, int code, const char *msg)
{
    if (q->state == ST_DEAD || q->closing) return;
    int was = q->state;
    q->state = ST_DEAD;
    if (q->pipe_inited) uv_read_stop((uv_stream_t *)&q->pipe);
    uv_timer_stop(&q->timer);
    vc_error_t err;
    vc_error_set(&err, code, "%s", msg);
    if (was != ST_READY) {
        /* The session never started: the ready callback reports it. */
        q->disconnect_called = 1;
        if (q->ready_cb) q->ready_cb(q, code, &err, q->ready_ud);
        return;
    }
    fail_pending(q, code, msg);
    if (!q->disconnect_called) {
        q->disconnect_called = 1;
        if (q->disc_cb) q->disc_cb(q, &err, q->disc_ud);
    }
}

/* Runs a fatal error from the loop, never from inside an API call. */
static void on_deferred(uv_timer_t *t)
{
    vc_qmp_t *q = t->data;
    if (q->deferred_code) {
        int code = q->deferred_code;
        q->deferred_code = 0;
        q_fatal(q, code, q->deferred_msg);
        return;
    }
    q_flush(q);
}

static void q_defer_fatal(vc_qmp_t *q, int code, const char *msg)
{
    if (q->deferred_code) return;
    q->deferred_code = code;
    snprintf(q->deferred_msg, sizeof q->deferred_msg, "%s", msg);
    uv_timer_start(&q->timer, on_deferred, 0, 0);
}

/* ---- writing ------------------------------------------------------------- */

static void out_pop(vc_qmp_t *q)
{
    qmp_out_t *o = q->out_head;
    q->out_head = o->next;
    if (!q->out_head) q->out_tail = NULL;
    if (o->fd >= 0) close(o->fd);
    free(o->data);
    free(o);
}

static void on_write(uv_write_t *req, int status)
{
    vc_qmp_t *q = req->data;
    q->writing = 0;
    out_pop(q);
    if (q->closing) return;
    if (status < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "QMP write failed: %s", uv_strerror(status));
        q_fatal(q, VC_EDISCONNECTED, msg);
        return;
    }
    q_flush(q);
}

/* Sends the head item with SCM_RIGHTS; returns 1 if done, 0 to retry later,
 * < 0 on error. A partial send leaves the remainder for uv_write. */
static int send_with_fd(vc_qmp_t *q, qmp_out_t *o)
{
    uv_os_fd_t sock;
    int rc = uv_fileno((uv_handle_t *)&q->pipe, &sock);
    if (rc < 0) return rc;
    struct iovec iov = {o->data + o->off, o->len - o->off};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof u.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &o->fd, sizeof(int));
    ssize_t n;
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    close(o->fd);
    o->fd = -1;
    o->off += (size_t)n;
    return 1;
}

static void q_flush(vc_qmp_t *q)
{
    while (!q->writing && q->out_head && q->state != ST_DEAD && !q->closing) {
        qmp_out_t *o = q->out_head;
        if (o->fd >= 0) {
            int rc = send_with_fd(q, o);
            if (rc == 0) { /* socket full: retry shortly */
                if (!q->deferred_code) uv_timer_start(&q->timer, on_deferred, 1, 0);
                return;
            }
            if (rc < 0) {
                char msg[256];
                snprintf(msg, sizeof msg, "QMP sendmsg failed: %s", uv_strerror(rc));
                q_defer_fatal(q, VC_EDISCONNECTED, msg);
                return;
            }
            if (o->off >= o->len) {
                out_pop(q);
                continue;
            }
        }
        uv_buf_t b = uv_buf_init(o->data + o->off, (unsigned)(o->len - o->off));
        q->wreq.data = q;
        int rc = uv_write(&q->wreq, (uv_stream_t *)&q->pipe, &b, 1, on_write);
        if (rc < 0) {
            char msg[256];
            snprintf(msg, sizeof msg, "QMP write failed: %s", uv_strerror(rc));
            q_defer_fatal(q, VC_EDISCONNECTED, msg);
            return;
        }
        q->writing = 1;
    }
}

/* Serialises msg (not consumed) and queues it with fd (owned, or -1). */
static int q_queue(vc_qmp_t *q, const cJSON *msg, int fd)
{
    char *s = cJSON_PrintUnformatted(msg);
    if (!s) return -ENOMEM;
    size_t n = strlen(s);
    qmp_out_t *o = calloc(1, sizeof *o);
    char *d = o ? realloc(s, n + 2) : NULL; /* cJSON allocates with malloc */
    if (!d) {
        free(o);
        free(s);
        return -ENOMEM;
    }
    d[n] = '\n';
    d[n + 1] = '\0';
    o->data = d;
    o->len = n + 1;
    o->fd = fd;
    if (q->out_tail)
        q->out_tail->next = o;
    else
        q->out_head = o;
    q->out_tail = o;
    return 0;
}

/* ---- reading ------------------------------------------------------------- */

static void parse_greeting(vc_qmp_t *q, cJSON *msg)
{
    cJSON *g = cJSON_GetObjectItemCaseSensitive(msg, "QMP");
    cJSON *ver = cJSON_GetObjectItemCaseSensitive(g, "version");
    cJSON *qemu = cJSON_GetObjectItemCaseSensitive(ver, "qemu");
    cJSON *x;
    if ((x = cJSON_GetObjectItemCaseSensitive(qemu, "major")) && cJSON_IsNumber(x))
        q->version.major = x->valueint;
    if ((x = cJSON_GetObjectItemCaseSensitive(qemu, "minor")) && cJSON_IsNumber(x))
        q->version.minor = x->valueint;
    if ((x = cJSON_GetObjectItemCaseSensitive(qemu, "micro")) && cJSON_IsNumber(x))
        q->version.micro = x->valueint;
    if ((x = cJSON_GetObjectItemCaseSensitive(ver, "package")) && cJSON_IsString(x))
        snprintf(q->version.package, sizeof q->version.package, "%s", x->valuestring);
    cJSON *caps = cJSON_DetachItemFromObjectCaseSensitive(g, "capabilities");
    if (caps && !cJSON_IsArray(caps)) {
        cJSON_Delete(caps);
        caps = NULL;
    }
    cJSON_Delete(q->caps);
    q->caps = caps;
}

static int send_capabilities(vc_qmp_t *q)
{
    snprintf(q->caps_id, sizeof q->caps_id, "vc-%llu", (unsigned long long)q->next_id++);
    cJSON *m = cJSON_CreateObject();
    if (!m) return -ENOMEM;
    if (!cJSON_AddStringToObject(m, "execute", "qmp_capabilities") ||
        !cJSON_AddStringToObject(m, "id", q->caps_id)) {
        cJSON_Delete(m);
        return -ENOMEM;
    }
    int rc = q_queue(q, m, -1);
    cJSON_Delete(m);
    if (rc == 0) q_flush(q);
    return rc;
}

static void handle_reply(vc_qmp_t *q, cJSON *msg)
{
    cJSON *idj = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const char *id = cJSON_IsString(idj) ? idj->valuestring : NULL;
    cJSON *ret = cJSON_GetObjectItemCaseSensitive(msg, "return");
    cJSON *error = cJSON_GetObjectItemCaseSensitive(msg, "error");
    cJSON *cls = cJSON_GetObjectItemCaseSensitive(error, "class");
    cJSON *desc = cJSON_GetObjectItemCaseSensitive(error, "desc");
    const char *cls_s = cJSON_IsString(cls) ? cls->valuestring : "GenericError";
    const char *desc_s = cJSON_IsString(desc) ? desc->valuestring : "QMP error";

    if (q->state == ST_NEGOTIATING && id && strcmp(id, q->caps_id) == 0) {
        if (error) {
            char m[512];
            snprintf(m, sizeof m, "qmp_capabilities failed: %s: %s", cls_s, desc_s);
            q_fatal(q, VC_EQMP, m);
            return;
        }
        q->state = ST_READY;
        uv_timer_stop(&q->timer);
        if (q->ready_cb) q->ready_cb(q, 0, NULL, q->ready_ud);
        return;
    }
    qmp_cmd_t *c = q->pending;
    while (c && !(id && strcmp(c->id, id) == 0))
        c = c->next;
    if (!c) {
        q->unknown++;
        return;
    }
    if (error) {
        vc_qmp_reply_t r = {VC_EQMP, NULL, cls_s, desc_s, NULL};
        cmd_finish(q, c, &r);
    } else {
        vc_qmp_reply_t r = {0, ret, NULL, "ok", NULL};
        cmd_finish(q, c, &r);
    }
}

static void handle_line(vc_qmp_t *q, const char *line, size_t len)
{
    while (len && line[len - 1] == '\r')
        len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len) return; /* blank line */
    /* QEMU escapes every control character it writes (U+0000 as \u0000), so
     * a raw NUL byte never comes from it. cJSON would take one between tokens
     * for white space and keep one inside a string, where it cuts the C
     * string short: the id "vc-1<NUL>x" would answer the command vc-1. */
    if (memchr(line, '\0', len)) {
        q->garbage++;
        return;
    }
    const char *end = NULL;
    cJSON *msg = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (msg && end) {
        while (end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
            end++;
        if (end != line + len) {
            cJSON_Delete(msg);
            msg = NULL;
        }
    }
    if (!msg || !cJSON_IsObject(msg)) {
        cJSON_Delete(msg);
        q->garbage++;
        return;
    }
    cJSON *ev = cJSON_GetObjectItemCaseSensitive(msg, "event");
    if (cJSON_IsString(ev)) {
        if (q->event_cb) q->event_cb(q, ev->valuestring, msg, q->event_ud);
    } else if (cJSON_GetObjectItemCaseSensitive(msg, "QMP")) {
        if (q->state == ST_GREETING) {
            parse_greeting(q, msg);
            q->state = ST_NEGOTIATING;
            if (send_capabilities(q) < 0) q_fatal(q, -ENOMEM, "QMP: out of memory");
        } else {
            q->garbage++;
        }
    } else if (cJSON_GetObjectItemCaseSensitive(msg, "return") ||
               cJSON_GetObjectItemCaseSensitive(msg, "error")) {
        handle_reply(q, msg);
    } else {
        q->garbage++;
    }
    cJSON_Delete(msg);
}

/* Grows rbuf to hold need bytes. need never exceeds LINE_LIMIT + 1, so
 * neither does the allocation, however long the line QEMU sends. */
static int rbuf_grow(vc_qmp_t *q, size_t need)
{
    if (need <= q->rcap) return 0;
    size_t cap = q->rcap ? q->rcap : READ_CHUNK;
    while (cap < need)
        cap *= 2;
    if (cap > LINE_LIMIT + 1) cap = LINE_LIMIT + 1;
    char *p = realloc(q->rbuf, cap);
    if (!p) return -ENOMEM;
    q->rbuf = p;
    q->rcap = cap;
    return 0;
}

/* Called once the session is over: no more reads, the tail is of no use. */
static void rbuf_release(vc_qmp_t *q)
{
    free(q->rbuf);
    q->rbuf = NULL;
    q->rlen = q->rcap = q->scanned = 0;
}

/* Reads land in place at the end of rbuf: no copy per read. rbuf holds only
 * the unterminated tail, at most LINE_LIMIT bytes between reads (on_read ends
 * the session beyond that), so reading at most one byte past the limit is
 * enough to tell a line at the limit from one over it. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    vc_qmp_t *q = h->data;
    (void)suggested;
    size_t room = LINE_LIMIT + 1 - q->rlen;
    if (room > READ_CHUNK) room = READ_CHUNK;
    if (rbuf_grow(q, q->rlen + room)) {
        *buf = uv_buf_init(NULL, 0); /* on_read gets UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init(q->rbuf + q->rlen, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    vc_qmp_t *q = s->data;
    (void)buf;
    if (nread < 0) {
        char msg[256];
        if (nread == UV_EOF)
            snprintf(msg, sizeof msg, "QMP connection closed");
        else
            snprintf(msg, sizeof msg, "QMP read failed: %s", uv_strerror((int)nread));
        q_fatal(q, VC_EDISCONNECTED, msg);
        rbuf_release(q);
        return;
    }
    q->rlen += (size_t)nread;
    size_t start = 0;
    while (q->state != ST_DEAD && !q->closing) {
        char *nl = memchr(q->rbuf + q->scanned, '\n', q->rlen - q->scanned);
        if (!nl) {
            q->scanned = q->rlen;
            break;
        }
        size_t end = (size_t)(nl - q->rbuf);
        handle_line(q, q->rbuf + start, end - start);
        start = end + 1;
        q->scanned = start;
    }
    /* A callback may have closed the client or a reply ended the session;
     * rbuf is not touched by anything those run. */
    if (q->state == ST_DEAD || q->closing) {
        rbuf_release(q);
        return;
    }
    if (start) memmove(q->rbuf, q->rbuf + start, q->rlen - start);
    q->rlen -= start;
    q->scanned -= start;
    if (q->rlen > LINE_LIMIT) {
        /* The line can never be handled; ending the session at once is what
         * bounds the memory a misbehaving QEMU can make us hold. */
        char msg[64];
        snprintf(msg, sizeof msg, "QMP line over %zu bytes", LINE_LIMIT);
        q_fatal(q, VC_EDISCONNECTED, msg);
        rbuf_release(q);
        return;
    }
    if (q->rcap > RBUF_KEEP && q->rlen <= RBUF_KEEP / 2) {
        char *p = realloc(q->rbuf, RBUF_KEEP);
        if (p) {
            q->rbuf = p;
            q->rcap = RBUF_KEEP;
        }
    }
}

/* ---- connect ------------------------------------------------------------- */

static void on_connect_timeout(uv_timer_t *t)
{
    vc_qmp_t *q = t->data;
    const char *step = q->state == ST_CONNECTING ? "connecting to"
                       : q->state == ST_GREETING ? "waiting for the greeting of"
                                                 : "negotiating capabilities with";
    char msg[256];
    snprintf(msg, sizeof msg, "QMP: timed out %s the monitor", step);
    q_fatal(q, -ETIMEDOUT, msg);
}

static void on_connect(uv_connect_t *req, int status)
{
    vc_qmp_t *q = req->data;
    if (q->closing || q->state != ST_CONNECTING) return;
    if (status < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "QMP connect failed: %s", uv_strerror(status));
        q_fatal(q, status, msg);
        return;
    }
    q->state = ST_GREETING;
    int rc = uv_read_start((uv_stream_t *)&q->pipe, on_alloc, on_read);
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "QMP read failed: %s", uv_strerror(rc));
        q_fatal(q, rc, msg);
    }
}

int vc_qmp_new(uv_loop_t *loop, vc_qmp_t **out)
{
    vc_qmp_t *q = calloc(1, sizeof *q);
    if (!q) return -ENOMEM;
    q->loop = loop;
    int rc = uv_timer_init(loop, &q->timer);
    if (rc < 0) {
        free(q);
        return rc;
    }
    q->timer.data = q;
    q->handles = 1;
    *out = q;
    return 0;
}

void vc_qmp_set_event_cb(vc_qmp_t *q, vc_qmp_event_cb cb, void *ud)
{
    q->event_cb = cb;
    q->event_ud = ud;
}

void vc_qmp_set_disconnect_cb(vc_qmp_t *q, vc_qmp_disconnect_cb cb, void *ud)
{
    q->disc_cb = cb;
    q->disc_ud = ud;
}

int vc_qmp_connect(vc_qmp_t *q, const char *path, double timeout, vc_qmp_ready_cb cb, void *ud,
                   vc_error_t *err)
{
    if (q->closing) return vc_error_set(err, VC_ECLOSED, "QMP client is closed");
    if (q->state != ST_NEW) return vc_error_set(err, -EALREADY, "QMP client already connected");
    if (!path || !(timeout > 0))
        return vc_error_set(err, -EINVAL, "QMP connect: %s",
                            path ? "the timeout must be positive" : "no socket path");
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path)
        return vc_error_set(err, -ENAMETOOLONG, "QMP socket path too long: %s", path);
    int rc = uv_pipe_init(q->loop, &q->pipe, 0);
    if (rc < 0) return vc_error_set(err, rc, "QMP: uv_pipe_init: %s", uv_strerror(rc));
    q->pipe.data = q;
    q->pipe_inited = 1;
    q->handles++;
    q->ready_cb = cb;
    q->ready_ud = ud;
    q->state = ST_CONNECTING;
    q->connreq.data = q;
    uv_pipe_connect(&q->connreq, &q->pipe, path, on_connect);
    uv_timer_start(&q->timer, on_connect_timeout, (uint64_t)(timeout * 1000.0 + 0.5), 0);
    return 0;
}

/* ---- commands ------------------------------------------------------------ */

static void on_cmd_timeout(uv_timer_t *t)
{
    qmp_cmd_t *c = t->data;
    char msg[256];
    snprintf(msg, sizeof msg, "QMP command %s timed out", c->name);
    vc_qmp_reply_t r = {-ETIMEDOUT, NULL, NULL, msg, NULL};
    cmd_finish(c->q, c, &r);
}

int vc_qmp_execute(vc_qmp_t *q, const char *command, cJSON *args, int fd, double timeout,
                   vc_qmp_reply_cb cb, void *ud, vc_error_t *err)
{
    int rc;
    int dupfd = -1;
    cJSON *m = NULL;
    qmp_cmd_t *c = NULL;
    if (q->closing) {
        rc = vc_error_set(err, VC_ECLOSED, "QMP %s: client is closed", command ? command : "?");
        goto fail;
    }
    if (q->state != ST_READY || q->deferred_code) {
        rc = vc_error_set(err, q->state == ST_DEAD ? VC_EDISCONNECTED : -ENOTCONN,
                          "QMP %s: session is not ready", command ? command : "?");
        goto fail;
    }
    if (!command || !(timeout > 0) || (args && !cJSON_IsObject(args))) {
        rc = vc_error_set(err, -EINVAL, "QMP execute %s: %s", command ? command : "(no command)",
                          !command         ? "a command name is required"
                          : !(timeout > 0) ? "the timeout must be positive"
                                           : "arguments must be a JSON object");
        goto fail;
    }
    if (fd >= 0) {
        dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dupfd < 0) {
            rc = vc_error_set(err, -errno, "QMP %s: dup fd %d: %s", command, fd, strerror(errno));
            goto fail;
        }
    }
    c = calloc(1, sizeof *c);
    m = cJSON_CreateObject();
    if (!c || !m || !(c->name = strdup(command))) {
        rc = vc_error_set(err, -ENOMEM, "QMP %s: out of memory", command);
        goto fail;
    }
    snprintf(c->id, sizeof c->id, "vc-%llu", (unsigned long long)q->next_id++);
    if (!cJSON_AddStringToObject(m, "execute", command)) goto nomem;
    if (args) {
        if (!cJSON_AddItemToObject(m, "arguments", args)) goto nomem;
        args = NULL; /* owned by m now */
    }
    if (!cJSON_AddStringToObject(m, "id", c->id)) goto nomem;
    rc = uv_timer_init(q->loop, &c->timer);
    if (rc < 0) {
        vc_error_set(err, rc, "QMP %s: timer: %s", command, uv_strerror(rc));
        goto fail;
    }
    c->timer.data = c;
    c->q = q;
    c->cb = cb;
    c->ud = ud;
    q->handles++;
    rc = q_queue(q, m, dupfd);
    cJSON_Delete(m);
    m = NULL;
    if (rc < 0) {
        vc_error_set(err, rc, "QMP %s: out of memory", command);
        uv_close((uv_handle_t *)&c->timer, on_cmd_timer_closed);
        c = NULL;
        goto fail;
    }
    dupfd = -1; /* owned by the queue */
    uv_timer_start(&c->timer, on_cmd_timeout, (uint64_t)(timeout * 1000.0 + 0.5), 0);
    c->next = q->pending;
    if (q->pending) q->pending->prev = c;
    q->pending = c;
    q_flush(q);
    return 0;

nomem:
    rc = vc_error_set(err, -ENOMEM, "QMP %s: out of memory", command);
fail:
    if (c) {
        free(c->name);
        free(c);
    }
    cJSON_Delete(m);
    cJSON_Delete(args);
    if (dupfd >= 0) close(dupfd);
    return rc;
}

/* ---- accessors ----------------------------------------------------------- */

const vc_qmp_version_t *vc_qmp_version(const vc_qmp_t *q)
{
    return &q->version;
}

const cJSON *vc_qmp_capabilities(const vc_qmp_t *q)
{
    return q->caps;
}

int vc_qmp_is_ready(const vc_qmp_t *q)
{
    return q->state == ST_READY && !q->closing;
}

uint64_t vc_qmp_garbage_count(const vc_qmp_t *q)
{
    return q->garbage;
}

uint64_t vc_qmp_unknown_reply_count(const vc_qmp_t *q)
{
    return q->unknown;
}

/* ---- close --------------------------------------------------------------- */

/* First close callback: reports everything still owed, from the loop. */
static void on_main_closed(uv_handle_t *h)
{
    vc_qmp_t *q = h->data; /* the timer's close callback: runs once */
    int was = q->state;
    q->state = ST_DEAD;
    vc_error_t err;
    vc_error_set(&err, VC_ECLOSED, "QMP client closed");
    if (was != ST_READY && was != ST_DEAD && was != ST_NEW) {
        q->disconnect_called = 1;
        if (q->ready_cb) q->ready_cb(q, VC_ECLOSED, &err, q->ready_ud);
    }
    fail_pending(q, VC_ECLOSED, "QMP client closed");
    if (!q->disconnect_called) {
        q->disconnect_called = 1;
        if (q->disc_cb) q->disc_cb(q, &err, q->disc_ud);
    }
    on_handle_closed(h);
}

void vc_qmp_close(vc_qmp_t *q)
{
    if (!q || q->closing) return;
    q->closing = 1;
    uv_timer_stop(&q->timer);
    for (qmp_cmd_t *c = q->pending; c; c = c->next)
        uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&q->timer, on_main_closed);
    if (q->pipe_inited) {
        uv_read_stop((uv_stream_t *)&q->pipe);
        uv_close((uv_handle_t *)&q->pipe, on_handle_closed);
    }
}
