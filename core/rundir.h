/* vclaunch core: runtime directories and listening sockets.
 *
 * Layout: <base>/<vm-name>-XXXXXX/ holding qmp.sock, console.sock, pid and
 * console.log. <base> is, in order: an explicit override, then
 * $XDG_RUNTIME_DIR/vclaunch, then /run/vclaunch when running as root, then
 * /tmp/vclaunch-<uid>. Every directory vclaunch creates is 0700.
 *
 * These calls block briefly (file system calls) and may be made from any
 * context. */
#ifndef VC_RUNDIR_H
#define VC_RUNDIR_H

#include <stddef.h>

#include "error.h"

/* The longest path a unix socket address holds, NUL included. */
#define VC_SOCKET_PATH_MAX 108

/* Resolves and creates (0700, mkdir -p) the base directory. */
int vc_rundir_base(const char *override, char *out, size_t size, vc_error_t *err);

/* Creates a private, uniquely named directory <base>/<name>-XXXXXX. name
 * must be a valid QEMU id. */
int vc_rundir_create(const char *base, const char *name, char *out, size_t size, vc_error_t *err);

/* Joins dir and file into out, refusing a socket path that would not fit
 * VC_SOCKET_PATH_MAX with a message naming the path and its length. */
int vc_rundir_socket_path(const char *dir, const char *file, char *out, size_t size,
                          vc_error_t *err);

/* Creates a unix stream socket bound to path and listening, with
 * FD_CLOEXEC set. Removes a stale socket file at path first. The caller
 * owns *fd. */
int vc_socket_listen(const char *path, int *fd, vc_error_t *err);

/* Removes dir and the files directly inside it (it holds no subdirectories).
 * A missing dir is not an error. */
int vc_rundir_remove(const char *dir, vc_error_t *err);

/* Removes the VM directories under base that a killed vclaunch left: those
 * named <id>-XXXXXX, owned by us, whose pidfile names a process that no
 * longer exists (or is an unreaped zombie). A directory without a pidfile
 * (a VM still starting) or whose pid is alive is kept. *removed counts what
 * went. */
int vc_rundir_sweep(const char *base, int *removed, vc_error_t *err);

#endif
