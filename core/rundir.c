#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"

#define VC_LISTEN_BACKLOG 8
/* How often vc_rundir_create tries a new name when the final name of its
 * temporary directory is taken (mkdtemp only makes the temporary one unique). */
#define VC_CREATE_ATTEMPTS 16

/* Creates path and its missing parents; directories we create get 0700. */
static int mkdir_p(const char *path, vc_error_t *err)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return vc_error_set(err, -ENAMETOOLONG, "directory path '%s' is empty or too long", path);
    memcpy(buf, path, len + 1);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';

    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0700) == 0) {
            /* the umask may have cleared bits; force exactly 0700 */
            if (chmod(buf, 0700) < 0) {
                int e = errno;
                return vc_error_set(err, -e, "cannot chmod '%s': %s", buf, strerror(e));
            }
        } else if (errno != EEXIST) {
            int e = errno;
            return vc_error_set(err, -e, "cannot create directory '%s': %s", buf, strerror(e));
        } else {
            struct stat st;
            if (stat(buf, &st) < 0) {
                int e = errno;
                return vc_error_set(err, -e, "cannot stat '%s': %s", buf, strerror(e));
            }
            if (!S_ISDIR(st.st_mode))
                return vc_error_set(err, -ENOTDIR, "'%s' exists and is not a directory", buf);
        }
        *p = saved;
        if (saved == '\0') break;
    }
    return 0;
}

int vc_rundir_base(const char *override, char *out, size_t size, vc_error_t *err)
{
    char path[4096];
    int n;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (override && *override)
        n = snprintf(path, sizeof path, "%s", override);
    else if (xdg && *xdg)
        n = snprintf(path, sizeof path, "%s/vclaunch", xdg);
    else if (geteuid() == 0)
        n = snprintf(path, sizeof path, "/run/vclaunch");
    else
        n = snprintf(path, sizeof path, "/tmp/vclaunch-%lu", (unsigned long)geteuid());
    if (n < 0 || (size_t)n >= sizeof path)
        return vc_error_set(err, -ENAMETOOLONG, "runtime directory path is too long");
    if ((size_t)n >= size)
        return vc_error_set(err, -ENAMETOOLONG,
                            "runtime directory '%s' does not fit a %zu-byte buffer", path, size);

    int rc = mkdir_p(path, err);
    if (rc < 0) return rc;

    struct stat st;
    if (stat(path, &st) < 0) {
        int e = errno;
        return vc_error_set(err, -e, "cannot stat '%s': %s", path, strerror(e));
    }
    if (st.st_uid != geteuid())
        return vc_error_set(err, -EPERM, "runtime directory '%s' is owned by uid %lu, not us", path,
                            (unsigned long)st.st_uid);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return vc_error_set(err, -EPERM, "runtime directory '%s' is group or other writable", path);

    memcpy(out, path, (size_t)n + 1);
    return 0;
}

/* The owner record is a lock rather than a pid (and start time) to check:
 * the kernel drops a flock when the owner's last fd to it closes, however
 * the owner ends (exit, SIGKILL, a crash), so the sweep asks the kernel
 * instead of guessing from /proc, and nothing can be mistaken for the
 * owner: not a process that reused its pid, not one in another pid
 * namespace, not one from before a reboot. The price is one fd per
 * directory, held by the caller; the pid in the file is only for people.
 *
 * The record is made as owner.new and renamed once it is locked, so a file
 * named owner is locked by its maker from the moment it has that name: a
 * sweep never finds it free merely because it was just created. */
static int make_owner(const char *dir, int *out, vc_error_t *err)
{
    char tmp[4096], path[4096], text[32];
    if (snprintf(tmp, sizeof tmp, "%s/" VC_RUNDIR_OWNER ".new", dir) >= (int)sizeof tmp ||
        snprintf(path, sizeof path, "%s/" VC_RUNDIR_OWNER, dir) >= (int)sizeof path)
        return vc_error_set(err, -ENAMETOOLONG, "run directory path '%s' is too long", dir);
    int rc, fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = -errno;
        return vc_error_set(err, rc, "cannot create '%s': %s", tmp, strerror(-rc));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = -errno;
        vc_error_set(err, rc, "cannot lock '%s': %s", tmp, strerror(-rc));
        goto fail;
    }
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (write(fd, text, (size_t)n) != n) {
        rc = errno ? -errno : -EIO;
        vc_error_set(err, rc, "cannot write '%s': %s", tmp, strerror(-rc));
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        rc = -errno;
        vc_error_set(err, rc, "cannot rename '%s' to '%s': %s", tmp, path, strerror(-rc));
        goto fail;
    }
    *out = fd;
    return 0;

