/* vclaunch.core stdin reader: core.read_stdin{on_data = fn, on_eof = fn}
 * reads vclaunch's stdin on the loop and calls on_data(bytes) for what
 * comes, on_eof() once at its end (then reading stops). When stdin is the
 * terminal of the foreground process group, the terminal is put in raw mode
 * first (no echo, no line editing, no signals from keys; output processing
 * stays on, so "\n" still ends a line at column 0). reader:close() stops
 * reading and restores the terminal, discarding what was typed and not read
 * (tcsetattr TCSAFLUSH), so no keystroke reaches the shell vclaunch returns
 * to; collection does the same, and so does an atexit handler for the exits
 * that skip both. The handle is allocated apart from the userdata and freed
 * in its close callback. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include "vc_lua.h"

#define READER_MT "vclaunch.StdinReader"

/* The terminal state before raw mode, kept for the atexit handler: one per
 * process, since there is one stdin. */
static struct termios saved_termios;
static int raw_active;       /* stdin's terminal is in raw mode now */
static int saved_flags = -1; /* stdin's file status flags, when the reader set O_NONBLOCK on fd 0 */
static int atexit_added;

static void restore_stdin(void)
{
    if (raw_active) {
        raw_active = 0;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    }
    if (saved_flags >= 0) {
        fcntl(STDIN_FILENO, F_SETFL, saved_flags);
        saved_flags = -1;
    }
}

typedef struct reader {
    union {
        uv_handle_t h;
        uv_poll_t poll; /* a terminal, pipe or socket */
        uv_idle_t idle; /* a regular file or /dev/null: reads never block */
    } u;
    int polled;
    int fd, own_fd; /* own_fd: fd is a second open of stdin, closed with the handle */
    int reading;
    lua_State *main;
    int data_ref, eof_ref;
} reader_t;

typedef struct reader_ud {
    reader_t *r; /* NULL once closed */
    int raw;
} reader_ud_t;

static void on_closed(uv_handle_t *h)
{
    reader_t *r = h->data;
    if (r->own_fd) close(r->fd);
    free(r);
}

static void stop_reading(reader_t *r)
{
    if (!r->reading) return;
    r->reading = 0;
    if (r->polled)
        uv_poll_stop(&r->u.poll);
    else
        uv_idle_stop(&r->u.idle);
}

static void read_some(reader_t *r)
{
    char buf[4096];
    ssize_t n;
    do
        n = read(r->fd, buf, sizeof buf);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    lua_State *L = r->main;
    if (n > 0) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->data_ref);
        lua_pushlstring(L, buf, (size_t)n);
        vc_lua_call_handler(L, 1, "stdin handler");
        return; /* the handler may have closed the reader: r is not used again */
    }
    /* end of input, or an error that ends it (EIO: the terminal hung up) */
    stop_reading(r);
    if (r->eof_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->eof_ref);
        vc_lua_call_handler(L, 0, "stdin handler");
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status; /* an error shows as a failing read */
    (void)events;
    read_some(h->data);
}

static void on_idle(uv_idle_t *h)
{
    read_some(h->data);
}

static void close_reader(lua_State *L, reader_ud_t *u)
{
    reader_t *r = u->r;
    if (!r) return;
    u->r = NULL;
    stop_reading(r);
    luaL_unref(L, LUA_REGISTRYINDEX, r->data_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, r->eof_ref);
    r->data_ref = r->eof_ref = LUA_NOREF;
    uv_close(&r->u.h, on_closed);
    if (u->raw || !r->own_fd) restore_stdin();
}

static int vc_lua_reader_close(lua_State *L)
{
    close_reader(L, luaL_checkudata(L, 1, READER_MT));
    return 0;
}

/* reader:raw() -> whether the terminal is in raw mode for this reader */
static int vc_lua_reader_raw(lua_State *L)
{
    reader_ud_t *u = luaL_checkudata(L, 1, READER_MT);
    lua_pushboolean(L, u->raw && u->r);
    return 1;
}

/* Raw mode as a serial console wants it: every byte as typed, Ctrl-C and
 * Ctrl-Z included; OPOST and ONLCR stay, so the echo's "\n" returns the
 * cursor to column 0. */
