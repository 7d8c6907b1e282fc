/* vclaunch.core tasks: coroutines driven by the libuv loop.
 *
 * A task is a coroutine registered in the "vclaunch.tasks" registry table
 * (thread -> Task userdata). It is resumed in one place only: the drain of
 * the ready queue, run by one idle handle from the loop. Never inside
 * another resume, never from a libuv callback directly, never from __gc or
 * __close (those only cancel).
 *
 * A waiting call (sleep, cond:wait, task:wait, process:wait, qmp_connect,
 * qmp:execute) opens one wait record (vc_lua_wait_t) on its task, starts
 * its operation and yields. The operation completes the record from the
 * loop with vc_lua_wait_done after storing its results as C data in it;
 * that only queues the task. When the task is resumed, the continuation
 * converts the results into Lua values inside the coroutine itself. A wait
 * that times out or is cancelled is first detached from its operation, so
 * the operation never touches the record again.
 *
 * From spawn until it ends, a task's coroutine and userdata are pinned by
 * registry refs, released in finish() only. The runtime (loop, idle handle,
 * queues) is created when vclaunch.core is opened, so that at lua_close it
 * is finalized after every task, process and QMP session (Lua runs
 * finalizers in the reverse order of creation). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "vc_lua.h"

#define TASK_MT "vclaunch.Task"
#define TASKS_KEY "vclaunch.tasks"
#define RT_KEY "vclaunch.runtime"

enum { T_NEW, T_RUNNING, T_OK, T_ERROR, T_CANCELLED };

typedef struct rt rt_t;
typedef struct task_wait task_wait_t;
typedef struct task task_t;

struct task {
    rt_t *rt; /* NULL once the runtime is gone */
    lua_State *co;
    int co_ref, self_ref, result_ref;
    int status;
    int observed;       /* someone took the result with task:wait() */
    int cancel_pending; /* close the coroutine when next drained */
    int queued;
    int has_kids; /* it spawned tasks, or inherited some: finish() passes them on */
    uint64_t id, parent; /* parent: id of the task that spawned it, or 0 */
    uv_timer_t *timer;   /* deadline of the current wait; made on first use */
    vc_lua_wait_t *wait; /* the wait it is suspended in, or NULL */
    task_wait_t *waiters; /* tasks blocked in task:wait() on this one */
    struct task *next_ready;
    struct task *prev, *next; /* the runtime's unfinished tasks, oldest first */
};

struct rt {
    uv_loop_t loop;
    uv_idle_t idle; /* active while the ready queue is not empty */
    lua_State *main;
    task_t *ready_head, *ready_tail;
    task_t *first, *last; /* unfinished tasks, in creation order */
    task_t *current;      /* the task being resumed, or NULL */
    uint64_t next_id;
    int running; /* inside uv_run */
};

typedef struct rt_box {
    rt_t *rt;
} rt_box_t;

/* The task being resumed on this thread, if any: the waiting call it makes
 * finds its task here, without a registry lookup. */
static _Thread_local task_t *resuming;

/* ---- the runtime ------------------------------------------------------ */

static void forget_task(task_t *t);

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static int rt_gc(lua_State *L)
{
    rt_box_t *b = lua_touserdata(L, 1);
    rt_t *rt = b->rt;
    if (!rt) return 0;
    b->rt = NULL;
    /* Tasks are finalized before the runtime; any left (a host that keeps
     * Task userdata alive in a finalizer) are detached here. */
    while (rt->first)
        forget_task(rt->first);
    uv_walk(&rt->loop, close_walk, NULL);
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&rt->loop) != 0)
        fprintf(stderr, "vclaunch: the event loop still had handles open at exit\n");
    free(rt);
    return 0;
}

