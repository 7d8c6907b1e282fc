/* vclaunch.core tasks: coroutines driven by the libuv loop.
 *
 * A task is a coroutine registered in the "vclaunch.tasks" registry table
 * (thread -> Task userdata). Waiting calls are yielding C functions: they
 * check that they run in a task, start a libuv operation whose handle is
 * allocated apart from any userdata, and yield; the operation's callback
 * pushes results onto the coroutine's stack and resumes it. From spawn
 * until it ends, a task's coroutine and userdata are pinned by registry
 * refs, released in finish() only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "vc_lua.h"

#define TASK_MT "vclaunch.Task"
#define TASKS_KEY "vclaunch.tasks"
#define LOOP_KEY "vclaunch.loop"

enum { T_NEW, T_RUNNING, T_OK, T_ERROR };

typedef struct task {
    lua_State *main; /* the main thread: never inside a coroutine */
    lua_State *co;
    int co_ref, self_ref, result_ref, waiters_ref;
    int status;
    int observed; /* someone took the result with task:wait() */
} task_t;

typedef struct loop_box {
    uv_loop_t *loop;
} loop_box_t;

/* The head of every timer operation of this file (sleeps, cond waits): a
 * malloc'd block whose first member is the timer, tagged so that a loop
 * closed under a waiting task frees it too. */
static const char timer_op_tag;
typedef struct timer_op {
    uv_timer_t timer; /* timer.data points at the op itself */
    const void *tag;  /* &timer_op_tag */
} timer_op_t;

static void on_timer_op_closed(uv_handle_t *h)
{
    free(h->data);
}

static void timer_op_init(uv_loop_t *loop, timer_op_t *op)
{
    uv_timer_init(loop, &op->timer);
    op->timer.data = op;
    op->tag = &timer_op_tag;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h)) return;
    int ours = h->type == UV_TIMER && h->data == (void *)h &&
               ((const timer_op_t *)h)->tag == &timer_op_tag;
    uv_close(h, ours ? on_timer_op_closed : NULL);
}

static int loop_gc(lua_State *L)
{
    loop_box_t *b = lua_touserdata(L, 1);
    if (!b->loop) return 0;
    uv_walk(b->loop, close_walk, NULL);
    uv_run(b->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(b->loop) != 0)
        fprintf(stderr, "vclaunch: the event loop still had handles open at exit\n");
    free(b->loop);
    b->loop = NULL;
    return 0;
}

uv_loop_t *vc_lua_loop(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, LOOP_KEY) == LUA_TUSERDATA) {
        loop_box_t *b = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return b->loop;
    }
    lua_pop(L, 1);
    loop_box_t *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->loop = malloc(sizeof *b->loop);
    if (!b->loop || uv_loop_init(b->loop)) {
        free(b->loop);
        b->loop = NULL;
        luaL_error(L, "cannot create the event loop");
    }
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, loop_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, LOOP_KEY);
    return b->loop;
}

/* Pushes the Task of thread co (or nil); returns it or NULL. */
static task_t *task_of(lua_State *L, lua_State *co)
{
    lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    if (!lua_pushthread(co) || co != L) lua_xmove(co, L, 1);
    lua_rawget(L, -2);
    task_t *t = luaL_testudata(L, -1, TASK_MT);
    lua_pop(L, 2);
    return t;
}

void vc_lua_check_task(lua_State *L, const char *what)
{
    if (!lua_isyieldable(L) || !task_of(L, L))
        vc_lua_raise(L, 2, "usage", "%s waits, so it must run in a vclaunch task (vclaunch.spawn)",
                     what);
}

static void resume(task_t *t, int nargs);

static void finish(task_t *t, int ok)
{
    lua_State *M = t->main;
    if (ok) {
        int n = lua_gettop(t->co);
        lua_createtable(M, n, 1);
        lua_pushinteger(M, n);
        lua_setfield(M, -2, "n");
        lua_xmove(t->co, M, n);
        for (int i = n; i >= 1; i--)
            lua_rawseti(M, -(i + 1), i);
    } else {
        lua_xmove(t->co, M, 1);
    }
    t->result_ref = luaL_ref(M, LUA_REGISTRYINDEX);
    t->status = ok ? T_OK : T_ERROR;
    /* Wake the tasks blocked in task:wait(); they read the result. */
    lua_rawgeti(M, LUA_REGISTRYINDEX, t->waiters_ref);
    int nw = (int)luaL_len(M, -1);
    for (int i = 1; i <= nw; i++) {
        lua_rawgeti(M, -1, i);
        task_t *w = luaL_testudata(M, -1, TASK_MT);
        lua_pop(M, 1);
        if (w && w->status == T_RUNNING) {
            t->observed = 1;
            resume(w, 0);
        }
    }
    lua_pop(M, 1);
    if (!ok && !t->observed) {
        lua_rawgeti(M, LUA_REGISTRYINDEX, t->result_ref);
        fprintf(stderr, "vclaunch: task failed: %s\n", luaL_tolstring(M, -1, NULL));
        lua_pop(M, 2);
    }
    luaL_unref(M, LUA_REGISTRYINDEX, t->co_ref);
    luaL_unref(M, LUA_REGISTRYINDEX, t->self_ref);
    t->co_ref = t->self_ref = LUA_NOREF;
}