fail:
    close(fd);
    return rc;
}

/* Moves a finished directory to its final name without replacing anything
 * there (plain rename() would replace an empty directory of that name).
 * Returns 0 or a negative errno, -EEXIST when the name is taken. */
static int move_into_place(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -errno;
    /* A file system without RENAME_NOREPLACE: claim the name with mkdir,
     * which fails on any existing entry, then replace that empty directory.
     * Until the rename the claimed directory has no owner record, a moment
     * the sweep's grace period covers. */
    if (mkdir(to, 0700) < 0) return -errno;
    if (rename(from, to) < 0) {
        int rc = -errno;
        rmdir(to);
        return rc;
    }
    return 0;
}

int vc_rundir_create(const char *base, const char *name, char *out, size_t size, int *owner_fd,
                     vc_error_t *err)
{
    if (!base || !name || !owner_fd)
        return vc_error_set(err, -EINVAL, "rundir: base, name and owner_fd are required");
    int rc = vc_id_check(name, "VM name", err);
    if (rc) return rc;

    char path[4096], tmp[4096];
    int n = snprintf(path, sizeof path, "%s/%s-XXXXXX", base, name);
    if (n < 0 || (size_t)n + 1 >= sizeof path)
        return vc_error_set(err, -ENAMETOOLONG, "run directory path under '%s' is too long", base);
    if ((size_t)n >= size)
        return vc_error_set(err, -ENAMETOOLONG, "run directory '%s' does not fit a %zu-byte buffer",
                            path, size);

    int fd = -1;
    for (int attempt = 1;; attempt++) {
        snprintf(tmp, sizeof tmp, "%s/.%s-XXXXXX", base, name);
        if (!mkdtemp(tmp)) {
            int e = errno;
            return vc_error_set(err, -e, "cannot create run directory under '%s': %s", base,
                                strerror(e));
        }
        /* mkdtemp asks for 0700 but a umask may have cleared bits we need */
        if (chmod(tmp, 0700) < 0) {
            rc = -errno;
            vc_error_set(err, rc, "cannot chmod '%s': %s", tmp, strerror(-rc));
            goto fail;
        }
        rc = make_owner(tmp, &fd, err);
        if (rc) goto fail;
        /* the final name takes the suffix mkdtemp chose */
        memcpy(path + n - 6, tmp + n + 1 - 6, 6);
        rc = move_into_place(tmp, path);
        if (rc == 0) break;
        if (rc != -EEXIST || attempt == VC_CREATE_ATTEMPTS) {
            vc_error_set(err, rc, "cannot rename '%s' to '%s': %s", tmp, path, strerror(-rc));
            goto fail;
        }
        vc_rundir_remove(tmp, NULL);
        close(fd);
        fd = -1;
    }
    memcpy(out, path, (size_t)n + 1);
    *owner_fd = fd;
    return 0;

fail:
    /* remove before unlocking, so that no sweep judges it in between */
    vc_rundir_remove(tmp, NULL);
    if (fd >= 0) close(fd);
    return rc;
}

int vc_rundir_socket_path(const char *dir, const char *file, char *out, size_t size,
                          vc_error_t *err)
{
    size_t dl = strlen(dir), fl = strlen(file);
    size_t len = dl + 1 + fl;
    if (len + 1 > VC_SOCKET_PATH_MAX)
        return vc_error_set(err, -ENAMETOOLONG,
                            "socket path '%s/%s' is %zu bytes; a unix socket path holds at most %d",
                            dir, file, len, VC_SOCKET_PATH_MAX - 1);
    if (len + 1 > size)
        return vc_error_set(err, -ENAMETOOLONG,
                            "socket path '%s/%s' does not fit a %zu-byte buffer", dir, file, size);
    memcpy(out, dir, dl);
    out[dl] = '/';
    memcpy(out + dl + 1, file, fl + 1);
    return 0;
}

