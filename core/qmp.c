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
/* Likewise for output: a burst of commands may grow one write buffer to
 * megabytes; only a buffer up to this size is kept for the next commands. */
#define OUT_KEEP (4 * READ_CHUNK)
/* Commands queued in one loop iteration are written together, at the latest
 * once this many bytes wait (about 1300 query-status). */
#define FLUSH_AT (64 * 1024)
/* The id table never shrinks below this many buckets. */
#define TABLE_MIN 16
/* Deadlines are clamped to about 30 000 years so that a huge timeout does
 * not overflow the loop's millisecond clock. */
#define DEADLINE_MAX_MS 1e15

enum { ST_NEW, ST_CONNECTING, ST_GREETING, ST_NEGOTIATING, ST_READY, ST_DEAD };

/* Bytes for the socket, in order. The commands queued in one loop iteration
 * share one item and go out in one write; a command that carries an fd gets
 * an item of its own, whose first sendmsg carries the fd with its bytes. */
typedef struct qmp_out {
    struct qmp_out *next;
    char *data;
    size_t len; /* bytes in data */
    size_t cap; /* its allocation */
    size_t off; /* data[0..off) is written */
    int fd;     /* owned; sent with data[off], then -1 */
} qmp_out_t;

/* A command waiting for its reply. It is in two places at once: the id table
 * (chained by hnext in bucket id & table_mask), which a reply finds it by in
 * O(1), and the deadline list (earliest first), whose head the one deadline
 * timer is armed for. */
typedef struct qmp_cmd {
    struct qmp_cmd *prev, *next; /* the deadline list */
    struct qmp_cmd *hnext;       /* the id table bucket */
    uint64_t id;                 /* "vc-<id>" on the wire */
    uint64_t deadline;           /* loop time (uv_now), ms */
    vc_qmp_reply_cb cb;
    void *ud;
    char name[]; /* the command's name */
} qmp_cmd_t;

struct vc_qmp {
    uv_loop_t *loop;
    uv_pipe_t pipe;
    uv_connect_t connreq;
    uv_timer_t timer;    /* connect timeout, later deferred work */
    uv_timer_t deadline; /* the earliest command deadline, while any command waits */
    uv_prepare_t prep;   /* sends what one loop iteration queued, before the loop waits */
    uv_write_t wreq;
    int pipe_inited;
    int handles; /* open handles whose close callbacks are pending */
    int state;
    int closing;
    int disconnect_called;
    int writing;     /* wreq is in flight, for out_head */
    int prep_active; /* prep is started: this iteration's commands wait for it */
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
    qmp_cmd_t **table;         /* the id table: table_mask + 1 buckets, or NULL */
    size_t table_mask;
    size_t count;              /* commands waiting */
    qmp_cmd_t *first, *last;   /* the same commands by deadline, earliest first */
    uint64_t armed;            /* the deadline the timer is set for; 0: stopped */
    /* The reply being delivered, for vc_qmp_take_return: its struct, the
     * message and the "return" tree in it (NULL once taken). */
    const vc_qmp_reply_t *cur_reply;
    cJSON *cur_msg, *cur_ret;
    qmp_out_t *out_head, *out_tail;
    qmp_out_t *out_spare; /* one written item kept with its buffer, or NULL */
};

static void q_flush(vc_qmp_t *q);
static void q_fatal(vc_qmp_t *q, int code, const char *msg);

/* ---- lifetime ------------------------------------------------------------ */

static void out_free(qmp_out_t *o)
{
    if (o->fd >= 0) close(o->fd);
    free(o->data);
    free(o);
}

static void q_free(vc_qmp_t *q)
{
    qmp_out_t *o = q->out_head;
    while (o) {
        qmp_out_t *n = o->next;
        out_free(o);
        o = n;
    }
    if (q->out_spare) out_free(q->out_spare);
    free(q->table);
    cJSON_Delete(q->caps);
    free(q->rbuf);
    free(q);
}

static void on_handle_closed(uv_handle_t *h)
{
    vc_qmp_t *q = h->data;
    if (--q->handles == 0) q_free(q);
}

/* ---- waiting commands: by id, by deadline -------------------------------- */

static void on_deadline(uv_timer_t *t);

static int table_resize(vc_qmp_t *q, size_t size)
{
    qmp_cmd_t **t = calloc(size, sizeof *t);
    if (!t) return -ENOMEM;
    if (q->table) {
        for (size_t i = 0; i <= q->table_mask; i++) {
            qmp_cmd_t *c = q->table[i];
            while (c) {
                qmp_cmd_t *n = c->hnext;
                qmp_cmd_t **b = &t[c->id & (size - 1)];
                c->hnext = *b;
                *b = c;
                c = n;
            }
        }
        free(q->table);
    }
    q->table = t;
    q->table_mask = size - 1;
    return 0;
}

