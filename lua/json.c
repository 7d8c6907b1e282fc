/* vclaunch.core JSON: Lua values <-> cJSON for the binding (QMP arguments
 * and replies) and core.json_encode / core.json_decode for Lua modules (the
 * runtime dir's vm.json, `vclaunch ls --json`, `vclaunch qmp`).
 *
 * Lua strings are byte strings and may hold NUL; cJSON's are C strings.
 * json_encode and json_decode keep the length: the encoder writes each
 * string literal itself (as a cJSON raw item), and the decoder, which lets
 * cJSON parse, finds each string's true length by counting the \u0000
 * escapes of its literal in the source (cJSON writes them as NUL bytes and
 * goes on, and it links keys and values in document order, the order the
 * source is scanned in).
 *
 * JSON null is core.json_null (a light userdata) when encoding and nil when
 * decoding. An empty table encodes as an object, unless its metatable is
 * core.json_array; decoded empty arrays (and those of QMP replies) get that
 * metatable, so they encode back as arrays. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc_lua.h"

#define ARRAY_MT "vclaunch.JsonArray"
#define MAX_DEPTH 64

/* ---- the binding's conversions (QMP) ----------------------------------- */

void vc_lua_push_json(lua_State *L, const cJSON *j)
{
    luaL_checkstack(L, 4, "JSON too deep");
    if (cJSON_IsObject(j)) {
        int n = 0; /* sized at once: no rehash while it fills */
        for (const cJSON *c = j->child; c; c = c->next)
            n++;
        lua_createtable(L, 0, n);
        for (const cJSON *c = j->child; c; c = c->next) {
            vc_lua_push_json(L, c);
            lua_setfield(L, -2, c->string);
        }
    } else if (cJSON_IsArray(j)) {
        lua_createtable(L, cJSON_GetArraySize(j), 0);
        if (!j->child) luaL_setmetatable(L, ARRAY_MT); /* encodes back as [] */
        int i = 1;
        for (const cJSON *c = j->child; c; c = c->next) {
            vc_lua_push_json(L, c);
            lua_rawseti(L, -2, i++);
        }
    } else if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == (double)(lua_Integer)d && d >= -9007199254740992.0 && d <= 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else {
        lua_pushnil(L);
    }
}

static cJSON *to_json(lua_State *L, int idx, int depth, vc_error_t *err)
{
    idx = lua_absindex(L, idx);
    if (depth > MAX_DEPTH) return vc_error_set(err, -EINVAL, "arguments nest too deep"), NULL;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TSTRING: {
        size_t n;
        const char *v = lua_tolstring(L, idx, &n);
        if (strlen(v) != n) return vc_error_set(err, -EINVAL, "a string holds a NUL byte"), NULL;
        return cJSON_CreateString(v);
    }
    case LUA_TNUMBER:
        return cJSON_CreateNumber(lua_tonumber(L, idx));
    case LUA_TTABLE:
        break;
    default:
        vc_error_set(err, -EINVAL, "a %s cannot be sent as JSON", luaL_typename(L, idx));
        return NULL;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        lua_pop(L, 1);
    }
    int array = n > 0 && (size_t)n == count;
    cJSON *out = array ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!out) return vc_error_set(err, -ENOMEM, "out of memory"), NULL;
    if (array) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            cJSON *c = to_json(L, -1, depth + 1, err);
            lua_pop(L, 1);
            if (!c || !cJSON_AddItemToArray(out, c)) goto fail;
        }
        return out;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING || strlen(lua_tostring(L, -2)) != lua_rawlen(L, -2)) {
            lua_pop(L, 2);
            vc_error_set(err, -EINVAL, "object keys must be strings without NUL bytes");
            goto fail;
        }
        cJSON *c = to_json(L, -1, depth + 1, err);
        if (!c || !cJSON_AddItemToObject(out, lua_tostring(L, -2), c)) {
            cJSON_Delete(c);
            lua_pop(L, 2);
            goto fail;
        }
        lua_pop(L, 1);
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