static rt_t *get_rt(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, RT_KEY) == LUA_TUSERDATA) {
        rt_box_t *b = lua_touserdata(L, -1);
        lua_pop(L, 1);
        if (!b->rt) luaL_error(L, "vclaunch: the runtime is closed");
        return b->rt;
    }
    lua_pop(L, 1);
    rt_box_t *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->rt = calloc(1, sizeof *b->rt);
    if (!b->rt || uv_loop_init(&b->rt->loop)) {
        free(b->rt);
        b->rt = NULL;
        luaL_error(L, "cannot create the event loop");
    }
    rt_t *rt = b->rt;
    uv_idle_init(&rt->loop, &rt->idle);
    rt->idle.data = rt;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    rt->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    rt->next_id = 1;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, rt_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, RT_KEY);
    return rt;
}

uv_loop_t *vc_lua_loop(lua_State *L)
{
    return &get_rt(L)->loop;
}

static void on_idle(uv_idle_t *h);

static void enqueue(task_t *t)
{
    if (t->queued || !t->rt || t->status >= T_OK) return;
    rt_t *rt = t->rt;
    t->queued = 1;
    t->next_ready = NULL;
    if (rt->ready_tail)
        rt->ready_tail->next_ready = t;
    else
        rt->ready_head = t;
    rt->ready_tail = t;
    if (!uv_is_active((uv_handle_t *)&rt->idle)) uv_idle_start(&rt->idle, on_idle);
}

static void dequeue(task_t *t)
{
    if (!t->queued) return;
    rt_t *rt = t->rt;
    task_t *prev = NULL;
    for (task_t *u = rt->ready_head; u; prev = u, u = u->next_ready) {
        if (u != t) continue;
        if (prev)
            prev->next_ready = u->next_ready;
        else
            rt->ready_head = u->next_ready;
        if (rt->ready_tail == u) rt->ready_tail = prev;
        break;
    }
    t->queued = 0;
}

/* ---- wait records ------------------------------------------------------ */

static void free_wait(vc_lua_wait_t *w)
{
    if (w->ops->release) w->ops->release(w);
    free(w);
}

/* Takes the task's wait away: detached from its operation, freed. */
static void drop_wait(task_t *t)
{
    vc_lua_wait_t *w = t->wait;
    if (!w) return;
    t->wait = NULL;
    if (t->timer) uv_timer_stop(t->timer);
    if (w->state == VC_WAIT_PENDING && w->ops->detach) w->ops->detach(w);
    free_wait(w);
}

static void on_wait_timer(uv_timer_t *h)
{
    task_t *t = h->data;
    vc_lua_wait_t *w = t->wait;
    if (!w || w->state != VC_WAIT_PENDING) return;
    w->state = VC_WAIT_TIMEOUT;
    if (w->ops->detach) w->ops->detach(w);
    enqueue(t);
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h);
}

static task_t *task_of(lua_State *L, lua_State *co);

void *vc_lua_wait_new(lua_State *L, const vc_lua_wait_ops_t *ops, size_t size, double timeout)
{
    vc_lua_check_task(L, ops->what);
    task_t *t = task_of(L, L);
    if (t->timer == NULL && timeout >= 0) {
        t->timer = malloc(sizeof *t->timer);
        if (!t->timer) luaL_error(L, "out of memory");
        uv_timer_init(&t->rt->loop, t->timer);
        t->timer->data = t;
    }
    vc_lua_wait_t *w = calloc(1, size);
    if (!w) luaL_error(L, "out of memory");
    w->ops = ops;
    w->task = t;
    w->state = VC_WAIT_PENDING;
    w->timeout = timeout;
    t->wait = w;
    if (timeout >= 0) {
        double ms = timeout * 1000 + 0.5;
        uv_timer_start(t->timer, on_wait_timer, ms > 1e15 ? (uint64_t)1e15 : (uint64_t)ms, 0);
    }
    return w;
}

void vc_lua_wait_abort(void *wp)
{
    vc_lua_wait_t *w = wp;
    task_t *t = w->task;
    if (t->wait == w) t->wait = NULL;
    if (t->timer) uv_timer_stop(t->timer);
    free_wait(w);
}

