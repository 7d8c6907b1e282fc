/* vclaunch core: error codes and the error slot every fallible call fills.
 *
 * Fallible functions return 0 on success or a negative code: a negated errno
 * value, or one of the VC_E* codes below. When the caller passes a
 * vc_error_t, the function also writes a one-line message naming what failed
 * into it. A vc_error_t is plain data owned by the caller. */
#ifndef VC_ERROR_H
#define VC_ERROR_H

#include <errno.h>
#include <stddef.h>

#define VC_ERRMSG_MAX 1024

/* Codes of our own, below the errno range. */
#define VC_EQMP (-4001)          /* QEMU answered a command with an error */
#define VC_EDISCONNECTED (-4002) /* the peer went away */
#define VC_EPROCESS (-4003)      /* a child process failed or died */
#define VC_ERECIPE (-4004)       /* an invalid pod or device description */
#define VC_ECLOSED (-4005)       /* the object was closed */

typedef struct vc_error {
    int code;
    char msg[VC_ERRMSG_MAX];
    /* For an error about a device (core/kind.h: vc_dev_error and every
     * device call that names a device in its message): the device's kind
     * name, and the name of the kind field the error is about, or NULL when
     * it is about the device as a whole. Both point into the static kind
     * tables. NULL for every other error. */
    const char *device;
    const char *field;
    /* The device's id as the message names it, or "" (an id is at most 127
     * characters). */
    char id[128];
} vc_error_t;

/* Fills err (when not NULL) with code and a printf-style message, and
 * clears device, field and id; returns code so that callers can write
 * `return vc_error_set(err, ...)`. */
int vc_error_set(vc_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A short stable word for a code: "qmp", "disconnected", "timeout",
 * "process", "recipe", "usage", "io". Used to build Lua error kinds. */
const char *vc_error_kind(int code);

#endif
