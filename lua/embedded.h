/* Lua modules embedded at build time (lua/embed.cmake). */
#ifndef VC_LUA_EMBEDDED_H
#define VC_LUA_EMBEDDED_H

#include <stddef.h>

typedef struct vc_embedded {
    const char *name;  /* module name for require */
    const char *chunk; /* chunk name for messages: "@lua/vclaunch/pod.lua" */
    const char *data;
    size_t size;
} vc_embedded_t;

extern const vc_embedded_t vc_embedded[];

#endif
