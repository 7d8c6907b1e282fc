/* vclaunch.core: the binding of libvclaunch for Lua. Device kinds are
 * converted through their field tables only: there is no per-field code
 * here. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "hotplug.h"
#include "kind.h"
#include "probe.h"
#include "vc_lua.h"

#define ERROR_MT "vclaunch.Error"

/* "where: message", or the message alone when where is unset. */
static int error_tostring(lua_State *L)
{
    if (lua_getfield(L, 1, "where") == LUA_TSTRING && lua_rawlen(L, -1) > 0)
        lua_pushliteral(L, ": ");
    else
        lua_settop(L, 1);
    if (lua_getfield(L, 1, "message") != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushliteral(L, "(error without message)");
    }
    lua_concat(L, lua_gettop(L) - 1);
    return 1;
}

void vc_lua_push_error(lua_State *L, const char *kind, const char *msg)
{
    lua_createtable(L, 0, 2);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    if (luaL_newmetatable(L, ERROR_MT)) {
        lua_pushcfunction(L, error_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_setmetatable(L, -2);
}

/* See vc_lua.h. */
void vc_lua_set_where(lua_State *L, int level)
{
    luaL_where(L, level); /* "file:line: " or "" */
    size_t n;
    const char *w = lua_tolstring(L, -1, &n);
    if (n > 2) {
        lua_pushlstring(L, w, n - 2);
        lua_setfield(L, -3, "where");
    }
    lua_pop(L, 1);
}

/* Raises the error object on top of the stack with its where set to the
 * position of level (as in luaL_where). */
static int raise_top(lua_State *L, int level)
{
    vc_lua_set_where(L, level);
    return lua_error(L);
}

int vc_lua_raise(lua_State *L, int level, const char *kind, const char *fmt, ...)
{
    char msg[VC_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vc_lua_push_error(L, kind, msg);
    return raise_top(L, level);
}

/* An error about a device also carries, as data, what its message names:
 * e.device (the kind), e.id (the device id, when known) and e.field (the
 * kind's field, when the error is about one), so that the Lua layer can
 * name the recipe's own words for them. */
int vc_lua_raise_core(lua_State *L, int level, const vc_error_t *err)
{
    vc_lua_push_error(L, vc_error_kind(err->code), err->msg);
    if (err->device) {
        lua_pushstring(L, err->device);
        lua_setfield(L, -2, "device");
        if (err->id[0]) {
            lua_pushstring(L, err->id);
            lua_setfield(L, -2, "id");
        }
        if (err->field) {
            lua_pushstring(L, err->field);
            lua_setfield(L, -2, "field");
        }
    }
    return raise_top(L, level);
}

void vc_lua_call_handler(lua_State *L, int nargs, const char *what)
{
    int base = lua_gettop(L) - nargs; /* the function's slot */
    lua_getglobal(L, "debug");
    lua_getfield(L, -1, "traceback");
    lua_remove(L, -2);
    lua_insert(L, base);
    /* A failing handler is reported with its traceback; the loop goes on. */
    if (lua_pcall(L, nargs, 0, base) != LUA_OK)
        fprintf(stderr, "vclaunch: %s failed: %s\n", what, luaL_tolstring(L, -1, NULL));
    lua_settop(L, base - 1);
}

/* Sets one field of d from the Lua value at idx. */
static int set_field(lua_State *L, vc_dev_t *d, int f, int idx, vc_error_t *err)
{
    const vc_field_t *fd = &d->kind->fields[f];
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        const char *s = vc_lua_to_text(L, idx, NULL);
        if (!s) return vc_dev_error(d, fd->name, err, "holds a NUL byte");
        return vc_dev_set_str(d, f, s, err);
    }
    case LUA_TTABLE:
        /* a VC_F_LIST field: {"value", ...}, each value added in order */
        if (fd->flags & VC_F_LIST) {
            lua_Integer n = luaL_len(L, idx);
            for (lua_Integer i = 1; i <= n; i++) {
                int is_string = lua_geti(L, idx, i) == LUA_TSTRING;
                const char *s = is_string ? vc_lua_to_text(L, -1, NULL) : NULL;
                int rc = !is_string ? vc_dev_error(d, fd->name, err,
                                                   "item %lld: expected a string, got a %s",
                                                   (long long)i, luaL_typename(L, -1))
                         : !s       ? vc_dev_error(d, fd->name, err, "item %lld: holds a NUL byte",
                                                   (long long)i)
                                    : vc_dev_set_str(d, f, s, err);
                lua_pop(L, 1);
                if (rc) return rc;
            }
            return 0;
        }
        return vc_dev_error(d, fd->name, err, "expected %s, got a table", vc_type_phrase(fd->type));
    case LUA_TBOOLEAN:
        return vc_dev_set_bool(d, f, lua_toboolean(L, idx), err);
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) return vc_dev_set_int(d, f, lua_tointeger(L, idx), err);
        return vc_dev_error(d, fd->name, err, "expected %s, got %g", vc_type_phrase(fd->type),
                            lua_tonumber(L, idx));
    default:
        return vc_dev_error(d, fd->name, err, "expected %s, got a %s", vc_type_phrase(fd->type),
                            luaL_typename(L, idx));
    }
}

