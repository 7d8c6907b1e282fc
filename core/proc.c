#include "proc.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"

/* One output pipe. */
typedef struct stream {
    uv_pipe_t pipe;
    vc_buf_t partial;
    int open;
    int which;
    struct vc_proc *proc;
} stream_t;

struct vc_proc {
    uv_loop_t *loop;
    pid_t pid;
    int pidfd;
    uv_poll_t exit_poll;
    uv_timer_t kill_timer;
    stream_t out, err;
    uv_pipe_t in; /* the child's stdin, with opts.stdin_pipe */
    int in_open;
    vc_proc_line_cb line_cb, partial_cb;
    vc_proc_exit_cb exit_cb;
    void *ud;
    FILE *log;
    char **tail;
    size_t tail_max, tail_next, tail_count;
    int reaped, exit_status, term_signal, reported, closed;
    int handles; /* libuv handles not yet closed */
    char *prog; /* argv[0], for the message of a failed exec */
};

static int pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void free_proc(vc_proc_t *p)
{
    for (size_t i = 0; i < p->tail_max; i++)
        free(p->tail[i]);
    free(p->tail);
    vc_buf_free(&p->out.partial);
    vc_buf_free(&p->err.partial);
    if (p->log) fclose(p->log);
    if (p->pidfd >= 0) close(p->pidfd);
    free(p->prog);
    free(p);
}

static void on_handle_closed(uv_handle_t *h)
{
    vc_proc_t *p = h->data;
    if (--p->handles == 0 && p->closed) free_proc(p);
}

static void close_handle(vc_proc_t *p, uv_handle_t *h)
{
    if (!uv_is_closing(h)) uv_close(h, on_handle_closed);
    (void)p;
}

static void keep_tail(vc_proc_t *p, const char *line, size_t len)
{
    char *copy = strndup(line, len);
    if (!copy) return;
    free(p->tail[p->tail_next]);
    p->tail[p->tail_next] = copy;
    p->tail_next = (p->tail_next + 1) % p->tail_max;
    if (p->tail_count < p->tail_max) p->tail_count++;
}

static void deliver(stream_t *s, const char *line, size_t len)
{
    vc_proc_t *p = s->proc;
    if (len && line[len - 1] == '\r') len--;
    if (s->which == VC_PROC_STDERR) keep_tail(p, line, len);
    if (p->log) {
        fwrite(line, 1, len, p->log);
        fputc('\n', p->log);
        fflush(p->log);
    }
    if (p->line_cb && !p->closed) p->line_cb(p, s->which, line, len, p->ud);
}

static void maybe_report(vc_proc_t *p)
{
    if (p->reported || !p->reaped || p->out.open || p->err.open) return;
    p->reported = 1;
    uv_timer_stop(&p->kill_timer);
    if (p->exit_cb && !p->closed) p->exit_cb(p, p->exit_status, p->term_signal, p->ud);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    stream_t *s = (stream_t *)((char *)h - offsetof(stream_t, pipe));
    (void)suggested;
    if (vc_buf_reserve(&s->partial, 65536)) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init(s->partial.data + s->partial.len, 65536);
}

static void on_read(uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
    stream_t *s = (stream_t *)((char *)h - offsetof(stream_t, pipe));
    (void)buf;
    if (n > 0) {
        s->partial.len += (size_t)n;
        s->partial.data[s->partial.len] = '\0';
        size_t start = 0;
        for (size_t i = s->partial.len - (size_t)n; i < s->partial.len; i++) {
            if (s->partial.data[i] != '\n') continue;
            deliver(s, s->partial.data + start, i - start);
            start = i + 1;
        }
        vc_buf_consume(&s->partial, start);
        vc_proc_t *p = s->proc;
        if (s->partial.len && p->partial_cb && !p->closed)
            p->partial_cb(p, s->which, s->partial.data, s->partial.len, p->ud);
        return;
    }
    if (n == 0) return;
    /* EOF or error: flush an unterminated last line, then this pipe is done. */
    if (s->partial.len) deliver(s, s->partial.data, s->partial.len);
    vc_buf_reset(&s->partial);
    s->open = 0;
    uv_read_stop(h);
    close_handle(s->proc, (uv_handle_t *)h);
    maybe_report(s->proc);
}