int vc_socket_listen(const char *path, int *fd, vc_error_t *err)
{
    struct sockaddr_un addr;
    size_t len = strlen(path);
    int s = -1, rc;

    if (len + 1 > sizeof addr.sun_path)
        return vc_error_set(err, -ENAMETOOLONG,
                            "socket path '%s' is %zu bytes; a unix socket path holds at most %zu",
                            path, len, sizeof addr.sun_path - 1);
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, len + 1);

    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        rc = -errno;
        vc_error_set(err, rc, "cannot create socket for '%s': %s", path, strerror(-rc));
        goto fail;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        rc = -errno;
        vc_error_set(err, rc, "cannot remove stale socket '%s': %s", path, strerror(-rc));
        goto fail;
    }
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        rc = -errno;
        vc_error_set(err, rc, "cannot bind socket '%s': %s", path, strerror(-rc));
        goto fail;
    }
    if (listen(s, VC_LISTEN_BACKLOG) < 0) {
        rc = -errno;
        vc_error_set(err, rc, "cannot listen on socket '%s': %s", path, strerror(-rc));
        unlink(path);
        goto fail;
    }
    *fd = s;
    return 0;

fail:
    if (s >= 0) close(s);
    return rc;
}

int vc_rundir_remove(const char *dir, vc_error_t *err)
{
    int rc = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT) return 0;
        int e = errno;
        return vc_error_set(err, -e, "cannot open run directory '%s': %s", dir, strerror(e));
    }
    /* fdopendir takes ownership of dfd on success */
    DIR *d = fdopendir(dfd);
    if (!d) {
        rc = -errno;
        vc_error_set(err, rc, "cannot read run directory '%s': %s", dir, strerror(-rc));
        goto fail;
    }
    dfd = -1;

    for (;;) {
        errno = 0;
        struct dirent *ent = readdir(d);
        if (!ent) {
            if (errno != 0) {
                rc = -errno;
                vc_error_set(err, rc, "cannot read run directory '%s': %s", dir, strerror(-rc));
                goto fail;
            }
            break;
        }
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0 ||
            strcmp(ent->d_name, VC_RUNDIR_OWNER) == 0)
            continue;
        if (unlinkat(dirfd(d), ent->d_name, 0) < 0 && errno != ENOENT) {
            rc = -errno;
            vc_error_set(err, rc, "cannot remove '%s/%s': %s", dir, ent->d_name, strerror(-rc));
            goto fail;
        }
    }
    /* Last: without it a sweep would take the half-removed directory for
     * one of an older vclaunch and judge it by its pidfile. */
    if (unlinkat(dirfd(d), VC_RUNDIR_OWNER, 0) < 0 && errno != ENOENT) {
        rc = -errno;
        vc_error_set(err, rc, "cannot remove '%s/%s': %s", dir, VC_RUNDIR_OWNER, strerror(-rc));
        goto fail;
    }
    closedir(d);
    d = NULL;

    if (rmdir(dir) < 0 && errno != ENOENT) {
        rc = -errno;
        vc_error_set(err, rc, "cannot remove run directory '%s': %s", dir, strerror(-rc));
        goto fail;
    }
    return 0;

fail:
    if (d) closedir(d);
    if (dfd >= 0) close(dfd);
    return rc;
}

/* The pid in dir/pid, or 0 when there is none or it does not parse. */
static pid_t read_pid(const char *dir)
{
    char path[4096], buf[32];
    if (snprintf(path, sizeof path, "%s/pid", dir) >= (int)sizeof path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    if (end == buf || (*end && *end != '\n') || pid <= 0) return 0;
    return (pid_t)pid;
}

/* Whether pid names a live process: one that exists and is not a zombie
 * waiting for its (new) parent to reap it. */
static int alive(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno == ESRCH) return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno != ENOENT;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 1;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return !(p && p[1] == ' ' && p[2] == 'Z');
}

/* "<id>-XXXXXX", what vc_rundir_create makes, or ".<id>-XXXXXX", the
 * temporary name it builds it under. */
