/* vclaunch.core QMP: the core QMP client seen from Lua. Waiting calls
 * (connect, execute) yield the running task; the client's callback resumes
 * it with (true, result) or (false, error object). Events go to one Lua
 * handler, called protected on the main thread. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp.h"
#include "vc_lua.h"

#define QMP_MT "vclaunch.Qmp"

typedef struct qmp_ud {
    vc_qmp_t *q; /* NULL once closed */
    lua_State *main;
    int handler_ref; /* function(name, data, timestamp) or LUA_NOREF */
} qmp_ud_t;

/* A QMP command or connect in flight. The core calls back exactly once,
 * even when the session closes; the wait may have gone before (timeout of
 * the task, cancel), so the core holds this op, which points at the wait
 * until the wait detaches. */
typedef struct op op_t;

typedef struct qmp_wait {
    vc_lua_wait_t w; /* first */
    op_t *op;        /* NULL once the reply is in */
    int status;
    cJSON *ret;       /* owned: the "return" value */
    char *msg, *cls;  /* owned: the error's text and QMP class */
    const char *cmd;  /* static or kept by the caller's stack */
} qmp_wait_t;

struct op {
    qmp_wait_t *w; /* NULL once the wait went */
};

static void qmp_wait_detach(vc_lua_wait_t *base)
{
    qmp_wait_t *w = (qmp_wait_t *)base;
    if (w->op) w->op->w = NULL;
    w->op = NULL;
}

static void qmp_wait_release(vc_lua_wait_t *base)
{
    qmp_wait_t *w = (qmp_wait_t *)base;
    cJSON_Delete(w->ret);
    free(w->msg);
    free(w->cls);
}

/* ---- the object ------------------------------------------------------ */

static qmp_ud_t *check_open(lua_State *L)
{
    qmp_ud_t *u = luaL_checkudata(L, 1, QMP_MT);
    if (!u->q) vc_lua_raise(L, 2, "usage", "QMP session is closed");
    return u;
}

static void on_event(vc_qmp_t *q, const char *name, const cJSON *msg, void *ud)
{
    qmp_ud_t *u = ud;
    (void)q;
    if (u->handler_ref == LUA_NOREF) return;
    lua_State *L = u->main;
    lua_rawgeti(L, LUA_REGISTRYINDEX, u->handler_ref);
    lua_pushstring(L, name);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(msg, "data");
    if (data)
        vc_lua_push_json(L, data);
    else
        lua_newtable(L);
    vc_lua_push_json(L, cJSON_GetObjectItemCaseSensitive(msg, "timestamp"));
    vc_lua_call_handler(L, 3, "QMP event handler");
}

static void on_ready(vc_qmp_t *q, int status, const vc_error_t *err, void *ud)
{
    op_t *op = ud;
    (void)q;
    qmp_wait_t *w = op->w;
    free(op);
    if (!w) return;
    w->op = NULL;
    w->status = status;
    if (status) w->msg = strdup(err->msg);
    vc_lua_wait_done(w);
}

static int connect_push(lua_State *L, vc_lua_wait_t *base)
{
    qmp_wait_t *w = (qmp_wait_t *)base;
    if (w->status) {
        vc_lua_push_error(L, vc_error_kind(w->status), w->msg ? w->msg : "out of memory");
        return -1;
    }
    lua_pushvalue(L, 3); /* the Qmp, kept on this task's stack */
    return 1;
}

static const vc_lua_wait_ops_t connect_ops = {.what = "qmp_connect",
                                              .push = connect_push,
                                              .detach = qmp_wait_detach,
                                              .release = qmp_wait_release};

static qmp_wait_t *start_wait(lua_State *L, const vc_lua_wait_ops_t *ops, op_t **op)
{
    qmp_wait_t *w = vc_lua_wait_new(L, ops, sizeof *w, -1); /* the core times it */
    *op = malloc(sizeof **op);
    if (!*op) {
        vc_lua_wait_abort(w);
        vc_lua_raise(L, 1, "io", "out of memory");
    }
    (*op)->w = w;
    w->op = *op;
    return w;
}

/* core.qmp_connect(path, timeout) -> Qmp, once negotiated */
static int vc_lua_core_qmp_connect(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    double timeout = luaL_optnumber(L, 2, 10);
    luaL_argcheck(L, timeout > 0, 2, "timeout must be positive");
    vc_lua_check_task(L, "qmp_connect");
    lua_settop(L, 2);
    qmp_ud_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    *u = (qmp_ud_t){.handler_ref = LUA_NOREF};
    luaL_setmetatable(L, QMP_MT);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    u->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    if (vc_qmp_new(vc_lua_loop(L), &u->q)) return vc_lua_raise(L, 1, "io", "out of memory");
    vc_qmp_set_event_cb(u->q, on_event, u);
    op_t *op;
    qmp_wait_t *w = start_wait(L, &connect_ops, &op);
    vc_error_t err = {0};
    if (vc_qmp_connect(u->q, path, timeout, on_ready, op, &err)) {
        free(op);
        vc_lua_wait_abort(w);
        return vc_lua_raise_core(L, 1, &err);
    }
    /* The Qmp userdata stays on this task's stack below the yield, so it
     * lives until the continuation returns it. */
    return vc_lua_wait_yield(L, w);
}