static void on_exit_ready(uv_poll_t *h, int status, int events)
{
    vc_proc_t *p = h->data;
    (void)status;
    (void)events;
    int ws;
    pid_t r;
    do
        r = waitpid(p->pid, &ws, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0) return; /* not yet: poll again */
    p->reaped = 1;
    if (r > 0 && WIFEXITED(ws)) {
        p->exit_status = WEXITSTATUS(ws);
    } else if (r > 0 && WIFSIGNALED(ws)) {
        p->exit_status = -1;
        p->term_signal = WTERMSIG(ws);
    } else {
        p->exit_status = -1;
    }
    uv_poll_stop(h);
    close_handle(p, (uv_handle_t *)h);
    maybe_report(p);
}

/* Where execv finds argv0: as given when it holds a '/', else the first
 * executable regular file of that name along $PATH. Resolved before the
 * child is made, so that a missing program fails at once and the child execs
 * without walking PATH. */
static int resolve(const char *argv0, char *out, size_t size)
{
    struct stat st;
    if (strchr(argv0, '/')) {
        if (access(argv0, X_OK) < 0) return -errno;
        return snprintf(out, size, "%s", argv0) < (int)size ? 0 : -ENAMETOOLONG;
    }
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    int rc = -ENOENT;
    for (const char *d = path; *d;) {
        size_t len = strcspn(d, ":");
        int n = snprintf(out, size, "%.*s/%s", (int)len, len ? d : ".", argv0);
        if (n > 0 && (size_t)n < size && stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(out, X_OK) == 0) return 0;
            rc = -EACCES;
        }
        d += len;
        if (*d == ':') d++;
    }
    return rc;
}

/* What the child needs, on the parent's stack: the child shares the
 * parent's memory until it execs (CLONE_VM | CLONE_VFORK) and writes only
 * fail_errno. */
typedef struct child_args {
    const vc_proc_options_t *o;
    const char *path;
    int in_r, out_w, err_w;
    pid_t parent;
    volatile int fail_errno; /* set by the child when it cannot exec */
} child_args_t;

/* Runs in the child between clone and exec, on its own stack and in the
 * parent's memory, with every signal blocked: only async-signal-safe calls,
 * no writes but fail_errno. Handlers are reset before signals are unblocked,
 * so no handler of the parent ever runs in the child. Not instrumented by
 * AddressSanitizer: its shadow memory is the parent's too. */
#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define VC_NO_ASAN __attribute__((no_sanitize_address))
#elif defined(__has_feature) /* clang */
#if __has_feature(address_sanitizer)
#define VC_NO_ASAN __attribute__((no_sanitize_address))
#endif
#endif
#ifndef VC_NO_ASAN
#define VC_NO_ASAN
#endif
VC_NO_ASAN static int child(void *arg)
{
    child_args_t *a = arg;
    const vc_proc_options_t *o = a->o;
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != a->parent) goto fail;
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int in = a->in_r >= 0 ? a->in_r : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0) goto fail;
    /* Move every source fd above the target range first so that dup2 into
     * 0..3+nfds never clobbers a source that is still needed. */
    int base = 3 + o->nfds + 8;
    int src[3 + 64];
    src[0] = in;
    src[1] = a->out_w;
    src[2] = a->err_w;
    for (int i = 0; i < o->nfds; i++)
        src[3 + i] = o->fds[i];
    for (int i = 0; i < 3 + o->nfds; i++) {
        int moved = fcntl(src[i], F_DUPFD_CLOEXEC, base);
        if (moved < 0) goto fail;
        src[i] = moved;
    }
    for (int i = 0; i < 3 + o->nfds; i++)
        if (dup2(src[i], i) < 0) goto fail; /* dup2 clears FD_CLOEXEC on i */
    if (o->cwd && chdir(o->cwd) < 0) goto fail;
    execv(a->path, (char *const *)o->argv);
fail:
    a->fail_errno = errno ? errno : EINVAL;
    _exit(127);
}

/* Starts child() as a new process that shares this one's memory until it
 * execs; this thread waits until then (CLONE_VFORK). Unlike fork, nothing
 * of the parent's address space is copied or marked copy-on-write, so a
 * launcher with a large heap pays no page-table copy and no write faults
 * after each spawn. Returns the pid, or -1 with errno. */
static pid_t spawn_child(child_args_t *a)
{
    /* The child's stack: the child runs only until it execs or exits,
     * while this frame waits, so it can live in this frame. */
    char stack[32768] __attribute__((aligned(64)));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return pid;
}