static int make_raw(void)
{
    if (tcgetattr(STDIN_FILENO, &saved_termios) < 0) return -errno;
    struct termios t = saved_termios;
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (!atexit_added) atexit_added = atexit(restore_stdin) == 0;
    raw_active = 1; /* before the change: an exit right after it still restores */
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0) {
        raw_active = 0;
        return -errno;
    }
    return 0;
}

/* core.read_stdin{on_data = fn, on_eof = fn, raw = true} -> reader, or nil
 * and a reason when stdin cannot be read: closed, or the terminal of
 * another (foreground) process group, where reading would stop vclaunch
 * (SIGTTIN). raw = false keeps a terminal as it is. At most one reader at a
 * time. The reader does not keep the loop running. */
static int vc_lua_core_read_stdin(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int data_t = lua_getfield(L, 1, "on_data");
    int eof_t = lua_getfield(L, 1, "on_eof");
    int raw_t = lua_getfield(L, 1, "raw");
    luaL_argcheck(L, data_t == LUA_TFUNCTION, 1, "on_data must be a function");
    luaL_argcheck(L, eof_t == LUA_TNIL || eof_t == LUA_TFUNCTION, 1, "on_eof must be a function");
    int want_raw = raw_t == LUA_TNIL || lua_toboolean(L, -1);
    lua_pop(L, 3);
    if (raw_active || saved_flags >= 0)
        return vc_lua_raise(L, 1, "usage", "read_stdin: stdin is read already");
    if (fcntl(STDIN_FILENO, F_GETFL) < 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "stdin is closed");
        return 2;
    }
    int tty = isatty(STDIN_FILENO);
    if (tty && tcgetpgrp(STDIN_FILENO) != getpgrp()) {
        lua_pushnil(L);
        lua_pushliteral(L, "stdin is the terminal of another process group");
        return 2;
    }
    reader_ud_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    *u = (reader_ud_t){0};
    luaL_setmetatable(L, READER_MT);
    reader_t *r = calloc(1, sizeof *r);
    if (!r) return vc_lua_raise(L, 1, "io", "read_stdin: out of memory");
    r->fd = STDIN_FILENO;
    r->data_ref = r->eof_ref = LUA_NOREF;
    /* A terminal is opened a second time: the poll handle makes its fd
     * non-blocking, and fd 0 usually shares its open file description
     * with stdout, whose writes must keep blocking. */
    if (tty) {
        int fd = open("/proc/self/fd/0", O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0) r->fd = fd, r->own_fd = 1;
    }
    uv_loop_t *loop = vc_lua_loop(L);
    if (!r->own_fd) {
        int flags = fcntl(STDIN_FILENO, F_GETFL);
        if (flags >= 0) {
            if (!atexit_added) atexit_added = atexit(restore_stdin) == 0;
            saved_flags = flags;
        }
    }
    if (uv_poll_init(loop, &r->u.poll, r->fd) == 0) {
        r->polled = 1;
    } else {
        /* epoll refuses regular files and /dev/null; reading them never
         * blocks, so an idle handle reads a chunk per loop iteration */
        (void)uv_idle_init(loop, &r->u.idle); /* cannot fail */
    }
    r->u.h.data = r;
    uv_unref(&r->u.h);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    r->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "on_data");
    r->data_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (eof_t == LUA_TFUNCTION) {
        lua_getfield(L, 1, "on_eof");
        r->eof_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    u->r = r;
    if (tty && want_raw) {
        int rc = make_raw();
        if (rc < 0) {
            close_reader(L, u);
            return vc_lua_raise(L, 1, "io", "read_stdin: cannot put the terminal in raw mode: %s",
                                strerror(-rc));
        }
        u->raw = 1;
    }
    r->reading = 1;
    int rc = r->polled ? uv_poll_start(&r->u.poll, UV_READABLE, on_poll)
                       : uv_idle_start(&r->u.idle, on_idle);
    if (rc) {
        close_reader(L, u);
        return vc_lua_raise(L, 1, "io", "read_stdin: %s", uv_strerror(rc));
    }
    return 1;
}

void vc_lua_open_term(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"close", vc_lua_reader_close},
        {"raw", vc_lua_reader_raw},
        {NULL, NULL},
    };
    vc_lua_new_class(L, READER_MT, methods, vc_lua_reader_close);
    lua_pushcfunction(L, vc_lua_core_read_stdin);
    lua_setfield(L, -2, "read_stdin");
}
