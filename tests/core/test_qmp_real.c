/* vc_qmp against a real QEMU: the test creates the listening socket and
 * passes it to QEMU as fd 3. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "proc.h"
#include "qmp.h"
#include "test.h"

static uv_loop_t loop;
static vc_qmp_t *Q;
static vc_proc_t *proc;
static int exited, ready, ready_status, disc, disc_code;
static int got_stop, got_resume, got_shutdown;
static int replies, last_status;
static char last_class[64], last_msg[256], last_ret[256];

static void on_exit_cb(vc_proc_t *p, int status, int sig, void *ud)
{
    (void)p, (void)ud;
    if (status || sig) fprintf(stderr, "qemu exited: status %d signal %d\n", status, sig);
    exited = 1;
}

/* QEMU is started through core/proc (own process group, parent-death
 * signal), and a failing assertion's exit kills it too. */
static void kill_qemu(void)
{
    if (proc && !exited) vc_proc_kill(proc, SIGKILL);
}

static void on_ready(vc_qmp_t *q, int status, const vc_error_t *err, void *ud)
{
    (void)q;
    (void)ud;
    if (status) fprintf(stderr, "ready: %s\n", err->msg);
    ready = 1;
    ready_status = status;
}

static void on_event(vc_qmp_t *q, const char *name, const cJSON *msg, void *ud)
{
    (void)q;
    (void)ud;
    ASSERT(cJSON_GetObjectItemCaseSensitive(msg, "timestamp"));
    if (!strcmp(name, "STOP")) got_stop = 1;
    if (!strcmp(name, "RESUME")) got_resume = 1;
    if (!strcmp(name, "SHUTDOWN")) got_shutdown = 1;
}

static void on_disc(vc_qmp_t *q, const vc_error_t *why, void *ud)
{
    (void)q;
    (void)ud;
    disc++;
    disc_code = why->code;
}

static void on_reply(vc_qmp_t *q, const vc_qmp_reply_t *r, void *ud)
{
    (void)q;
    (void)ud;
    last_status = r->status;
    snprintf(last_msg, sizeof last_msg, "%s", r->message);
    snprintf(last_class, sizeof last_class, "%s", r->err_class ? r->err_class : "");
    last_ret[0] = '\0';
    if (r->ret) {
        char *s = cJSON_PrintUnformatted(r->ret);
        ASSERT(s);
        snprintf(last_ret, sizeof last_ret, "%s", s);
        free(s);
    }
    replies++;
}

/* A burst: BURST commands queued at once; replies come back in order and
 * each "return" tree is taken over, not copied. */
#define BURST 200
static int burst_done, burst_next;

static void on_burst(vc_qmp_t *q, const vc_qmp_reply_t *r, void *ud)
{
    int tag = (int)(intptr_t)ud;
    if (r->status) VC_FAIL("burst %d: %d %s", tag, r->status, r->message);
    ASSERT_INT_EQ(tag, burst_next);
    cJSON *ret = vc_qmp_take_return(q, r);
    ASSERT(ret);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(ret, "status");
    ASSERT(cJSON_IsString(st));
    ASSERT_STR_EQ(st->valuestring, "paused");
    cJSON_Delete(ret);
    if (++burst_next == BURST) burst_done = 1;
}

static void run_cmd(const char *cmd, cJSON *args, int fd)
{
    vc_error_t err;
    replies = 0;
    int rc = vc_qmp_execute(Q, cmd, args, fd, 10, on_reply, NULL, &err);
    if (rc) VC_FAIL("execute %s: %s", cmd, err.msg);
    vc_test_run_until(&loop, &replies, 15, cmd);
    if (last_status) VC_FAIL("%s: %d %s: %s", cmd, last_status, last_class, last_msg);
}

