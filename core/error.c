#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int vc_error_set(vc_error_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int vc_error_prefix(vc_error_t *err, const char *fmt, ...)
{
    if (!err) return 0;
    char prefix[VC_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[VC_ERRMSG_MAX];
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof err->msg - n - 3;
    size_t m = strnlen(old, room);
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
    return err->code;
}

const char *vc_error_kind(int code)
{
    switch (code) {
    case VC_EQMP:
        return "qmp";
    case VC_EDISCONNECTED:
        return "disconnected";
    case -ETIMEDOUT:
        return "timeout";
    case VC_EPROCESS:
        return "process";
    case VC_ERECIPE:
        return "recipe";
    case -EINVAL:
    case VC_ECLOSED:
        return "usage";
    default:
        return "io";
    }
}

const char *vc_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case VC_EQMP:
        return "QMP error";
    case VC_EDISCONNECTED:
        return "disconnected";
    case VC_EPROCESS:
        return "process failed";
    case VC_ERECIPE:
        return "invalid recipe";
    case VC_ECLOSED:
        return "object is closed";
    case VC_EPROTOCOL:
        return "protocol error";
    default:
        return code < 0 ? strerror(-code) : "unknown error";
    }
}