/* Builds a device of kind name from the table at idx. Returns NULL with err
 * filled on failure. */
static vc_dev_t *check_device(lua_State *L, const char *name, int idx, vc_error_t *err)
{
    const vc_kind_t *k = vc_kind_find(name);
    if (!k) {
        const char *near = vc_kind_suggest_kind(name);
        vc_error_set(err, VC_ERECIPE, "unknown device kind '%s'%s%s%s", name,
                     near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return NULL;
    }
    vc_dev_t *d;
    if (vc_dev_new(k, &d, err)) return NULL;
    idx = lua_absindex(L, idx);
    /* The id first, whatever the table's order, so that every later error
     * names the device. */
    int id_f = vc_kind_field(k, "id");
    if (id_f >= 0) {
        lua_getfield(L, idx, "id");
        int rc = lua_isnil(L, -1) ? 0 : set_field(L, d, id_f, -1, err);
        lua_pop(L, 1);
        if (rc) {
            vc_dev_free(d);
            return NULL;
        }
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int rc;
        if (lua_type(L, -2) != LUA_TSTRING) {
            rc = vc_dev_error(d, NULL, err, "field names are strings, got a %s",
                              luaL_typename(L, -2));
        } else if (!vc_lua_to_text(L, -2, NULL)) {
            rc = vc_dev_error(d, NULL, err, "field name \"%s\\0...\" holds a NUL byte",
                              lua_tostring(L, -2));
        } else {
            const char *key = lua_tostring(L, -2);
            int f = vc_kind_field(k, key);
            if (f < 0) {
                const char *near = vc_kind_suggest(k, key);
                rc = vc_dev_error(d, NULL, err, "unknown field '%s'%s%s%s", key,
                                  near ? " (did you mean '" : "", near ? near : "",
                                  near ? "'?)" : "");
            } else if (f == id_f) {
                rc = 0; /* set above */
            } else {
                rc = set_field(L, d, f, -1, err);
            }
        }
        lua_pop(L, 1);
        if (rc) {
            lua_pop(L, 1);
            vc_dev_free(d);
            return NULL;
        }
    }
    if (vc_dev_finish(d, err)) {
        vc_dev_free(d);
        return NULL;
    }
    return d;
}

static void push_argv(lua_State *L, const vc_argv_t *a)
{
    lua_createtable(L, (int)a->n, 0);
    for (size_t i = 0; i < a->n; i++) {
        lua_pushstring(L, a->v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* See vc_lua.h. */
const char *vc_lua_to_text(lua_State *L, int idx, size_t *len)
{
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    if (!s || memchr(s, '\0', n)) return NULL;
    if (len) *len = n;
    return s;
}

/* See vc_lua.h. */
const char *vc_lua_check_text(lua_State *L, int idx, size_t *len, const char *what)
{
    const char *s = vc_lua_to_text(L, idx, len);
    if (!s)
        vc_lua_raise(L, 2, "usage", "%s %s", what,
                     lua_type(L, idx) == LUA_TSTRING ? "holds a NUL byte" : "is not a string");
    return s;
}

/* See vc_lua.h. */
void vc_lua_check_argv(lua_State *L, int idx, vc_argv_t *a)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        const char *s = vc_lua_to_text(L, -1, NULL);
        if (!s || vc_argv_push(a, s)) {
            vc_argv_free(a);
            if (s) vc_lua_raise(L, 2, "io", "out of memory");
            vc_lua_raise(L, 2, "usage", "argv[%lld] %s", (long long)i,
                         lua_type(L, -1) == LUA_TSTRING ? "holds a NUL byte" : "is not a string");
        }
        lua_pop(L, 1);
    }
}

/* core.suggest(name, names) -> the nearest of names (the rule of field and
 * kind suggestions), or nil */
static int vc_lua_core_suggest(lua_State *L)
{
    const char *name = vc_lua_check_text(L, 1, NULL, "name");
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = (size_t)luaL_len(L, 2);
    const char **names = lua_newuserdatauv(L, sizeof *names * (n ? n : 1), 0);
    for (size_t i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "names[%zu]", i + 1);
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        names[i] = vc_lua_check_text(L, -1, NULL, what); /* the strings stay in the table */
        lua_pop(L, 1);
    }
    const char *best = vc_suggest(name, names, n);
    if (best)
        lua_pushstring(L, best);
    else
        lua_pushnil(L);
    return 1;
}

/* core.emit(kind, fields) -> array of QEMU arguments, array of the ids the
 * device defines (its own, and those of the backends and objects it brings
 * along), in field order */
static int vc_lua_core_emit(lua_State *L)
{
    const char *name = vc_lua_check_text(L, 1, NULL, "device kind");
    luaL_checktype(L, 2, LUA_TTABLE);
    vc_error_t err = {0};
    vc_dev_t *d = check_device(L, name, 2, &err);
    if (!d) return vc_lua_raise_core(L, 1, &err);
    vc_argv_t a = VC_ARGV_INIT, ids = VC_ARGV_INIT;
    int rc = vc_dev_emit(d, &a, &err);
    if (rc == 0) rc = vc_dev_ids(d, &ids, &err);
    vc_dev_free(d);
    if (rc) {
        vc_argv_free(&a);
        vc_argv_free(&ids);
        return vc_lua_raise_core(L, 1, &err);
    }
    push_argv(L, &a);
    vc_argv_free(&a);
    push_argv(L, &ids);
    vc_argv_free(&ids);
    return 2;
}

/* core.hotplug(kind, fields) -> plug, unplug: the QMP commands that add
 * the device to a running QEMU ({command =, arguments =} in order) and
 * those that remove it again (newest first); raises like emit, and when
 * the kind cannot be hot-plugged. */
static int vc_lua_core_hotplug(lua_State *L)
{
    const char *name = vc_lua_check_text(L, 1, NULL, "device kind");
    luaL_checktype(L, 2, LUA_TTABLE);
    vc_error_t err = {0};
    vc_dev_t *d = check_device(L, name, 2, &err);
    if (!d) return vc_lua_raise_core(L, 1, &err);
    cJSON *plug, *unplug;
    int rc = vc_dev_hotplug(d, &plug, &unplug, &err);
    vc_dev_free(d);
    if (rc) return vc_lua_raise_core(L, 1, &err);
    vc_lua_push_json(L, plug);
    vc_lua_push_json(L, unplug);
    cJSON_Delete(plug);
    cJSON_Delete(unplug);
    return 2;
}

/* core.render(argv, "shell"|"json") -> string */
static int vc_lua_core_render(lua_State *L)
{
    static const char *const formats[] = {"shell", "json", NULL};
    if (!lua_isnoneornil(L, 2)) vc_lua_check_text(L, 2, NULL, "format");
    int format = luaL_checkoption(L, 2, "shell", formats);
    vc_argv_t a = VC_ARGV_INIT;
    vc_lua_check_argv(L, 1, &a);
    char *s = format == 0 ? vc_argv_render_shell(&a) : vc_argv_render_json(&a);
    vc_argv_free(&a);
    if (!s) return vc_lua_raise(L, 1, "io", "out of memory");
    lua_pushstring(L, s);
    free(s);
    return 1;
}

/* core.escape(value) -> value with commas doubled; raises on control chars */
static int vc_lua_core_escape(lua_State *L)
{
    const char *v = vc_lua_check_text(L, 1, NULL, "value");
    vc_buf_t b = VC_BUF_INIT;
    vc_error_t err = {0};
    if (vc_escape_value(&b, v, "value", &err)) {
        vc_buf_free(&b);
        return vc_lua_raise(L, 2, "usage", "%s", err.msg);
    }
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    vc_buf_free(&b);
    return 1;
}

/* core.check_id(id, what) -> id; raises recipe on an id QEMU would refuse */
static int vc_lua_core_check_id(lua_State *L)
{
    const char *what = lua_isnoneornil(L, 2) ? "id" : vc_lua_check_text(L, 2, NULL, "what");
    const char *id = vc_lua_check_text(L, 1, NULL, what);
    vc_error_t err = {0};
    if (vc_id_check(id, what, &err)) return vc_lua_raise(L, 2, "recipe", "%s", err.msg);
    lua_settop(L, 1);
    return 1;
}

/* core.probe_format(path) -> format or false (no known header: raw),
 * "block" or "file"; raises an io error naming path when it cannot be read */
static int vc_lua_core_probe_format(lua_State *L)
{
    const char *path = vc_lua_check_text(L, 1, NULL, "path");
    vc_probe_t p;
    vc_error_t err = {0};
    if (vc_probe_format(path, &p, &err)) return vc_lua_raise(L, 2, "io", "%s", err.msg);
    if (p.format[0])
        lua_pushstring(L, p.format);
    else
        lua_pushboolean(L, 0);
    lua_pushstring(L, p.block_device ? "block" : "file");
    return 2;
}

/* Pushes kind k's {doc=, fields=} (see core.kinds). */
static void push_kind(lua_State *L, const vc_kind_t *k)
{
    lua_createtable(L, 0, 2);
    lua_pushstring(L, k->doc);
    lua_setfield(L, -2, "doc");
    lua_createtable(L, (int)k->nfields, 0);
    for (size_t i = 0; i < k->nfields; i++) {
        const vc_field_t *f = &k->fields[i];
        lua_createtable(L, 0, 8);
        lua_pushstring(L, f->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, vc_type_name(f->type));
        lua_setfield(L, -2, "type");
        lua_pushboolean(L, f->flags & VC_F_REQUIRED);
        lua_setfield(L, -2, "required");
        if (f->flags & VC_F_DEFINES_ID) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "defines_id");
        }
        if (f->flags & VC_F_LIST) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "list");
        }
        if (f->def) {
            lua_pushstring(L, f->def);
            lua_setfield(L, -2, "default");
        }
        if (f->values) {
            lua_newtable(L);
            for (int j = 0; f->values[j]; j++) {
                lua_pushstring(L, f->values[j]);
                lua_rawseti(L, -2, j + 1);
            }
            lua_setfield(L, -2, "values");
        }
        if (f->min || f->max) {
            lua_pushinteger(L, f->min);
            lua_setfield(L, -2, "min");
            lua_pushinteger(L, f->max);
            lua_setfield(L, -2, "max");
        }
        if (f->doc) {
            lua_pushstring(L, f->doc);
            lua_setfield(L, -2, "doc");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "fields");
}

