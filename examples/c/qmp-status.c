/* qmp-status: vclaunch's C API, without Lua.
 *
 * Starts QEMU (qemu-system-x86_64 -S: q35, TCG, 128 MiB, no display) with
 * its QMP monitor on a socket this program creates and listens on itself,
 * asks QEMU for its run state with query-status and prints it
 * ("prelaunch": the guest has not run yet), then quits QEMU, waits for it
 * to exit and removes the runtime dir.
 *
 *   cc -o qmp-status qmp-status.c $(pkg-config --cflags --libs vclaunch)
 *   ./qmp-status [runtime-base-dir]
 *
 * Everything runs on one libuv loop in one thread. Each asynchronous call
 * either fails at once (it returns < 0 and its callback never runs) or its
 * callback runs later, from uv_run. The program starts one step, then runs
 * the loop until that step's callback has said it is done. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include <vclaunch/argv.h>
#include <vclaunch/kind.h>
#include <vclaunch/proc.h>
#include <vclaunch/qmp.h>
#include <vclaunch/rundir.h>

#define TIMEOUT 10.0 /* seconds, for each QMP step and for QEMU's exit */

typedef struct app {
    uv_loop_t loop;
    uv_timer_t deadline;
    vc_proc_t *proc;
    vc_qmp_t *qmp;
    int exited, exit_status, term_signal;
    int ready, ready_status;
    char ready_msg[VC_ERRMSG_MAX];
    int replied, reply_status;
    char reply[256]; /* the "status" of query-status, or the error */
} app_t;

/* ---- the command line, from vclaunch's device kinds -------------------- */

/* Appends one device of kind, given as name/value pairs (NULL-ended), to
 * argv. The kind's table validates every value and escapes it. */
static int add_device(vc_argv_t *argv, const char *kind, const char *const *fields, vc_error_t *err)
{
    const vc_kind_t *k = vc_kind_find(kind);
    if (!k) return vc_error_set(err, -EINVAL, "no device kind '%s'", kind);
    vc_dev_t *d;
    int rc = vc_dev_new(k, &d, err);
    if (rc) return rc;
    for (; fields[0]; fields += 2) {
        int f = vc_kind_field(k, fields[0]);
        rc = f < 0 ? vc_dev_error(d, NULL, err, "no field '%s'", fields[0])
                   : vc_dev_set_str(d, f, fields[1], err);
        if (rc) goto out;
    }
    rc = vc_dev_finish(d, err);
    if (!rc) rc = vc_dev_emit(d, argv, err);
out:
    vc_dev_free(d);
    return rc;
}

/* QEMU's devices: each row a kind, then its fields as name/value pairs.
 * QMP runs on the listening socket handed to QEMU as its fd 3. */
static const char *const *const qemu_devices[] = {
    (const char *const[]){"flags", "freeze", "on", "nodefaults", "on", "no_user_config", "on",
                          "nographic", "on", NULL},
    (const char *const[]){"machine", "type", "q35", "accel", "tcg", NULL},
    (const char *const[]){"memory", "size", "128M", NULL},
    (const char *const[]){"chardev", "backend", "socket", "id", "qmp", "fd", "3", "server", "on",
                          "wait", "off", NULL},
    (const char *const[]){"mon", "chardev", "qmp", NULL},
    NULL,
};

static int build_argv(vc_argv_t *argv, vc_error_t *err)
{
    int rc = vc_argv_push(argv, "qemu-system-x86_64");
    if (rc) return vc_error_set(err, rc, "out of memory");
    for (const char *const *const *dev = qemu_devices; *dev; dev++)
        if ((rc = add_device(argv, (*dev)[0], *dev + 1, err))) return rc;
    return 0;
}

/* ---- callbacks: they record what happened; main decides what is next --- */

static void on_line(vc_proc_t *p, int stream, const char *line, size_t len, void *ud)
{
    (void)p, (void)stream, (void)ud;
    fprintf(stderr, "qemu: %.*s\n", (int)len, line);
}

static void on_qemu_exit(vc_proc_t *p, int exit_status, int term_signal, void *ud)
{
    app_t *a = ud;
    (void)p;
    a->exited = 1;
    a->exit_status = exit_status;
    a->term_signal = term_signal;
}

static void on_ready(vc_qmp_t *q, int status, const vc_error_t *err, void *ud)
{
    app_t *a = ud;
    (void)q;
    a->ready = 1;
    a->ready_status = status;
    if (status) snprintf(a->ready_msg, sizeof a->ready_msg, "%s", err->msg);
}