void vc_lua_wait_done(void *wp)
{
    vc_lua_wait_t *w = wp;
    if (w->state != VC_WAIT_PENDING) return;
    w->state = VC_WAIT_DONE;
    if (w->task->timer) uv_timer_stop(w->task->timer);
    enqueue(w->task);
}

/* The continuation of every waiting call: converts the results inside the
 * resumed coroutine. */
static int wait_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    vc_lua_wait_t *w = (vc_lua_wait_t *)ctx;
    w->task->wait = NULL;
    int n = w->ops->push(L, w);
    free_wait(w);
    if (n >= 0) return n;
    /* An error object without a position points at the waiting call. */
    if (lua_istable(L, -1)) {
        int unset = lua_getfield(L, -1, "where") == LUA_TNIL;
        lua_pop(L, 1);
        if (unset) vc_lua_set_where(L, 1);
    }
    return lua_error(L);
}

int vc_lua_wait_yield(lua_State *L, void *w)
{
    return lua_yieldk(L, 0, (lua_KContext)w, wait_k);
}

/* ---- tasks ------------------------------------------------------------- */

/* Pushes nothing; returns the Task of thread co, or NULL. */
static task_t *task_of(lua_State *L, lua_State *co)
{
    if (resuming && resuming->co == co) return resuming;
    if (lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY) != LUA_TTABLE) {
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
    task_t *t = lua_isyieldable(L) ? task_of(L, L) : NULL;
    if (!t || !t->rt)
        vc_lua_raise(L, 2, "usage", "%s waits, so it must run in a vclaunch task (vclaunch.spawn)",
                     what);
}

static void unlink_task(task_t *t)
{
    rt_t *rt = t->rt;
    if (t->prev)
        t->prev->next = t->next;
    else if (rt->first == t)
        rt->first = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else if (rt->last == t)
        rt->last = t->prev;
    t->prev = t->next = NULL;
}

static void close_timer(task_t *t)
{
    if (!t->timer) return;
    uv_close((uv_handle_t *)t->timer, on_timer_closed);
    t->timer = NULL;
}

struct task_wait {
    vc_lua_wait_t w; /* first */
    task_t *target;  /* NULL once detached */
    task_wait_t *next;
};

/* Ends the task: its results (ok: the coroutine's stack; else the error
 * value on top of it) go into the registry, waiters are queued, unfinished
 * tasks it spawned pass to its parent, and the pins are released. */
static void finish(task_t *t, int status)
{
    rt_t *rt = t->rt;
    lua_State *M = rt->main;
    int n = status == T_OK ? lua_gettop(t->co) : 1;
    if (status == T_OK && n == 0) {
        /* no results (a task run for its effect): no table to build, ref
         * and collect; push_results reads LUA_REFNIL as none */
        lua_pushnil(M);
    } else if (status == T_OK) {
        luaL_checkstack(M, n + 2, "too many results");
        lua_createtable(M, n, 1);
        lua_pushinteger(M, n);
        lua_setfield(M, -2, "n");
        lua_xmove(t->co, M, n);
        for (int i = n; i >= 1; i--)
            lua_rawseti(M, -(i + 1), i);
    } else {
        lua_xmove(t->co, M, 1);
    }
    t->result_ref = luaL_ref(M, LUA_REGISTRYINDEX); /* LUA_REFNIL for the nil */
    t->status = status;
    for (task_wait_t *w = t->waiters; w; w = w->next) {
        w->target = NULL;
        t->observed = 1;
        vc_lua_wait_done(w);
    }
    t->waiters = NULL;
    if (status == T_ERROR && !t->observed) {
        lua_rawgeti(M, LUA_REGISTRYINDEX, t->result_ref);
        fprintf(stderr, "vclaunch: task failed: %s\n", luaL_tolstring(M, -1, NULL));
        lua_pop(M, 2);
    }
    if (t->has_kids) {
        /* Its unfinished tasks pass to its parent, found in the same walk.
         * Only a task that spawned some walks the list: a thousand tasks
         * that each run one command end without a thousand walks. */
        task_t *up = NULL;
        int moved = 0;
        for (task_t *u = rt->first; u; u = u->next) {
            if (u->parent == t->id) u->parent = t->parent, moved = 1;
            if (u->id == t->parent) up = u;
        }
        if (up && moved) up->has_kids = 1;
    }
    unlink_task(t);
    close_timer(t);
    luaL_unref(M, LUA_REGISTRYINDEX, t->co_ref);
    luaL_unref(M, LUA_REGISTRYINDEX, t->self_ref);
    t->co_ref = t->self_ref = LUA_NOREF;
}

