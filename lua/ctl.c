/* vclaunch.core control sockets: how one vclaunch asks another, which owns
 * a VM, to act on it (`vclaunch stop`).
 *
 * core.ctl_listen(path, fn) -> CtlServer listens on a unix socket (made by
 * vc_socket_listen, in the VM's private runtime dir). Each connection sends
 * one request line; fn(line) is called from the loop, protected, and
 * returns the reply text and whether to hold the connection. A held
 * connection stays open, unanswered further, until server:close(): the
 * client reads EOF when the owner lets go of the VM, which is how it waits
 * for the VM to be gone without polling. The server and its connections do
 * not keep the loop running.
 *
 * core.ctl_request(path, line, timeout) is the client, a waiting call: it
 * sends line and returns everything the server wrote once the server closes
 * the connection; a timeout error when that takes longer than timeout
 * seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "rundir.h"
#include "vc_lua.h"

#define SERVER_MT "vclaunch.CtlServer"
#define LINE_MAX_BYTES 1024
#define REPLY_MAX_BYTES 65536

typedef struct server server_t;

typedef struct conn {
    uv_pipe_t h;
    server_t *srv; /* NULL once the server has let go of it */
    char buf[LINE_MAX_BYTES];
    size_t len;
    int answered, hold;
    struct conn *prev, *next;
} conn_t;

struct server {
    uv_pipe_t h;
    lua_State *main;
    int fn_ref;
    conn_t *conns;
};

typedef struct server_ud {
    server_t *s; /* NULL once closed */
} server_ud_t;

typedef struct reply_req {
    uv_write_t req;
    conn_t *c;
    char data[];
} reply_req_t;

static void free_handle_data(uv_handle_t *h)
{
    free(h->data);
}

static void conn_close(conn_t *c)
{
    if (uv_is_closing((uv_handle_t *)&c->h)) return;
    if (c->srv) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->srv->conns = c->next;
        if (c->next) c->next->prev = c->prev;
        c->srv = NULL;
    }
    uv_close((uv_handle_t *)&c->h, free_handle_data);
}

static void on_written(uv_write_t *req, int status)
{
    reply_req_t *r = (reply_req_t *)req;
    conn_t *c = r->c;
    free(r);
    if (status < 0 || !c->hold) conn_close(c);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    conn_t *c = h->data;
    (void)hint;
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len));
}

/* Calls the server's fn with the request line; writes its reply. */
static void answer(conn_t *c, const char *line, size_t len)
{
    server_t *s = c->srv;
    lua_State *L = s->main;
    c->answered = 1;
    int base = lua_gettop(L);
    lua_getglobal(L, "debug");
    lua_getfield(L, -1, "traceback");
    lua_remove(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->fn_ref);
    lua_pushlstring(L, line, len);
    size_t n = 0;
    const char *text = NULL;
    if (lua_pcall(L, 1, 2, base + 1) != LUA_OK) {
        fprintf(stderr, "vclaunch: control request handler failed: %s\n",
                luaL_tolstring(L, -1, NULL));
        text = "error: the request failed\n", n = strlen(text);
    } else {
        text = lua_tolstring(L, -2, &n);
        c->hold = lua_toboolean(L, -1);
    }
    reply_req_t *r = text && n ? malloc(sizeof *r + n) : NULL;
    if (r) {
        memcpy(r->data, text, n);
        r->c = c;
        uv_buf_t b = uv_buf_init(r->data, (unsigned)n);
        if (uv_write(&r->req, (uv_stream_t *)&c->h, &b, 1, on_written)) free(r), r = NULL;
    }
    lua_settop(L, base);
    if (!r && !c->hold) conn_close(c);
}

static void conn_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = h->data;
    (void)buf;
    if (nread < 0) { /* the client went (EOF) or failed */
        conn_close(c);
        return;
    }
    if (c->answered || !c->srv) return; /* one request per connection */
    size_t old = c->len;
    c->len += (size_t)nread;
    char *nl = memchr(c->buf + old, '\n', c->len - old);
    if (nl) {
        uv_read_stop(h);
        answer(c, c->buf, (size_t)(nl - c->buf));
    } else if (c->len == sizeof c->buf) {
        conn_close(c); /* no line within the limit: not one of ours */
    }
}