static void on_reply(vc_qmp_t *q, const vc_qmp_reply_t *r, void *ud)
{
    app_t *a = ud;
    (void)q;
    a->replied = 1;
    a->reply_status = r->status;
    if (r->status) {
        /* The reply is borrowed: copy what is needed after the callback. */
        snprintf(a->reply, sizeof a->reply, "%s%s%s%s", r->message, r->err_class ? " (" : "",
                 r->err_class ? r->err_class : "", r->err_class ? ")" : "");
        return;
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(r->ret, "status");
    snprintf(a->reply, sizeof a->reply, "%s",
             cJSON_IsString(status) ? status->valuestring : "(no status)");
}

/* QEMU did not exit after quit: SIGTERM, then SIGKILL 2 s later. */
static void on_deadline(uv_timer_t *t)
{
    app_t *a = t->data;
    fprintf(stderr, "qmp-status: QEMU did not exit after quit, terminating it\n");
    vc_proc_terminate(a->proc, 2);
}

/* ---- driving the loop --------------------------------------------------- */

/* Runs the loop until *done is set. Every step has a timeout, so the loop
 * always gets there; it stops early only when nothing is left to wait on. */
static void run_until(app_t *a, const int *done)
{
    while (!*done && uv_run(&a->loop, UV_RUN_ONCE)) {
    }
}

/* Sends one command without arguments and runs the loop until its reply. */
static int execute(app_t *a, const char *command, vc_error_t *err)
{
    a->replied = 0;
    int rc = vc_qmp_execute(a->qmp, command, NULL, -1, TIMEOUT, on_reply, a, err);
    if (rc) return rc;
    run_until(a, &a->replied);
    if (!a->replied) return vc_error_set(err, VC_EDISCONNECTED, "%s: no reply", command);
    if (a->reply_status) return vc_error_set(err, a->reply_status, "%s: %s", command, a->reply);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: qmp-status [runtime-base-dir]\n");
        return 2;
    }
    /* A write to the socket of a QEMU that just died must fail with EPIPE,
     * not end this program: vclaunch's core leaves signals to its host. */
    signal(SIGPIPE, SIG_IGN);

    app_t a = {.exit_status = -1};
    vc_error_t err = {0};
    vc_argv_t qemu_argv = VC_ARGV_INIT;
    char base[PATH_MAX], dir[PATH_MAX] = "", sock[VC_SOCKET_PATH_MAX];
    int owner_fd = -1, listen_fd = -1, rc = 1;

    if (uv_loop_init(&a.loop)) return 1;
    uv_timer_init(&a.loop, &a.deadline);
    a.deadline.data = &a;

    /* A private runtime dir, owned (locked) by this process, and the QMP
     * socket inside it, listening before QEMU exists: QMP never races
     * QEMU's start-up. */
    if (vc_rundir_base(argc > 1 ? argv[1] : NULL, base, sizeof base, &err) ||
        vc_rundir_create(base, "qmp-status", dir, sizeof dir, &owner_fd, &err) ||
        vc_rundir_socket_path(dir, "qmp.sock", sock, sizeof sock, &err) ||
        vc_socket_listen(sock, &listen_fd, &err) || build_argv(&qemu_argv, &err))
        goto out;

    char *line = vc_argv_render_shell(&qemu_argv);
    fprintf(stderr, "qmp-status: %s\n", line ? line : "(out of memory)");
    free(line);

    vc_proc_options_t opts = {
        .argv = (const char *const *)qemu_argv.v,
        .fds = &listen_fd, /* QEMU's fd 3 */
        .nfds = 1,
    };
    if (vc_proc_spawn(&a.loop, &opts, on_line, on_qemu_exit, &a, &a.proc, &err)) goto out;
    close(listen_fd); /* QEMU holds the listener now */
    listen_fd = -1;
    fprintf(stderr, "qmp-status: QEMU pid %d\n", (int)vc_proc_pid(a.proc));

    /* Connecting needs no retry loop: the socket already listens, and QEMU
     * accepts once it runs. An early QEMU death shows as EOF here. */
    int qrc = vc_qmp_new(&a.loop, &a.qmp);
    if (qrc) {
        vc_error_set(&err, qrc, "QMP client: %s", uv_strerror(qrc));
        goto out;
    }
    if (vc_qmp_connect(a.qmp, sock, TIMEOUT, on_ready, &a, &err)) goto out;
    run_until(&a, &a.ready);
    if (!a.ready || a.ready_status) {
        vc_error_set(&err, a.ready_status ? a.ready_status : VC_EDISCONNECTED, "QMP: %s",
                     a.ready ? a.ready_msg : "no greeting");
        goto out;
    }
    const vc_qmp_version_t *v = vc_qmp_version(a.qmp);
    fprintf(stderr, "qmp-status: QEMU %d.%d.%d\n", v->major, v->minor, v->micro);

    if (execute(&a, "query-status", &err)) goto out;
    printf("%s\n", a.reply);
    fflush(stdout);

    /* QEMU may close the socket before its reply to quit is read. */
    if (execute(&a, "quit", &err) && err.code != VC_EDISCONNECTED) goto out;
    uv_timer_start(&a.deadline, on_deadline, (uint64_t)(TIMEOUT * 1000), 0);
    run_until(&a, &a.exited);
    uv_timer_stop(&a.deadline);
    if (a.exit_status != 0) {
        vc_error_set(&err, VC_EPROCESS, "QEMU ended with status %d, signal %d", a.exit_status,
                     a.term_signal);
        goto out;
    }
    rc = 0;

out:
    if (rc && err.msg[0]) fprintf(stderr, "qmp-status: %s\n", err.msg);
    /* In reverse order. vc_qmp_close fails what is still pending (nothing,
     * on success); vc_proc_close kills and reaps a QEMU still running, so
     * no path leaves one behind. Both free their memory from the loop. */
    if (a.qmp) vc_qmp_close(a.qmp);
    if (a.proc) vc_proc_close(a.proc);
    if (listen_fd >= 0) close(listen_fd);
    vc_argv_free(&qemu_argv);
    if (dir[0] && vc_rundir_remove(dir, &err)) {
        fprintf(stderr, "qmp-status: %s\n", err.msg);
        rc = 1;
    }
    if (owner_fd >= 0) close(owner_fd); /* after the removal: see vc_rundir_create */
    uv_close((uv_handle_t *)&a.deadline, NULL);
    uv_run(&a.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&a.loop)) {
        fprintf(stderr, "qmp-status: a libuv handle was left open\n");
        rc = 1;
    }
    return rc;
}