/* Closes a thread's pending to-be-closed variables and empties its stack;
 * an error raised while closing is left on top (returns non-zero). */
static int close_thread(lua_State *co, lua_State *from)
{
#if LUA_VERSION_RELEASE_NUM >= 50406
    return lua_closethread(co, from) != LUA_OK;
#else
    (void)from;
    return lua_resetthread(co) != LUA_OK;
#endif
}

/* A cancelled task: its coroutine is closed (its <close> variables run,
 * from the loop) and it ends with a "cancelled" error. */
static void end_cancelled(task_t *t)
{
    rt_t *rt = t->rt;
    drop_wait(t);
    if (t->status == T_RUNNING && close_thread(t->co, rt->main)) {
        fprintf(stderr, "vclaunch: closing a cancelled task failed: %s\n",
                luaL_tolstring(t->co, -1, NULL));
    }
    lua_settop(t->co, 0);
    vc_lua_push_error(t->co, "cancelled", "the task was cancelled");
    finish(t, T_CANCELLED);
}

/* A yield that is not one of vclaunch's waits (coroutine.yield() in a
 * task) would suspend the task for ever: it fails the task instead. */
static void fail_foreign_yield(task_t *t)
{
    lua_Debug ar;
    char where[LUA_IDSIZE + 24] = "";
    if (lua_getstack(t->co, 1, &ar) && lua_getinfo(t->co, "Sl", &ar) && ar.currentline > 0)
        snprintf(where, sizeof where, "%s:%d", ar.short_src, ar.currentline);
    close_thread(t->co, t->rt->main);
    lua_settop(t->co, 0);
    vc_lua_push_error(t->co, "usage",
                      "coroutine.yield() in a vclaunch task: a task waits only in vclaunch's "
                      "waiting calls (sleep, execute, wait, ...)");
    if (where[0]) {
        lua_pushstring(t->co, where);
        lua_setfield(t->co, -2, "where");
    }
    finish(t, T_ERROR);
}

/* The one place a task's coroutine is resumed (from the drain). */
static void resume(task_t *t)
{
    rt_t *rt = t->rt;
    int nargs = 0;
    if (t->status == T_NEW) {
        t->status = T_RUNNING;
        nargs = lua_gettop(t->co) - 1; /* the function's arguments */
    }
    int nres = 0;
    task_t *outer = resuming; /* another Lua state's task, resumed by a host from its own */
    rt->current = resuming = t;
    int rc = lua_resume(t->co, rt->main, nargs, &nres);
    rt->current = NULL;
    resuming = outer;
    if (rc == LUA_YIELD) {
        lua_pop(t->co, nres);
        if (!t->wait) {
            fail_foreign_yield(t);
        } else if (t->cancel_pending) {
            drop_wait(t);
            enqueue(t);
        }
        return;
    }
    if (rc == LUA_OK) {
        finish(t, T_OK);
        return;
    }
    /* An error: keep the error object; add the traceback to plain strings. */
    if (lua_type(t->co, -1) == LUA_TSTRING) {
        luaL_traceback(rt->main, t->co, lua_tostring(t->co, -1), 0);
        lua_xmove(rt->main, t->co, 1);
    }
    close_thread(t->co, rt->main); /* keeps nothing but the error below */
    lua_settop(t->co, 1);
    finish(t, T_ERROR);
}

