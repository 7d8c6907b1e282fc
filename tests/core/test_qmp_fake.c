/* vc_qmp against a scripted fake QMP server in the same loop. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "buf.h"
#include "qmp.h"
#include "test.h"

#define GREETING                                                                                   \
    "{\"QMP\":{\"version\":{\"qemu\":{\"micro\":1,\"minor\":2,\"major\":8},"                       \
    "\"package\":\"Debian 1:8.2.1\"},\"capabilities\":[\"oob\"]}}\n"

typedef struct srv srv_t;
/* Called for each command the server receives (not qmp_capabilities). */
typedef void (*srv_handler)(srv_t *s, const char *cmd, const char *id);

struct srv {
    uv_loop_t *loop;
    char dir[64];
    char path[128];
    uv_pipe_t listener;
    uv_pipe_t client;
    int have_client;
    int client_closed;
    vc_buf_t in;
    const char *on_accept; /* sent on accept */
    const char *on_caps;   /* sent before the qmp_capabilities return */
    int crlf;
    srv_handler handler;
    int ncmds;
    int seen; /* commands received, qmp_capabilities not counted */
    char ids[8][32];
    char cmds[8][32];
};

static void on_srv_write(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void srv_send_mem(srv_t *s, const char *text, size_t n)
{
    if (!s->have_client || s->client_closed) return;
    uv_write_t *w = malloc(sizeof *w);
    char *d = malloc(n);
    ASSERT(w && d);
    memcpy(d, text, n);
    w->data = d;
    uv_buf_t b = uv_buf_init(d, (unsigned)n);
    ASSERT_INT_EQ(uv_write(w, (uv_stream_t *)&s->client, &b, 1, on_srv_write), 0);
}

static void srv_send_raw(srv_t *s, const char *text)
{
    srv_send_mem(s, text, strlen(text));
}

/* Sends text, turning each LF into CRLF when s->crlf is set. */
static void srv_send(srv_t *s, const char *text)
{
    if (!s->crlf) {
        srv_send_raw(s, text);
        return;
    }
    vc_buf_t b = VC_BUF_INIT;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') ASSERT_INT_EQ(vc_buf_append(&b, "\r", 1), 0);
        ASSERT_INT_EQ(vc_buf_append(&b, p, 1), 0);
    }
    srv_send_raw(s, b.data);
    vc_buf_free(&b);
}

static void srv_reply(srv_t *s, const char *id, const char *ret_json)
{
    vc_buf_t b = VC_BUF_INIT;
    ASSERT_INT_EQ(vc_buf_printf(&b, "{\"return\":%s,\"id\":\"%s\"}\n", ret_json, id), 0);
    srv_send(s, b.data);
    vc_buf_free(&b);
}

static void srv_close_client(srv_t *s)
{
    if (s->have_client && !s->client_closed) {
        s->client_closed = 1;
        uv_close((uv_handle_t *)&s->client, NULL);
    }
}

static void srv_line(srv_t *s, const char *line)
{
    cJSON *m = cJSON_Parse(line);
    ASSERT(m);
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(m, "execute");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    ASSERT(cJSON_IsString(ex));
    ASSERT(cJSON_IsString(id));
    if (strcmp(ex->valuestring, "qmp_capabilities") == 0) {
        if (s->on_caps) srv_send(s, s->on_caps);
        srv_reply(s, id->valuestring, "{}");
    } else {
        s->seen++;
        if (s->ncmds < 8) {
            snprintf(s->ids[s->ncmds], sizeof s->ids[0], "%s", id->valuestring);
            snprintf(s->cmds[s->ncmds], sizeof s->cmds[0], "%s", ex->valuestring);
            s->ncmds++;
        }
        if (s->handler) s->handler(s, ex->valuestring, id->valuestring);
    }
    cJSON_Delete(m);
}

static void srv_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(sz);
    b->len = sz;
}

static void srv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    srv_t *s = st->data;
    if (n < 0) {
        free(b->base);
        srv_close_client(s);
        return;
    }
    ASSERT_INT_EQ(vc_buf_append(&s->in, b->base, (size_t)n), 0);
    free(b->base);
    char *nl;
    while (!s->client_closed && s->in.len && (nl = memchr(s->in.data, '\n', s->in.len))) {
        *nl = '\0';
        size_t used = (size_t)(nl - s->in.data) + 1;
        char *line = strdup(s->in.data);
        vc_buf_consume(&s->in, used);
        srv_line(s, line);
        free(line);
    }
}

static void srv_on_conn(uv_stream_t *l, int status)
{
    srv_t *s = l->data;
    ASSERT_INT_EQ(status, 0);
    ASSERT(!s->have_client);
    ASSERT_INT_EQ(uv_pipe_init(s->loop, &s->client, 0), 0);
    s->client.data = s;
    ASSERT_INT_EQ(uv_accept(l, (uv_stream_t *)&s->client), 0);
    s->have_client = 1;
    ASSERT_INT_EQ(uv_read_start((uv_stream_t *)&s->client, srv_alloc, srv_read), 0);
    srv_send(s, s->on_accept ? s->on_accept : GREETING);
}

