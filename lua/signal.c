/* vclaunch.core signal watchers: core.on_signal("INT", fn) calls fn(signum)
 * from the loop each time the process receives the signal. A watcher does
 * not keep the loop running; watcher:close() stops it, and so do collection
 * and leaving a `local w <close>` scope. The handle is allocated apart from the userdata and freed
 * in its close callback. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "vc_lua.h"

#define SIGNAL_MT "vclaunch.Signal"

typedef struct sig_handle {
    uv_signal_t h;
    lua_State *main;
    int fn_ref;
} sig_handle_t;

typedef struct sig_ud {
    sig_handle_t *s; /* NULL once closed */
} sig_ud_t;

static const struct {
    const char *name;
    int signum;
} signals[] = {{"INT", SIGINT},   {"TERM", SIGTERM}, {"HUP", SIGHUP},
               {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};

static void on_signal(uv_signal_t *h, int signum)
{
    sig_handle_t *s = h->data;
    lua_State *L = s->main;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->fn_ref);
    lua_pushinteger(L, signum);
    vc_lua_call_handler(L, 1, "signal handler");
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void close_watcher(lua_State *L, sig_ud_t *u)
{
    if (!u->s) return;
    uv_signal_stop(&u->s->h);
    luaL_unref(L, LUA_REGISTRYINDEX, u->s->fn_ref);
    uv_close((uv_handle_t *)&u->s->h, on_closed);
    u->s = NULL;
}

static int vc_lua_signal_close(lua_State *L)
{
    close_watcher(L, luaL_checkudata(L, 1, SIGNAL_MT));
    return 0;
}

/* core.on_signal(name_or_number, fn) -> watcher */
static int vc_lua_core_on_signal(lua_State *L)
{
    int signum = 0;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        signum = (int)luaL_checkinteger(L, 1);
    } else {
        const char *name = luaL_checkstring(L, 1);
        if (!strncmp(name, "SIG", 3)) name += 3;
        for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
            if (!strcmp(signals[i].name, name)) signum = signals[i].signum;
        if (!signum)
            return vc_lua_raise(L, 1, "usage", "on_signal: unknown signal '%s'",
                                lua_tostring(L, 1));
    }
    luaL_checktype(L, 2, LUA_TFUNCTION);
    uv_loop_t *loop = vc_lua_loop(L);
    sig_ud_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->s = NULL;
    luaL_setmetatable(L, SIGNAL_MT);
    sig_handle_t *s = calloc(1, sizeof *s);
    if (!s) return vc_lua_raise(L, 1, "io", "on_signal: out of memory");
    if (uv_signal_init(loop, &s->h)) {
        free(s);
        return vc_lua_raise(L, 1, "io", "on_signal: cannot create a signal watcher");
    }
    s->h.data = s;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    s->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    lua_pushvalue(L, 2);
    s->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    u->s = s;
    int rc = uv_signal_start(&s->h, on_signal, signum);
    if (rc) {
        close_watcher(L, u);
        return vc_lua_raise(L, 1, "usage", "on_signal: signal %d: %s", signum, uv_strerror(rc));
    }
    uv_unref((uv_handle_t *)&s->h);
    return 1;
}

void vc_lua_open_signal(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"close", vc_lua_signal_close},
        {NULL, NULL},
    };
    vc_lua_new_class(L, SIGNAL_MT, methods, vc_lua_signal_close);
    lua_pushcfunction(L, vc_lua_core_on_signal);
    lua_setfield(L, -2, "on_signal");
}