static int open_stream(vc_proc_t *p, stream_t *s, int which, int fd)
{
    s->which = which;
    int rc = uv_pipe_init(p->loop, &s->pipe, 0);
    if (rc) {
        close(fd);
        return rc;
    }
    s->proc = p; /* marks the handle as initialised */
    s->pipe.data = p;
    p->handles++;
    rc = uv_pipe_open(&s->pipe, fd);
    if (rc) {
        close(fd); /* libuv takes the fd only on success */
        return rc;
    }
    s->open = 1;
    return uv_read_start((uv_stream_t *)&s->pipe, on_alloc, on_read);
}

int vc_proc_spawn(uv_loop_t *loop, const vc_proc_options_t *o, vc_proc_line_cb line_cb,
                  vc_proc_exit_cb exit_cb, void *ud, vc_proc_t **out, vc_error_t *err)
{
    if (!o->argv || !o->argv[0]) return vc_error_set(err, -EINVAL, "spawn: empty argv");
    if (o->nfds < 0 || o->nfds > 64)
        return vc_error_set(err, -EINVAL, "spawn %s: %d extra fds (0 to 64)", o->argv[0], o->nfds);
    for (int i = 0; i < o->nfds; i++)
        if (fcntl(o->fds[i], F_GETFD) < 0)
            return vc_error_set(err, -EBADF, "spawn %s: extra fd %d is not open", o->argv[0],
                                o->fds[i]);
    vc_proc_t *p = calloc(1, sizeof *p);
    if (!p) return vc_error_set(err, -ENOMEM, "out of memory");
    p->loop = loop;
    p->pidfd = -1;
    p->line_cb = line_cb;
    p->partial_cb = o->partial_cb;
    p->exit_cb = exit_cb;
    p->ud = ud;
    p->tail_max = o->tail_lines ? o->tail_lines : 20;
    char path[4096];
    int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    int rc;
    p->tail = calloc(p->tail_max, sizeof *p->tail);
    if (!p->tail) {
        rc = vc_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (o->log_path && !(p->log = fopen(o->log_path, "ae"))) {
        rc = vc_error_set(err, -errno, "open log %s: %s", o->log_path, strerror(errno));
        goto fail;
    }
    int r = resolve(o->argv[0], path, sizeof path);
    if (r < 0) {
        rc = vc_error_set(err, VC_EPROCESS, "cannot start %s: %s", o->argv[0], strerror(-r));
        goto fail;
    }
    if (!(p->prog = strdup(o->argv[0]))) {
        rc = vc_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC) ||
        (o->stdin_pipe && pipe2(in_p, O_CLOEXEC))) {
        rc = vc_error_set(err, -errno, "spawn %s: pipe: %s", o->argv[0], strerror(errno));
        goto fail;
    }
    child_args_t a = {o, path, in_p[0], out_p[1], err_p[1], getpid(), 0};
    p->pid = spawn_child(&a);
    if (p->pid < 0) {
        rc = vc_error_set(err, -errno, "spawn %s: clone: %s", o->argv[0], strerror(errno));
        goto fail;
    }
    /* The child has exec'd, or failed and exited 127: its reason is told as
     * the last stderr line, so that whoever reports the exit names it. */
    if (a.fail_errno) {
        char msg[512];
        int len = snprintf(msg, sizeof msg, "cannot start %s: %s", o->argv[0], strerror(a.fail_errno));
        keep_tail(p, msg, len < (int)sizeof msg ? (size_t)len : sizeof msg - 1);
    }
    close(out_p[1]);
    close(err_p[1]);
    if (in_p[0] >= 0) close(in_p[0]);
    out_p[1] = err_p[1] = in_p[0] = -1;
    p->pidfd = pidfd_open(p->pid);
    if (p->pidfd < 0) {
        rc = vc_error_set(err, -errno, "pidfd_open: %s", strerror(errno));
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        goto fail;
    }
    /* From here the pipes and pidfd belong to libuv handles. */
    uv_timer_init(loop, &p->kill_timer);
    p->kill_timer.data = p;
    p->handles++;
    uv_poll_init(loop, &p->exit_poll, p->pidfd);
    p->exit_poll.data = p;
    p->handles++;
    uv_poll_start(&p->exit_poll, UV_READABLE, on_exit_ready);
    if (in_p[1] >= 0) {
        uv_pipe_init(loop, &p->in, 0);
        p->in.data = p;
        p->handles++;
        p->in_open = 1;
        if (uv_pipe_open(&p->in, in_p[1]) == 0) in_p[1] = -1; /* else closed below */
    }
    rc = open_stream(p, &p->out, VC_PROC_STDOUT, out_p[0]);
    out_p[0] = -1;
    if (rc == 0) {
        rc = open_stream(p, &p->err, VC_PROC_STDERR, err_p[0]);
        err_p[0] = -1;
    }
    if (rc) {
        if (err_p[0] >= 0) close(err_p[0]); /* stdout failed: stderr never opened */
        vc_error_set(err, rc, "spawn %s: %s", o->argv[0], uv_strerror(rc));
        *out = NULL;
        vc_proc_close(p);
        return rc;
    }
    *out = p;
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (in_p[i] >= 0) close(in_p[i]);
        if (out_p[i] >= 0) close(out_p[i]);
        if (err_p[i] >= 0) close(err_p[i]);
    }
    free_proc(p);
    return rc;
}

