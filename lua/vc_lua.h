/* vclaunch Lua binding: internals shared by the binding's C files. */
#ifndef VC_LUA_H
#define VC_LUA_H

#include <lauxlib.h>
#include <lua.h>

#include "argv.h"
#include "error.h"

/* Pushes an error object: a table {kind = kind, message = msg} whose
 * metatable "vclaunch.Error" gives __tostring. */
void vc_lua_push_error(lua_State *L, const char *kind, const char *msg);
/* Sets field where of the error object on top of the stack to the position
 * of level (as in luaL_where, without the ": "); nothing when unknown. */
void vc_lua_set_where(lua_State *L, int level);
/* Raises an error object built from a core error; never returns. The
 * message is prefixed with the caller's position (level as in luaL_where). */
int vc_lua_raise(lua_State *L, int level, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Calls the function below nargs arguments on top of L's stack, protected
 * with a traceback handler; an error is reported on stderr naming what, and
 * the stack is left as it was before the function was pushed. For C ->
 * Lua calls from loop callbacks (event and output handlers). */
void vc_lua_call_handler(lua_State *L, int nargs, const char *what);
int vc_lua_raise_core(lua_State *L, int level, const vc_error_t *err);
/* Registers the metatable name: methods under __index and, when close is
 * given, close as __gc and __close (idempotent closers only). */
void vc_lua_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction close);
/* Copies the array of strings at idx into a; on a value that is not a
 * string, frees a and raises usage. */
void vc_lua_check_argv(lua_State *L, int idx, vc_argv_t *a);
/* Text from Lua for C, where a string ends at its first NUL byte: a Lua
 * string holding one would be cut short silently, so it is refused
 * (vc_lua_check_argv refuses it too: "argv[3] holds a NUL byte").
 * vc_lua_to_text returns the string at idx (a number is converted in place,
 * as lua_tolstring does) with its length in *len (len may be NULL), or NULL
 * when the value is neither or holds a NUL byte; it never raises, for
 * callers that hold resources and word the error themselves
 * (lua_type(L, idx) == LUA_TSTRING then means a NUL byte).
 * vc_lua_check_text returns the same or raises usage "<what> is not a
 * string" / "<what> holds a NUL byte" at level 2, as vc_lua_check_argv. */
const char *vc_lua_to_text(lua_State *L, int idx, size_t *len);
const char *vc_lua_check_text(lua_State *L, int idx, size_t *len, const char *what);

#include <cjson/cJSON.h>
#include <uv.h>

/* Pushes a JSON value as Lua: objects and arrays as tables, numbers that
 * are whole as integers. */
void vc_lua_push_json(lua_State *L, const cJSON *j);
/* The Lua value at idx as a new cJSON tree the caller owns: tables with
 * keys 1..n only are arrays, an empty table is an object. Returns NULL with
 * a message in err (a function, a string with a NUL byte, nesting too deep). */
cJSON *vc_lua_to_json(lua_State *L, int idx, vc_error_t *err);

/* The loop of this Lua state, created when vclaunch.core is opened; closed
 * at lua_close, after every object that uses it. */
uv_loop_t *vc_lua_loop(lua_State *L);
/* Raises usage unless L runs in a vclaunch task and may yield. */
void vc_lua_check_task(lua_State *L, const char *what);

/* One wait record serves every waiting call. The pattern:
 *   check the arguments (raising is still free of side effects);
 *   w = vc_lua_wait_new(L, &ops, sizeof *w, timeout);  (raises usage
 *       outside a task, before any side effect)
 *   start the operation with w (or a small op struct pointing at w); on a
 *       synchronous failure vc_lua_wait_abort(w) and raise;
 *   return vc_lua_wait_yield(L, w);
 * The operation stores its results as C data in the record and calls
 * vc_lua_wait_done(w) from the loop; that only queues the task. The task is
 * resumed from the loop's ready queue and ops->push converts the results
 * inside the coroutine. On timeout (timeout >= 0 seconds; < 0: none) or
 * cancel, ops->detach(w) is called first so the operation forgets w; the
 * record is freed by the runtime (ops->release frees what it holds). */
typedef struct task vc_lua_task_t;
typedef struct vc_lua_wait vc_lua_wait_t;
enum { VC_WAIT_PENDING, VC_WAIT_DONE, VC_WAIT_TIMEOUT };
typedef struct vc_lua_wait_ops {
    const char *what; /* the call, for messages: "qmp:execute" */
    /* Pushes the results and returns their count, or pushes an error
     * object and returns -1. w->state is VC_WAIT_DONE or VC_WAIT_TIMEOUT. */
    int (*push)(lua_State *L, vc_lua_wait_t *w);
    void (*detach)(vc_lua_wait_t *w);  /* may be NULL */
    void (*release)(vc_lua_wait_t *w); /* may be NULL */
} vc_lua_wait_ops_t;
struct vc_lua_wait {
    const vc_lua_wait_ops_t *ops;
    vc_lua_task_t *task;
    int state;
    double timeout;
};
void *vc_lua_wait_new(lua_State *L, const vc_lua_wait_ops_t *ops, size_t size, double timeout);
int vc_lua_wait_yield(lua_State *L, void *w);
void vc_lua_wait_done(void *w);
void vc_lua_wait_abort(void *w);

/* Adds process, getpid and kill to the module table on top of the stack. */
void vc_lua_open_proc(lua_State *L);
/* Adds listen, rundir, rundir_sweep, rundir_remove, rundir_list and
 * socket_path to the module table on top of the stack, and the control
 * sockets (vc_lua_open_ctl). */
void vc_lua_open_rundir(lua_State *L);
/* Adds ctl_listen and ctl_request to the module table on top of the stack. */
void vc_lua_open_ctl(lua_State *L);
/* Adds qmp_connect to the module table on top of the stack. */
void vc_lua_open_qmp(lua_State *L);
/* Adds spawn, sleep, cond, now, run, stop, in_task, check_task,
 * cancel_spawned, backend_fd and backend_timeout to the module table on
 * top of the stack. */
void vc_lua_open_task(lua_State *L);
/* Adds on_signal to the module table on top of the stack. */
void vc_lua_open_signal(lua_State *L);
/* Adds read_stdin (stdin to Lua, a terminal in raw mode) to the module table on top of
 * the stack. */
void vc_lua_open_term(lua_State *L);
/* Adds json_encode and json_decode to the module table on top of the stack. */
void vc_lua_open_json(lua_State *L);
/* Adds realtime, guess_handle, geteuid, mkdir_p and sd_notify to the
 * module table on top of the stack. */
void vc_lua_open_host(lua_State *L);

int luaopen_vclaunch_core(lua_State *L);

/* Lua modules embedded at build time by lua/embed.cmake (the CLI only). */
typedef struct vc_lua_embedded {
    const char *name;  /* module name for require */
    const char *chunk; /* chunk name for messages: "@lua/vclaunch/init.lua" */
    const char *data;
    size_t size;
} vc_lua_embedded_t;

#endif