/* Runs the tasks queued when the drain began; those they queue run in the
 * next loop iteration, so a task that sleeps 0 in a loop cannot starve I/O. */
static void on_idle(uv_idle_t *h)
{
    rt_t *rt = h->data;
    task_t *end = rt->ready_tail;
    while (rt->ready_head) {
        task_t *t = rt->ready_head;
        rt->ready_head = t->next_ready;
        if (!rt->ready_head) rt->ready_tail = NULL;
        t->queued = 0;
        int last = t == end;
        if (t->status < T_OK) {
            if (t->cancel_pending)
                end_cancelled(t);
            else
                resume(t);
        }
        if (last) break;
    }
    if (!rt->ready_head) uv_idle_stop(&rt->idle);
}

/* Marks t cancelled; it ends from the drain. The running task itself ends
 * at its next wait. */
static void cancel_task(task_t *t)
{
    if (!t->rt || t->status >= T_OK) return;
    t->cancel_pending = 1;
    if (t->rt->current == t) return;
    drop_wait(t);
    enqueue(t);
}

/* Cancels every unfinished task spawned by root, directly or not (and root
 * itself when asked). Tasks are listed oldest first and a task is always
 * younger than its parent, so one pass finds every descendant. */
static void cancel_tree(lua_State *L, task_t *root, int with_root)
{
    rt_t *rt = root->rt;
    size_t n = 1, cap = 16;
    uint64_t *ids = malloc(cap * sizeof *ids);
    if (!ids) luaL_error(L, "out of memory");
    ids[0] = root->id;
    for (task_t *u = rt->first; u; u = u->next) {
        if (u == root) continue;
        int hit = 0;
        for (size_t i = 0; i < n && !hit; i++)
            hit = ids[i] == u->parent;
        if (!hit) continue;
        if (n == cap) {
            uint64_t *more = realloc(ids, 2 * cap * sizeof *ids);
            if (!more) {
                free(ids);
                luaL_error(L, "out of memory");
            }
            ids = more, cap *= 2;
        }
        ids[n++] = u->id;
        cancel_task(u);
    }
    free(ids);
    if (with_root) cancel_task(root);
}

/* Detaches a task from the runtime without running Lua: for finalizers. */
static void forget_task(task_t *t)
{
    if (!t->rt) return;
    drop_wait(t);
    dequeue(t);
    for (task_wait_t *w = t->waiters; w; w = w->next)
        w->target = NULL;
    t->waiters = NULL;
    if (t->status < T_OK) unlink_task(t);
    close_timer(t);
    t->rt = NULL;
}

/* ---- Lua functions ------------------------------------------------------ */

static int sleep_push(lua_State *L, vc_lua_wait_t *w)
{
    (void)L, (void)w;
    return 0;
}

static const vc_lua_wait_ops_t sleep_ops = {.what = "sleep", .push = sleep_push};

/* core.sleep(seconds): waits, letting other tasks run. */
static int vc_lua_core_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0, 1, "negative duration");
    return vc_lua_wait_yield(L, vc_lua_wait_new(L, &sleep_ops, sizeof(vc_lua_wait_t), s));
}

/* core.spawn(fn, ...) -> Task; fn starts from the loop, never inside spawn */
static int vc_lua_core_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    rt_t *rt = get_rt(L);
    int nargs = lua_gettop(L) - 1;
    task_t *parent = lua_isyieldable(L) ? task_of(L, L) : NULL;
    task_t *t = lua_newuserdatauv(L, sizeof *t, 0);
    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, TASK_MT);
    t->rt = rt;
    t->id = rt->next_id++;
    t->parent = parent ? parent->id : 0;
    if (parent) parent->has_kids = 1;
    t->co = lua_newthread(L);
    /* A new thread inherits the creating thread's hook: the CLI's recipe
     * line hook (core.trace_recipe) would run on every line of every task
     * the recipe spawns, vclaunch's own code included. It is the recipe's
     * own coroutine's business only. */
    lua_sethook(t->co, NULL, 0, 0);
    lua_pushvalue(L, -2);
    t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    t->co_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the thread */
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
    t->prev = rt->last;
    if (rt->last)
        rt->last->next = t;
    else
        rt->first = t;
    rt->last = t;
    enqueue(t);
    return 1;
}

