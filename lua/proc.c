/* vclaunch.core processes, seen from Lua. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "vc_lua.h"

#define PROC_MT "vclaunch.Process"

typedef struct proc_wait proc_wait_t;

typedef struct proc_ud {
    vc_proc_t *p; /* NULL once closed (at exit, or by close/__gc) */
    lua_State *main;
    int line_ref;    /* function(stream, line) or LUA_NOREF */
    int partial_ref; /* function(stream, text) or LUA_NOREF */
    int exit_ref; /* function(status) or LUA_NOREF */
    pid_t pid;
    int exited, status, sig;
    char *tail;           /* the last stderr lines, kept at exit */
    proc_wait_t *waiters; /* tasks blocked in wait() */
} proc_ud_t;

struct proc_wait {
    vc_lua_wait_t w; /* first */
    proc_ud_t *u;    /* NULL once detached */
    proc_wait_t *next;
};

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

static void on_partial(vc_proc_t *p, int stream, const char *text, size_t len, void *ud)
{
    proc_ud_t *u = ud;
    (void)p;
    if (u->partial_ref == LUA_NOREF) return;
    lua_State *L = u->main;
    lua_rawgeti(L, LUA_REGISTRYINDEX, u->partial_ref);
    lua_pushstring(L, stream == VC_PROC_STDOUT ? "stdout" : "stderr");
    lua_pushlstring(L, text, len);
    vc_lua_call_handler(L, 2, "output handler");
}

static void push_status(lua_State *L, const proc_ud_t *u)
{
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, u->sig ? u->sig : u->status);
    lua_setfield(L, -2, u->sig ? "signal" : "code");
}

/* The end of the child: waiters are queued, and the handlers are released
 * so that nothing the recipe holds stays pinned by a finished process. */
static void ended(proc_ud_t *u, int status, int sig)
{
    u->exited = 1, u->status = status, u->sig = sig;
    for (proc_wait_t *w = u->waiters; w; w = w->next) {
        w->u = NULL;
        vc_lua_wait_done(w);
    }
    u->waiters = NULL;
    luaL_unref(u->main, LUA_REGISTRYINDEX, u->line_ref);
    luaL_unref(u->main, LUA_REGISTRYINDEX, u->partial_ref);
    u->line_ref = u->partial_ref = LUA_NOREF;
}

static void release(proc_ud_t *u)
{
    if (!u->p) return;
    free(u->tail);
    char buf[8192];
    vc_proc_stderr_tail(u->p, buf, sizeof buf);
    u->tail = strdup(buf);
    vc_proc_close(u->p); /* frees the pidfd and pipes now, not at collection */
    u->p = NULL;
}

static void on_exit_cb(vc_proc_t *p, int status, int sig, void *ud)
{
    proc_ud_t *u = ud;
    (void)p;
    ended(u, status, sig);
    release(u);
    int ref = u->exit_ref;
    u->exit_ref = LUA_NOREF;
    if (ref != LUA_NOREF) {
        lua_State *L = u->main;
        lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        push_status(L, u);
        vc_lua_call_handler(L, 1, "exit handler");
    }
}

