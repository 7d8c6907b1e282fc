/* embed-lua: a C program with its own Lua 5.4 state that opens vclaunch.core
 * from libvclaunch-lua, with no core.so on LUA_CPATH and no dlopen.
 *
 *   cc -o embed-lua embed-lua.c $(pkg-config --cflags --libs vclaunch-lua)
 *   ./embed-lua
 *
 * The opener is registered in package.preload, so the chunk's
 * `require "vclaunch.core"` finds it in this program. The chunk runs three
 * tasks on vclaunch's loop: two that sleep, and one that waits for both. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

#include <vclaunch/lua.h>

static const char chunk[] =
    "local core = require 'vclaunch.core'\n"
    "local function worker(name, ms)\n"
    "  local t0 = core.now()\n"
    "  core.sleep(ms / 1000)\n"
    "  return name, core.now() - t0\n"
    "end\n"
    "local main = core.spawn(function()\n"
    "  local slow = core.spawn(worker, 'slow', 30)\n"
    "  local quick = core.spawn(worker, 'quick', 10)\n"
    "  for _, t in ipairs{slow, quick} do\n"
    "    local name, took = t:wait(5)\n"
    "    print(('task %s slept %d ms'):format(name, math.floor(took * 1000 + 0.5)))\n"
    "  end\n"
    "end)\n"
    "core.run() -- until no task is left\n"
    "assert(main:status() == 'done', main:status())\n"
    "print('escaped for QEMU: ' .. core.escape('file=a,b'))\n";

/* Errors from the chunk come back with a traceback. */
static int traceback(lua_State *L)
{
    luaL_traceback(L, L, luaL_tolstring(L, 1, NULL), 1);
    return 1;
}

int main(void)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "embed-lua: cannot create a Lua state\n");
        return 1;
    }
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_vclaunch_core);
    lua_setfield(L, -2, "vclaunch.core");
    lua_pop(L, 1);

    lua_pushcfunction(L, traceback);
    int status = luaL_loadbuffer(L, chunk, sizeof chunk - 1, "=embed-lua");
    if (status == LUA_OK) status = lua_pcall(L, 0, 0, -2);
    if (status != LUA_OK) fprintf(stderr, "embed-lua: %s\n", lua_tostring(L, -1));
    /* Closes vclaunch's loop too, after every task and object made in L. */
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
