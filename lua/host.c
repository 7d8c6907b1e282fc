/* vclaunch.core host: what vclaunch asks of the host around it.
 *   core.realtime() -> seconds, microseconds (the wall clock, for the
 *       timestamps of --events lines and log file names)
 *   core.guess_handle(fd) -> "tty", "pipe", "file", "tcp", "udp", "unknown"
 *       (libuv's uv_guess_handle: is stderr a terminal?)
 *   core.geteuid() -> integer
 *   core.mkdir_p(path) -> true, or nil and a message: path and its missing
 *       parents, those it creates with mode 0700 (the log directory)
 *   core.sd_notify(socket, state) -> true, or nil and a message: one
 *       datagram to the service manager's AF_UNIX socket (NOTIFY_SOCKET:
 *       a path, or "@name" in the abstract namespace), without libsystemd.
 *   core.tsc_khz() -> the host's TSC rate in kHz, or nil (not x86): measured
 *       over 10 ms, during which the calling thread sleeps (core/tsc.h);
 *       vclaunch.host asks once per process, for a microvm guest under TCG.
 * None of them waits long: sd_notify sends with MSG_DONTWAIT, so a manager that
 * does not read never blocks the loop; tsc_khz takes 10 ms once. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "tsc.h"
#include "vc_lua.h"

static int vc_lua_core_realtime(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushinteger(L, (lua_Integer)ts.tv_sec);
    lua_pushinteger(L, (lua_Integer)(ts.tv_nsec / 1000));
    return 2;
}

static int vc_lua_core_guess_handle(lua_State *L)
{
    lua_Integer fd = luaL_checkinteger(L, 1);
    luaL_argcheck(L, fd >= 0 && fd <= 0x7fffffff, 1, "not an fd");
    switch (uv_guess_handle((uv_file)fd)) {
    case UV_TTY:
        lua_pushliteral(L, "tty");
        break;
    case UV_NAMED_PIPE:
        lua_pushliteral(L, "pipe");
        break;
    case UV_FILE:
        lua_pushliteral(L, "file");
        break;
    case UV_TCP:
        lua_pushliteral(L, "tcp");
        break;
    case UV_UDP:
        lua_pushliteral(L, "udp");
        break;
    default:
        lua_pushliteral(L, "unknown");
        break;
    }
    return 1;
}

static int vc_lua_core_geteuid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)geteuid());
    return 1;
}

static int vc_lua_core_mkdir_p(lua_State *L)
{
    size_t len;
    const char *path = vc_lua_check_text(L, 1, &len, "path");
    char buf[4096];
    if (len == 0 || len >= sizeof buf) {
        lua_pushnil(L);
        lua_pushfstring(L, "directory path '%s' is empty or too long", path);
        return 2;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        struct stat st;
        /* new directories are 0700 whatever the umask says: chmod after */
        if (mkdir(buf, 0700) == 0) {
            if (chmod(buf, 0700) < 0) goto fail;
        } else if (errno != EEXIST) {
            goto fail;
        } else if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            goto fail;
        }
        *p = saved;
        if (saved == '\0') break;
    }
    lua_pushboolean(L, 1);
    return 1;
fail:
    lua_pushnil(L);
    lua_pushfstring(L, "cannot create directory '%s': %s", buf, strerror(errno));
    return 2;
}

static int fail(lua_State *L, const char *socket, int e)
{
    lua_pushnil(L);
    lua_pushfstring(L, "sd_notify %s: %s", socket, strerror(e));
    return 2;
}

static int vc_lua_core_tsc_khz(lua_State *L)
{
    uint32_t khz = vc_tsc_khz(10);
    if (!khz) return 0;
    lua_pushinteger(L, (lua_Integer)khz);
    return 1;
}

static int vc_lua_core_sd_notify(lua_State *L)
{
    size_t plen, slen;
    const char *path = vc_lua_check_text(L, 1, &plen, "socket");
    const char *state = luaL_checklstring(L, 2, &slen);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    /* "@name": the abstract namespace, whose address starts with a NUL and
     * is as long as the name, no terminator */
    int abstract = path[0] == '@';
    if (plen < 2 && abstract) return fail(L, path, EINVAL);
    if (plen == 0 || (path[0] != '/' && !abstract)) return fail(L, path, EINVAL);
    if (plen >= sizeof sa.sun_path) return fail(L, path, ENAMETOOLONG);
    memcpy(sa.sun_path, path, plen);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + !abstract);
    if (abstract) sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(L, path, errno);
    ssize_t n = sendto(fd, state, slen, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa, len);
    int e = errno;
    close(fd);
    if (n < 0) return fail(L, path, e);
    lua_pushboolean(L, 1);
    return 1;
}

void vc_lua_open_host(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"realtime", vc_lua_core_realtime},
        {"guess_handle", vc_lua_core_guess_handle},
        {"sd_notify", vc_lua_core_sd_notify},
        {"geteuid", vc_lua_core_geteuid},
        {"mkdir_p", vc_lua_core_mkdir_p},
        {"tsc_khz", vc_lua_core_tsc_khz},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
