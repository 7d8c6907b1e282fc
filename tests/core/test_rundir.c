#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argv.h"
#include "rundir.h"
#include "test.h"

/* A fresh private temp dir under /tmp. */
static void make_tmp(char *out, size_t size)
{
    ASSERT(size >= 32);
    snprintf(out, size, "/tmp/vc-test-rundir-XXXXXX");
    ASSERT(mkdtemp(out) != NULL);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    ASSERT_INT_EQ(stat(path, &st), 0);
    ASSERT(S_ISDIR(st.st_mode));
    return st.st_mode & 07777;
}

static void rm(const char *path)
{
    vc_error_t err = {0};
    ASSERT_INT_EQ(vc_rundir_remove(path, &err), 0);
}

static void test_base_override_created_0700(void)
{
    char tmp[64], want[PATH_MAX], out[PATH_MAX];
    make_tmp(tmp, sizeof tmp);
    snprintf(want, sizeof want, "%s/a/b", tmp);
    mode_t old = umask(022);
    vc_error_t err = {0};
    int rc = vc_rundir_base(want, out, sizeof out, &err);
    umask(old);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_EQ(out, want);
    ASSERT_INT_EQ(mode_of(out), 0700);
    char mid[PATH_MAX];
    snprintf(mid, sizeof mid, "%s/a", tmp);
    ASSERT_INT_EQ(mode_of(mid), 0700);
    /* a second call on the existing dir succeeds too */
    ASSERT_INT_EQ(vc_rundir_base(want, out, sizeof out, &err), 0);
    ASSERT_STR_EQ(out, want);
    rm(want);
    rm(mid);
    rm(tmp);
}

static void test_base_xdg(void)
{
    char tmp[64], want[PATH_MAX], out[PATH_MAX];
    make_tmp(tmp, sizeof tmp);
    const char *saved = getenv("XDG_RUNTIME_DIR");
    char *saved_copy = saved ? strdup(saved) : NULL;
    ASSERT_INT_EQ(setenv("XDG_RUNTIME_DIR", tmp, 1), 0);
    vc_error_t err = {0};
    int rc = vc_rundir_base(NULL, out, sizeof out, &err);
    if (saved_copy) {
        setenv("XDG_RUNTIME_DIR", saved_copy, 1);
        free(saved_copy);
    } else {
        unsetenv("XDG_RUNTIME_DIR");
    }
    ASSERT_INT_EQ(rc, 0);
    snprintf(want, sizeof want, "%s/vclaunch", tmp);
    ASSERT_STR_EQ(out, want);
    ASSERT_INT_EQ(mode_of(out), 0700);
    rm(want);
    rm(tmp);
}

static void test_base_too_small_buffer(void)
{
    char tmp[64], out[8];
    make_tmp(tmp, sizeof tmp);
    vc_error_t err = {0};
    ASSERT(vc_rundir_base(tmp, out, sizeof out, &err) < 0);
    ASSERT(err.msg[0] != '\0');
    rm(tmp);
}

/* Whether dir's owner record is locked by someone: a fresh open file
 * description of it cannot take the lock. */
static int owner_locked(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" VC_RUNDIR_OWNER, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ASSERT(fd >= 0);
    int rc = flock(fd, LOCK_EX | LOCK_NB);
    int e = errno;
    close(fd);
    if (rc == 0) return 0;
    ASSERT_INT_EQ(e, EWOULDBLOCK);
    return 1;
}

/* How many entries base holds, "." and ".." aside. */
static int entries(const char *base)
{
    DIR *d = opendir(base);
    ASSERT(d != NULL);
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)))
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static void test_create_unique_0700(void)
{
    char tmp[64], a[PATH_MAX], b[PATH_MAX], prefix[PATH_MAX];
    make_tmp(tmp, sizeof tmp);
    vc_error_t err = {0};
    int fa = -1, fb = -1;
    ASSERT_INT_EQ(vc_rundir_create(tmp, "vm-1.x_y", a, sizeof a, &fa, &err), 0);
    ASSERT_INT_EQ(vc_rundir_create(tmp, "vm-1.x_y", b, sizeof b, &fb, &err), 0);
    ASSERT(strcmp(a, b) != 0);
    snprintf(prefix, sizeof prefix, "%s/vm-1.x_y-", tmp);
    ASSERT_INT_EQ(strncmp(a, prefix, strlen(prefix)), 0);
    ASSERT_INT_EQ(strlen(a), strlen(prefix) + 6);
    ASSERT_INT_EQ(mode_of(a), 0700);
    ASSERT_INT_EQ(mode_of(b), 0700);
    /* the temporary names are gone; only the two directories remain */
    ASSERT_INT_EQ(entries(tmp), 2);
    /* each holds only its owner record: our pid, locked through an fd
     * that QEMU (exec'd) would not inherit */
    ASSERT_INT_EQ(entries(a), 1);
    char path[PATH_MAX], text[32] = "", want[32];
    snprintf(path, sizeof path, "%s/" VC_RUNDIR_OWNER, a);
    FILE *f = fopen(path, "r");
    ASSERT(f != NULL);
    ASSERT(fgets(text, sizeof text, f) != NULL);
    fclose(f);
    snprintf(want, sizeof want, "%d\n", (int)getpid());
    ASSERT_STR_EQ(text, want);
    ASSERT(owner_locked(a));
    ASSERT(owner_locked(b));
    ASSERT(fcntl(fa, F_GETFD) & FD_CLOEXEC);
    rm(a);
    rm(b);
    close(fa);
    close(fb);
    rm(tmp);
}

