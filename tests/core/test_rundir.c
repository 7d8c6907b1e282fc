#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
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
    char path[PATH_MAX + sizeof "/" VC_RUNDIR_OWNER];
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
    char path[PATH_MAX + sizeof "/" VC_RUNDIR_OWNER], text[32] = "", want[32];
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

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
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

/* Sets the access and modification times of path to ago seconds back. */
static void age(const char *path, int ago)
{
    struct timeval now, tv[2];
    ASSERT_INT_EQ(gettimeofday(&now, NULL), 0);
    tv[0] = tv[1] = (struct timeval){.tv_sec = now.tv_sec - ago};
    ASSERT_INT_EQ(utimes(path, tv), 0);
}

/* Writes pid into dir/pid, as QEMU's -pidfile does. */
static void write_pidfile(const char *dir, pid_t pid)
{
    char file[PATH_MAX + sizeof "/pid"];
    snprintf(file, sizeof file, "%s/pid", dir);
    FILE *f = fopen(file, "w");
    ASSERT(f != NULL);
    fprintf(f, "%d\n", (int)pid);
    fclose(f);
}

/* A pid that names no process: a reaped child's. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) _exit(0);
    ASSERT_INT_EQ(waitpid(pid, NULL, 0), pid);
    return pid;
}

/* In a forked child: dies with the test, so that a failed assert in the
 * parent leaves no child behind. */
static void die_with_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(5);
}

/* Forks a child, as another vclaunch, that makes a VM directory under base
 * and sends its path into dir; then it exits (wait false) or waits to be
 * killed (wait true). */
static pid_t owner_child(const char *base, const char *name, int wait, char *dir, size_t size)
{
    int p[2];
    ASSERT_INT_EQ(pipe2(p, O_CLOEXEC), 0);
    pid_t parent = getpid(), pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        die_with_parent(parent);
        close(p[0]);
        char out[PATH_MAX];
        int fd = -1;
        vc_error_t err = {0};
        if (vc_rundir_create(base, name, out, sizeof out, &fd, &err)) _exit(2);
        /* under PIPE_BUF: one atomic write, read whole by the parent */
        if (write(p[1], out, strlen(out) + 1) < 0) _exit(3);
        if (!wait) _exit(0);
        for (;;)
            pause();
    }
    close(p[1]);
    ssize_t n = read(p[0], dir, size);
    close(p[0]);
    ASSERT(n > 0 && dir[n - 1] == '\0');
    return pid;
}

static int sweep(const char *base)
{
    vc_error_t err = {0};
    int removed = -1;
    ASSERT_INT_EQ(vc_rundir_sweep(base, &removed, &err), 0);
    return removed;
}

/* A vclaunch that died before QEMU wrote a pidfile: its directory goes
 * (before the owner record it was taken for a VM still starting and kept
 * for ever). So does one whose dead owner's QEMU wrote a pidfile naming a
 * live process: the owner, not the pidfile, decides. */
static void test_sweep_dead_owner(void)
{
    char base[64], a[PATH_MAX], b[PATH_MAX];
    make_tmp(base, sizeof base);
    int status;
    pid_t c = owner_child(base, "nopid", 0, a, sizeof a);
    ASSERT_INT_EQ(waitpid(c, &status, 0), c);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    c = owner_child(base, "livepid", 0, b, sizeof b);
    ASSERT_INT_EQ(waitpid(c, &status, 0), c);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    write_pidfile(b, getpid());
    ASSERT(exists(a));
    ASSERT_INT_EQ(sweep(base), 2);
    ASSERT(!exists(a));
    ASSERT(!exists(b));
    ASSERT_INT_EQ(entries(base), 0);
    rm(base);
}

/* Another live vclaunch's directory is kept, even once its QEMU is gone
 * (its pidfile names a dead process): that vclaunch removes it itself. It
 * goes at the first sweep after its owner is killed. */
static void test_sweep_live_owner(void)
{
    char base[64], dir[PATH_MAX];
    make_tmp(base, sizeof base);
    pid_t c = owner_child(base, "other", 1, dir, sizeof dir);
    ASSERT_INT_EQ(sweep(base), 0);
    ASSERT(exists(dir));
    write_pidfile(dir, dead_pid());
    ASSERT_INT_EQ(sweep(base), 0);
    ASSERT(exists(dir));
    ASSERT(owner_locked(dir));
    ASSERT_INT_EQ(kill(c, SIGKILL), 0);
    int status;
    ASSERT_INT_EQ(waitpid(c, &status, 0), c);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ASSERT_INT_EQ(sweep(base), 1);
    ASSERT(!exists(dir));
    rm(base);
}

/* The pid in the owner record is not trusted: here it names a live process
 * (this one), as when a dead owner's pid has been reused, but nobody holds
 * the lock, so the directory goes. */
static void test_sweep_pid_not_trusted(void)
{
    char base[64], dir[PATH_MAX];
    make_tmp(base, sizeof base);
    vc_error_t err = {0};
    int fd = -1;
    ASSERT_INT_EQ(vc_rundir_create(base, "reused", dir, sizeof dir, &fd, &err), 0);
    close(fd);
    ASSERT(!owner_locked(dir));
    ASSERT_INT_EQ(sweep(base), 1);
    ASSERT(!exists(dir));
    rm(base);
}

/* This process's own directory is kept: as made, with a live QEMU's
 * pidfile, and once that QEMU is gone. */
