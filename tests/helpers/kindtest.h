/* Helpers shared by the device-kind tests: build a device from text
 * values, emit it as shell text, and talk QMP over a blocking socket to a
 * QEMU started by the test. */
#ifndef VC_KINDTEST_H
#define VC_KINDTEST_H

#include "kind.h"
#include "proc.h"
#include "test.h"

typedef struct kv {
    const char *k, *v;
} kv_t;

/* Builds a device of kind from text values; returns 0 or the error code. */
int vc_test_build_device(const char *kind, const kv_t *vals, vc_dev_t **out, vc_error_t *err);
/* The device's arguments as shell text (malloc'd); fails the test on error. */
char *vc_test_emit_shell(const char *kind, const kv_t *vals);
/* Reads one line (CR stripped) from a blocking socket; fails on EOF or a
 * line that does not fit. */
void vc_test_read_line(int fd, char *buf, size_t size);
/* Sends a command and returns the first line that is not an event. */
void vc_test_qmp(int fd, const char *cmd, char *reply, size_t size);

typedef struct vc_test_exit {
    int done, status, sig;
} vc_test_exit_t;
/* A vc_proc exit callback filling the vc_test_exit_t passed as ud. */
void vc_test_on_exit(vc_proc_t *p, int status, int sig, void *ud);

#define GOLDEN(kind, expect, ...)                                                                  \
    do {                                                                                           \
        kv_t vals_[] = {__VA_ARGS__, {NULL, NULL}};                                                \
        char *got_ = vc_test_emit_shell(kind, vals_);                                              \
        ASSERT_STR_EQ(got_, expect);                                                               \
        free(got_);                                                                                \
    } while (0)

#define REJECT(kind, expect, ...)                                                                  \
    do {                                                                                           \
        kv_t vals_[] = {__VA_ARGS__, {NULL, NULL}};                                                \
        vc_error_t err_ = {0};                                                                     \
        vc_dev_t *d_ = NULL;                                                                       \
        ASSERT_INT_EQ(vc_test_build_device(kind, vals_, &d_, &err_), VC_ERECIPE);                  \
        ASSERT_STR_EQ(err_.msg, expect);                                                           \
    } while (0)

#endif