static void test_create_invalid_name(void)
{
    char tmp[64], out[PATH_MAX];
    make_tmp(tmp, sizeof tmp);
    /* the one id rule of the project (vc_id_check): at most VC_ID_MAX */
    char longname[VC_ID_MAX + 2];
    memset(longname, 'a', VC_ID_MAX + 1);
    longname[VC_ID_MAX + 1] = '\0';
    const char *bad[] = {"", "1vm", "-vm", "vm/x", "vm x", "../x", longname};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vc_error_t err = {0};
        int fd = -1;
        ASSERT_INT_EQ(vc_rundir_create(tmp, bad[i], out, sizeof out, &fd, &err), -EINVAL);
        ASSERT_INT_EQ(fd, -1);
        ASSERT_INT_EQ(err.code, -EINVAL);
        char quoted[100];
        /* a long name is quoted cut at 40 characters, an empty one not at all */
        snprintf(quoted, sizeof quoted, *bad[i] ? "VM name '%.40s" : "VM name is empty", bad[i]);
        ASSERT_STR_CONTAINS(err.msg, quoted);
    }
    /* VC_ID_MAX characters is still valid */
    longname[VC_ID_MAX] = '\0';
    vc_error_t err = {0};
    int fd = -1;
    ASSERT_INT_EQ(vc_rundir_create(tmp, longname, out, sizeof out, &fd, &err), 0);
    rm(out);
    close(fd);
    /* nothing is left behind by the refused names */
    ASSERT_INT_EQ(entries(tmp), 0);
    rm(tmp);
}

static void test_socket_path(void)
{
    char out[VC_SOCKET_PATH_MAX];
    vc_error_t err = {0};
    ASSERT_INT_EQ(vc_rundir_socket_path("/run/x", "qmp.sock", out, sizeof out, &err), 0);
    ASSERT_STR_EQ(out, "/run/x/qmp.sock");

    /* exactly 107 bytes fits */
    char dir[200];
    memset(dir, 'd', sizeof dir);
    dir[0] = '/';
    size_t dl = 107 - 1 - strlen("qmp.sock");
    dir[dl] = '\0';
    ASSERT_INT_EQ(vc_rundir_socket_path(dir, "qmp.sock", out, sizeof out, &err), 0);
    ASSERT_INT_EQ(strlen(out), 107);

    /* 130 bytes does not */
    memset(dir, 'd', sizeof dir);
    dir[0] = '/';
    dir[130 - 1 - strlen("qmp.sock")] = '\0';
    char big[300];
    memset(&err, 0, sizeof err);
    ASSERT(vc_rundir_socket_path(dir, "qmp.sock", big, sizeof big, &err) < 0);
    ASSERT(err.code < 0);
    char want[300];
    snprintf(want, sizeof want, "socket path '%s/qmp.sock' is 130 bytes", dir);
    ASSERT_STR_CONTAINS(err.msg, want);
    ASSERT_STR_CONTAINS(err.msg, "at most 107");
}

static void test_socket_listen(void)
{
    char tmp[64], path[VC_SOCKET_PATH_MAX];
    make_tmp(tmp, sizeof tmp);
    vc_error_t err = {0};
    ASSERT_INT_EQ(vc_rundir_socket_path(tmp, "qmp.sock", path, sizeof path, &err), 0);

    /* a stale file is replaced */
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fclose(f);

    int fd = -1;
    ASSERT_INT_EQ(vc_socket_listen(path, &fd, &err), 0);
    ASSERT(fd >= 0);
    int flags = fcntl(fd, F_GETFD);
    ASSERT(flags >= 0);
    ASSERT(flags & FD_CLOEXEC);
    int acc = 0;
    socklen_t sl = sizeof acc;
    ASSERT_INT_EQ(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl), 0);
    ASSERT(acc);

    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(c >= 0);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    ASSERT_INT_EQ(connect(c, (struct sockaddr *)&addr, sizeof addr), 0);
    int s = accept(fd, NULL, NULL);
    ASSERT(s >= 0);
    ASSERT_INT_EQ(write(c, "x", 1), 1);
    char ch = 0;
    ASSERT_INT_EQ(read(s, &ch, 1), 1);
    ASSERT_INT_EQ(ch, 'x');
    close(s);
    close(c);
    close(fd);

    /* a path that is too long is refused */
    char longp[200];
    memset(longp, 'p', sizeof longp);
    longp[0] = '/';
    longp[150] = '\0';
    fd = -1;
    ASSERT(vc_socket_listen(longp, &fd, &err) < 0);
    ASSERT_INT_EQ(fd, -1);

    rm(tmp);
    ASSERT(access(tmp, F_OK) < 0);
}