static void on_connection(uv_stream_t *h, int status)
{
    server_t *s = h->data;
    if (status < 0) return;
    conn_t *c = calloc(1, sizeof *c);
    if (!c) return;
    if (uv_pipe_init(h->loop, &c->h, 0)) {
        free(c);
        return;
    }
    c->h.data = c;
    if (uv_accept(h, (uv_stream_t *)&c->h) || uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read)) {
        uv_close((uv_handle_t *)&c->h, free_handle_data);
        return;
    }
    uv_unref((uv_handle_t *)&c->h);
    c->srv = s;
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
}

static void server_close(lua_State *L, server_ud_t *u)
{
    server_t *s = u->s;
    if (!s) return;
    u->s = NULL;
    while (s->conns)
        conn_close(s->conns);
    luaL_unref(L, LUA_REGISTRYINDEX, s->fn_ref);
    uv_close((uv_handle_t *)&s->h, free_handle_data);
}

/* server:close(): stops listening and closes every held connection (their
 * clients read EOF). Idempotent; also __gc and __close. The socket file
 * stays (it goes with the runtime dir). */
static int vc_lua_ctl_close(lua_State *L)
{
    server_close(L, luaL_checkudata(L, 1, SERVER_MT));
    return 0;
}

/* core.ctl_listen(path, fn) -> CtlServer */
static int vc_lua_core_ctl_listen(lua_State *L)
{
    const char *path = vc_lua_check_text(L, 1, NULL, "socket path");
    luaL_checktype(L, 2, LUA_TFUNCTION);
    server_ud_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->s = NULL;
    luaL_setmetatable(L, SERVER_MT);
    server_t *s = calloc(1, sizeof *s);
    if (!s) return vc_lua_raise(L, 1, "io", "ctl_listen: out of memory");
    vc_error_t err = {0};
    int fd = -1;
    if (vc_socket_listen(path, &fd, &err)) {
        free(s);
        return vc_lua_raise_core(L, 1, &err);
    }
    int rc = uv_pipe_init(vc_lua_loop(L), &s->h, 0);
    if (rc) {
        close(fd);
        free(s);
        return vc_lua_raise(L, 1, "io", "ctl_listen: %s", uv_strerror(rc));
    }
    s->h.data = s;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    s->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    lua_pushvalue(L, 2);
    s->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    u->s = s;
    if ((rc = uv_pipe_open(&s->h, fd)) != 0) {
        close(fd); /* uv_pipe_open does not take it on failure */
    } else {
        rc = uv_listen((uv_stream_t *)&s->h, 8, on_connection);
    }
    if (rc) {
        server_close(L, u);
        return vc_lua_raise(L, 1, "io", "ctl_listen: '%s': %s", path, uv_strerror(rc));
    }
    uv_unref((uv_handle_t *)&s->h);
    return 1;
}

/* ---- the client ------------------------------------------------------ */

typedef struct req_wait req_wait_t;

typedef struct client {
    uv_pipe_t h;
    uv_connect_t connect;
    uv_write_t write;
    req_wait_t *w; /* NULL once the wait went */
    char *line;
    size_t line_len;
    char buf[4096];
} client_t;

struct req_wait {
    vc_lua_wait_t w; /* first */
    client_t *c;     /* NULL once the request ended */
    int status;      /* 0, or a negative libuv error */
    const char *step;
    char *reply;
    size_t len;
};

static void client_closed(uv_handle_t *h)
{
    client_t *c = h->data;
    free(c->line);
    free(c);
}

/* Ends the request: the wait (if it is still there) gets status. */
static void client_end(client_t *c, int status, const char *step)
{
    req_wait_t *w = c->w;
    c->w = NULL;
    if (!uv_is_closing((uv_handle_t *)&c->h)) uv_close((uv_handle_t *)&c->h, client_closed);
    if (!w) return;
    w->c = NULL;
    w->status = status;
    w->step = step;
    vc_lua_wait_done(w);
}

static void client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    client_t *c = h->data;
    (void)hint;
    *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void client_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    client_t *c = h->data;
    if (nread == UV_EOF) {
        client_end(c, 0, NULL);
        return;
    }
    if (nread < 0) {
        client_end(c, (int)nread, "read");
        return;
    }
    req_wait_t *w = c->w;
    if (!w || nread == 0) return;
    if (w->len + (size_t)nread > REPLY_MAX_BYTES) {
        client_end(c, UV_E2BIG, "read");
        return;
    }
    char *r = realloc(w->reply, w->len + (size_t)nread);
    if (!r) {
        client_end(c, UV_ENOMEM, "read");
        return;
    }
    memcpy(r + w->len, buf->base, (size_t)nread);
    w->reply = r;
    w->len += (size_t)nread;
}