static void test_sweep_own_dir_kept(void)
{
    char base[64], dir[PATH_MAX];
    make_tmp(base, sizeof base);
    vc_error_t err = {0};
    int fd = -1;
    ASSERT_INT_EQ(vc_rundir_create(base, "mine", dir, sizeof dir, &fd, &err), 0);
    ASSERT_INT_EQ(sweep(base), 0);
    write_pidfile(dir, getpid());
    ASSERT_INT_EQ(sweep(base), 0);
    write_pidfile(dir, dead_pid());
    ASSERT_INT_EQ(sweep(base), 0);
    ASSERT(exists(dir));
    rm(dir);
    close(fd);
    rm(base);
}

/* Neither owner record nor pidfile: from an older vclaunch, or a temporary
 * directory (.<id>-XXXXXX) left by a crash before its record. Such a
 * directory goes once it is VC_RUNDIR_GRACE seconds old. */
static void test_sweep_ownerless(void)
{
    char base[64], dir[PATH_MAX];
    make_tmp(base, sizeof base);
    const struct {
        const char *name;
        int ago, kept;
    } cases[] = {
        {"old-Aaa111", VC_RUNDIR_GRACE + 5, 0},
        {"young-Bbb222", VC_RUNDIR_GRACE - 10, 1},
        {"fresh-Ccc333", 0, 1},
        {".tmpold-Ddd444", VC_RUNDIR_GRACE + 5, 0},
        {".tmpnew-Eee555", 0, 1},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        vm_dir(base, cases[i].name, 0);
        snprintf(dir, sizeof dir, "%s/%s", base, cases[i].name);
        if (cases[i].ago) age(dir, cases[i].ago);
    }
    ASSERT_INT_EQ(sweep(base), 2);
    for (size_t i = 0; i < n; i++) {
        if (present(base, cases[i].name) != cases[i].kept)
            VC_FAIL("%s: want %s", cases[i].name, cases[i].kept ? "kept" : "swept");
        snprintf(dir, sizeof dir, "%s/%s", base, cases[i].name);
        if (cases[i].kept) rm(dir);
    }
    rm(base);
}

/* A real vclaunch killed with SIGKILL right after vc_rundir_create returns,
 * before anything else: the directory it leaves is complete (no temporary
 * name) and is swept, even while the dead owner is a zombie not yet reaped. */
static void test_sweep_killed_during_create(void)
{
    char base[64];
    make_tmp(base, sizeof base);
    pid_t parent = getpid(), c = fork();
    ASSERT(c >= 0);
    if (c == 0) {
        die_with_parent(parent);
        char out[PATH_MAX];
        int fd = -1;
        vc_error_t err = {0};
        if (vc_rundir_create(base, "victim", out, sizeof out, &fd, &err)) _exit(2);
        raise(SIGKILL);
        _exit(3);
    }
    siginfo_t si;
    ASSERT_INT_EQ(waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT), 0);
    ASSERT_INT_EQ(si.si_code, CLD_KILLED);
    ASSERT_INT_EQ(si.si_status, SIGKILL);
    DIR *d = opendir(base);
    ASSERT(d != NULL);
    struct dirent *ent;
    int found = 0;
    while ((ent = readdir(d))) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
        ASSERT_INT_EQ(strncmp(ent->d_name, "victim-", 7), 0);
        found++;
    }
    closedir(d);
    ASSERT_INT_EQ(found, 1);
    ASSERT_INT_EQ(sweep(base), 1);
    ASSERT_INT_EQ(entries(base), 0);
    ASSERT_INT_EQ(waitpid(c, NULL, 0), c);
    rm(base);
}

/* Sweeps racing a vclaunch that makes and removes directories in a loop
 * never take one of its directories: under its final name a directory has
 * its owner record, locked, from its first moment. */
static void test_sweep_races_create(void)
{
    char base[64];
    make_tmp(base, sizeof base);
    pid_t parent = getpid(), c = fork();
    ASSERT(c >= 0);
    if (c == 0) {
        die_with_parent(parent);
        for (int i = 0; i < 300; i++) {
            char out[PATH_MAX];
            int fd = -1;
            vc_error_t err = {0};
            struct stat st;
            if (vc_rundir_create(base, "busy", out, sizeof out, &fd, &err)) _exit(2);
            write_pidfile(out, getpid());
            if (stat(out, &st) < 0) _exit(3); /* a sweep took it */
            if (vc_rundir_remove(out, &err)) _exit(4);
            close(fd);
        }
        _exit(0);
    }
    int status, sweeps = 0;
    for (;;) {
        ASSERT_INT_EQ(sweep(base), 0);
        sweeps++;
        pid_t w = waitpid(c, &status, WNOHANG);
        ASSERT(w >= 0);
        if (w == c) break;
    }
    ASSERT(WIFEXITED(status));
    ASSERT_INT_EQ(WEXITSTATUS(status), 0);
    ASSERT_INT_GE(sweeps, 1);
    ASSERT_INT_EQ(entries(base), 0);
    rm(base);
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
    RUN(test_sweep_dead_owner);
    RUN(test_sweep_live_owner);
    RUN(test_sweep_pid_not_trusted);
    RUN(test_sweep_own_dir_kept);
    RUN(test_sweep_ownerless);
    RUN(test_sweep_killed_during_create);
    RUN(test_sweep_races_create);
    return 0;
}
