/* vclaunch core: supervision of one child process (QEMU or a helper) on
 * libuv.
 *
 * The child is started with an argv array (never a shell), in its own
 * process group, with a parent-death signal (SIGKILL) so that it cannot
 * outlive the vclaunch process, stdin on /dev/null (or a pipe that
 * vc_proc_write feeds), and stdout/stderr on
 * pipes read line by line. Extra fds are handed to the child as fds
 * 3, 4, ... in the order given. Exit is observed with a pidfd on the loop;
 * the exit callback runs once, after the child was reaped AND both pipes
 * reached EOF, so the last lines of output are always delivered first.
 *
 * A vc_proc_t is owned by its creator and released with vc_proc_close. All
 * calls from the loop thread; callbacks run from the loop, never
 * synchronously.
 */
#ifndef VC_PROC_H
#define VC_PROC_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "error.h"

typedef struct vc_proc vc_proc_t;

enum { VC_PROC_STDOUT = 1, VC_PROC_STDERR = 2 };

/* One output line, without its newline (a CR before the LF is dropped too).
 * A final unterminated line is delivered at EOF. Borrowed: valid only
 * during the callback. */
typedef void (*vc_proc_line_cb)(vc_proc_t *p, int stream, const char *line, size_t len, void *ud);
/* Exit: exit_status is the exit code (or -1 if killed); term_signal is the
 * signal number that ended it (or 0). */
typedef void (*vc_proc_exit_cb)(vc_proc_t *p, int exit_status, int term_signal, void *ud);

typedef struct vc_proc_options {
    const char *const *argv; /* argv[0] is looked up in PATH; NULL-terminated */
    const int *fds;          /* handed to the child as 3, 4, ...; may be NULL */
    int nfds;
    const char *cwd;      /* NULL: inherit */
    const char *log_path; /* when set, every output line is appended here */
    size_t tail_lines;    /* how many stderr lines to keep (0: 20) */
    int stdin_pipe;       /* 1: stdin is a pipe vc_proc_write feeds (else /dev/null) */
    /* Called, when set, after each read that leaves an unterminated line,
     * with that line so far (a prompt that waits for input). The same text
     * comes again in the line callback once its newline arrives. */
    vc_proc_line_cb partial_cb;
} vc_proc_options_t;

/* Starts the child. argv[0] is found along $PATH (or taken as a path when
 * it holds a '/') before the child is made: a program that is missing or
 * not executable, bad fds and the like fail here, returning < 0 with err
 * naming the program and the reason, and no callback is called. The child
 * shares this process's memory until it execs (no copy of the address
 * space, however large the caller's heap) and the call returns once it has
 * exec'd (the exec itself, not the program's start-up): an exec that still
 * fails (a file that is not a program) ends the child with status
 * 127, its reason as the last stderr tail line ("cannot start X: Exec
 * format error"). */
int vc_proc_spawn(uv_loop_t *loop, const vc_proc_options_t *opts, vc_proc_line_cb line_cb,
                  vc_proc_exit_cb exit_cb, void *ud, vc_proc_t **out, vc_error_t *err);

/* Queues len bytes for the child's stdin (opts.stdin_pipe); the bytes are
 * copied, the write completes from the loop. Fails with -EPIPE when the
 * child has no stdin pipe or has exited. */
int vc_proc_write(vc_proc_t *p, const char *data, size_t len, vc_error_t *err);

pid_t vc_proc_pid(const vc_proc_t *p);
/* 1 once the exit callback has run. */
int vc_proc_exited(const vc_proc_t *p);

/* Sends sig to the child's process group. -ESRCH once it has exited. */
int vc_proc_kill(vc_proc_t *p, int sig);

/* The kill ladder: SIGTERM now, SIGKILL after grace seconds if it has not
 * exited by then. The exit callback reports the end as usual. */
int vc_proc_terminate(vc_proc_t *p, double grace);

/* The last stderr lines, oldest first, joined with "\n" into buf. Returns
 * the number of lines. */
size_t vc_proc_stderr_tail(const vc_proc_t *p, char *buf, size_t size);

/* Releases the object. A child still running is SIGKILLed and reaped in
 * this call (it waits for the kernel to end the child, which SIGKILL keeps
 * short), so no zombie or orphan is left; no callback runs after it. */
void vc_proc_close(vc_proc_t *p);

#endif
