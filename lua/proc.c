/* vclaunch.core processes, seen from Lua. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "vc_lua.h"

#define PROC_MT "vclaunch.Process"

typedef struct proc_ud {
    vc_proc_t *p; /* NULL once closed */
    lua_State *main;
    int line_ref; /* function(stream, line) or LUA_NOREF */
    int exited, status, sig;
    vc_lua_task_t **waiters; /* tasks blocked in wait() */
    size_t nwaiters;
} proc_ud_t;

static void on_line(vc_proc_t *p, int stream, const char *line, size_t len, void *ud)
{
    proc_ud_t *u = ud;
    (void)p;
    if (u->line_ref == LUA_NOREF) return;
    lua_State *L = u->main;
    lua_rawgeti(L, LUA_REGISTRYINDEX, u->line_ref);
    lua_pushstring(L, stream == VC_PROC_STDOUT ? "stdout" : "stderr");
    lua_pushlstring(L, line, len);
    vc_lua_call_handler(L, 2, "output handler");
}

static void push_status(lua_State *L, const proc_ud_t *u)
{
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, u->sig ? u->sig : u->status);
    lua_setfield(L, -2, u->sig ? "signal" : "code");
}

static void on_exit_cb(vc_proc_t *p, int status, int sig, void *ud)
{
    proc_ud_t *u = ud;
    (void)p;
    u->exited = 1, u->status = status, u->sig = sig;
    vc_lua_task_t **w = u->waiters;
    size_t n = u->nwaiters;
    u->waiters = NULL, u->nwaiters = 0;
    for (size_t i = 0; i < n; i++) {
        lua_State *co = vc_lua_task_thread(w[i]);
        push_status(co, u);
        vc_lua_task_resume(w[i], 1);
    }
    free(w);
}

/* core.process{argv = {...}, fds = {n, ...}, log = path, on_line = fn} */
static int vc_lua_core_process(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int fds[64], nfds = 0;
    if (lua_getfield(L, 1, "fds") == LUA_TTABLE) {
        nfds = (int)luaL_len(L, -1);
        luaL_argcheck(L, nfds <= 64, 1, "at most 64 fds");
        for (int i = 1; i <= nfds; i++) {
            lua_rawgeti(L, -1, i);
            fds[i - 1] = (int)luaL_checkinteger(L, -1);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    const char *log = (lua_getfield(L, 1, "log"), lua_tostring(L, -1)); /* stays on the stack */
    lua_getfield(L, 1, "argv");
    luaL_argcheck(L, lua_istable(L, -1), 1, "argv must be an array of strings");
    luaL_argcheck(L, luaL_len(L, -1) > 0, 1, "argv is empty");
    int argv_idx = lua_gettop(L);
    proc_ud_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    *u = (proc_ud_t){.line_ref = LUA_NOREF};
    luaL_setmetatable(L, PROC_MT);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    u->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "on_line") == LUA_TFUNCTION)
        u->line_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else
        lua_pop(L, 1);
    /* nothing below raises until the copy is freed */
    vc_argv_t a = VC_ARGV_INIT;
    vc_lua_check_argv(L, argv_idx, &a);
    vc_proc_options_t o = {
        .argv = (const char *const *)a.v, .fds = fds, .nfds = nfds, .log_path = log};
    vc_error_t err = {0};
    int rc = vc_proc_spawn(vc_lua_loop(L), &o, on_line, on_exit_cb, u, &u->p, &err);
    vc_argv_free(&a);
    if (rc) {
        u->p = NULL;
        return vc_lua_raise_core(L, 1, &err);
    }
    return 1;
}

static proc_ud_t *check_proc(lua_State *L)
{
    proc_ud_t *u = luaL_checkudata(L, 1, PROC_MT);
    if (!u->p) vc_lua_raise(L, 2, "usage", "process object is closed");
    return u;
}

static int wait_cont(lua_State *L, int status, lua_KContext ctx)
{
    (void)L, (void)status, (void)ctx;
    return 1; /* the status table pushed by on_exit_cb */
}

/* proc:wait() -> {code = n} or {signal = n}, after exit and EOF on output */
static int vc_lua_proc_wait(lua_State *L)
{
    proc_ud_t *u = check_proc(L);
    if (u->exited) {
        push_status(L, u);
        return 1;
    }
    vc_lua_check_task(L, "process:wait");
    vc_lua_task_t **w = realloc(u->waiters, sizeof *w * (u->nwaiters + 1));
    if (!w) return vc_lua_raise(L, 1, "io", "out of memory");
    u->waiters = w;
    w[u->nwaiters++] = vc_lua_current_task(L);
    return lua_yieldk(L, 0, 0, wait_cont);
}

static int vc_lua_proc_kill(lua_State *L)
{
    proc_ud_t *u = check_proc(L);
    int rc = vc_proc_kill(u->p, (int)luaL_optinteger(L, 2, SIGTERM));
    lua_pushboolean(L, rc == 0);
    return 1;
}

static int vc_lua_proc_terminate(lua_State *L)
{
    proc_ud_t *u = check_proc(L);
    int rc = vc_proc_terminate(u->p, luaL_optnumber(L, 2, 5));
    lua_pushboolean(L, rc == 0);
    return 1;
}

static int vc_lua_proc_pid(lua_State *L)
{
    lua_pushinteger(L, vc_proc_pid(check_proc(L)->p));
    return 1;
}

static int vc_lua_proc_stderr_tail(lua_State *L)
{
    char buf[8192];
    vc_proc_stderr_tail(check_proc(L)->p, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

/* Shared by close, __gc and __close: a running child is SIGKILLed and
 * reaped; tasks still waiting get {signal = 9}. Idempotent. */
static int vc_lua_proc_close(lua_State *L)
{
    proc_ud_t *u = luaL_checkudata(L, 1, PROC_MT);
    if (u->p) {
        vc_proc_close(u->p);
        u->p = NULL;
        if (!u->exited) on_exit_cb(NULL, -1, SIGKILL, u);
    }
    free(u->waiters);
    u->waiters = NULL;
    u->nwaiters = 0;
    luaL_unref(L, LUA_REGISTRYINDEX, u->line_ref);
    u->line_ref = LUA_NOREF;
    return 0;
}

void vc_lua_open_proc(lua_State *L)
{
    static const luaL_Reg proc_methods[] = {
        {"wait", vc_lua_proc_wait},
        {"kill", vc_lua_proc_kill},
        {"terminate", vc_lua_proc_terminate},
        {"pid", vc_lua_proc_pid},
        {"stderr_tail", vc_lua_proc_stderr_tail},
        {"close", vc_lua_proc_close},
        {NULL, NULL},
    };
    vc_lua_new_class(L, PROC_MT, proc_methods, vc_lua_proc_close);
    lua_pushcfunction(L, vc_lua_core_process);
    lua_setfield(L, -2, "process");
}