static void srv_start(srv_t *s, uv_loop_t *loop)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    snprintf(s->dir, sizeof s->dir, "/tmp/vcqmp-XXXXXX");
    ASSERT(mkdtemp(s->dir));
    snprintf(s->path, sizeof s->path, "%s/qmp.sock", s->dir);
    ASSERT_INT_EQ(uv_pipe_init(loop, &s->listener, 0), 0);
    s->listener.data = s;
    ASSERT_INT_EQ(uv_pipe_bind(&s->listener, s->path), 0);
    ASSERT_INT_EQ(uv_listen((uv_stream_t *)&s->listener, 4, srv_on_conn), 0);
}

static void srv_stop(srv_t *s)
{
    srv_close_client(s);
    uv_close((uv_handle_t *)&s->listener, NULL);
    unlink(s->path);
    rmdir(s->dir);
    vc_buf_free(&s->in);
}

/* ---- client side state ---------------------------------------------------- */

typedef struct ctx {
    int ready, ready_status;
    char ready_msg[VC_ERRMSG_MAX];
    int disc;
    int disc_code;
    char disc_msg[VC_ERRMSG_MAX];
    int events;
    int events_at_ready;
    char last_event[64];
    int replies;
    int order[8];
    int status[8];
    char ret[8][128];
    char cls[8][64];
    char msg[8][256];
    size_t blob_len;
    int disc_replies; /* replies seen when the disconnect cb ran */
    int want, enough;
} ctx_t;

static ctx_t C;

static void on_ready(vc_qmp_t *q, int status, const vc_error_t *err, void *ud)
{
    (void)q;
    (void)ud;
    C.ready = 1;
    C.ready_status = status;
    C.events_at_ready = C.events;
    if (status) snprintf(C.ready_msg, sizeof C.ready_msg, "%s", err ? err->msg : "?");
}

static void on_event(vc_qmp_t *q, const char *name, const cJSON *msg, void *ud)
{
    (void)q;
    (void)ud;
    ASSERT(cJSON_IsObject(msg));
    snprintf(C.last_event, sizeof C.last_event, "%s", name);
    C.events++;
}

static void on_disc(vc_qmp_t *q, const vc_error_t *why, void *ud)
{
    (void)q;
    (void)ud;
    C.disc++;
    C.disc_code = why ? why->code : 0;
    snprintf(C.disc_msg, sizeof C.disc_msg, "%s", why ? why->msg : "");
    C.disc_replies = C.replies;
}

static void on_reply(vc_qmp_t *q, const vc_qmp_reply_t *r, void *ud)
{
    (void)q;
    int tag = (int)(intptr_t)ud;
    ASSERT(r->message);
    ASSERT(r->command);
    int i = C.replies++;
    ASSERT(i < 8);
    C.order[i] = tag;
    if (C.replies >= C.want) C.enough = 1;
    C.status[tag] = r->status;
    snprintf(C.msg[tag], sizeof C.msg[0], "%s", r->message);
    if (r->err_class) snprintf(C.cls[tag], sizeof C.cls[0], "%s", r->err_class);
    if (r->status == 0) {
        ASSERT(r->ret);
        const cJSON *blob = cJSON_GetObjectItemCaseSensitive(r->ret, "blob");
        if (cJSON_IsString(blob)) {
            C.blob_len = strlen(blob->valuestring);
        } else {
            char *s = cJSON_PrintUnformatted(r->ret);
            ASSERT(s);
            snprintf(C.ret[tag], sizeof C.ret[0], "%s", s);
            free(s);
        }
    } else {
        ASSERT(!r->ret);
    }
}

static uv_loop_t loop;
static srv_t S;
static vc_qmp_t *Q;

static void setup(void)
{
    memset(&C, 0, sizeof C);
    ASSERT_INT_EQ(uv_loop_init(&loop), 0);
    srv_start(&S, &loop);
    ASSERT_INT_EQ(vc_qmp_new(&loop, &Q), 0);
    vc_qmp_set_event_cb(Q, on_event, NULL);
    vc_qmp_set_disconnect_cb(Q, on_disc, NULL);
}

static void connect_ready(void)
{
    vc_error_t err;
    ASSERT_INT_EQ(vc_qmp_connect(Q, S.path, 5, on_ready, NULL, &err), 0);
    ASSERT_INT_EQ(C.ready, 0); /* never synchronous */
    vc_test_run_until(&loop, &C.ready, 10, "ready");
    ASSERT_INT_EQ(C.ready_status, 0);
    ASSERT(vc_qmp_is_ready(Q));
}

static void exec(const char *cmd, cJSON *args, int tag, double timeout)
{
    vc_error_t err;
    int rc = vc_qmp_execute(Q, cmd, args, -1, timeout, on_reply, (void *)(intptr_t)tag, &err);
    if (rc) VC_FAIL("execute %s: %s", cmd, err.msg);
}

static void run_replies(int n)
{
    C.want = n;
    C.enough = C.replies >= n;
    vc_test_run_until(&loop, &C.enough, 10, "replies");
}

