/* vclaunch Lua binding: internals shared by the binding's C files. */
#ifndef VC_LUA_H
#define VC_LUA_H

#include <lauxlib.h>
#include <lua.h>

#include "error.h"

/* Pushes an error object: a table {kind = kind, message = msg} whose
 * metatable "vclaunch.Error" gives __tostring. */
void vc_lua_push_error(lua_State *L, const char *kind, const char *msg);
/* Raises an error object built from a core error; never returns. The
 * message is prefixed with the caller's position (level as in luaL_where). */
int vc_lua_raise(lua_State *L, int level, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int vc_lua_raise_core(lua_State *L, int level, const vc_error_t *err);

int luaopen_vclaunch_core(lua_State *L);

#endif