/* Pushes the results of a finished task, or its error; returns the count
 * or -1 (error on top). */
static int push_results(lua_State *L, task_t *t)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->result_ref);
    if (t->status != T_OK) return -1;
    if (t->result_ref == LUA_REFNIL) return 0; /* it returned nothing */
    int n = (int)(lua_getfield(L, -1, "n"), lua_tointeger(L, -1));
    lua_pop(L, 1);
    luaL_checkstack(L, n, "too many results");
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    return n;
}

static void task_wait_detach(vc_lua_wait_t *base)
{
    task_wait_t *w = (task_wait_t *)base;
    if (!w->target) return;
    for (task_wait_t **p = &w->target->waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    w->target = NULL;
}

static int task_wait_push(lua_State *L, vc_lua_wait_t *base)
{
    if (base->state == VC_WAIT_TIMEOUT) {
        char msg[96];
        snprintf(msg, sizeof msg, "task:wait: the task did not end within %gs", base->timeout);
        vc_lua_push_error(L, "timeout", msg);
        return -1;
    }
    /* The target is the first argument of task:wait, still on this stack. */
    return push_results(L, luaL_checkudata(L, 1, TASK_MT));
}

static const vc_lua_wait_ops_t task_wait_ops = {
    .what = "task:wait", .push = task_wait_push, .detach = task_wait_detach};

static double opt_timeout(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx)) return -1;
    double s = luaL_checknumber(L, idx);
    luaL_argcheck(L, s >= 0, idx, "negative timeout");
    return s;
}

/* task:wait([timeout]) -> the task's results; raises the task's error */
static int vc_lua_task_wait(lua_State *L)
{
    task_t *t = luaL_checkudata(L, 1, TASK_MT);
    double timeout = opt_timeout(L, 2);
    lua_settop(L, 1);
    t->observed = 1;
    if (t->status >= T_OK) {
        int n = push_results(L, t);
        return n >= 0 ? n : lua_error(L);
    }
    if (!t->rt) return vc_lua_raise(L, 1, "usage", "the task's runtime is closed");
    vc_lua_check_task(L, "task:wait");
    if (task_of(L, L) == t) return vc_lua_raise(L, 1, "usage", "a task cannot wait for itself");
    task_wait_t *w = vc_lua_wait_new(L, &task_wait_ops, sizeof *w, timeout);
    w->target = t;
    w->next = t->waiters;
    t->waiters = w;
    return vc_lua_wait_yield(L, w);
}

/* task:cancel(): ends the task and every unfinished task it spawned
 * (directly or not). A task suspended in a wait ends from the loop: its
 * <close> variables run, and task:wait() on it raises a "cancelled"
 * error. Cancelling a finished task cancels what it left running. */
static int vc_lua_task_cancel(lua_State *L)
{
    task_t *t = luaL_checkudata(L, 1, TASK_MT);
    if (!t->rt) return 0;
    if (t->rt->current == t)
        return vc_lua_raise(L, 1, "usage", "a task cannot cancel itself (return or raise)");
    cancel_tree(L, t, 1);
    return 0;
}

/* core.cancel_spawned(): cancels every unfinished task the running task
 * spawned, directly or not. */
static int vc_lua_core_cancel_spawned(lua_State *L)
{
    vc_lua_check_task(L, "cancel_spawned");
    cancel_tree(L, task_of(L, L), 0);
    return 0;
}

