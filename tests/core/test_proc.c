/* Process supervision with real programs: output lines, exit status,
 * exec failure, QEMU rejecting a bad option, the kill ladder, fd passing. */
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"

typedef struct run {
    char out[4096];
    char err[4096];
    int exited, status, sig;
    int lines; /* stdout lines seen, for vc_test_run_until */
} run_t;

static void on_line(vc_proc_t *p, int stream, const char *line, size_t len, void *ud)
{
    run_t *r = ud;
    (void)p;
    char *dst = stream == VC_PROC_STDOUT ? r->out : r->err;
    if (stream == VC_PROC_STDOUT) r->lines++;
    size_t used = strlen(dst);
    snprintf(dst + used, 4096 - used, "[%.*s]", (int)len, line);
}

static void on_exit_cb(vc_proc_t *p, int status, int sig, void *ud)
{
    run_t *r = ud;
    (void)p;
    r->exited = 1;
    r->status = status;
    r->sig = sig;
}

static vc_proc_t *spawn(uv_loop_t *loop, const char *const *argv, const int *fds, int nfds,
                        run_t *r)
{
    vc_error_t err = {0};
    vc_proc_t *p = NULL;
    vc_proc_options_t o = {.argv = argv, .fds = fds, .nfds = nfds};
    int rc = vc_proc_spawn(loop, &o, on_line, on_exit_cb, r, &p, &err);
    if (rc) VC_FAIL("spawn: %s", err.msg);
    return p;
}

static void test_lines_and_status(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    const char *argv[] = {"printf", "one\\ntwo\\r\\nthree", NULL};
    vc_proc_t *p = spawn(&loop, argv, NULL, 0, &r);
    ASSERT(vc_proc_pid(p) > 0);
    vc_test_run_until(&loop, &r.exited, 10, "printf exit");
    ASSERT_STR_EQ(r.out, "[one][two][three]");
    ASSERT_INT_EQ(r.status, 0);
    ASSERT_INT_EQ(r.sig, 0);
    ASSERT(vc_proc_exited(p));
    vc_proc_close(p);
    vc_test_loop_teardown(&loop);
}

static void test_exit_code(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    const char *argv[] = {"false", NULL};
    vc_proc_t *p = spawn(&loop, argv, NULL, 0, &r);
    vc_test_run_until(&loop, &r.exited, 10, "false exit");
    ASSERT_INT_EQ(r.status, 1);
    vc_proc_close(p);
    vc_test_loop_teardown(&loop);
}