/* core.kinds() -> {name = {doc=, fields = {{name=, type=, required=, default=,
 * values=, min=, max=, doc=, defines_id=, list=}, ...}}} for documentation and
 * suggestions; defines_id is true on a field whose value is the id of
 * something the device creates (see VC_F_DEFINES_ID).
 * core.kinds(name) -> that one kind's {doc=, fields=}, or nil for no such
 * kind. Every kind's table at once costs about 1.9 million instructions
 * (more than loading all of vclaunch's modules): code that needs one kind
 * asks for that one. */
static int vc_lua_core_kinds(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) {
        const vc_kind_t *k = vc_kind_find(luaL_checkstring(L, 1));
        if (!k) return 0;
        push_kind(L, k);
        return 1;
    }
    lua_newtable(L);
    for (const vc_kind_t *const *kp = vc_kinds(); *kp; kp++) {
        push_kind(L, *kp);
        lua_setfield(L, -2, (*kp)->name);
    }
    return 1;
}

/* ---- the recipe's line -----------------------------------------------
 * A tail call (`return vc.pod{...}`) replaces the recipe's frame, so no
 * stack walk can find the line that made it. The CLI therefore tracks the
 * last line the recipe itself executed with a line hook on the recipe's
 * coroutine (core.spawn clears it on the tasks it creates, which would
 * inherit it and pay for it on every line they run). The hook
 * compares one pointer per line: functions of one chunk share its source
 * string. One recipe per process: the state lives in a static. */
