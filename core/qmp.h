/* vclaunch core: an asynchronous QMP client on libuv and cJSON.
 *
 * A vc_qmp_t is one QMP session over a unix stream socket. It is owned by
 * whoever created it with vc_qmp_new and released with vc_qmp_close; memory
 * is freed from the loop after the socket handle has closed. All calls must
 * be made from the loop thread. No call blocks and no callback ever runs
 * synchronously from inside the call that registered it: a call either
 * fails at once (returning < 0, callback never called) or its callback runs
 * later from the loop, exactly once.
 *
 * Protocol: lines of JSON, LF or CRLF terminated, each of at most
 * VC_QMP_LINE_MAX bytes (a CR counts, the LF does not). A longer line ends
 * the session as EOF would: every pending command fails with
 * VC_EDISCONNECTED and the disconnect hook (the ready callback, before the
 * session is ready) gets "QMP line over 16777216 bytes". The client never
 * buffers more than one line's worth of input; the cJSON tree of a line it
 * accepts can take up to 40 times the line (640 MiB for 16 MiB of "[0,0,..."),
 * held only while that line is handled.
 *
 * Lines that do not parse, parse to something that is not an object, or hold
 * a raw NUL byte anywhere are counted in `garbage` and dropped. QEMU never
 * writes a raw NUL (it escapes it as \u0000); cJSON would read one as white
 * space or keep it inside a string, cutting that C string short. A \u0000
 * escape, which QEMU does write when an error message echoes a string that
 * holds one, is decoded by cJSON and likewise ends that C string early.
 *
 * Events that arrive before the greeting are delivered to the event callback
 * like any other. Every command carries a client-generated "id" and replies
 * are matched by id, so several commands may be in flight; replies with
 * unknown ids are counted and dropped.
 *
 * Costs: a reply finds its command in O(1) however many are in flight, and
 * the client holds four libuv handles for its whole life (the socket, two
 * timers, a prepare handle), none per command: one timer serves every
 * command's deadline. The first command queued in a loop iteration is
 * written at once, from inside vc_qmp_execute (a non-blocking write; what
 * the socket does not take waits for the loop); those queued after it in
 * the same iteration go out together in one write, from the prepare handle,
 * before the loop next waits for I/O, or every 64 KiB in a long run.
 * Commands reach QEMU in the order vc_qmp_execute took them.
 */
#ifndef VC_QMP_H
#define VC_QMP_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "error.h"

/* The longest line accepted, in bytes. QEMU 7.2's longest replies are far
 * below it: query-qmp-schema is 207 KB on x86_64, query-cpu-definitions
 * 35 KB. */
#define VC_QMP_LINE_MAX (16 * 1024 * 1024)

typedef struct vc_qmp vc_qmp_t;

/* Outcome of one command. The struct and everything it points to belong to
 * the client and are valid only during the callback; the "return" tree can
 * be kept past it with vc_qmp_take_return, without a copy. */
typedef struct vc_qmp_reply {
    int status;            /* 0, VC_EQMP, -ETIMEDOUT, VC_EDISCONNECTED, VC_ECLOSED */
    const cJSON *ret;      /* the "return" member when status == 0, never NULL then */
    const char *err_class; /* QMP error class when status == VC_EQMP, else NULL */
    const char *message;   /* QMP "desc", or what went wrong; never NULL */
    const char *command;   /* the command's name */
} vc_qmp_reply_t;

typedef void (*vc_qmp_reply_cb)(vc_qmp_t *q, const vc_qmp_reply_t *reply, void *ud);
/* Connect finished: status 0 once the greeting was read and
 * qmp_capabilities acknowledged; else the error, with err filled. */
typedef void (*vc_qmp_ready_cb)(vc_qmp_t *q, int status, const vc_error_t *err, void *ud);
/* An event: name, and the whole message object (has "data" and
 * "timestamp"). Borrowed: valid only during the callback. */
typedef void (*vc_qmp_event_cb)(vc_qmp_t *q, const char *name, const cJSON *msg, void *ud);
/* The session ended: EOF, a read/write error or vc_qmp_close. Called once,
 * after every pending command has been failed with VC_EDISCONNECTED
 * (VC_ECLOSED when closed by the owner). */
typedef void (*vc_qmp_disconnect_cb)(vc_qmp_t *q, const vc_error_t *why, void *ud);

typedef struct vc_qmp_version {
    int major, minor, micro;
    char package[64];
} vc_qmp_version_t;

int vc_qmp_new(uv_loop_t *loop, vc_qmp_t **out);

/* Hooks; set before connecting. Either may be NULL. */
void vc_qmp_set_event_cb(vc_qmp_t *q, vc_qmp_event_cb cb, void *ud);
void vc_qmp_set_disconnect_cb(vc_qmp_t *q, vc_qmp_disconnect_cb cb, void *ud);

/* Connects to the unix socket at path, reads the greeting and sends
 * qmp_capabilities. timeout (seconds, > 0) covers all three steps. */
int vc_qmp_connect(vc_qmp_t *q, const char *path, double timeout, vc_qmp_ready_cb cb, void *ud,
                   vc_error_t *err);

/* Sends {"execute": command, "arguments": args, "id": N}. args may be NULL;
 * ownership of args passes to the client in every case (also on failure).
 * fd >= 0 is sent with the command as SCM_RIGHTS ancillary data (for getfd
 * and add-fd); the client dup()s it, the caller keeps its own fd.
 * timeout (seconds, > 0) bounds the wait for the reply; on timeout the
 * callback gets -ETIMEDOUT and a late reply is dropped.
 * Allowed once the session is ready (after ready_cb reported 0). */
int vc_qmp_execute(vc_qmp_t *q, const char *command, cJSON *args, int fd, double timeout,
                   vc_qmp_reply_cb cb, void *ud, vc_error_t *err);

/* Takes the "return" tree of the reply being delivered out of the client:
 * call it from inside the reply callback, with the reply that callback was
 * given, when reply->status == 0. The caller then owns the tree and frees it
 * with cJSON_Delete; reply->ret still points at it for the rest of the
 * callback. No copy is made. Returns NULL, taking nothing, when called with
 * any other reply, outside a reply callback, or a second time for the same
 * reply. */
cJSON *vc_qmp_take_return(vc_qmp_t *q, const vc_qmp_reply_t *reply);

/* Greeting data; valid once ready. */
const vc_qmp_version_t *vc_qmp_version(const vc_qmp_t *q);
/* Capabilities array from the greeting (borrowed), or NULL. */
const cJSON *vc_qmp_capabilities(const vc_qmp_t *q);

int vc_qmp_is_ready(const vc_qmp_t *q);
/* Counters for diagnostics and tests. */
uint64_t vc_qmp_garbage_count(const vc_qmp_t *q);
uint64_t vc_qmp_unknown_reply_count(const vc_qmp_t *q);

/* Fails every pending command with VC_ECLOSED, calls the disconnect hook
 * (if not already called) and releases the client from the loop. The
 * pointer must not be used after this call. Idempotent per object. */
void vc_qmp_close(vc_qmp_t *q);

#endif
