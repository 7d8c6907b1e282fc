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

#include <uv.h>

/* The loop of this Lua state, created on first use; closed at lua_close. */
uv_loop_t *vc_lua_loop(lua_State *L);
/* Raises usage unless L runs in a vclaunch task and may yield. */
void vc_lua_check_task(lua_State *L, const char *what);
/* The pattern of a waiting call: vc_lua_check_task, remember
 * vc_lua_current_task(L) in the operation, start it, lua_yieldk. The
 * operation's callback pushes its results onto vc_lua_task_thread(t) and
 * calls vc_lua_task_resume(t, nresults) exactly once. */
typedef struct task vc_lua_task_t;
vc_lua_task_t *vc_lua_current_task(lua_State *L);
lua_State *vc_lua_task_thread(vc_lua_task_t *t);
void vc_lua_task_resume(vc_lua_task_t *t, int nargs);

/* Adds process to the module table on top of the stack. */
void vc_lua_open_proc(lua_State *L);
/* Adds listen, rundir, rundir_sweep, rundir_remove and socket_path to the
 * module table on top of the stack. */
void vc_lua_open_rundir(lua_State *L);
/* Adds qmp_connect to the module table on top of the stack. */
void vc_lua_open_qmp(lua_State *L);
/* Adds spawn, sleep, cond, now, run and stop to the module table on top of
 * the stack. */
void vc_lua_open_task(lua_State *L);
/* Adds on_signal to the module table on top of the stack. */
void vc_lua_open_signal(lua_State *L);

int luaopen_vclaunch_core(lua_State *L);

/* Lua modules embedded at build time by lua/embed.cmake (the CLI only). */
typedef struct vc_lua_embedded {
    const char *name;  /* module name for require */
    const char *chunk; /* chunk name for messages: "@lua/vclaunch/init.lua" */
    const char *data;
    size_t size;
} vc_lua_embedded_t;

#endif