typedef struct write_req {
    uv_write_t req;
    char data[]; /* the bytes, owned until the write completes */
} write_req_t;

static void on_written(uv_write_t *req, int status)
{
    (void)status; /* a child that stopped reading (EPIPE) is seen at its exit */
    free(req);
}

int vc_proc_write(vc_proc_t *p, const char *data, size_t len, vc_error_t *err)
{
    if (!p->in_open || p->closed)
        return vc_error_set(err, -EPIPE, "%s: no stdin to write to", p->prog);
    if (p->reaped) return vc_error_set(err, -EPIPE, "%s has exited", p->prog);
    write_req_t *w = malloc(sizeof *w + (len ? len : 1));
    if (!w) return vc_error_set(err, -ENOMEM, "out of memory");
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&p->in, &b, 1, on_written);
    if (rc) {
        free(w);
        return vc_error_set(err, rc, "%s: write to stdin: %s", p->prog, uv_strerror(rc));
    }
    return 0;
}

pid_t vc_proc_pid(const vc_proc_t *p)
{
    return p->pid;
}

int vc_proc_exited(const vc_proc_t *p)
{
    return p->reported;
}

int vc_proc_kill(vc_proc_t *p, int sig)
{
    if (p->reaped) return -ESRCH;
    /* The pidfd pins the pid, so the group id cannot have been reused. */
    if (kill(-p->pid, sig) < 0 && kill(p->pid, sig) < 0) return -errno;
    return 0;
}

static void on_kill_timer(uv_timer_t *t)
{
    vc_proc_kill(t->data, SIGKILL);
}

int vc_proc_terminate(vc_proc_t *p, double grace)
{
    int rc = vc_proc_kill(p, SIGTERM);
    if (rc) return rc;
    uint64_t ms = grace > 0 ? (uint64_t)(grace * 1000) : 0;
    return uv_timer_start(&p->kill_timer, on_kill_timer, ms, 0);
}

size_t vc_proc_stderr_tail(const vc_proc_t *p, char *buf, size_t size)
{
    vc_buf_t b = VC_BUF_INIT;
    size_t first = (p->tail_next + p->tail_max - p->tail_count) % p->tail_max;
    for (size_t i = 0; i < p->tail_count; i++) {
        if (i) vc_buf_puts(&b, "\n");
        vc_buf_puts(&b, p->tail[(first + i) % p->tail_max]);
    }
    if (size) snprintf(buf, size, "%s", b.data ? b.data : "");
    vc_buf_free(&b);
    return p->tail_count;
}

void vc_proc_close(vc_proc_t *p)
{
    if (!p || p->closed) return;
    p->closed = 1;
    if (!p->reaped) {
        /* Killed and reaped here: SIGKILL cannot be caught, so the wait is
         * short, and no zombie or orphan is left behind. */
        vc_proc_kill(p, SIGKILL);
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {
        }
        p->reaped = 1;
    }
    uv_timer_stop(&p->kill_timer);
    close_handle(p, (uv_handle_t *)&p->kill_timer);
    close_handle(p, (uv_handle_t *)&p->exit_poll);
    if (p->in_open) close_handle(p, (uv_handle_t *)&p->in);
    if (p->out.proc) close_handle(p, (uv_handle_t *)&p->out.pipe);
    if (p->err.proc) close_handle(p, (uv_handle_t *)&p->err.pipe);
    if (p->handles == 0) free_proc(p);
}