static int is_vm_dir_name(const char *name)
{
    if (name[0] == '.') name++;
    size_t len = strlen(name);
    if (len < 8 || name[len - 7] != '-') return 0;
    char id[VC_ID_MAX + 1];
    if (len - 7 > VC_ID_MAX) return 0;
    memcpy(id, name, len - 7);
    id[len - 7] = '\0';
    return vc_id_check(id, "VM name", NULL) == 0;
}

/* Whether the VM directory dir (st from its lstat) is abandoned. When its
 * owner lock was free, *lock receives the fd now holding it; the caller
 * keeps it until the directory is gone, so no other sweep and no owner
 * (there is none) can act on the directory meanwhile. */
static int abandoned(const char *dir, const struct stat *st, int *lock)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" VC_RUNDIR_OWNER, dir) >= (int)sizeof path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            /* The lock may have come free because the owner removed the
             * directory and then let go: only a record still linked under
             * its name was abandoned. */
            struct stat held, named;
            if (fstat(fd, &held) == 0 && lstat(path, &named) == 0 && held.st_dev == named.st_dev &&
                held.st_ino == named.st_ino) {
                *lock = fd;
                return 1;
            }
        }
        /* EWOULDBLOCK: the owner lives (this process or another, or a child
         * that inherited the fd). Any other error: we cannot tell; keep. */
        close(fd);
        return 0;
    }
    if (errno != ENOENT) return 0;
    /* No owner record: made by an older vclaunch, or a temporary directory
     * left by a crash before its record. For the former the pidfile still
     * says whether its QEMU is gone; without one, only age can tell a VM
     * starting under an older vclaunch from one abandoned. */
    pid_t pid = read_pid(dir);
    if (pid) return !alive(pid);
    time_t now = time(NULL);
    return now >= st->st_mtime && now - st->st_mtime >= VC_RUNDIR_GRACE;
}

/* Calls fn(dir, name, st, ud) for each VM directory of this user under base
 * (a real directory, not a link; name is its entry, a temporary ".NAME-..."
 * included), until fn returns non-zero, which is returned. A missing base
 * has none. */
typedef int (*vm_dir_fn)(const char *dir, const char *name, const struct stat *st, void *ud);
static int each_vm_dir(const char *base, vm_dir_fn fn, void *ud, vc_error_t *err)
{
    DIR *d = opendir(base);
    if (!d) {
        if (errno == ENOENT) return 0;
        int e = errno;
        return vc_error_set(err, -e, "cannot read runtime directory '%s': %s", base, strerror(e));
    }
    int rc = 0;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d))) {
        if (!is_vm_dir_name(ent->d_name)) continue;
        char dir[4096];
        if (snprintf(dir, sizeof dir, "%s/%s", base, ent->d_name) >= (int)sizeof dir) continue;
        struct stat st;
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        rc = fn(dir, ent->d_name, &st, ud);
    }
    closedir(d);
    return rc;
}

struct sweep {
    int *removed;
    vc_error_t *err;
};

static int sweep_one(const char *dir, const char *name, const struct stat *st, void *ud)
{
    (void)name;
    struct sweep *sw = ud;
    int lock = -1;
    if (!abandoned(dir, st, &lock)) return 0;
    int rc = vc_rundir_remove(dir, sw->err);
    if (lock >= 0) close(lock);
    if (rc == 0) (*sw->removed)++;
    return rc;
}

int vc_rundir_sweep(const char *base, int *removed, vc_error_t *err)
{
    *removed = 0;
    struct sweep sw = {removed, err};
    return each_vm_dir(base, sweep_one, &sw, err);
}

/* Whether a live vclaunch holds the owner lock of dir: 1 yes, 0 no. */
static int owned(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" VC_RUNDIR_OWNER, dir) >= (int)sizeof path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd); /* drops our shared lock, if we got one */
    return held;
}

struct list {
    vc_rundir_list_cb cb;
    void *ud;
};

static int list_one(const char *dir, const char *name, const struct stat *st, void *ud)
{
    (void)st;
    struct list *l = ud;
    if (name[0] == '.') return 0; /* not named yet: no VM there */
    return l->cb(dir, owned(dir), l->ud);
}

int vc_rundir_list(const char *base, vc_rundir_list_cb cb, void *ud, vc_error_t *err)
{
    struct list l = {cb, ud};
    return each_vm_dir(base, list_one, &l, err);
}