static void test_remove(void)
{
    char tmp[64], file[PATH_MAX];
    make_tmp(tmp, sizeof tmp);
    const char *names[] = {"pid", "console.log", "qmp.sock"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(file, sizeof file, "%s/%s", tmp, names[i]);
        FILE *f = fopen(file, "w");
        ASSERT(f != NULL);
        fputs("data\n", f);
        fclose(f);
    }
    vc_error_t err = {0};
    ASSERT_INT_EQ(vc_rundir_remove(tmp, &err), 0);
    errno = 0;
    ASSERT(access(tmp, F_OK) < 0);
    ASSERT_INT_EQ(errno, ENOENT);
}

static void test_remove_missing(void)
{
    char tmp[64], gone[PATH_MAX];
    make_tmp(tmp, sizeof tmp);
    snprintf(gone, sizeof gone, "%s/never-made", tmp);
    vc_error_t err = {0};
    ASSERT_INT_EQ(vc_rundir_remove(gone, &err), 0);
    rm(tmp);
    ASSERT_INT_EQ(vc_rundir_remove(tmp, &err), 0);
}

/* A VM directory under base holding a pidfile with pid (none when 0). */
static void vm_dir(const char *base, const char *name, pid_t pid)
{
    char dir[256], file[300];
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    ASSERT_INT_EQ(mkdir(dir, 0700), 0);
    snprintf(file, sizeof file, "%s/console.log", dir);
    FILE *f = fopen(file, "w");
    ASSERT(f != NULL);
    fclose(f);
    if (!pid) return;
    snprintf(file, sizeof file, "%s/pid", dir);
    f = fopen(file, "w");
    ASSERT(f != NULL);
    fprintf(f, "%d\n", (int)pid);
    fclose(f);
}

static int present(const char *base, const char *name)
{
    char dir[256];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    return stat(dir, &st) == 0;
}

/* Directories without an owner record, as a vclaunch older than the
 * record made them: judged by their pidfile, and without one by age. */
static void test_sweep(void)
{
    char base[64];
    make_tmp(base, sizeof base);
    /* a pid that is gone: a reaped child's */
    pid_t dead = fork();
    ASSERT(dead >= 0);
    if (dead == 0) _exit(0);
    ASSERT_INT_EQ(waitpid(dead, NULL, 0), dead);
    vm_dir(base, "gone-AbC123", dead);
    /* a zombie (a child not reaped yet) is gone too */
    pid_t zombie = fork();
    ASSERT(zombie >= 0);
    if (zombie == 0) _exit(0);
    siginfo_t si;
    ASSERT_INT_EQ(waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT), 0);
    vm_dir(base, "zombie-Zzz111", zombie);
    vm_dir(base, "alive-XyZ789", getpid());
    /* Was kept for having no pidfile ("a VM still starting"); that alone
     * now keeps it only for VC_RUNDIR_GRACE seconds (test_sweep_ownerless),
     * and it was just made. */
    vm_dir(base, "starting-Qwe456", 0);
    vm_dir(base, "not_a_vm_dir", dead);
    vm_dir(base, "1bad-Rty000", dead);
    vc_error_t err = {0};
    int removed = -1;
    ASSERT_INT_EQ(vc_rundir_sweep(base, &removed, &err), 0);
    ASSERT_INT_EQ(removed, 2);
    ASSERT(!present(base, "gone-AbC123"));
    ASSERT(!present(base, "zombie-Zzz111"));
    ASSERT_INT_EQ(waitpid(zombie, NULL, 0), zombie);
    ASSERT(present(base, "alive-XyZ789"));
    ASSERT(present(base, "starting-Qwe456"));
    ASSERT(present(base, "not_a_vm_dir"));
    ASSERT(present(base, "1bad-Rty000"));
    ASSERT_INT_EQ(vc_rundir_sweep(base, &removed, &err), 0);
    ASSERT_INT_EQ(removed, 0);
    const char *left[] = {"alive-XyZ789", "starting-Qwe456", "not_a_vm_dir", "1bad-Rty000"};
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        char dir[256], pidf[300];
        snprintf(dir, sizeof dir, "%s/%s", base, left[i]);
        snprintf(pidf, sizeof pidf, "%s/pid", dir);
        unlink(pidf);
        rm(dir);
    }
    rm(base);
    /* a base that does not exist yet holds nothing to sweep */
    ASSERT_INT_EQ(vc_rundir_sweep("/nonexistent/vclaunch", &removed, &err), 0);
    ASSERT_INT_EQ(removed, 0);
}

int main(void)
{
    RUN(test_base_override_created_0700);
    RUN(test_base_xdg);
    RUN(test_base_too_small_buffer);
    RUN(test_create_unique_0700);
    RUN(test_create_invalid_name);
    RUN(test_socket_path);
    RUN(test_socket_listen);
    RUN(test_remove);
    RUN(test_remove_missing);
    RUN(test_sweep);
    return 0;
}