static void on_reply(vc_qmp_t *q, const vc_qmp_reply_t *r, void *ud)
{
    op_t *op = ud;
    qmp_wait_t *w = op->w;
    free(op);
    if (!w) return; /* the waiting task timed out or was cancelled */
    w->op = NULL;
    w->status = r->status;
    if (r->status == 0) {
        /* The task reads the reply later, from the loop: the tree is taken
         * over from the client, not copied. */
        w->ret = vc_qmp_take_return(q, r);
        if (!w->ret) w->status = -ENOMEM;
    } else {
        w->msg = strdup(r->message);
        if (r->err_class) w->cls = strdup(r->err_class);
    }
    vc_lua_wait_done(w);
}

static int execute_push(lua_State *L, vc_lua_wait_t *base)
{
    qmp_wait_t *w = (qmp_wait_t *)base;
    const char *cmd = lua_tostring(L, 2); /* the command, still on this stack */
    if (w->status == 0) {
        vc_lua_push_json(L, w->ret);
        return 1;
    }
    char msg[VC_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s: %s%s%s%s", cmd, w->msg ? w->msg : "out of memory",
             w->cls ? " (" : "", w->cls ? w->cls : "", w->cls ? ")" : "");
    /* A session closed under a pending command (its QEMU exited, and the
     * VM closed the session) is a disconnect for the waiter. */
    vc_lua_push_error(L, w->status == VC_ECLOSED ? "disconnected" : vc_error_kind(w->status), msg);
    lua_pushstring(L, cmd);
    lua_setfield(L, -2, "command");
    if (w->cls) {
        lua_pushstring(L, w->cls);
        lua_setfield(L, -2, "class");
    }
    return -1;
}

static const vc_lua_wait_ops_t execute_ops = {.what = "qmp:execute",
                                              .push = execute_push,
                                              .detach = qmp_wait_detach,
                                              .release = qmp_wait_release};

/* The fd argument at idx: an integer, or an open Lua file (io.open). */
static int check_fd(lua_State *L, int idx)
{
    if (lua_isinteger(L, idx)) {
        lua_Integer fd = lua_tointeger(L, idx);
        luaL_argcheck(L, fd >= 0 && fd <= INT_MAX, idx, "not an fd");
        return (int)fd;
    }
    luaL_Stream *s = luaL_testudata(L, idx, LUA_FILEHANDLE);
    if (!s || !s->closef || !s->f) luaL_argerror(L, idx, "expected an fd or an open file");
    return fileno(s->f);
}

/* qmp:execute(command, args, timeout, fd) -> the "return" value. fd (an
 * integer or an open Lua file) travels with the command as SCM_RIGHTS
 * (getfd, add-fd); QEMU gets its own copy. */
static int vc_lua_qmp_execute(lua_State *L)
{
    qmp_ud_t *u = check_open(L);
    const char *cmd = luaL_checkstring(L, 2);
    double timeout = luaL_optnumber(L, 4, 30);
    luaL_argcheck(L, timeout > 0, 4, "timeout must be positive");
    int fd = lua_isnoneornil(L, 5) ? -1 : check_fd(L, 5);
    vc_lua_check_task(L, "qmp:execute");
    vc_error_t err; /* not zeroed whole: a kilobyte on every command */
    err.code = 0;
    err.msg[0] = '\0';
    cJSON *args = NULL;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        args = vc_lua_to_json(L, 3, &err);
        if (!args) return vc_lua_raise(L, 2, "usage", "%s: %s", cmd, err.msg);
    }
    lua_settop(L, 2);
    op_t *op;
    qmp_wait_t *w = start_wait(L, &execute_ops, &op);
    if (vc_qmp_execute(u->q, cmd, args, fd, timeout, on_reply, op, &err)) {
        free(op);
        vc_lua_wait_abort(w);
        return vc_lua_raise(L, 2, vc_error_kind(err.code), "%s", err.msg);
    }
    return vc_lua_wait_yield(L, w);
}

/* qmp:on_event(fn): fn(name, data, timestamp) for every event */
static int vc_lua_qmp_on_event(lua_State *L)
{
    qmp_ud_t *u = check_open(L);
    if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    luaL_unref(L, LUA_REGISTRYINDEX, u->handler_ref);
    lua_settop(L, 2);
    u->handler_ref = lua_isnil(L, 2) ? LUA_NOREF : luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* qmp:version() -> {major=, minor=, micro=, package=} */
static int vc_lua_qmp_version(lua_State *L)
{
    qmp_ud_t *u = check_open(L);
    const vc_qmp_version_t *v = vc_qmp_version(u->q);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, v->major);
    lua_setfield(L, -2, "major");
    lua_pushinteger(L, v->minor);
    lua_setfield(L, -2, "minor");
    lua_pushinteger(L, v->micro);
    lua_setfield(L, -2, "micro");
    lua_pushstring(L, v->package);
    lua_setfield(L, -2, "package");
    return 1;
}

/* qmp:close(): pending commands fail with a "disconnected" error.
 * Shared by __gc and __close; idempotent. */
static int vc_lua_qmp_close(lua_State *L)
{
    qmp_ud_t *u = luaL_checkudata(L, 1, QMP_MT);
    if (u->q) {
        vc_qmp_close(u->q);
        u->q = NULL;
    }
    luaL_unref(L, LUA_REGISTRYINDEX, u->handler_ref);
    u->handler_ref = LUA_NOREF;
    return 0;
}

void vc_lua_open_qmp(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"execute", vc_lua_qmp_execute},
        {"on_event", vc_lua_qmp_on_event},
        {"version", vc_lua_qmp_version},
        {"close", vc_lua_qmp_close},
        {NULL, NULL},
    };
    vc_lua_new_class(L, QMP_MT, methods, vc_lua_qmp_close);
    lua_pushcfunction(L, vc_lua_core_qmp_connect);
    lua_setfield(L, -2, "qmp_connect");
}