int main(void)
{
    const char *qemu = vc_test_qemu();
    ASSERT_INT_EQ(uv_loop_init(&loop), 0);

    char dir[] = "/tmp/vcqmpreal-XXXXXX";
    ASSERT(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/qmp.sock", dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(lfd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ASSERT(strlen(path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ASSERT_INT_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ASSERT_INT_EQ(listen(lfd, 4), 0);

    char *args[] = {(char *)qemu,  "-S",
                    "-nodefaults", "-no-user-config",
                    "-display",    "none",
                    "-machine",    "q35,accel=tcg",
                    "-chardev",    "socket,id=qmp,fd=3,server=on,wait=off",
                    "-mon",        "chardev=qmp,mode=control",
                    NULL};
    vc_proc_options_t opt = {.argv = (const char *const *)args, .fds = &lfd, .nfds = 1};
    vc_error_t serr;
    if (vc_proc_spawn(&loop, &opt, NULL, on_exit_cb, NULL, &proc, &serr))
        VC_FAIL("spawn %s: %s", qemu, serr.msg);
    atexit(kill_qemu);
    close(lfd); /* QEMU owns the listener now */

    ASSERT_INT_EQ(vc_qmp_new(&loop, &Q), 0);
    vc_qmp_set_event_cb(Q, on_event, NULL);
    vc_qmp_set_disconnect_cb(Q, on_disc, NULL);
    vc_error_t err;
    ASSERT_INT_EQ(vc_qmp_connect(Q, path, 20, on_ready, NULL, &err), 0);
    vc_test_run_until(&loop, &ready, 30, "QMP ready");
    ASSERT_INT_EQ(ready_status, 0);
    ASSERT_INT_GE(vc_qmp_version(Q)->major, 2);
    printf("qemu %d.%d.%d (%s)\n", vc_qmp_version(Q)->major, vc_qmp_version(Q)->minor,
           vc_qmp_version(Q)->micro, vc_qmp_version(Q)->package);
    ASSERT(cJSON_IsArray(vc_qmp_capabilities(Q)));

    run_cmd("query-status", NULL, -1);
    ASSERT_STR_CONTAINS(last_ret, "\"status\":\"prelaunch\"");

    run_cmd("cont", NULL, -1);
    vc_test_run_until(&loop, &got_resume, 15, "RESUME");
    run_cmd("stop", NULL, -1);
    vc_test_run_until(&loop, &got_stop, 15, "STOP");
    run_cmd("query-status", NULL, -1);
    ASSERT_STR_CONTAINS(last_ret, "\"status\":\"paused\"");

    /* getfd with a real fd, then closefd proves QEMU received it. */
    int pfd[2];
    ASSERT_INT_EQ(pipe(pfd), 0);
    cJSON *a = cJSON_CreateObject();
    ASSERT(a && cJSON_AddStringToObject(a, "fdname", "vcfd"));
    run_cmd("getfd", a, pfd[0]);
    a = cJSON_CreateObject();
    ASSERT(a && cJSON_AddStringToObject(a, "fdname", "vcfd"));
    run_cmd("closefd", a, -1);
    close(pfd[0]);
    close(pfd[1]);
    /* An error reply from real QEMU. */
    a = cJSON_CreateObject();
    ASSERT(a && cJSON_AddStringToObject(a, "fdname", "vcfd"));
    replies = 0;
    ASSERT_INT_EQ(vc_qmp_execute(Q, "closefd", a, -1, 10, on_reply, NULL, &err), 0);
    vc_test_run_until(&loop, &replies, 15, "closefd error");
    ASSERT_INT_EQ(last_status, VC_EQMP);
    ASSERT_STR_EQ(last_class, "GenericError");

    vc_error_t berr;
    for (int i = 0; i < BURST; i++)
        if (vc_qmp_execute(Q, "query-status", NULL, -1, 10, on_burst, (void *)(intptr_t)i, &berr))
            VC_FAIL("burst %d: %s", i, berr.msg);
    vc_test_run_until(&loop, &burst_done, 30, "burst");
    ASSERT_INT_EQ(vc_qmp_unknown_reply_count(Q), 0);

    run_cmd("quit", NULL, -1);
    vc_test_run_until(&loop, &exited, 30, "QEMU exit");
    vc_test_run_until(&loop, &disc, 15, "disconnect");
    ASSERT_INT_EQ(disc_code, VC_EDISCONNECTED);
    ASSERT(got_shutdown);

    vc_qmp_close(Q);
    vc_proc_close(proc);
    proc = NULL;
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_INT_EQ(disc, 1);
    unlink(path);
    rmdir(dir);
    vc_test_loop_teardown(&loop);
    printf("ok\n");
    return 0;
}