/* task:status() -> "pending" | "running" | "done" | "failed" | "cancelled" */
static int vc_lua_task_status(lua_State *L)
{
    static const char *const names[] = {"pending", "running", "done", "failed", "cancelled"};
    task_t *t = luaL_checkudata(L, 1, TASK_MT);
    lua_pushstring(L, names[t->status]);
    return 1;
}

static int task_gc(lua_State *L)
{
    task_t *t = luaL_checkudata(L, 1, TASK_MT);
    forget_task(t);
    luaL_unref(L, LUA_REGISTRYINDEX, t->result_ref);
    t->result_ref = LUA_NOREF;
    return 0;
}

/* core.in_task() -> true when called from a vclaunch task that may wait */
static int vc_lua_core_in_task(lua_State *L)
{
    task_t *t = lua_isyieldable(L) ? task_of(L, L) : NULL;
    lua_pushboolean(L, t && t->rt);
    return 1;
}

/* core.check_task(what): raises usage unless a waiting call may run here;
 * for Lua functions that wait, before their first side effect. */
static int vc_lua_core_check_task(lua_State *L)
{
    vc_lua_check_task(L, luaL_checkstring(L, 1));
    return 0;
}

/* ---- conditions: cond:wait(timeout) -> true when signalled, false on
 * timeout; cond:signal() wakes every waiter (from the loop). */

#define COND_MT "vclaunch.Cond"

typedef struct cond_wait {
    vc_lua_wait_t w; /* first */
    struct cond *cond; /* NULL once unlinked */
    struct cond_wait *next;
} cond_wait_t;

typedef struct cond {
    cond_wait_t *head;
} cond_t;

