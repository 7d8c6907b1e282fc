#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int vc_error_set(vc_error_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
        err->device = NULL;
        err->field = NULL;
        err->id[0] = '\0';
    }
    return code;
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
