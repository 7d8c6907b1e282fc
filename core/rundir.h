/* vclaunch core: runtime directories and listening sockets.
 *
 * Layout: <base>/<vm-name>-XXXXXX/ holding owner, qmp.sock, console.sock,
 * pid and console.log. <base> is, in order: an explicit override, then
 * $XDG_RUNTIME_DIR/vclaunch, then /run/vclaunch when running as root, then
 * /tmp/vclaunch-<uid>. Every directory vclaunch creates is 0700.
 *
 * Ownership: "owner" records the vclaunch process that made the directory.
 * It holds that process's pid as text, for people, and that process holds
 * an exclusive flock(2) on it through the fd vc_rundir_create hands out;
 * the lock, not the pid, is what the sweep trusts. The kernel drops the
 * lock when the last copy of that fd closes, however the process ends, so
 * a free lock means the owner has let go of the directory or is dead. The
 * directory is built as <base>/.<vm-name>-XXXXXX with owner already locked
 * inside and then renamed into place: a directory with the final name has
 * its owner record from its first moment.
 *
 * These calls block briefly (file system calls) and may be made from any
 * context. */
#ifndef VC_RUNDIR_H
#define VC_RUNDIR_H

#include <stddef.h>

#include "error.h"

/* The longest path a unix socket address holds, NUL included. */
#define VC_SOCKET_PATH_MAX 108

/* The owner record inside each VM directory. */
#define VC_RUNDIR_OWNER "owner"

/* Seconds after which the sweep takes a VM directory that has neither an
 * owner record nor a pidfile for abandoned (judged by its mtime). */
#define VC_RUNDIR_GRACE 60

/* Resolves and creates (0700, mkdir -p) the base directory. */
int vc_rundir_base(const char *override, char *out, size_t size, vc_error_t *err);

/* Creates a private, uniquely named directory <base>/<name>-XXXXXX holding
 * the owner record of the calling process. name must be a valid QEMU id.
 * On success *owner_fd is the fd that holds the owner lock (O_CLOEXEC, so
 * QEMU and other exec'd children do not hold it). The caller owns it and
 * closes it after vc_rundir_remove: while it is open, and in any forked
 * child that still has a copy, no sweep removes the directory; once it is
 * closed, the next sweep does. On failure nothing is left behind and
 * *owner_fd is untouched. */
int vc_rundir_create(const char *base, const char *name, char *out, size_t size, int *owner_fd,
                     vc_error_t *err);

/* Joins dir and file into out, refusing a socket path that would not fit
 * VC_SOCKET_PATH_MAX with a message naming the path and its length. */
int vc_rundir_socket_path(const char *dir, const char *file, char *out, size_t size,
                          vc_error_t *err);

/* Creates a unix stream socket bound to path and listening, with
 * FD_CLOEXEC set. Removes a stale socket file at path first. The caller
 * owns *fd. */
int vc_socket_listen(const char *path, int *fd, vc_error_t *err);

/* Removes dir and the files directly inside it (it holds no subdirectories).
 * The owner record goes last, so that a directory half removed by its owner
 * still reads as owned. Does not close an owner fd. A missing dir is not an
 * error. */
int vc_rundir_remove(const char *dir, vc_error_t *err);

/* Removes the VM directories under base that a killed vclaunch left. It
 * looks at the directories owned by our uid and named <id>-XXXXXX (or
 * .<id>-XXXXXX, one still being built) and removes:
 *  - one whose owner lock is free: its owner is dead or let go of it,
 *    whether or not QEMU wrote a pidfile there;
 *  - one without an owner record (made by a vclaunch older than the record,
 *    or a temporary one left by a crash before its record was written)
 *    whose pidfile names a process that no longer exists or is an unreaped
 *    zombie, or that has no pidfile and was last modified at least
 *    VC_RUNDIR_GRACE seconds ago.
 * It keeps every directory whose owner lock is held (by this process, by
 * another live vclaunch or by a child of it), and every other one. A
 * directory it removes stays locked by the sweep until it is gone, so two
 * sweeps never remove the same one. *removed counts what went. */
int vc_rundir_sweep(const char *base, int *removed, vc_error_t *err);

/* Called by vc_rundir_list for one VM directory: dir is its path, owned
 * is 1 while a live vclaunch holds its owner lock and 0 when the lock is
 * free or there is no owner record (stale: the next sweep removes it). A
 * non-zero return stops the walk and is what vc_rundir_list returns. */
typedef int (*vc_rundir_list_cb)(const char *dir, int owned, void *ud);

/* Walks the VM directories under base (final names <id>-XXXXXX only, owned
 * by our uid; the order is the directory's). It only tests the owner lock
 * (a shared lock taken and dropped at once) and changes nothing; a sweep
 * running meanwhile keeps what it finds locked by us. A missing base is an
 * empty list. */
int vc_rundir_list(const char *base, vc_rundir_list_cb cb, void *ud, vc_error_t *err);

#endif