static void cond_detach(vc_lua_wait_t *base)
{
    cond_wait_t *w = (cond_wait_t *)base;
    if (!w->cond) return;
    for (cond_wait_t **p = &w->cond->head; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    w->cond = NULL;
}

static int cond_push(lua_State *L, vc_lua_wait_t *w)
{
    lua_pushboolean(L, w->state == VC_WAIT_DONE);
    return 1;
}

static const vc_lua_wait_ops_t cond_ops = {
    .what = "cond:wait", .push = cond_push, .detach = cond_detach};

static int vc_lua_cond_wait(lua_State *L)
{
    cond_t *c = luaL_checkudata(L, 1, COND_MT);
    double timeout = luaL_checknumber(L, 2);
    luaL_argcheck(L, timeout >= 0, 2, "negative timeout");
    cond_wait_t *w = vc_lua_wait_new(L, &cond_ops, sizeof *w, timeout);
    w->cond = c;
    w->next = c->head;
    c->head = w;
    return vc_lua_wait_yield(L, w);
}

static int vc_lua_cond_signal(lua_State *L)
{
    cond_t *c = luaL_checkudata(L, 1, COND_MT);
    while (c->head) {
        cond_wait_t *w = c->head;
        c->head = w->next;
        w->cond = NULL;
        vc_lua_wait_done(w);
    }
    return 0;
}

/* A collected cond detaches its waiters (they run out their timeouts). */
static int cond_gc(lua_State *L)
{
    cond_t *c = luaL_checkudata(L, 1, COND_MT);
    for (cond_wait_t *w = c->head; w; w = w->next)
        w->cond = NULL;
    c->head = NULL;
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

/* ---- driving the loop ---------------------------------------------------- */

/* core.run([mode]): runs the loop. "default" (the default): until no task
 * or operation is left; "once": one iteration, blocking for I/O if there
 * is nothing ready; "nowait": one iteration without blocking. Returns true
 * when work is left. Refused inside a task and inside the loop (a handler). */
static int vc_lua_core_run(lua_State *L)
{
    static const char *const modes[] = {"default", "once", "nowait", NULL};
    static const uv_run_mode uv_modes[] = {UV_RUN_DEFAULT, UV_RUN_ONCE, UV_RUN_NOWAIT};
    int mode = luaL_checkoption(L, 1, "default", modes);
    rt_t *rt = get_rt(L);
    if (lua_isyieldable(L) && task_of(L, L))
        return vc_lua_raise(L, 1, "usage", "run inside a task (a task never drives the loop)");
    if (rt->running)
        return vc_lua_raise(L, 1, "usage", "run inside the loop (from a handler)");
    rt->running = 1;
    int more = uv_run(&rt->loop, uv_modes[mode]);
    rt->running = 0;
    lua_pushboolean(L, more || rt->ready_head);
    return 1;
}

/* core.stop(): makes run return after this loop iteration, leaving
 * unfinished tasks behind (their resources go with the Lua state). */
static int vc_lua_core_stop(lua_State *L)
{
    uv_stop(vc_lua_loop(L));
    return 0;
}

/* core.backend_fd() -> an fd that becomes readable when the loop has I/O
 * to process: a host loop polls it and then calls run("nowait"). */
static int vc_lua_core_backend_fd(lua_State *L)
{
    lua_pushinteger(L, uv_backend_fd(vc_lua_loop(L)));
    return 1;
}

/* core.backend_timeout() -> milliseconds until the loop's next timer or
 * ready task (0: run now), -1 when it waits for I/O only. */
static int vc_lua_core_backend_timeout(lua_State *L)
{
    rt_t *rt = get_rt(L);
    uv_update_time(&rt->loop);
    lua_pushinteger(L, rt->ready_head ? 0 : uv_backend_timeout(&rt->loop));
    return 1;
}

static void count_walk(uv_handle_t *h, void *arg)
{
    rt_t *rt = ((void **)arg)[0];
    int *n = ((void **)arg)[1];
    if (h != (uv_handle_t *)&rt->idle && !uv_is_closing(h) && uv_is_active(h) && uv_has_ref(h))
        (*n)++;
}

/* core.stats() -> {tasks = unfinished tasks other than the caller, handles =
 * active handles that keep the loop running, ready = queued tasks}: what
 * tests check for leftovers at teardown. */
static int vc_lua_core_stats(lua_State *L)
{
    rt_t *rt = get_rt(L);
    task_t *self = lua_isyieldable(L) ? task_of(L, L) : NULL;
    int tasks = 0, handles = 0, ready = 0;
    for (task_t *t = rt->first; t; t = t->next)
        tasks += t != self;
    for (task_t *t = rt->ready_head; t; t = t->next_ready)
        ready++;
    void *arg[2] = {rt, &handles};
    uv_walk(&rt->loop, count_walk, arg);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, tasks);
    lua_setfield(L, -2, "tasks");
    lua_pushinteger(L, handles);
    lua_setfield(L, -2, "handles");
    lua_pushinteger(L, ready);
    lua_setfield(L, -2, "ready");
    return 1;
}

void vc_lua_open_task(lua_State *L)
{
    /* A write to a QMP socket whose QEMU just died, or to a closed stdout,
     * must fail with EPIPE and be reported, not kill the process: SIGPIPE
     * is ignored unless the host program set its own handler. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
    get_rt(L); /* first: finalized after everything that uses it */
    static const luaL_Reg methods[] = {
        {"wait", vc_lua_task_wait},
        {"cancel", vc_lua_task_cancel},
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
    luaL_getmetatable(L, COND_MT);
    lua_pushcfunction(L, cond_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"cond", vc_lua_core_cond},
        {"now", vc_lua_core_now},
        {"spawn", vc_lua_core_spawn},
        {"sleep", vc_lua_core_sleep},
        {"run", vc_lua_core_run},
        {"stop", vc_lua_core_stop},
        {"in_task", vc_lua_core_in_task},
        {"check_task", vc_lua_core_check_task},
        {"cancel_spawned", vc_lua_core_cancel_spawned},
        {"backend_fd", vc_lua_core_backend_fd},
        {"backend_timeout", vc_lua_core_backend_timeout},
        {"stats", vc_lua_core_stats},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0); /* into the module table on top */
}
