/* vclaunch: the vclaunch.core Lua module, for C programs that embed Lua 5.4.
 * Installed as <vclaunch/lua.h>; link with libvclaunch-lua
 * (pkg-config vclaunch-lua).
 *
 * luaopen_vclaunch_core is the module's opener, a lua_CFunction. A host
 * registers it as package.preload["vclaunch.core"] (or opens it with
 * luaL_requiref) so that `require "vclaunch.core"` needs no core.so on
 * LUA_CPATH. The Lua face (`require "vclaunch"`) is plain Lua installed
 * under <prefix>/share/lua/5.4; a host that wants it puts that directory
 * on package.path.
 *
 * Opening the module gives the lua_State its own libuv loop and task
 * runtime; they belong to that state and are released by lua_close, after
 * every task, process and QMP session made through it: a QEMU still running
 * is killed and reaped, a VM of the Lua face removes its runtime dir, and a
 * dir made with core.rundir loses its owner lock (the next sweep removes
 * it). Use a state and everything made from it from one thread. Opening
 * it also ignores SIGPIPE when the host left it at its default, so that a
 * write to a dead QEMU's socket fails with EPIPE instead of ending the
 * host.
 *
 * Nothing here blocks but the Lua calls that drive the loop: core.run()
 * runs it until no task is left; core.run("nowait") with core.backend_fd()
 * and core.backend_timeout() lets a host drive it from its own loop. */
#ifndef VCLAUNCH_LUA_H
#define VCLAUNCH_LUA_H

#include <lua.h>

/* Pushes the module table of vclaunch.core and returns 1. */
int luaopen_vclaunch_core(lua_State *L);

#endif
