/* vclaunch.core runtime directories and listening sockets, seen from Lua. */
#include <unistd.h>

#include "rundir.h"
#include "vc_lua.h"

#define SOCKET_MT "vclaunch.ListenSocket"
#define OWNER_MT "vclaunch.RundirOwner"
/* Registry table: directory path -> the OWNER_MT userdata holding its lock. */
#define OWNERS_KEY "vclaunch.rundir_owners"

typedef struct sock_ud {
    int fd;
} sock_ud_t;

/* A path argument cut short at a NUL byte would name another file (and
 * rundir_remove would remove another directory), so it is refused. */
static const char *opt_text(lua_State *L, int idx, const char *what)
{
    return lua_isnoneornil(L, idx) ? NULL : vc_lua_check_text(L, idx, NULL, what);
}

/* core.listen(path) -> ListenSocket (fd handed to QEMU with fd=N) */
static int vc_lua_core_listen(lua_State *L)
{
    const char *path = vc_lua_check_text(L, 1, NULL, "socket path");
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

/* The owner lock of a runtime directory. Lua never sees it: it sits in
 * the OWNERS_KEY table under the directory's path, so core.rundir can keep
 * returning a plain path, and core.rundir_remove closes it once the
 * directory is gone. A lock still held at lua_close is closed by __gc, and
 * the next sweep may then remove its directory. */
typedef struct owner_ud {
    int fd;
} owner_ud_t;

static int vc_lua_owner_close(lua_State *L)
{
    owner_ud_t *o = luaL_checkudata(L, 1, OWNER_MT);
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    return 0;
}

/* Pushes the OWNERS_KEY table, made on first use. */
static void push_owners(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, OWNERS_KEY) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, OWNERS_KEY);
}

/* core.rundir(name, base_override) -> path of a new private directory */
static int vc_lua_core_rundir(lua_State *L)
{
    const char *name = vc_lua_check_text(L, 1, NULL, "VM name");
    const char *override = opt_text(L, 2, "runtime dir");
    char base[4096], dir[4096];
    vc_error_t err = {0};
    push_owners(L);
    /* made before the lock exists, so that no later error can leak its fd */
    owner_ud_t *o = lua_newuserdatauv(L, sizeof *o, 0);
    o->fd = -1;
    luaL_setmetatable(L, OWNER_MT);
    if (vc_rundir_base(override, base, sizeof base, &err) ||
        vc_rundir_create(base, name, dir, sizeof dir, &o->fd, &err))
        return vc_lua_raise_core(L, 1, &err);
    lua_setfield(L, -2, dir);
    lua_pushstring(L, dir);
    return 1;
}

/* core.rundir_sweep(base_override) -> how many stale VM directories went */
static int vc_lua_core_rundir_sweep(lua_State *L)
{
    const char *override = opt_text(L, 1, "runtime dir");
    char base[4096];
    vc_error_t err = {0};
    int removed = 0;
    if (vc_rundir_base(override, base, sizeof base, &err) || vc_rundir_sweep(base, &removed, &err))
        return vc_lua_raise_core(L, 1, &err);
    lua_pushinteger(L, removed);
    return 1;
}

/* core.rundir_remove(path): removes the directory, then lets go of its
 * owner lock when core.rundir made it here. The lock goes even when the
 * removal fails: we are done with the directory, and the next sweep is
 * then free to finish the job. */
static int vc_lua_core_rundir_remove(lua_State *L)
{
    const char *dir = vc_lua_check_text(L, 1, NULL, "run directory");
    vc_error_t err = {0};
    int rc = vc_rundir_remove(dir, &err);
    push_owners(L);
    if (lua_getfield(L, -1, dir) == LUA_TUSERDATA) {
        owner_ud_t *o = luaL_checkudata(L, -1, OWNER_MT);
        if (o->fd >= 0) close(o->fd);
        o->fd = -1;
        lua_pushnil(L);
        lua_setfield(L, -3, dir);
    }
    if (rc) return vc_lua_raise_core(L, 1, &err);
    return 0;
}

static int add_entry(const char *dir, int owned, void *ud)
{
    lua_State *L = ud;
    lua_createtable(L, 0, 2);
    lua_pushstring(L, dir);
    lua_setfield(L, -2, "path");
    lua_pushboolean(L, owned);
    lua_setfield(L, -2, "owned");
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

/* core.rundir_list(base_override) -> {{path =, owned = bool}, ...}, the VM
 * directories under the runtime dir (in no order); owned is false for a
 * directory whose vclaunch is gone. Also -> the base directory. */
static int vc_lua_core_rundir_list(lua_State *L)
{
    const char *override = opt_text(L, 1, "runtime dir");
    char base[4096];
    vc_error_t err = {0};
    if (vc_rundir_base(override, base, sizeof base, &err)) return vc_lua_raise_core(L, 1, &err);
    lua_newtable(L);
    luaL_checkstack(L, 4, NULL);
    if (vc_rundir_list(base, add_entry, L, &err)) return vc_lua_raise_core(L, 1, &err);
    lua_pushstring(L, base);
    return 2;
}

/* core.socket_path(dir, file) -> path; raises when over the 108-byte limit */
static int vc_lua_core_socket_path(lua_State *L)
{
    char out[4096];
    vc_error_t err = {0};
    const char *dir = vc_lua_check_text(L, 1, NULL, "dir");
    const char *file = vc_lua_check_text(L, 2, NULL, "file");
    if (vc_rundir_socket_path(dir, file, out, sizeof out, &err))
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
    static const luaL_Reg owner_methods[] = {{NULL, NULL}};
    vc_lua_new_class(L, OWNER_MT, owner_methods, vc_lua_owner_close);
    static const luaL_Reg fns[] = {
        {"listen", vc_lua_core_listen},
        {"rundir", vc_lua_core_rundir},
        {"rundir_sweep", vc_lua_core_rundir_sweep},
        {"rundir_remove", vc_lua_core_rundir_remove},
        {"rundir_list", vc_lua_core_rundir_list},
        {"socket_path", vc_lua_core_socket_path},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
    vc_lua_open_ctl(L); /* control sockets in the runtime dirs (lua/ctl.c) */
}