/* Ids are handed out in sequence, so id & mask spreads them evenly and a
 * chain rarely holds more than one command. Never fails once the table
 * exists: a table that cannot grow gets longer chains. */
static void cmd_insert(vc_qmp_t *q, qmp_cmd_t *c)
{
    if (q->count >= q->table_mask + 1) table_resize(q, 2 * (q->table_mask + 1));
    qmp_cmd_t **b = &q->table[c->id & q->table_mask];
    c->hnext = *b;
    *b = c;
    q->count++;
    /* The deadline list, from its end: commands mostly share a timeout, so
     * a new deadline is mostly the latest. */
    qmp_cmd_t *p = q->last;
    while (p && p->deadline > c->deadline)
        p = p->prev;
    c->prev = p;
    c->next = p ? p->next : q->first;
    if (c->next)
        c->next->prev = c;
    else
        q->last = c;
    if (p)
        p->next = c;
    else
        q->first = c;
    if (!q->armed || c->deadline < q->armed) {
        uint64_t now = uv_now(q->loop);
        uv_timer_start(&q->deadline, on_deadline, c->deadline > now ? c->deadline - now : 0, 0);
        q->armed = c->deadline;
    }
}

static qmp_cmd_t *cmd_find(vc_qmp_t *q, uint64_t id)
{
    if (!q->table) return NULL;
    qmp_cmd_t *c = q->table[id & q->table_mask];
    while (c && c->id != id)
        c = c->hnext;
    return c;
}

/* The timer stays armed for a deadline that went with its command: it then
 * fires early, finds nothing due and is armed again for the new head. That
 * saves restarting it for every reply. */
static void cmd_remove(vc_qmp_t *q, qmp_cmd_t *c)
{
    qmp_cmd_t **b = &q->table[c->id & q->table_mask];
    while (*b != c)
        b = &(*b)->hnext;
    *b = c->hnext;
    q->count--;
    if (c->prev)
        c->prev->next = c->next;
    else
        q->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        q->last = c->prev;
    if (!q->first) {
        uv_timer_stop(&q->deadline);
        q->armed = 0;
    }
    if (q->table_mask + 1 > TABLE_MIN && q->count < (q->table_mask + 1) / 8)
        table_resize(q, (q->table_mask + 1) / 2);
}

/* Removes c, reports r to its callback and frees it. */
static void cmd_finish(vc_qmp_t *q, qmp_cmd_t *c, vc_qmp_reply_t *r)
{
    cmd_remove(q, c);
    r->command = c->name;
    if (c->cb) c->cb(q, r, c->ud);
    free(c);
}

static void on_deadline(uv_timer_t *t)
{
    vc_qmp_t *q = t->data;
    q->armed = 0;
    uint64_t now = uv_now(q->loop);
    while (q->first && q->first->deadline <= now && !q->closing) {
        qmp_cmd_t *c = q->first;
        char msg[256];
        snprintf(msg, sizeof msg, "QMP command %s timed out", c->name);
        vc_qmp_reply_t r = {.status = -ETIMEDOUT, .message = msg};
        cmd_finish(q, c, &r);
    }
    /* A callback may have queued commands and armed the timer for them. */
    if (q->first && !q->closing && (!q->armed || q->first->deadline < q->armed)) {
        uv_timer_start(&q->deadline, on_deadline, q->first->deadline - now, 0);
        q->armed = q->first->deadline;
    }
}