/* The one place a task's coroutine is resumed. */
static void resume(task_t *t, int nargs)
{
    int nres = 0;
    int rc = lua_resume(t->co, t->main, nargs, &nres);
    if (rc == LUA_YIELD) {
        lua_pop(t->co, nres); /* our yields carry no values */
        return;
    }
    if (rc == LUA_OK) {
        finish(t, 1);
        return;
    }
    /* An error: keep the error object; add the traceback to plain strings. */
    if (lua_type(t->co, -1) == LUA_TSTRING) {
        luaL_traceback(t->main, t->co, lua_tostring(t->co, -1), 0);
        lua_xmove(t->main, t->co, 1);
    }
    lua_replace(t->co, 1);
    lua_settop(t->co, 1);
    finish(t, 0);
}

/* ---- timers: one allocation per operation, freed in the close callback */

typedef struct sleep_op {
    timer_op_t op; /* first */
    task_t *task;
} sleep_op_t;

static void on_sleep(uv_timer_t *timer)
{
    sleep_op_t *op = timer->data;
    task_t *t = op->task;
    uv_close((uv_handle_t *)timer, on_timer_op_closed);
    if (t->status == T_NEW) {
        t->status = T_RUNNING;
        resume(t, lua_gettop(t->co) - 1); /* the function's arguments */
    } else {
        resume(t, 0);
    }
}

static int start_timer(lua_State *L, task_t *t, double seconds)
{
    sleep_op_t *op = malloc(sizeof *op);
    if (!op) return vc_lua_raise(L, 1, "io", "out of memory");
    op->task = t;
    timer_op_init(vc_lua_loop(L), &op->op);
    uint64_t ms = seconds > 0 ? (uint64_t)(seconds * 1000 + 0.5) : 0;
    uv_timer_start(&op->op.timer, on_sleep, ms, 0);
    return 0;
}

static int sleep_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)L, (void)status, (void)ctx;
    return 0;
}

/* core.sleep(seconds): waits, letting other tasks run. */
static int vc_lua_core_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0, 1, "negative duration");
    vc_lua_check_task(L, "sleep");
    start_timer(L, task_of(L, L), s);
    return lua_yieldk(L, 0, 0, sleep_done);
}

/* core.spawn(fn, ...) -> Task; fn starts from the loop, never inside spawn */
static int vc_lua_core_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int nargs = lua_gettop(L) - 1;
    task_t *t = lua_newuserdatauv(L, sizeof *t, 0);
    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, TASK_MT);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    t->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    t->co = lua_newthread(L);
    lua_pushvalue(L, -2);
    t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    t->co_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the thread */
    lua_newtable(L);
    t->waiters_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    t->result_ref = LUA_NOREF;
    /* register thread -> task (weak keys: a finished coroutine may go) */
    if (lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
    }
    lua_pushthread(t->co);
    lua_xmove(t->co, L, 1);
    lua_pushvalue(L, -3); /* the task */
    lua_rawset(L, -3);
    lua_pop(L, 1);
    /* move fn and its arguments onto the coroutine */
    for (int i = 1; i <= nargs + 1; i++)
        lua_pushvalue(L, i);
    lua_xmove(L, t->co, nargs + 1);
    start_timer(L, t, 0);
    return 1;
}

static int wait_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    task_t *t = (task_t *)ctx;
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->result_ref);
    if (t->status == T_ERROR) return lua_error(L);
    int n = (int)(lua_getfield(L, -1, "n"), lua_tointeger(L, -1));
    lua_pop(L, 1);
    luaL_checkstack(L, n, "too many results");
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    return n;
}

/* task:wait() -> the task's results; raises the task's error */
static int vc_lua_task_wait(lua_State *L)
{
    task_t *t = luaL_checkudata(L, 1, TASK_MT);
    t->observed = 1;
    if (t->status == T_OK || t->status == T_ERROR) return wait_done(L, 0, (lua_KContext)t);
    vc_lua_check_task(L, "task:wait");
    task_t *self = task_of(L, L);
    if (self == t) return vc_lua_raise(L, 1, "usage", "a task cannot wait for itself");
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->waiters_ref);
    /* store the waiting Task userdata */
    lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
    lua_pushthread(L);
    lua_rawget(L, -2);
    lua_rawseti(L, -3, (lua_Integer)luaL_len(L, -3) + 1);
    lua_pop(L, 2);
    return lua_yieldk(L, 0, (lua_KContext)t, wait_done);
}