static struct {
    lua_State *main;
    const char *source; /* the chunk's source string, kept alive by the CLI */
    char short_src[LUA_IDSIZE];
    int line;
} recipe;

static void recipe_hook(lua_State *L, lua_Debug *ar)
{
    if (!lua_getinfo(L, "S", ar) || ar->source != recipe.source) return;
    recipe.line = ar->currentline;
}

/* core.trace_recipe(fn): tracks the lines of fn's chunk run by this thread
 * from now on. */
static int vc_lua_core_trace_recipe(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_Debug ar;
    lua_pushvalue(L, 1);
    lua_getinfo(L, ">S", &ar);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    recipe.main = lua_tothread(L, -1);
    lua_pop(L, 1);
    recipe.source = ar.source;
    snprintf(recipe.short_src, sizeof recipe.short_src, "%s", ar.short_src);
    recipe.line = 0;
    lua_sethook(L, recipe_hook, LUA_MASKLINE, 0);
    return 0;
}

/* core.recipe_line() -> "recipe.lua:7", the last recipe line run, or nil */
static int vc_lua_core_recipe_line(lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    int ours = lua_tothread(L, -1) == recipe.main && recipe.line > 0;
    lua_pop(L, 1);
    if (!ours) return 0;
    lua_pushfstring(L, "%s:%d", recipe.short_src, recipe.line);
    return 1;
}