static void fail_pending(vc_qmp_t *q, int code, const char *what)
{
    while (q->first) {
        qmp_cmd_t *c = q->first;
        char msg[512];
        snprintf(msg, sizeof msg, "%s while waiting for the reply to %s", what, c->name);
        vc_qmp_reply_t r = {.status = code, .message = msg};
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

/* A written item goes back to the spare slot, with its buffer, unless the
 * slot is taken or the buffer grew past OUT_KEEP. */
static void out_release(vc_qmp_t *q, qmp_out_t *o)
{
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    if (q->out_spare || o->cap > OUT_KEEP) {
        out_free(o);
        return;
    }
    o->len = o->off = 0;
    q->out_spare = o;
}

static void out_pop(vc_qmp_t *q)
{
    qmp_out_t *o = q->out_head;
    q->out_head = o->next;
    if (!q->out_head) q->out_tail = NULL;
    out_release(q, o);
}

static int out_put(qmp_out_t *o, const char *s, size_t n)
{
    if (o->cap - o->len < n) {
        size_t cap = o->cap ? o->cap : 512;
        while (cap - o->len < n)
            cap *= 2;
        char *d = realloc(o->data, cap);
        if (!d) return -ENOMEM;
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
    return 0;
}

/* s as a JSON string: quoted, with '"', '\' and control characters
 * escaped; other bytes (UTF-8) as they are, as cJSON prints them. */
static int out_put_string(qmp_out_t *o, const char *s)
{
    if (out_put(o, "\"", 1)) return -ENOMEM;
    const char *run = s;
    for (;; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        if (out_put(o, run, (size_t)(s - run))) return -ENOMEM;
        if (!ch) break;
        char esc[8];
        snprintf(esc, sizeof esc, ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : "\\u%04x", ch);
        if (out_put(o, esc, strlen(esc))) return -ENOMEM;
        run = s + 1;
    }
    return out_put(o, "\"", 1);
}

static void on_write(uv_write_t *req, int status)
{
    vc_qmp_t *q = req->data;
    q->writing = 0;
    if (q->closing) return; /* q_free releases the queue */
    if (status < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "QMP write failed: %s", uv_strerror(status));
        q_fatal(q, VC_EDISCONNECTED, msg);
        return;
    }
    out_pop(q);
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

/* Writes the queue in order: what the socket takes at once with a plain
 * write (no request, no callback), the rest of an item with one uv_write.
 * May run from inside an API call, so errors are reported from the loop. */
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
        }
        uv_buf_t b = {.base = o->data + o->off, .len = o->len - o->off};
        if (b.len) {
            int n = uv_try_write((uv_stream_t *)&q->pipe, &b, 1);
            if (n < 0 && n != UV_EAGAIN) {
                char msg[256];
                snprintf(msg, sizeof msg, "QMP write failed: %s", uv_strerror(n));
                q_defer_fatal(q, VC_EDISCONNECTED, msg);
                return;
            }
            if (n > 0) o->off += (size_t)n;
        }
        if (o->off >= o->len) {
            out_pop(q);
            continue;
        }
        b = (uv_buf_t){.base = o->data + o->off, .len = o->len - o->off};
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

static void on_prepare(uv_prepare_t *p)
{
    vc_qmp_t *q = p->data;
    uv_prepare_stop(p);
    q->prep_active = 0;
    q_flush(q);
}

/* Sends a queued command. The first command of a loop iteration is written
 * at once: a command sent alone waits for nothing. That starts the prepare
 * handle, and the commands queued after it in the same iteration wait for
 * it: it runs once, before the loop next waits for I/O, and sends them all
 * in one write. A long run of them (thousands of tasks that each queue one
 * in the same iteration) is also written every FLUSH_AT bytes, so that QEMU
 * works on the first ones while the last are being queued. */
static void q_kick(vc_qmp_t *q)
{
    if (q->prep_active) {
        qmp_out_t *t = q->out_tail;
        if (!q->writing && t && t->len - t->off >= FLUSH_AT) q_flush(q);
        return;
    }
    q_flush(q);
    uv_prepare_start(&q->prep, on_prepare);
    q->prep_active = 1;
}

/* Queues {"execute": command, "arguments": args, "id": id} and a LF, with
 * fd (owned when this succeeds; -1 for none). args is not consumed. On
 * failure nothing is queued. */
static int q_queue(vc_qmp_t *q, const char *command, const cJSON *args, const char *id, int fd)
{
    qmp_out_t *o = q->out_tail;
    int fresh = !o || fd >= 0 || o->fd >= 0 || (q->writing && o == q->out_head);
    if (fresh) {
        o = q->out_spare;
        if (o)
            q->out_spare = NULL;
        else if (!(o = calloc(1, sizeof *o)))
            return -ENOMEM;
        o->next = NULL;
        o->len = o->off = 0;
        o->fd = -1;
    }
    size_t mark = o->len;
    char *a = NULL;
    int rc = out_put(o, "{\"execute\":", 11);
    if (!rc) rc = out_put_string(o, command);
    if (!rc && args) {
        a = cJSON_PrintUnformatted(args);
        rc = a ? out_put(o, ",\"arguments\":", 13) : -ENOMEM;
        if (!rc) rc = out_put(o, a, strlen(a));
        free(a);
    }
    if (!rc) rc = out_put(o, ",\"id\":\"", 7);
    if (!rc) rc = out_put(o, id, strlen(id));
    if (!rc) rc = out_put(o, "\"}\n", 3);
    if (rc) {
        o->len = mark;
        if (fresh) out_release(q, o);
        return rc;
    }
    if (fresh) {
        o->fd = fd;
        if (q->out_tail)
            q->out_tail->next = o;
        else
            q->out_head = o;
        q->out_tail = o;
    }
    return 0;
}

/* "vc-<n>", the id of command n: written by hand, it is on every command. */
static void format_id(char out[24], uint64_t n)
{
    char digits[20];
    int i = 0;
    do
        digits[i++] = (char)('0' + n % 10);
    while ((n /= 10));
    memcpy(out, "vc-", 3);
    for (int j = 0; j < i; j++)
        out[3 + j] = digits[i - 1 - j];
    out[3 + i] = '\0';
}

/* The n of an id format_id wrote; 0 for any other text (a leading zero,
 * a sign, anything after the digits), which matches no command. */
static int parse_id(const char *s, uint64_t *out)
{
    if (strncmp(s, "vc-", 3) != 0) return 0;
    s += 3;
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1])) return 0;
    uint64_t n = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned d = (unsigned)(*s - '0');
        if (n > (UINT64_MAX - d) / 10) return 0;
        n = n * 10 + d;
    }
    *out = n;
    return 1;
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
    format_id(q->caps_id, q->next_id++);
    int rc = q_queue(q, "qmp_capabilities", NULL, q->caps_id, -1);
    if (rc == 0) q_kick(q);
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
    uint64_t n;
    qmp_cmd_t *c = id && parse_id(id, &n) ? cmd_find(q, n) : NULL;
    if (!c) {
        q->unknown++;
        return;
    }
    if (error) {
        vc_qmp_reply_t r = {.status = VC_EQMP, .err_class = cls_s, .message = desc_s};
        cmd_finish(q, c, &r);
        return;
    }
    /* vc_qmp_take_return may detach ret from msg during the callback. */
    vc_qmp_reply_t r = {.status = 0, .ret = ret, .message = "ok"};
    q->cur_reply = &r;
    q->cur_msg = msg;
    q->cur_ret = ret;
    cmd_finish(q, c, &r);
    q->cur_reply = NULL;
    q->cur_msg = q->cur_ret = NULL;
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
    if (rc < 0) goto fail;
    rc = uv_timer_init(loop, &q->deadline);
    if (rc < 0) goto fail_timer;
    rc = uv_prepare_init(loop, &q->prep);
    if (rc < 0) goto fail_deadline;
    q->timer.data = q->deadline.data = q->prep.data = q;
    q->handles = 3;
    *out = q;
    return 0;

    /* Handles that were initialised are closed before q goes: the loop
     * holds them until their close callbacks. */