static void client_written(uv_write_t *req, int status)
{
    client_t *c = req->data;
    if (status < 0) client_end(c, status, "write");
}

static void client_connected(uv_connect_t *req, int status)
{
    client_t *c = req->data;
    if (status < 0) {
        client_end(c, status, "connect");
        return;
    }
    uv_buf_t b = uv_buf_init(c->line, (unsigned)c->line_len);
    c->write.data = c;
    int rc = uv_write(&c->write, (uv_stream_t *)&c->h, &b, 1, client_written);
    if (!rc) rc = uv_read_start((uv_stream_t *)&c->h, client_alloc, client_read);
    if (rc) client_end(c, rc, "write");
}

static void req_detach(vc_lua_wait_t *base)
{
    req_wait_t *w = (req_wait_t *)base;
    if (w->c) {
        w->c->w = NULL;
        client_end(w->c, 0, NULL);
    }
    w->c = NULL;
}

static void req_release(vc_lua_wait_t *base)
{
    free(((req_wait_t *)base)->reply);
}

static int req_push(lua_State *L, vc_lua_wait_t *base)
{
    req_wait_t *w = (req_wait_t *)base;
    const char *path = lua_tostring(L, 1); /* still on this task's stack */
    char msg[VC_ERRMSG_MAX];
    if (base->state == VC_WAIT_TIMEOUT) {
        snprintf(msg, sizeof msg, "ctl_request '%s': no end of reply within %g s", path,
                 base->timeout);
        vc_lua_push_error(L, "timeout", msg);
        lua_pushlstring(L, w->reply ? w->reply : "", w->len);
        lua_setfield(L, -2, "partial");
        return -1;
    }
    if (w->status) {
        snprintf(msg, sizeof msg, "ctl_request '%s': %s: %s", path, w->step,
                 uv_strerror(w->status));
        vc_lua_push_error(L, "io", msg);
        lua_pushstring(L, uv_err_name(w->status));
        lua_setfield(L, -2, "code");
        return -1;
    }
    lua_pushlstring(L, w->reply ? w->reply : "", w->len);
    return 1;
}

static const vc_lua_wait_ops_t req_ops = {
    .what = "ctl_request", .push = req_push, .detach = req_detach, .release = req_release};

/* core.ctl_request(path, line, timeout) -> the reply, once the server has
 * closed the connection. Errors: io (with code = "ENOENT", "ECONNREFUSED",
 * ...: no server there) and timeout (with partial = what came so far). */
static int vc_lua_core_ctl_request(lua_State *L)
{
    const char *path = vc_lua_check_text(L, 1, NULL, "socket path");
    size_t n;
    const char *line = luaL_checklstring(L, 2, &n);
    double timeout = luaL_checknumber(L, 3);
    luaL_argcheck(L, timeout > 0, 3, "timeout must be positive");
    luaL_argcheck(L, strlen(path) < VC_SOCKET_PATH_MAX, 1, "socket path too long");
    lua_settop(L, 3);
    req_wait_t *w = vc_lua_wait_new(L, &req_ops, sizeof *w, timeout);
    client_t *c = calloc(1, sizeof *c);
    char *copy = malloc(n + 1);
    if (!c || !copy || uv_pipe_init(vc_lua_loop(L), &c->h, 0)) {
        free(c);
        free(copy);
        vc_lua_wait_abort(w);
        return vc_lua_raise(L, 1, "io", "ctl_request: out of memory");
    }
    memcpy(copy, line, n);
    copy[n] = '\n';
    c->line = copy, c->line_len = n + 1;
    c->h.data = c;
    c->connect.data = c;
    c->w = w;
    w->c = c;
    uv_pipe_connect(&c->connect, &c->h, path, client_connected);
    return vc_lua_wait_yield(L, w);
}

void vc_lua_open_ctl(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"close", vc_lua_ctl_close},
        {NULL, NULL},
    };
    vc_lua_new_class(L, SERVER_MT, methods, vc_lua_ctl_close);
    static const luaL_Reg fns[] = {
        {"ctl_listen", vc_lua_core_ctl_listen},
        {"ctl_request", vc_lua_core_ctl_request},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