/* core.error(kind, message) -> error object (for Lua modules to raise) */
static int vc_lua_core_error(lua_State *L)
{
    vc_lua_push_error(L, luaL_checkstring(L, 1), luaL_checkstring(L, 2));
    return 1;
}

void vc_lua_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction close)
{
    if (luaL_newmetatable(L, name)) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
        if (close) {
            lua_pushcfunction(L, close);
            lua_setfield(L, -2, "__gc");
            lua_pushcfunction(L, close);
            lua_setfield(L, -2, "__close");
        }
    }
    lua_pop(L, 1);
}

int luaopen_vclaunch_core(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"emit", vc_lua_core_emit},
        {"hotplug", vc_lua_core_hotplug},
        {"render", vc_lua_core_render},
        {"escape", vc_lua_core_escape},
        {"check_id", vc_lua_core_check_id},
        {"probe_format", vc_lua_core_probe_format},
        {"kinds", vc_lua_core_kinds},
        {"suggest", vc_lua_core_suggest},
        {"error", vc_lua_core_error},
        {"trace_recipe", vc_lua_core_trace_recipe},
        {"recipe_line", vc_lua_core_recipe_line},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    vc_lua_open_task(L);
    vc_lua_open_qmp(L);
    vc_lua_open_proc(L);
    vc_lua_open_rundir(L);
    vc_lua_open_signal(L);
    vc_lua_open_term(L);
    vc_lua_open_json(L);
    vc_lua_open_host(L);
    return 1;
}