static void teardown(void)
{
    int before = C.disc;
    vc_qmp_close(Q);
    vc_qmp_close(Q); /* idempotent; Q must not be used after, but this is the same call */
    srv_stop(&S);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_INT_EQ(C.disc, before ? before : 1); /* disconnect cb exactly once */
    vc_test_loop_teardown(&loop);
}

/* ---- handlers ------------------------------------------------------------- */

static void h_status(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    srv_reply(s, id, "{\"status\":\"running\",\"running\":true}");
}

static void h_reverse(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    (void)id;
    if (s->ncmds < 2) return;
    srv_reply(s, s->ids[1], "{\"n\":2}");
    srv_reply(s, s->ids[0], "{\"n\":1}");
}

static void h_error(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    vc_buf_t b = VC_BUF_INIT;
    ASSERT_INT_EQ(vc_buf_printf(&b,
                                "{\"error\":{\"class\":\"DeviceNotFound\",\"desc\":\"no such "
                                "device\"},\"id\":\"%s\"}\n",
                                id),
                  0);
    srv_send(s, b.data);
    vc_buf_free(&b);
}

static void h_big(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    size_t n = 1024 * 1024;
    char *blob = malloc(n + 64);
    ASSERT(blob);
    strcpy(blob, "{\"blob\":\"");
    size_t off = strlen(blob);
    memset(blob + off, 'x', n);
    strcpy(blob + off + n, "\"}");
    srv_reply(s, id, blob);
    free(blob);
}

static void h_unknown(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    srv_reply(s, "nope-42", "{\"n\":0}");
    srv_send(s, "{\"return\":{}}\n"); /* no id at all */
    srv_reply(s, id, "{\"n\":1}");
}

/* A reply line of exactly VC_QMP_LINE_MAX bytes before its LF. */
static void h_at_limit(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    vc_buf_t tail = VC_BUF_INIT;
    ASSERT_INT_EQ(vc_buf_printf(&tail, "\"},\"id\":\"%s\"}\n", id), 0);
    const char *head = "{\"return\":{\"blob\":\"";
    size_t n = VC_QMP_LINE_MAX + 1; /* with the LF */
    char *line = malloc(n);
    ASSERT(line);
    size_t hl = strlen(head), blob = n - hl - tail.len;
    memcpy(line, head, hl);
    memset(line + hl, 'x', blob);
    memcpy(line + hl + blob, tail.data, tail.len);
    srv_send_mem(s, line, n);
    free(line);
    vc_buf_free(&tail);
}

/* 256 MiB of one reply line without its LF, written from a 1 MiB filler:
 * the fake server itself holds little, so the peak RSS is the client's. */
static char filler[1024 * 1024];

static void on_flood_write(uv_write_t *w, int status)
{
    (void)status; /* cancelled when the test closes the connection */
    free(w);
}

static void h_flood(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    (void)id;
    static const char head[] = "{\"return\":{\"blob\":\"";
    memset(filler, 'x', sizeof filler);
    memcpy(filler, head, sizeof head - 1);
    uv_buf_t bufs[256];
    bufs[0] = uv_buf_init(filler, sizeof filler);
    for (size_t i = 1; i < 256; i++)
        bufs[i] = uv_buf_init(filler + sizeof head - 1, sizeof filler - (sizeof head - 1));
    uv_write_t *w = malloc(sizeof *w);
    ASSERT(w);
    ASSERT_INT_EQ(uv_write(w, (uv_stream_t *)&s->client, bufs, 256, on_flood_write), 0);
}

static void srv_send_nul(srv_t *s, const char *before, const char *after)
{
    vc_buf_t b = VC_BUF_INIT;
    ASSERT_INT_EQ(vc_buf_puts(&b, before), 0);
    ASSERT_INT_EQ(vc_buf_append(&b, "", 1), 0); /* the NUL byte */
    ASSERT_INT_EQ(vc_buf_puts(&b, after), 0);
    srv_send_mem(s, b.data, b.len);
    vc_buf_free(&b);
}

/* Lines holding a raw NUL byte, then the real reply. */
static void h_nul(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    vc_buf_t b = VC_BUF_INIT;
    /* inside the id: cJSON alone would read "<id>" and answer the command */
    ASSERT_INT_EQ(vc_buf_printf(&b, "{\"return\":{\"n\":8},\"id\":\"%s", id), 0);
    srv_send_nul(s, b.data, "x\"}\n");
    vc_buf_reset(&b);
    /* between tokens: cJSON alone would take it for white space */
    ASSERT_INT_EQ(vc_buf_printf(&b, "\"id\":\"%s\"}\n", id), 0);
    srv_send_nul(s, "{\"return\":{\"n\":9},", b.data);
    srv_send_nul(s, "",
                 "{\"event\":\"NUL_FIRST\",\"data\":{},\"timestamp\":{\"seconds\":1,"
                 "\"microseconds\":2}}\n");
    srv_send_nul(s, "", "\n");
    vc_buf_free(&b);
    /* the escaped form is JSON that QEMU writes: delivered, cut at the NUL */
    srv_send(s, "{\"event\":\"NUL_ESCAPED\\u0000X\",\"data\":{},\"timestamp\":{\"seconds\":1,"
                "\"microseconds\":2}}\n");
    srv_reply(s, id, "{\"n\":1}");
}

