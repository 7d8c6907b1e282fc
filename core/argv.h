/* vclaunch core: the QEMU argv builder, the one escaping function for
 * values placed inside a QEMU option string, id validation, and rendering
 * of an argv as shell-quoted text or as a JSON array.
 *
 * A vc_argv_t owns its strings; vc_argv_free releases them. None of these
 * calls block; they may be made from any context. */
#ifndef VC_ARGV_H
#define VC_ARGV_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

typedef struct vc_argv {
    char **v; /* NULL-terminated */
    size_t n;
    size_t cap;
} vc_argv_t;

#define VC_ARGV_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Appends a copy of arg. */
int vc_argv_push(vc_argv_t *a, const char *arg);
/* Appends "-flag" and a copy of value. */
int vc_argv_push2(vc_argv_t *a, const char *flag, const char *value);
void vc_argv_free(vc_argv_t *a);

/* The first control character (below 0x20, or 0x7f) in s, or 0. */
int vc_control_char(const char *s);

/* Appends value to out escaped for a QEMU option string: every comma is
 * doubled. A value holding a newline, a carriage return or another control
 * character is refused with -EINVAL and a message naming what (for example
 * "kernel path") holds it. */
int vc_escape_value(vc_buf_t *out, const char *value, const char *what, vc_error_t *err);

/* Checks id against QEMU's id rules: a letter first, then letters, digits,
 * '-', '.' or '_', at most VC_ID_MAX characters. what names the owner in
 * the message ("device id"). */
#define VC_ID_MAX 127
int vc_id_check(const char *id, const char *what, vc_error_t *err);

/* The argv as one line of POSIX shell words: words made only of safe
 * characters stay bare, others are single-quoted ('\'' for a quote).
 * Returns a malloc'd string, or NULL when out of memory. */
char *vc_argv_render_shell(const vc_argv_t *a);

/* The argv as a JSON array of strings (malloc'd), or NULL. */
char *vc_argv_render_json(const vc_argv_t *a);

#endif