cJSON *vc_lua_to_json(lua_State *L, int idx, vc_error_t *err)
{
    return to_json(L, idx, 0, err);
}

/* ---- encoding -------------------------------------------------------- */

/* s[0..n) as a quoted JSON string literal into b, every byte below 0x20,
 * the quote and the backslash escaped; other bytes pass as they are. */
static void add_literal(luaL_Buffer *b, const char *s, size_t n)
{
    luaL_addchar(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            luaL_addstring(b, "\\\"");
            break;
        case '\\':
            luaL_addstring(b, "\\\\");
            break;
        case '\n':
            luaL_addstring(b, "\\n");
            break;
        case '\r':
            luaL_addstring(b, "\\r");
            break;
        case '\t':
            luaL_addstring(b, "\\t");
            break;
        case '\b':
            luaL_addstring(b, "\\b");
            break;
        case '\f':
            luaL_addstring(b, "\\f");
            break;
        default:
            if (c < 0x20) {
                char esc[8];
                snprintf(esc, sizeof esc, "\\u%04x", c);
                luaL_addstring(b, esc);
            } else {
                luaL_addchar(b, (char)c);
            }
        }
    }
    luaL_addchar(b, '"');
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The Lua value at idx as a cJSON tree, or NULL with the reason pushed as
 * a string. Keys are sorted, so the same table always gives the same text. */
static cJSON *encode(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 8, "JSON too deep");
    if (depth > MAX_DEPTH) return lua_pushstring(L, "the value nests too deep"), NULL;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        return cJSON_CreateNumber(lua_tonumber(L, idx));
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) return cJSON_CreateNull();
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        add_literal(&b, s, n);
        luaL_pushresult(&b);
        cJSON *raw = cJSON_CreateRaw(lua_tostring(L, -1));
        lua_pop(L, 1);
        return raw;
    }
    case LUA_TTABLE: {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        size_t count = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            count++;
            lua_pop(L, 1);
        }
        int forced = 0;
        if (lua_getmetatable(L, idx)) {
            luaL_getmetatable(L, ARRAY_MT);
            forced = lua_rawequal(L, -1, -2);
            lua_pop(L, 2);
        }
        if ((n > 0 && (size_t)n == count) || (forced && count == 0)) {
            cJSON *out = cJSON_CreateArray();
            for (lua_Integer i = 1; out && i <= n; i++) {
                lua_rawgeti(L, idx, i);
                cJSON *c = encode(L, -1, depth + 1);
                if (!c) {
                    lua_remove(L, -2);
                    cJSON_Delete(out);
                    return NULL;
                }
                lua_pop(L, 1);
                if (!cJSON_AddItemToArray(out, c)) cJSON_Delete(c), cJSON_Delete(out), out = NULL;
            }
            if (!out) lua_pushstring(L, "out of memory");
            return out;
        }
        /* the keys, sorted; they stay alive in the table meanwhile */
        const char **keys = malloc((count ? count : 1) * sizeof *keys);
        if (!keys) return lua_pushstring(L, "out of memory"), NULL;
        size_t k = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            size_t len;
            if (lua_type(L, -1) != LUA_TSTRING ||
                strlen(keys[k] = lua_tolstring(L, -1, &len)) != len) {
                lua_pop(L, 1);
                free(keys);
                lua_pushstring(L, "object keys must be strings without NUL bytes");
                return NULL;
            }
            k++;
        }
        qsort(keys, k, sizeof *keys, key_cmp);
        cJSON *out = cJSON_CreateObject();
        for (size_t i = 0; out && i < k; i++) {
            lua_getfield(L, idx, keys[i]);
            cJSON *c = encode(L, -1, depth + 1);
            if (!c) {
                lua_remove(L, -2);
                cJSON_Delete(out);
                free(keys);
                return NULL;
            }
            lua_pop(L, 1);
            if (!cJSON_AddItemToObject(out, keys[i], c))
                cJSON_Delete(c), cJSON_Delete(out), out = NULL;
        }
        free(keys);
        if (!out) lua_pushstring(L, "out of memory");
        return out;
    }
    default:
        break;
    }
    lua_pushfstring(L, "a %s cannot be written as JSON", luaL_typename(L, idx));
    return NULL;
}