fail_deadline:
    q->handles++;
    uv_close((uv_handle_t *)&q->deadline, on_handle_closed);
fail_timer:
    q->handles++;
    uv_close((uv_handle_t *)&q->timer, on_handle_closed);
    return rc;
fail:
    free(q);
    return rc;
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

int vc_qmp_execute(vc_qmp_t *q, const char *command, cJSON *args, int fd, double timeout,
                   vc_qmp_reply_cb cb, void *ud, vc_error_t *err)
{
    int rc;
    int dupfd = -1;
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
    size_t namelen = strlen(command);
    c = malloc(sizeof *c + namelen + 1);
    if (!c || (!q->table && table_resize(q, TABLE_MIN))) goto nomem;
    memcpy(c->name, command, namelen + 1);
    c->id = q->next_id++;
    char id[24];
    format_id(id, c->id);
    rc = q_queue(q, command, args, id, dupfd);
    if (rc < 0) goto nomem;
    dupfd = -1; /* owned by the queue */
    cJSON_Delete(args);
    c->cb = cb;
    c->ud = ud;
    double ms = timeout * 1000.0 + 0.5;
    c->deadline = uv_now(q->loop) + (uint64_t)(ms < DEADLINE_MAX_MS ? ms : DEADLINE_MAX_MS);
    cmd_insert(q, c);
    q_kick(q);
    return 0;

nomem:
    rc = vc_error_set(err, -ENOMEM, "QMP %s: out of memory", command);
fail:
    free(c);
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

cJSON *vc_qmp_take_return(vc_qmp_t *q, const vc_qmp_reply_t *reply)
{
    if (!q || !reply || reply != q->cur_reply || !q->cur_ret) return NULL;
    cJSON *ret = cJSON_DetachItemViaPointer(q->cur_msg, q->cur_ret);
    q->cur_ret = NULL;
    return ret;
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
    uv_close((uv_handle_t *)&q->timer, on_main_closed);
    uv_close((uv_handle_t *)&q->deadline, on_handle_closed);
    uv_close((uv_handle_t *)&q->prep, on_handle_closed);
    q->armed = 0;
    q->prep_active = 0;
    if (q->pipe_inited) {
        uv_read_stop((uv_stream_t *)&q->pipe);
        uv_close((uv_handle_t *)&q->pipe, on_handle_closed);
    }
}
