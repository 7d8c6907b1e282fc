/* vclaunch core: a growable byte buffer, always NUL-terminated.
 * The buffer owns its storage; vc_buf_free releases it. A failed append
 * (out of memory) leaves the buffer unchanged and returns -ENOMEM. */
#ifndef VC_BUF_H
#define VC_BUF_H

#include <stddef.h>

typedef struct vc_buf {
    char *data;
    size_t len;
    size_t cap;
} vc_buf_t;

#define VC_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

int vc_buf_reserve(vc_buf_t *b, size_t extra);
int vc_buf_append(vc_buf_t *b, const void *data, size_t len);
int vc_buf_puts(vc_buf_t *b, const char *s);
int vc_buf_printf(vc_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void vc_buf_consume(vc_buf_t *b, size_t n);
void vc_buf_reset(vc_buf_t *b);
/* Hands the storage to the caller (never NULL on success; "" when empty). */
char *vc_buf_steal(vc_buf_t *b);
void vc_buf_free(vc_buf_t *b);

#endif