/* core.json_encode(value[, pretty]) -> text (one line unless pretty) */
static int vc_lua_core_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    int pretty = lua_toboolean(L, 2);
    lua_settop(L, 1);
    cJSON *j = encode(L, 1, 0);
    if (!j) return vc_lua_raise(L, 1, "usage", "json_encode: %s", lua_tostring(L, -1));
    char *s = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) return vc_lua_raise(L, 1, "io", "json_encode: out of memory");
    lua_pushstring(L, s);
    cJSON_free(s);
    return 1;
}

/* ---- decoding -------------------------------------------------------- */

typedef struct scan {
    const char *p, *end;
} scan_t;

/* Moves past the next string literal of the source and returns how many
 * \u0000 escapes it holds. Between literals the source holds only
 * punctuation, numbers and the words true/false/null, so the next quote
 * opens a literal. */
static size_t next_literal(scan_t *s)
{
    while (s->p < s->end && *s->p != '"')
        s->p++;
    size_t nuls = 0;
    for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
        if (*s->p != '\\') continue;
        s->p++;
        if (s->end - s->p >= 5 && memcmp(s->p, "u0000", 5) == 0) nuls++;
    }
    s->p++;
    return nuls;
}

/* Pushes the string cJSON decoded at v whose literal is the next one. */
static void push_string(lua_State *L, const char *v, scan_t *s)
{
    size_t nuls = next_literal(s);
    const char *q = v;
    for (size_t i = 0; i < nuls; i++)
        q += strlen(q) + 1;
    lua_pushlstring(L, v, (size_t)(q - v) + strlen(q));
}

static void decode(lua_State *L, const cJSON *j, scan_t *s)
{
    luaL_checkstack(L, 4, "JSON too deep");
    if (cJSON_IsObject(j)) {
        int n = 0;
        for (const cJSON *c = j->child; c; c = c->next)
            n++;
        lua_createtable(L, 0, n);
        for (const cJSON *c = j->child; c; c = c->next) {
            push_string(L, c->string, s);
            decode(L, c, s);
            lua_rawset(L, -3);
        }
    } else if (cJSON_IsArray(j)) {
        lua_createtable(L, cJSON_GetArraySize(j), 0);
        if (!j->child) luaL_setmetatable(L, ARRAY_MT);
        int i = 1;
        for (const cJSON *c = j->child; c; c = c->next) {
            decode(L, c, s);
            lua_rawseti(L, -2, i++);
        }
    } else if (cJSON_IsString(j)) {
        push_string(L, j->valuestring, s);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == (double)(lua_Integer)d && d >= -9007199254740992.0 && d <= 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else {
        lua_pushnil(L);
    }
}

/* core.json_decode(text) -> value, or nil and a message */
static int vc_lua_core_json_decode(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (j && end) /* only white space may follow the value */
        while (end < text + n && strchr(" \t\r\n", *end) && *end)
            end++;
    if (!j || end != text + n) {
        size_t at = end ? (size_t)(end - text) : 0;
        if (!j && cJSON_GetErrorPtr()) at = (size_t)(cJSON_GetErrorPtr() - text);
        cJSON_Delete(j);
        lua_pushnil(L);
        lua_pushfstring(L, "invalid JSON at byte %d", (int)at + 1);
        return 2;
    }
    scan_t s = {text, text + n};
    decode(L, j, &s);
    cJSON_Delete(j);
    return 1;
}

void vc_lua_open_json(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"json_encode", vc_lua_core_json_encode},
        {"json_decode", vc_lua_core_json_decode},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
    luaL_newmetatable(L, ARRAY_MT);
    lua_setfield(L, -2, "json_array");
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "json_null");
}