static void h_hangup(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    (void)id;
    srv_close_client(s);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_greeting(void)
{
    setup();
    connect_ready();
    const vc_qmp_version_t *v = vc_qmp_version(Q);
    ASSERT_INT_EQ(v->major, 8);
    ASSERT_INT_EQ(v->minor, 2);
    ASSERT_INT_EQ(v->micro, 1);
    ASSERT_STR_EQ(v->package, "Debian 1:8.2.1");
    const cJSON *caps = vc_qmp_capabilities(Q);
    ASSERT(cJSON_IsArray(caps));
    ASSERT_INT_EQ(cJSON_GetArraySize(caps), 1);
    ASSERT_STR_EQ(cJSON_GetArrayItem(caps, 0)->valuestring, "oob");
    S.handler = h_status;
    cJSON *args = cJSON_CreateObject();
    ASSERT(args);
    ASSERT(cJSON_AddStringToObject(args, "x", "y"));
    exec("query-status", args, 0, 5);
    ASSERT_INT_EQ(C.replies, 0); /* never synchronous */
    run_replies(1);
    ASSERT_INT_EQ(C.status[0], 0);
    ASSERT_STR_EQ(C.ret[0], "{\"status\":\"running\",\"running\":true}");
    ASSERT_STR_EQ(S.cmds[0], "query-status");
    ASSERT_INT_EQ(vc_qmp_garbage_count(Q), 0);
    ASSERT_INT_EQ(C.disc, 0);
    teardown();
    ASSERT_INT_EQ(C.disc_code, VC_ECLOSED);
}

static void test_event_before_greeting(void)
{
    setup();
    S.on_accept = "{\"event\":\"EARLY\",\"data\":{},\"timestamp\":{\"seconds\":1,"
                  "\"microseconds\":2}}\n" GREETING;
    connect_ready();
    ASSERT_INT_EQ(C.events_at_ready, 1);
    ASSERT_STR_EQ(C.last_event, "EARLY");
    teardown();
}

static void test_reverse_order(void)
{
    setup();
    connect_ready();
    S.handler = h_reverse;
    exec("cmd-a", NULL, 0, 5);
    exec("cmd-b", NULL, 1, 5);
    run_replies(2);
    ASSERT_INT_EQ(C.order[0], 1);
    ASSERT_INT_EQ(C.order[1], 0);
    ASSERT_STR_EQ(C.ret[0], "{\"n\":1}");
    ASSERT_STR_EQ(C.ret[1], "{\"n\":2}");
    ASSERT(strcmp(S.ids[0], S.ids[1]) != 0);
    ASSERT_INT_EQ(vc_qmp_unknown_reply_count(Q), 0);
    teardown();
}

static void test_error_reply(void)
{
    setup();
    connect_ready();
    S.handler = h_error;
    exec("device_del", NULL, 0, 5);
    run_replies(1);
    ASSERT_INT_EQ(C.status[0], VC_EQMP);
    ASSERT_STR_EQ(C.cls[0], "DeviceNotFound");
    ASSERT_STR_EQ(C.msg[0], "no such device");
    teardown();
}

static void test_garbage_and_half_line(void)
{
    setup();
    S.on_accept = GREETING "this is not json\n[1,2]\n42\n{\"broken\":\n"
                           "{\"event\":\"HALF\",\"data\":{\"a\":";
    S.on_caps = "1},\"timestamp\":{\"seconds\":1,\"microseconds\":2}}\n";
    connect_ready();
    ASSERT_INT_EQ(vc_qmp_garbage_count(Q), 4);
    ASSERT_INT_EQ(C.events, 1);
    ASSERT_STR_EQ(C.last_event, "HALF");
    S.handler = h_status;
    exec("query-status", NULL, 0, 5);
    run_replies(1);
    ASSERT_INT_EQ(C.status[0], 0);
    teardown();
}

static void test_big_reply(void)
{
    setup();
    connect_ready();
    S.handler = h_big;
    exec("big", NULL, 0, 10);
    run_replies(1);
    ASSERT_INT_EQ(C.status[0], 0);
    ASSERT_INT_EQ(C.blob_len, 1024 * 1024);
    teardown();
}

static long maxrss_kib(void)
{
    struct rusage ru;
    ASSERT_INT_EQ(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

static void test_line_over_limit(void)
{
    setup();
    connect_ready();
    long before = maxrss_kib();
    S.handler = h_flood;
    exec("query-flood", NULL, 0, 30);
    vc_test_run_until(&loop, &C.disc, 30, "disconnect");
    ASSERT_INT_EQ(C.replies, 1);
    ASSERT_INT_EQ(C.disc_replies, 1);
    ASSERT_INT_EQ(C.status[0], VC_EDISCONNECTED);
    ASSERT_STR_CONTAINS(C.msg[0], "QMP line over 16777216 bytes");
    ASSERT_STR_CONTAINS(C.msg[0], "query-flood");
    ASSERT_INT_EQ(C.disc_code, VC_EDISCONNECTED);
    ASSERT_STR_EQ(C.disc_msg, "QMP line over 16777216 bytes");
    ASSERT(!vc_qmp_is_ready(Q));
    /* The client read about the limit, not the 256 MiB sent: its peak grows
     * by 17 MiB. Under ASan the buffer's earlier sizes stay resident in the
     * quarantine (56 MiB), hence the margin. */
    long grown = maxrss_kib() - before;
    if (grown > 6 * VC_QMP_LINE_MAX / 1024) VC_FAIL("peak RSS grew by %ld KiB", grown);
    teardown();
}

static void test_line_over_limit_in_greeting(void)
{
    setup();
    char *big = malloc(VC_QMP_LINE_MAX + 2);
    ASSERT(big);
    memset(big, ' ', VC_QMP_LINE_MAX + 1);
    big[VC_QMP_LINE_MAX + 1] = '\0';
    S.on_accept = big;
    vc_error_t err;
    ASSERT_INT_EQ(vc_qmp_connect(Q, S.path, 10, on_ready, NULL, &err), 0);
    vc_test_run_until(&loop, &C.ready, 20, "ready");
    free(big);
    ASSERT_INT_EQ(C.ready_status, VC_EDISCONNECTED);
    ASSERT_STR_EQ(C.ready_msg, "QMP line over 16777216 bytes");
    ASSERT_INT_EQ(C.disc, 0); /* the ready callback reported it */
    vc_qmp_close(Q);
    srv_stop(&S);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_INT_EQ(C.disc, 0);
    vc_test_loop_teardown(&loop);
}

static void test_line_at_limit(void)
{
    setup();
    connect_ready();
    S.handler = h_at_limit;
    exec("query-at-limit", NULL, 0, 30);
    run_replies(1);
    ASSERT_INT_EQ(C.status[0], 0);
    ASSERT_INT_EQ(C.blob_len, VC_QMP_LINE_MAX - strlen("{\"return\":{\"blob\":\"\"},\"id\":\"\"}") -
                                  strlen(S.ids[0]));
    /* the session goes on */
    S.handler = h_status;
    exec("query-status", NULL, 1, 5);
    run_replies(2);
    ASSERT_INT_EQ(C.status[1], 0);
    ASSERT_INT_EQ(vc_qmp_garbage_count(Q), 0);
    ASSERT_INT_EQ(C.disc, 0);
    teardown();
}

static void test_nul_bytes(void)
{
    setup();
    connect_ready();
    S.handler = h_nul;
    exec("query-nul", NULL, 0, 5);
    run_replies(1);
    ASSERT_INT_EQ(C.status[0], 0);
    ASSERT_STR_EQ(C.ret[0], "{\"n\":1}");
    ASSERT_INT_EQ(vc_qmp_garbage_count(Q), 4);
    ASSERT_INT_EQ(C.events, 1);
    ASSERT_STR_EQ(C.last_event, "NUL_ESCAPED");
    S.handler = h_status;
    exec("query-status", NULL, 1, 5);
    run_replies(2);
    ASSERT_INT_EQ(C.status[1], 0);
    ASSERT_INT_EQ(C.disc, 0);
    teardown();
}

static void test_unknown_id(void)
{
    setup();
    connect_ready();
    S.handler = h_unknown;
    exec("query-x", NULL, 0, 5);
    run_replies(1);
    ASSERT_INT_EQ(C.status[0], 0);
    ASSERT_STR_EQ(C.ret[0], "{\"n\":1}");
    ASSERT_INT_EQ(vc_qmp_unknown_reply_count(Q), 2);
    ASSERT_INT_EQ(C.replies, 1);
    teardown();
}

static void test_server_closes(void)
{
    setup();
    connect_ready();
    S.handler = h_hangup;
    exec("query-status", NULL, 0, 5);
    exec("query-other", NULL, 1, 5);
    vc_test_run_until(&loop, &C.disc, 5, "disconnect");
    ASSERT_INT_EQ(C.replies, 2);
    ASSERT_INT_EQ(C.disc_replies, 2); /* pending failed before the disconnect cb */
    ASSERT_INT_EQ(C.status[0], VC_EDISCONNECTED);
    ASSERT_INT_EQ(C.status[1], VC_EDISCONNECTED);
    ASSERT_STR_CONTAINS(C.msg[0], "query-status");
    ASSERT_STR_CONTAINS(C.msg[1], "query-other");
    ASSERT_INT_EQ(C.disc_code, VC_EDISCONNECTED);
    ASSERT(!vc_qmp_is_ready(Q));
    vc_error_t err;
    ASSERT(vc_qmp_execute(Q, "late", NULL, -1, 1, on_reply, NULL, &err) < 0);
    teardown();
    ASSERT_INT_EQ(C.disc, 1);
}

static void test_timeout(void)
{
    setup();
    connect_ready();
    S.handler = NULL; /* never answers */
    uint64_t t0 = uv_hrtime();
    exec("query-status", NULL, 0, 0.2);
    run_replies(1);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    ASSERT_INT_EQ(C.status[0], -ETIMEDOUT);
    ASSERT_INT_GE(ms, 150);
    ASSERT(ms < 2000);
    /* a late reply is dropped and counted */
    srv_reply(&S, S.ids[0], "{}");
    S.handler = h_status;
    exec("query-status", NULL, 1, 5);
    run_replies(2);
    ASSERT_INT_EQ(C.status[1], 0);
    ASSERT_INT_EQ(vc_qmp_unknown_reply_count(Q), 1);
    teardown();
}

static void test_connect_timeout(void)
{
    setup();
    S.on_accept =
        "{\"event\":\"X\",\"data\":{},\"timestamp\":{\"seconds\":1,\"microseconds\":2}}\n";
    vc_error_t err;
    ASSERT_INT_EQ(vc_qmp_connect(Q, S.path, 0.2, on_ready, NULL, &err), 0);
    vc_test_run_until(&loop, &C.ready, 5, "ready");
    ASSERT_INT_EQ(C.ready_status, -ETIMEDOUT);
    ASSERT_INT_EQ(C.events, 1);
    ASSERT(!vc_qmp_is_ready(Q));
    vc_qmp_close(Q);
    srv_stop(&S);
    uv_run(&loop, UV_RUN_DEFAULT);
    vc_test_loop_teardown(&loop);
}

static void test_crlf(void)
{
    setup();
    S.crlf = 1;
    connect_ready();
    ASSERT_INT_EQ(vc_qmp_version(Q)->major, 8);
    ASSERT_STR_EQ(vc_qmp_version(Q)->package, "Debian 1:8.2.1");
    S.handler = h_status;
    exec("query-status", NULL, 0, 5);
    run_replies(1);
    ASSERT_INT_EQ(C.status[0], 0);
    ASSERT_STR_EQ(C.ret[0], "{\"status\":\"running\",\"running\":true}");
    ASSERT_INT_EQ(vc_qmp_garbage_count(Q), 0);
    teardown();
}

static void test_close_with_pending(void)
{
    setup();
    connect_ready();
    S.handler = NULL;
    exec("query-status", NULL, 0, 5);
    vc_qmp_close(Q);
    ASSERT_INT_EQ(C.replies, 0); /* deferred */
    ASSERT_INT_EQ(C.disc, 0);
    srv_stop(&S);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_INT_EQ(C.replies, 1);
    ASSERT_INT_EQ(C.status[0], VC_ECLOSED);
    ASSERT_INT_EQ(C.disc, 1);
    ASSERT_INT_EQ(C.disc_code, VC_ECLOSED);
    vc_test_loop_teardown(&loop);
}

static void h_all3(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    (void)id;
    if (s->ncmds < 3) return;
    for (int i = 0; i < 3; i++)
        srv_reply(s, s->ids[i], "{}");
}

static int count_fds(void)
{
    int n = 0;
    uv_fs_t req;
    ASSERT(uv_fs_scandir(NULL, &req, "/proc/self/fd", 0, NULL) >= 0);
    uv_dirent_t ent;
    while (uv_fs_scandir_next(&req, &ent) != UV_EOF)
        n++;
    uv_fs_req_cleanup(&req);
    return n;
}

static void test_fd_order(void)
{
    setup();
    connect_ready();
    S.handler = h_all3;
    int fds0 = count_fds();
    int pfd[2];
    ASSERT_INT_EQ(pipe(pfd), 0);
    vc_error_t err;
    exec("first", NULL, 0, 5);
    cJSON *a = cJSON_CreateObject();
    ASSERT(a && cJSON_AddStringToObject(a, "fdname", "x"));
    ASSERT_INT_EQ(vc_qmp_execute(Q, "getfd", a, pfd[0], 5, on_reply, (void *)(intptr_t)1, &err), 0);
    exec("third", NULL, 2, 5);
    /* the caller keeps its own fd */
    close(pfd[0]);
    run_replies(3);
    ASSERT_STR_EQ(S.cmds[0], "first");
    ASSERT_STR_EQ(S.cmds[1], "getfd");
    ASSERT_STR_EQ(S.cmds[2], "third");
    for (int i = 0; i < 3; i++)
        ASSERT_INT_EQ(C.status[i], 0);
    /* a bad fd fails at once without a callback */
    ASSERT(vc_qmp_execute(Q, "getfd", NULL, 9999, 5, on_reply, NULL, &err) < 0);
    close(pfd[1]);
    uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_INT_EQ(C.replies, 3);
    ASSERT_INT_EQ(count_fds(), fds0); /* the dup was closed after sending */
    teardown();
}

/* ---- reply ownership, deadlines, batching ------------------------------- */

static cJSON *taken;      /* what the callback took */
static int take_again;    /* a second take of the same reply gave something */
static int take_other;    /* a take with another reply gave something */

static void on_take(vc_qmp_t *q, const vc_qmp_reply_t *r, void *ud)
{
    (void)ud;
    if (++C.replies >= C.want) C.enough = 1;
    C.status[0] = r->status;
    vc_qmp_reply_t other = *r; /* same fields, not the reply being delivered */
    take_other = vc_qmp_take_return(q, &other) != NULL;
    taken = vc_qmp_take_return(q, r);
    ASSERT(r->status != 0 || r->ret == taken); /* still readable in the callback */
    take_again = vc_qmp_take_return(q, r) != NULL;
}

static void h_nested(srv_t *s, const char *cmd, const char *id)
{
    (void)cmd;
    srv_reply(s, id, "{\"status\":\"running\",\"nested\":{\"list\":[1,2,3]}}");
}

static void test_take_return(void)
{
    setup();
    connect_ready();
    S.handler = h_nested;
    vc_error_t err;
    ASSERT_INT_EQ(vc_qmp_execute(Q, "query-status", NULL, -1, 5, on_take, NULL, &err), 0);
    run_replies(1);
    ASSERT_INT_EQ(C.status[0], 0);
    ASSERT(taken);
    ASSERT_INT_EQ(take_again, 0);
    ASSERT_INT_EQ(take_other, 0);
    /* Outside a callback nothing is handed out. */
    vc_qmp_reply_t none = {.status = 0, .ret = taken, .message = "ok"};
    ASSERT(!vc_qmp_take_return(Q, &none));
    /* The tree outlives the callback and the line it came from: the session
     * goes on, its read buffer is reused, and the tree is the caller's. */
    S.handler = h_status;
    exec("query-status", NULL, 1, 5);
    run_replies(2);
    char *text = cJSON_PrintUnformatted(taken);
    ASSERT(text);
    ASSERT_STR_EQ(text, "{\"status\":\"running\",\"nested\":{\"list\":[1,2,3]}}");
    free(text);
    cJSON_Delete(taken);
    taken = NULL;
    /* An error reply has no tree to take. */
    S.handler = h_error;
    ASSERT_INT_EQ(vc_qmp_execute(Q, "device_del", NULL, -1, 5, on_take, NULL, &err), 0);
    run_replies(3);
    ASSERT_INT_EQ(C.status[0], VC_EQMP);
    ASSERT(!taken);
    teardown();
}

/* Deadlines: one timer serves every command, whatever order the deadlines
 * come in and whatever the callbacks queue. */
static int timeouts[8], ntimeouts;

static void on_timed(vc_qmp_t *q, const vc_qmp_reply_t *r, void *ud)
{
    int tag = (int)(intptr_t)ud;
    if (++C.replies >= C.want) C.enough = 1;
    C.status[tag] = r->status;
    if (r->status != -ETIMEDOUT) return;
    timeouts[ntimeouts++] = tag;
    if (tag == 3) {
        /* From inside the timeout callback: due before tag 1's deadline. */
        vc_error_t err;
        ASSERT_INT_EQ(vc_qmp_execute(q, "late-short", NULL, -1, 0.05, on_timed, (void *)5, &err),
                      0);
    }
}

static void test_deadlines(void)
{
    setup();
    connect_ready();
    S.handler = NULL; /* answers nothing until told */
    /* Wide gaps, so that a slow loop does not swap two deadlines. */
    static const double t[] = {5, 1.0, 5, 0.1, 5};
    vc_error_t err;
    for (int i = 0; i < 5; i++)
        ASSERT_INT_EQ(vc_qmp_execute(Q, "query-x", NULL, -1, t[i], on_timed, (void *)(intptr_t)i,
                                     &err),
                      0);
    ntimeouts = 0;
    run_replies(3);
    ASSERT_INT_EQ(ntimeouts, 3);
    ASSERT_INT_EQ(timeouts[0], 3); /* 0.1 s */
    ASSERT_INT_EQ(timeouts[1], 5); /* queued at 0.1 s, 0.05 s */
    ASSERT_INT_EQ(timeouts[2], 1); /* 1 s */
    ASSERT_INT_EQ(C.replies, 3);
    /* The others still wait, and get their replies. */
    for (int i = 0; i < 5; i += 2)
        srv_reply(&S, S.ids[i], "{}");
    run_replies(6);
    for (int i = 0; i < 5; i += 2)
        ASSERT_INT_EQ(C.status[i], 0);
    ASSERT_INT_EQ(C.status[1], -ETIMEDOUT);
    ASSERT_INT_EQ(C.status[3], -ETIMEDOUT);
    ASSERT_INT_EQ(C.status[5], -ETIMEDOUT);
    ASSERT_INT_EQ(vc_qmp_unknown_reply_count(Q), 0);
    teardown();
}

/* Many commands queued in one go reach the server in the order they were
 * queued, an fd command among them, and replies find their commands
 * whatever order they come back in. */
#define BATCH 6000 /* about 220 KiB of commands: several writes' worth (64 KiB each) */
static int batch_next; /* the reply expected next */
static int batch_seen[BATCH];
static char batch_ids[BATCH][32];
static long batch_writes; /* write system calls when the last command came in */

static long write_syscalls(void);

static void h_batch(srv_t *s, const char *cmd, const char *id)
{
    int i = s->seen - 1;
    char want[32];
    snprintf(want, sizeof want, "c-%d", i);
    ASSERT_STR_EQ(cmd, i == BATCH / 2 ? "getfd" : want);
    snprintf(batch_ids[i], sizeof batch_ids[i], "%s", id);
    if (s->seen < BATCH) return;
    batch_writes = write_syscalls();
    /* Every command is in: answer them newest first. */
    for (int j = BATCH - 1; j >= 0; j--) {
        char ret[32];
        snprintf(ret, sizeof ret, "{\"n\":%d}", j);
        srv_reply(s, batch_ids[j], ret);
    }
}

static void on_batch(vc_qmp_t *q, const vc_qmp_reply_t *r, void *ud)
{
    (void)q;
    int tag = (int)(intptr_t)ud;
    ASSERT_INT_EQ(r->status, 0);
    ASSERT_INT_EQ(tag, BATCH - 1 - batch_next);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(r->ret, "n");
    ASSERT(cJSON_IsNumber(n));
    ASSERT_INT_EQ(n->valueint, tag); /* the reply of that very command */
    batch_seen[tag]++;
    if (++batch_next == BATCH) C.enough = 1;
}

/* Write system calls this process made so far, or -1 when the kernel does
 * not count them (no task I/O accounting). */
static long write_syscalls(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (!f) return -1;
    char line[128];
    long n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "syscw: %ld", &n) == 1) break;
    fclose(f);
    return n;
}

static void test_batch_order(void)
{
    setup();
    connect_ready();
    S.handler = h_batch;
    batch_next = 0;
    memset(batch_seen, 0, sizeof batch_seen);
    int pfd[2];
    ASSERT_INT_EQ(pipe(pfd), 0);
    vc_error_t err;
    long w0 = write_syscalls(), w1 = 0;
    for (int i = 0; i < BATCH; i++) {
        if (i == 1) w1 = write_syscalls(); /* the first command was written at once */
        char name[32];
        snprintf(name, sizeof name, "c-%d", i);
        int fd = i == BATCH / 2 ? pfd[0] : -1;
        ASSERT_INT_EQ(vc_qmp_execute(Q, fd >= 0 ? "getfd" : name, NULL, fd, 5, on_batch,
                                     (void *)(intptr_t)i, &err),
                      0);
    }
    ASSERT_INT_EQ(S.seen, 0);
    C.enough = 0;
    vc_test_run_until(&loop, &C.enough, 10, "batch replies");
    ASSERT_INT_EQ(S.seen, BATCH);
    if (w0 >= 0) {
        ASSERT_INT_EQ(w1 - w0, 1);
        /* The other 5999 in 3 items (before the fd, the fd's own, after it),
         * each written whenever 64 KiB wait and once the loop runs: a
         * handful of writes (the fd's goes by sendmsg, which syscw does not
         * count), a few more when the socket is full, never one per command.
         * The server answers nothing before the last, so all are the
         * client's. */
        if (batch_writes - w1 > 16) VC_FAIL("%ld writes for %d commands", batch_writes - w1, BATCH);
    }
    for (int i = 0; i < BATCH; i++)
        ASSERT_INT_EQ(batch_seen[i], 1);
    ASSERT_INT_EQ(vc_qmp_unknown_reply_count(Q), 0);
    close(pfd[0]);
    close(pfd[1]);
    teardown();
}

static void test_connect_refused(void)
{
    setup();
    vc_error_t err;
    char bad[160];
    snprintf(bad, sizeof bad, "%s/none.sock", S.dir);
    ASSERT_INT_EQ(vc_qmp_connect(Q, bad, 5, on_ready, NULL, &err), 0);
    ASSERT_INT_EQ(C.ready, 0);
    vc_test_run_until(&loop, &C.ready, 5, "ready");
    ASSERT_INT_EQ(C.ready_status, -ENOENT);
    vc_qmp_close(Q);
    srv_stop(&S);
    uv_run(&loop, UV_RUN_DEFAULT);
    vc_test_loop_teardown(&loop);
}

int main(void)
{
    RUN(test_greeting);
    RUN(test_event_before_greeting);
    RUN(test_reverse_order);
    RUN(test_error_reply);
    RUN(test_garbage_and_half_line);
    RUN(test_big_reply);
    RUN(test_line_over_limit); /* before the big lines below: it measures peak RSS */
    RUN(test_line_over_limit_in_greeting);
    RUN(test_line_at_limit);
    RUN(test_nul_bytes);
    RUN(test_unknown_id);
    RUN(test_server_closes);
    RUN(test_timeout);
    RUN(test_connect_timeout);
    RUN(test_crlf);
    RUN(test_close_with_pending);
    RUN(test_fd_order);
    RUN(test_connect_refused);
    RUN(test_take_return);
    RUN(test_deadlines);
    RUN(test_batch_order);
    return 0;
}
