/* vclaunch: the CLI. Sets up a Lua state with vclaunch.core and the
 * embedded modules preloaded, and hands over to vclaunch.cli. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

#include "vc_lua.h"

extern const vc_lua_embedded_t vc_lua_embedded[];

static int load_embedded(lua_State *L)
{
    const vc_lua_embedded_t *m = lua_touserdata(L, lua_upvalueindex(1));
    if (luaL_loadbuffer(L, m->data, m->size, m->chunk) != LUA_OK) return lua_error(L);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

static int msghandler(lua_State *L)
{
    lua_getglobal(L, "VCLAUNCH_DEBUG");
    int debug = lua_toboolean(L, -1);
    lua_pop(L, 1);
    const char *msg = luaL_tolstring(L, 1, NULL);
    if (debug) luaL_traceback(L, L, msg, 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "vclaunch: cannot create a Lua state\n");
        return 1;
    }
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_vclaunch_core);
    lua_setfield(L, -2, "vclaunch.core");
    for (const vc_lua_embedded_t *m = vc_lua_embedded; m->name; m++) {
        lua_pushlightuserdata(L, (void *)m);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, msghandler);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "vclaunch.cli");
    int status = lua_pcall(L, 1, 1, 1);
    int code = 1;
    if (status == LUA_OK) {
        lua_getfield(L, -1, "main");
        lua_createtable(L, argc, 0);
        for (int i = 1; i < argc; i++) {
            lua_pushstring(L, argv[i]);
            lua_rawseti(L, -2, i);
        }
        lua_pushstring(L, VC_VERSION);
        status = lua_pcall(L, 2, 1, 1);
        if (status == LUA_OK) code = (int)lua_tointeger(L, -1);
    }
    if (status != LUA_OK) fprintf(stderr, "vclaunch: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return code;
}
