#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vc_buf_reserve(vc_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int vc_buf_append(vc_buf_t *b, const void *data, size_t len)
{
    if (vc_buf_reserve(b, len)) return -ENOMEM;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int vc_buf_puts(vc_buf_t *b, const char *s)
{
    return vc_buf_append(b, s, strlen(s));
}

int vc_buf_printf(vc_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return -EINVAL;
    if (vc_buf_reserve(b, (size_t)n)) return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void vc_buf_consume(vc_buf_t *b, size_t n)
{
    if (n >= b->len) {
        vc_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

void vc_buf_reset(vc_buf_t *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

char *vc_buf_steal(vc_buf_t *b)
{
    if (!b->data && vc_buf_reserve(b, 0)) return NULL;
    if (b->len == 0) b->data[0] = '\0';
    char *p = b->data;
    *b = (vc_buf_t)VC_BUF_INIT;
    return p;
}

void vc_buf_free(vc_buf_t *b)
{
    free(b->data);
    *b = (vc_buf_t)VC_BUF_INIT;
}
