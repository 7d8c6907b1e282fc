#include <unistd.h>

#include "kindtest.h"

int vc_test_build_device(const char *kind, const kv_t *vals, vc_dev_t **out, vc_error_t *err)
{
    const vc_kind_t *k = vc_kind_find(kind);
    if (!k) VC_FAIL("no kind %s", kind);
    vc_dev_t *d;
    ASSERT_INT_EQ(vc_dev_new(k, &d, err), 0);
    int rc = 0;
    for (; rc == 0 && vals && vals->k; vals++) {
        int f = vc_kind_field(k, vals->k);
        if (f < 0) VC_FAIL("no field %s.%s", kind, vals->k);
        rc = vc_dev_set_str(d, f, vals->v, err);
    }
    if (rc == 0) rc = vc_dev_finish(d, err);
    if (rc) {
        vc_dev_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

char *vc_test_emit_shell(const char *kind, const kv_t *vals)
{
    vc_error_t err = {0};
    vc_dev_t *d;
    if (vc_test_build_device(kind, vals, &d, &err)) VC_FAIL("%s: %s", kind, err.msg);
    vc_argv_t a = VC_ARGV_INIT;
    if (vc_dev_emit(d, &a, &err)) VC_FAIL("emit %s: %s", kind, err.msg);
    char *s = vc_argv_render_shell(&a);
    vc_argv_free(&a);
    vc_dev_free(d);
    return s;
}

void vc_test_read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0) VC_FAIL("QMP socket closed");
        if (buf[n] == '\n') break;
        n++;
    }
    if (n + 1 >= size) VC_FAIL("QMP line longer than %zu bytes", size);
    if (n && buf[n - 1] == '\r') n--;
    buf[n] = '\0';
}

void vc_test_qmp(int fd, const char *cmd, char *reply, size_t size)
{
    ASSERT_INT_EQ(write(fd, cmd, strlen(cmd)), (long long)strlen(cmd));
    do
        vc_test_read_line(fd, reply, size);
    while (strstr(reply, "\"event\""));
}

void vc_test_on_exit(vc_proc_t *p, int status, int sig, void *ud)
{
    vc_test_exit_t *e = ud;
    (void)p;
    e->done = 1, e->status = status, e->sig = sig;
}
