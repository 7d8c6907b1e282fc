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

/* qom-get of path's property into buf; returns buf (the reply line). */
const char *vc_test_qom_get(int fd, const char *path, const char *prop, char *buf, size_t size);

/* A device for vc_test_vm_start: a kind and its text values. */
typedef struct vc_test_dev {
    const char *kind;
    kv_t vals[16];
} vc_test_dev_t;

/* One QEMU started by a test: qemu-system-x86_64 -display none, flags
 * -nodefaults -no-user-config -S, its QMP monitor on a socket the test
 * listens on at <dir>/qmp.sock (handed to QEMU as fd 3, so the caller's
 * fds arrive as 4, 5, ...), then the raw arguments, then the devices (the
 * caller gives machine and memory among them). Returns with qmp connected
 * and capabilities negotiated; when QEMU exits first, fails the test with
 * QEMU's stderr. The loop belongs to the caller. */
/* Appends each device's arguments to a; fails the test on error. */
void vc_test_emit_devs(vc_argv_t *a, const vc_test_dev_t *devs, size_t ndevs);

/* Fails the test when two registered kinds have the same name; returns how
 * many kinds there are. */
size_t vc_test_kinds_unique(void);

typedef struct vc_test_vm {
    uv_loop_t *loop;
    vc_proc_t *proc;
    vc_test_exit_t ex;
    int qmp;
} vc_test_vm_t;
void vc_test_vm_start(vc_test_vm_t *vm, uv_loop_t *loop, const char *dir, const char *const *raw,
                      const vc_test_dev_t *devs, size_t ndevs, const int *fds, int nfds);
/* The same with another QEMU binary (qemu-system-s390x, ...). */
void vc_test_vm_start_bin(vc_test_vm_t *vm, uv_loop_t *loop, const char *qemu, const char *dir,
                          const char *const *raw, const vc_test_dev_t *devs, size_t ndevs,
                          const int *fds, int nfds);
/* quit over QMP, waits for a clean exit (status 0), releases the process. */
void vc_test_vm_quit(vc_test_vm_t *vm);

/* Starts qemu-system-x86_64 -display none -nodefaults -no-user-config -S
 * -machine q35,accel=tcg with args (NULL-terminated: what a kind would emit
 * had vclaunch let it through) and expects QEMU to refuse them: exit status
 * 1 with expect in its stderr. Fails the test otherwise (a QEMU that
 * accepts is killed after 10s). */
void vc_test_qemu_refuses(const char *const *args, const char *expect);
/* The same, for what QEMU does not refuse but dies of: it must be killed
 * by SIGABRT (a failed assertion) with expect in its stderr. */
void vc_test_qemu_aborts(const char *const *args, const char *expect);

/* Kind warnings (vc_dev_warn) from here on go into a buffer instead of
 * stderr; vc_test_warnings() returns those since the last call, one per
 * line ("" when none), and clears them. vc_test_warn_end() restores
 * stderr. */
void vc_test_warn_begin(void);
const char *vc_test_warnings(void);
void vc_test_warn_end(void);

/* Runs a helper program (argv, no shell) to its end on loop; returns its
 * exit status (-1 when killed). Its stderr is printed. */
int vc_test_run_cmd(uv_loop_t *loop, const char *const *argv, double timeout);

/* Waits for a unix socket to appear at path, for an external daemon that
 * has no other readiness signal: checks every 10ms, fails the test when
 * *exited becomes non-zero (the daemon died) or after timeout seconds. */
void vc_test_await_socket(uv_loop_t *loop, const char *path, const int *exited, double timeout,
                          const char *what);

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
