/* vclaunch.core runtime directories and listening sockets, seen from Lua. */
#include <unistd.h>

#include "rundir.h"
#include "vc_lua.h"

#define SOCKET_MT "vclaunch.ListenSocket"

typedef struct sock_ud {
    int fd;
} sock_ud_t;

/* core.listen(path) -> ListenSocket (fd handed to QEMU with fd=N) */
static int vc_lua_core_listen(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    sock_ud_t *s = lua_newuserdatauv(L, sizeof *s, 0);
    s->fd = -1;
    luaL_setmetatable(L, SOCKET_MT);
    vc_error_t err = {0};
    if (vc_socket_listen(path, &s->fd, &err)) return vc_lua_raise_core(L, 1, &err);
    return 1;
}

static int vc_lua_socket_fileno(lua_State *L)
{
    sock_ud_t *s = luaL_checkudata(L, 1, SOCKET_MT);
    if (s->fd < 0) return vc_lua_raise(L, 2, "usage", "socket is closed");
    lua_pushinteger(L, s->fd);
    return 1;
}

static int vc_lua_socket_close(lua_State *L)
{
    sock_ud_t *s = luaL_checkudata(L, 1, SOCKET_MT);
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    return 0;
}

/* core.rundir(name, base_override) -> path of a new private directory */
static int vc_lua_core_rundir(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *override = luaL_optstring(L, 2, NULL);
    char base[4096], dir[4096];
    vc_error_t err = {0};
    if (vc_rundir_base(override, base, sizeof base, &err) ||
        vc_rundir_create(base, name, dir, sizeof dir, &err))
        return vc_lua_raise_core(L, 1, &err);
    lua_pushstring(L, dir);
    return 1;
}

/* core.rundir_sweep(base_override) -> how many stale VM directories went */
static int vc_lua_core_rundir_sweep(lua_State *L)
{
    const char *override = luaL_optstring(L, 1, NULL);
    char base[4096];
    vc_error_t err = {0};
    int removed = 0;
    if (vc_rundir_base(override, base, sizeof base, &err) || vc_rundir_sweep(base, &removed, &err))
        return vc_lua_raise_core(L, 1, &err);
    lua_pushinteger(L, removed);
    return 1;
}

/* core.rundir_remove(path) */
static int vc_lua_core_rundir_remove(lua_State *L)
{
    vc_error_t err = {0};
    if (vc_rundir_remove(luaL_checkstring(L, 1), &err)) return vc_lua_raise_core(L, 1, &err);
    return 0;
}

/* core.socket_path(dir, file) -> path; raises when over the 108-byte limit */
static int vc_lua_core_socket_path(lua_State *L)
{
    char out[4096];
    vc_error_t err = {0};
    if (vc_rundir_socket_path(luaL_checkstring(L, 1), luaL_checkstring(L, 2), out, sizeof out,
                              &err))
        return vc_lua_raise(L, 2, "usage", "%s", err.msg);
    lua_pushstring(L, out);
    return 1;
}

void vc_lua_open_rundir(lua_State *L)
{
    static const luaL_Reg socket_methods[] = {
        {"fileno", vc_lua_socket_fileno},
        {"close", vc_lua_socket_close},
        {NULL, NULL},
    };
    vc_lua_new_class(L, SOCKET_MT, socket_methods, vc_lua_socket_close);
    static const luaL_Reg fns[] = {
        {"listen", vc_lua_core_listen},
        {"rundir", vc_lua_core_rundir},
        {"rundir_sweep", vc_lua_core_rundir_sweep},
        {"rundir_remove", vc_lua_core_rundir_remove},
        {"socket_path", vc_lua_core_socket_path},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
