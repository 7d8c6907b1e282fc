#include "argv.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int vc_argv_push(vc_argv_t *a, const char *arg)
{
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        char **v = realloc(a->v, cap * sizeof *v);
        if (!v) return -ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    char *copy = strdup(arg);
    if (!copy) return -ENOMEM;
    a->v[a->n++] = copy;
    a->v[a->n] = NULL;
    return 0;
}

int vc_argv_push2(vc_argv_t *a, const char *flag, const char *value)
{
    size_t n = a->n;
    int rc = vc_argv_push(a, flag);
    if (rc == 0) rc = vc_argv_push(a, value);
    if (rc) {
        while (a->n > n)
            free(a->v[--a->n]);
        if (a->v) a->v[a->n] = NULL;
    }
    return rc;
}

void vc_argv_free(vc_argv_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    *a = (vc_argv_t)VC_ARGV_INIT;
}

int vc_control_char(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return *p;
    return 0;
}

int vc_escape_value(vc_buf_t *out, const char *value, const char *what, vc_error_t *err)
{
    int c = vc_control_char(value);
    if (c)
        return vc_error_set(err, -EINVAL, "%s holds a control character (0x%02x): \"%s\"", what, c,
                            value);
    size_t mark = out->len;
    for (const char *p = value; *p; p++) {
        const char *s = *p == ',' ? ",," : p;
        if (vc_buf_append(out, s, *p == ',' ? 2 : 1)) {
            out->len = mark;
            if (out->data) out->data[mark] = '\0';
            return vc_error_set(err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

int vc_id_check(const char *id, const char *what, vc_error_t *err)
{
    if (!id || !*id) return vc_error_set(err, -EINVAL, "%s is empty", what);
    size_t len = strlen(id);
    if (len > VC_ID_MAX)
        return vc_error_set(err, -EINVAL, "%s '%.40s...' is %zu characters; at most %d", what, id,
                            len, VC_ID_MAX);
    if (!isalpha((unsigned char)id[0]) || !isascii((unsigned char)id[0]))
        return vc_error_set(err, -EINVAL, "%s '%s' must start with a letter", what, id);
    for (const char *p = id + 1; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!isascii(c) || !(isalnum(c) || c == '-' || c == '.' || c == '_'))
            return vc_error_set(
                err, -EINVAL, "%s '%s' may hold only letters, digits, '-', '.' and '_'", what, id);
    }
    return 0;
}

static int shell_safe(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_./=,:@%+", *s)) return 0;
    return 1;
}

char *vc_argv_render_shell(const vc_argv_t *a)
{
    vc_buf_t b = VC_BUF_INIT;
    int rc = vc_buf_reserve(&b, 0);
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        if (i) rc = vc_buf_puts(&b, " ");
        const char *w = a->v[i];
        if (rc == 0 && shell_safe(w)) {
            rc = vc_buf_puts(&b, w);
            continue;
        }
        if (rc == 0) rc = vc_buf_puts(&b, "'");
        for (const char *p = w; rc == 0 && *p; p++)
            rc = *p == '\'' ? vc_buf_puts(&b, "'\\''") : vc_buf_append(&b, p, 1);
        if (rc == 0) rc = vc_buf_puts(&b, "'");
    }
    if (rc) {
        vc_buf_free(&b);
        return NULL;
    }
    return vc_buf_steal(&b);
}

char *vc_argv_render_json(const vc_argv_t *a)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return NULL;
    for (size_t i = 0; i < a->n; i++) {
        cJSON *s = cJSON_CreateString(a->v[i]);
        if (!s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    char *out = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return out;
}