/* task:status() -> "pending" | "running" | "done" | "failed" */
static int vc_lua_task_status(lua_State *L)
{
    static const char *const names[] = {"pending", "running", "done", "failed"};
    task_t *t = luaL_checkudata(L, 1, TASK_MT);
    lua_pushstring(L, names[t->status]);
    return 1;
}

static int task_gc(lua_State *L)
{
    task_t *t = luaL_checkudata(L, 1, TASK_MT);
    if (t->main) {
        luaL_unref(L, LUA_REGISTRYINDEX, t->result_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, t->waiters_ref);
        t->main = NULL;
    }
    return 0;
}

vc_lua_task_t *vc_lua_current_task(lua_State *L)
{
    return task_of(L, L);
}

lua_State *vc_lua_task_thread(vc_lua_task_t *t)
{
    return t->co;
}

void vc_lua_task_resume(vc_lua_task_t *t, int nargs)
{
    resume(t, nargs);
}

/* ---- conditions: cond:wait(timeout) -> true when signalled, false on
 * timeout; cond:signal() wakes every waiter from the loop. */

#define COND_MT "vclaunch.Cond"

typedef struct cond_wait {
    timer_op_t op; /* first */
    task_t *task;
    struct cond_wait *next;
    int signalled;
    struct cond *cond; /* NULL once unlinked */
} cond_wait_t;

typedef struct cond {
    cond_wait_t *head;
} cond_t;

static void unlink_wait(cond_wait_t *w)
{
    if (!w->cond) return;
    for (cond_wait_t **p = &w->cond->head; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    w->cond = NULL;
}

static void on_cond_timer(uv_timer_t *timer)
{
    cond_wait_t *w = timer->data;
    unlink_wait(w);
    uv_close((uv_handle_t *)timer, on_timer_op_closed);
    lua_pushboolean(w->task->co, w->signalled);
    resume(w->task, 1);
}

static int cond_wait_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status, (void)ctx;
    (void)L;
    return 1;
}

static int vc_lua_cond_wait(lua_State *L)
{
    cond_t *c = luaL_checkudata(L, 1, COND_MT);
    double timeout = luaL_checknumber(L, 2);
    luaL_argcheck(L, timeout >= 0, 2, "negative timeout");
    vc_lua_check_task(L, "cond:wait");
    cond_wait_t *w = calloc(1, sizeof *w);
    if (!w) return vc_lua_raise(L, 1, "io", "out of memory");
    w->task = task_of(L, L);
    w->cond = c;
    w->next = c->head;
    c->head = w;
    timer_op_init(vc_lua_loop(L), &w->op);
    uv_timer_start(&w->op.timer, on_cond_timer, (uint64_t)(timeout * 1000 + 0.5), 0);
    return lua_yieldk(L, 0, 0, cond_wait_done);
}

static int vc_lua_cond_signal(lua_State *L)
{
    cond_t *c = luaL_checkudata(L, 1, COND_MT);
    while (c->head) {
        cond_wait_t *w = c->head;
        unlink_wait(w);
        w->signalled = 1;
        uv_timer_start(&w->op.timer, on_cond_timer, 0, 0); /* wake from the loop */
    }
    return 0;
}

/* core.now() -> seconds on the loop's monotonic clock */
static int vc_lua_core_now(lua_State *L)
{
    lua_pushnumber(L, (double)uv_hrtime() / 1e9);
    return 1;
}

static int vc_lua_core_cond(lua_State *L)
{
    cond_t *c = lua_newuserdatauv(L, sizeof *c, 0);
    c->head = NULL;
    luaL_setmetatable(L, COND_MT);
    return 1;
}

/* core.run(): runs the loop until no task or operation is left. */
static int vc_lua_core_run(lua_State *L)
{
    if (lua_isyieldable(L)) return vc_lua_raise(L, 1, "usage", "core.run inside a task");
    uv_run(vc_lua_loop(L), UV_RUN_DEFAULT);
    return 0;
}

/* core.stop(): makes core.run return after this loop iteration, leaving
 * unfinished tasks behind (their resources go with the Lua state). */
static int vc_lua_core_stop(lua_State *L)
{
    uv_stop(vc_lua_loop(L));
    return 0;
}

void vc_lua_open_task(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"wait", vc_lua_task_wait},
        {"status", vc_lua_task_status},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, TASK_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, task_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    static const luaL_Reg cond_methods[] = {
        {"wait", vc_lua_cond_wait},
        {"signal", vc_lua_cond_signal},
        {NULL, NULL},
    };
    vc_lua_new_class(L, COND_MT, cond_methods, NULL);
    static const luaL_Reg fns[] = {
        {"cond", vc_lua_core_cond},
        {"now", vc_lua_core_now},
        {"spawn", vc_lua_core_spawn},
        {"sleep", vc_lua_core_sleep},
        {"run", vc_lua_core_run},
        {"stop", vc_lua_core_stop},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0); /* into the module table on top */
}