static void test_exec_failure(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    vc_error_t err = {0};
    vc_proc_t *p = NULL;
    const char *argv[] = {"/nonexistent/qemu", NULL};
    vc_proc_options_t o = {.argv = argv};
    int rc = vc_proc_spawn(&loop, &o, on_line, on_exit_cb, &r, &p, &err);
    ASSERT_INT_EQ(rc, VC_EPROCESS);
    ASSERT_STR_CONTAINS(err.msg, "cannot start /nonexistent/qemu: No such file or directory");
    ASSERT(p == NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_INT_EQ(r.exited, 0);
    vc_test_loop_teardown(&loop);
}

/* Found along $PATH, with no '/' in argv[0]; and a program missing from
 * $PATH fails at once, like a missing path. */
static void test_path_lookup(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    const char *argv[] = {"true", NULL};
    vc_proc_t *p = spawn(&loop, argv, NULL, 0, &r);
    vc_test_run_until(&loop, &r.exited, 10, "true exit");
    ASSERT_INT_EQ(r.status, 0);
    vc_proc_close(p);
    const char *missing[] = {"vclaunch-no-such-program", NULL};
    vc_proc_options_t o = {.argv = missing};
    vc_error_t err = {0};
    p = NULL;
    ASSERT_INT_EQ(vc_proc_spawn(&loop, &o, on_line, on_exit_cb, &r, &p, &err), VC_EPROCESS);
    ASSERT_STR_EQ(err.msg, "cannot start vclaunch-no-such-program: No such file or directory");
    ASSERT(p == NULL);
    vc_test_loop_teardown(&loop);
}

/* An exec that fails after the fork (an executable file that is no
 * program): status 127, the reason as the last stderr tail line. */
static void test_exec_failure_after_fork(void)
{
    char path[] = "/tmp/vc-test-noexec-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    ASSERT_INT_EQ(write(fd, "\x7f\x01\x02\x03", 4), 4);
    close(fd);
    ASSERT_INT_EQ(chmod(path, 0700), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    const char *argv[] = {path, NULL};
    vc_proc_t *p = spawn(&loop, argv, NULL, 0, &r);
    vc_test_run_until(&loop, &r.exited, 10, "exit after a failed exec");
    ASSERT_INT_EQ(r.status, 127);
    char tail[1024], want[128];
    ASSERT_INT_EQ(vc_proc_stderr_tail(p, tail, sizeof tail), 1);
    snprintf(want, sizeof want, "cannot start %s: Exec format error", path);
    ASSERT_STR_EQ(tail, want);
    vc_proc_close(p);
    unlink(path);
    vc_test_loop_teardown(&loop);
}

static void test_qemu_bad_option(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    const char *argv[] = {vc_test_qemu(), "-no-such-option", NULL};
    vc_proc_t *p = spawn(&loop, argv, NULL, 0, &r);
    vc_test_run_until(&loop, &r.exited, 30, "qemu exit");
    ASSERT_INT_EQ(r.status, 1);
    char tail[1024];
    ASSERT_INT_EQ(vc_proc_stderr_tail(p, tail, sizeof tail), 1);
    ASSERT_STR_CONTAINS(tail, "-no-such-option: invalid option");
    ASSERT_STR_CONTAINS(r.err, "invalid option");
    vc_proc_close(p);
    vc_test_loop_teardown(&loop);
}

static void test_terminate_ladder(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    /* QEMU ends on SIGTERM by itself: the ladder stops at the first step. */
    const char *argv[] = {vc_test_qemu(),    "-S",       "-nodefaults",
                          "-no-user-config", "-display", "none",
                          "-machine",        "none",     NULL};
    vc_proc_t *p = spawn(&loop, argv, NULL, 0, &r);
    ASSERT_INT_EQ(vc_proc_terminate(p, 30), 0);
    vc_test_run_until(&loop, &r.exited, 30, "qemu exit after SIGTERM");
    /* SIGTERM may land before QEMU installs its handler (killed by the
     * signal) or after (clean exit 0); never did it need SIGKILL. */
    ASSERT(r.sig == SIGTERM || (r.sig == 0 && r.status == 0));
    vc_proc_close(p);
    /* A child that ignores SIGTERM is SIGKILLed after the grace period. */
    run_t r2 = {0};
    const char *trap[] = {"/proc/self/exe", "--ignore-sigterm", NULL};
    p = spawn(&loop, trap, NULL, 0, &r2);
    vc_test_run_until(&loop, &r2.lines, 30, "the child's 'armed' line");
    ASSERT_STR_CONTAINS(r2.out, "armed");
    ASSERT_INT_EQ(vc_proc_terminate(p, 0.2), 0);
    vc_test_run_until(&loop, &r2.exited, 30, "SIGKILL after grace");
    ASSERT_INT_EQ(r2.sig, SIGKILL);
    ASSERT_INT_EQ(vc_proc_kill(p, SIGTERM), -ESRCH);
    vc_proc_close(p);
    vc_test_loop_teardown(&loop);
}

static void test_extra_fds(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    int fds[2];
    ASSERT_INT_EQ(pipe(fds), 0);
    ASSERT_INT_EQ(write(fds[1], "via-fd-3\n", 9), 9);
    close(fds[1]);
    /* cat reads the pipe handed to it as fd 3. */
    const char *argv[] = {"cat", "/dev/fd/3", NULL};
    vc_proc_t *p = spawn(&loop, argv, &fds[0], 1, &r);
    close(fds[0]);
    vc_test_run_until(&loop, &r.exited, 10, "cat exit");
    ASSERT_STR_EQ(r.out, "[via-fd-3]");
    ASSERT_INT_EQ(r.status, 0);
    vc_proc_close(p);
    vc_test_loop_teardown(&loop);
}

static void test_close_kills_running_child(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    const char *argv[] = {"sleep", "60", NULL};
    vc_proc_t *p = spawn(&loop, argv, NULL, 0, &r);
    pid_t pid = vc_proc_pid(p);
    vc_proc_close(p);
    ASSERT_INT_EQ(kill(pid, 0), -1);
    ASSERT_INT_EQ(errno, ESRCH);
    ASSERT_INT_EQ(r.exited, 0); /* no callback after close */
    vc_test_loop_teardown(&loop);
}

/* Middle process for test_parent_death: supervises QEMU, prints its pid,
 * then runs its loop until killed. */
static void on_middle_line(vc_proc_t *p, int stream, const char *line, size_t len, void *ud)
{
    (void)p, (void)stream, (void)ud;
    fprintf(stderr, "qemu: %.*s\n", (int)len, line);
}

static int supervise_qemu(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_error_t err = {0};
    vc_proc_t *p = NULL;
    const char *argv[] = {vc_test_qemu(),    "-S",       "-nodefaults",
                          "-no-user-config", "-display", "none",
                          "-machine",        "none",     NULL};
    vc_proc_options_t o = {.argv = argv};
    if (vc_proc_spawn(&loop, &o, on_middle_line, NULL, NULL, &p, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("qemu-pid %d\n", (int)vc_proc_pid(p));
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    return 0;
}

static void test_parent_death_kills_qemu(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    run_t r = {0};
    const char *argv[] = {"/proc/self/exe", "--supervise-qemu", NULL};
    vc_proc_t *middle = spawn(&loop, argv, NULL, 0, &r);
    vc_test_run_until(&loop, &r.lines, 30, "the supervisor's qemu-pid line");
    int qemu_pid = 0;
    ASSERT_INT_EQ(sscanf(r.out, "[qemu-pid %d]", &qemu_pid), 1);
    int pidfd = (int)syscall(SYS_pidfd_open, qemu_pid, 0);
    ASSERT(pidfd >= 0);
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    ASSERT_INT_EQ(poll(&pfd, 1, 0), 0); /* QEMU is running */
    /* QEMU has a process group of its own, so only the parent-death signal
     * can end it when the middle process is SIGKILLed. */
    ASSERT_INT_EQ(vc_proc_kill(middle, SIGKILL), 0);
    vc_test_run_until(&loop, &r.exited, 10, "middle exit");
    ASSERT_INT_EQ(r.sig, SIGKILL);
    ASSERT_INT_EQ(poll(&pfd, 1, 10000), 1); /* readable once QEMU has exited */
    close(pidfd);
    vc_proc_close(middle);
    vc_test_loop_teardown(&loop);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--supervise-qemu") == 0) return supervise_qemu();
    if (argc > 1 && strcmp(argv[1], "--ignore-sigterm") == 0) {
        signal(SIGTERM, SIG_IGN);
        printf("armed\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    RUN(test_lines_and_status);
    RUN(test_exit_code);
    RUN(test_exec_failure);
    RUN(test_path_lookup);
    RUN(test_exec_failure_after_fork);
    RUN(test_qemu_bad_option);
    RUN(test_terminate_ladder);
    RUN(test_extra_fds);
    RUN(test_close_kills_running_child);
    RUN(test_parent_death_kills_qemu);
    return 0;
}