/* core.process{argv = {...}, fds = {n, ...}, log = path, stdin = true,
 * on_line = fn, on_partial = fn, on_exit = fn}: on_line(stream, line) for
 * each output line, on_partial(stream, text) for an unterminated last line
 * so far, on_exit(status) once after the exit (all called from the loop,
 * never inside a task). stdin: a pipe that proc:write feeds (else
 * /dev/null). */
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
    int line_t = lua_getfield(L, 1, "on_line");
    int exit_t = lua_getfield(L, 1, "on_exit");
    int partial_t = lua_getfield(L, 1, "on_partial");
    luaL_argcheck(L, line_t == LUA_TNIL || line_t == LUA_TFUNCTION, 1, "on_line must be a function");
    luaL_argcheck(L, exit_t == LUA_TNIL || exit_t == LUA_TFUNCTION, 1, "on_exit must be a function");
    luaL_argcheck(L, partial_t == LUA_TNIL || partial_t == LUA_TFUNCTION, 1,
                  "on_partial must be a function");
    int want_stdin = (lua_getfield(L, 1, "stdin"), lua_toboolean(L, -1));
    lua_pop(L, 4);
    proc_ud_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    *u = (proc_ud_t){.line_ref = LUA_NOREF, .partial_ref = LUA_NOREF, .exit_ref = LUA_NOREF};
    luaL_setmetatable(L, PROC_MT);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    u->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    /* nothing below raises until the copy is freed */
    vc_argv_t a = VC_ARGV_INIT;
    vc_lua_check_argv(L, argv_idx, &a);
    vc_proc_options_t o = {.argv = (const char *const *)a.v,
                           .fds = fds,
                           .nfds = nfds,
                           .log_path = log,
                           .stdin_pipe = want_stdin,
                           .partial_cb = partial_t == LUA_TFUNCTION ? on_partial : NULL};
    vc_error_t err = {0};
    int rc = vc_proc_spawn(vc_lua_loop(L), &o, on_line, on_exit_cb, u, &u->p, &err);
    vc_argv_free(&a);
    if (rc) {
        u->p = NULL;
        return vc_lua_raise_core(L, 1, &err);
    }
    u->pid = vc_proc_pid(u->p);
    if (line_t == LUA_TFUNCTION) {
        lua_getfield(L, 1, "on_line");
        u->line_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    if (exit_t == LUA_TFUNCTION) {
        lua_getfield(L, 1, "on_exit");
        u->exit_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    if (partial_t == LUA_TFUNCTION) {
        lua_getfield(L, 1, "on_partial");
        u->partial_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    return 1;
}

static proc_ud_t *check_proc(lua_State *L)
{
    return luaL_checkudata(L, 1, PROC_MT);
}

static void proc_wait_detach(vc_lua_wait_t *base)
{
    proc_wait_t *w = (proc_wait_t *)base;
    if (!w->u) return;
    for (proc_wait_t **p = &w->u->waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    w->u = NULL;
}

static int proc_wait_push(lua_State *L, vc_lua_wait_t *w)
{
    if (w->state == VC_WAIT_TIMEOUT) {
        char msg[96];
        snprintf(msg, sizeof msg, "process:wait: the process did not exit within %gs", w->timeout);
        vc_lua_push_error(L, "timeout", msg);
        return -1;
    }
    push_status(L, check_proc(L)); /* the Process is still argument 1 */
    return 1;
}

static const vc_lua_wait_ops_t proc_wait_ops = {
    .what = "process:wait", .push = proc_wait_push, .detach = proc_wait_detach};

/* proc:wait([timeout]) -> {code = n} or {signal = n}, after exit and EOF
 * on its output */
static int vc_lua_proc_wait(lua_State *L)
{
    proc_ud_t *u = check_proc(L);
    double timeout = -1;
    if (!lua_isnoneornil(L, 2)) {
        timeout = luaL_checknumber(L, 2);
        luaL_argcheck(L, timeout >= 0, 2, "negative timeout");
    }
    lua_settop(L, 1);
    if (u->exited) {
        push_status(L, u);
        return 1;
    }
    if (!u->p) return vc_lua_raise(L, 1, "usage", "process object is closed");
    proc_wait_t *w = vc_lua_wait_new(L, &proc_wait_ops, sizeof *w, timeout);
    w->u = u;
    w->next = u->waiters;
    u->waiters = w;
    return vc_lua_wait_yield(L, w);
}

/* proc:kill([sig]) -> true, or false once the process has exited */
static int vc_lua_proc_kill(lua_State *L)
{
    proc_ud_t *u = check_proc(L);
    int rc = u->p ? vc_proc_kill(u->p, (int)luaL_optinteger(L, 2, SIGTERM)) : -1;
    lua_pushboolean(L, rc == 0);
    return 1;
}

static int vc_lua_proc_terminate(lua_State *L)
{
    proc_ud_t *u = check_proc(L);
    int rc = u->p ? vc_proc_terminate(u->p, luaL_optnumber(L, 2, 5)) : -1;
    lua_pushboolean(L, rc == 0);
    return 1;
}

/* proc:write(data): queues data for the process's stdin (stdin = true) */
static int vc_lua_proc_write(lua_State *L)
{
    proc_ud_t *u = check_proc(L);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    vc_error_t err = {0};
    if (!u->p) return vc_lua_raise(L, 1, "process", "process:write: the process has exited");
    if (vc_proc_write(u->p, data, len, &err)) return vc_lua_raise_core(L, 1, &err);
    return 0;
}

static int vc_lua_proc_pid(lua_State *L)
{
    lua_pushinteger(L, check_proc(L)->pid);
    return 1;
}

static int vc_lua_proc_stderr_tail(lua_State *L)
{
    proc_ud_t *u = check_proc(L);
    if (u->p) {
        char buf[8192];
        vc_proc_stderr_tail(u->p, buf, sizeof buf);
        lua_pushstring(L, buf);
    } else {
        lua_pushstring(L, u->tail ? u->tail : "");
    }
    return 1;
}

/* Shared by close, __gc and __close: a running child is SIGKILLed and
 * reaped; tasks still waiting get {signal = 9} (from the loop). No Lua
 * handler runs. Idempotent. */
static int vc_lua_proc_close(lua_State *L)
{
    proc_ud_t *u = luaL_checkudata(L, 1, PROC_MT);
    if (u->p && !u->exited) {
        vc_proc_close(u->p);
        u->p = NULL;
        ended(u, -1, SIGKILL);
    }
    release(u);
    luaL_unref(L, LUA_REGISTRYINDEX, u->line_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, u->exit_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, u->partial_ref);
    u->line_ref = u->exit_ref = u->partial_ref = LUA_NOREF;
    free(u->tail);
    u->tail = NULL;
    return 0;
}

/* core.getpid() -> this process's pid */
static int vc_lua_core_getpid(lua_State *L)
{
    lua_pushinteger(L, getpid());
    return 1;
}

/* core.kill(pid, signum) -> true, or false and the errno name ("ESRCH",
 * "EPERM"): a signal to a process vclaunch did not start (`vclaunch stop
 * --kill`); the caller has checked that pid is the process it means. */
static int vc_lua_core_kill(lua_State *L)
{
    lua_Integer pid = luaL_checkinteger(L, 1);
    lua_Integer sig = luaL_checkinteger(L, 2);
    luaL_argcheck(L, pid > 0 && pid <= INT32_MAX, 1, "not a process id");
    luaL_argcheck(L, sig >= 0 && sig < 65, 2, "not a signal number");
    if (kill((pid_t)pid, (int)sig) == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_pushstring(L, errno == ESRCH ? "ESRCH" : errno == EPERM ? "EPERM" : "EINVAL");
    return 2;
}

void vc_lua_open_proc(lua_State *L)
{
    static const luaL_Reg proc_methods[] = {
        {"wait", vc_lua_proc_wait},
        {"kill", vc_lua_proc_kill},
        {"write", vc_lua_proc_write},
        {"terminate", vc_lua_proc_terminate},
        {"pid", vc_lua_proc_pid},
        {"stderr_tail", vc_lua_proc_stderr_tail},
        {"close", vc_lua_proc_close},
        {NULL, NULL},
    };
    vc_lua_new_class(L, PROC_MT, proc_methods, vc_lua_proc_close);
    lua_pushcfunction(L, vc_lua_core_process);
    lua_setfield(L, -2, "process");
    lua_pushcfunction(L, vc_lua_core_getpid);
    lua_setfield(L, -2, "getpid");
    lua_pushcfunction(L, vc_lua_core_kill);
    lua_setfield(L, -2, "kill");
}
