/* argv building, the escaping function, id rules and rendering. Expected
 * strings are written out by hand, never produced by the code under test. */
#include <cjson/cJSON.h>

#include "argv.h"
#include "test.h"

static char *escaped(const char *value, int *rc)
{
    vc_buf_t b = VC_BUF_INIT;
    vc_error_t err = {0};
    *rc = vc_escape_value(&b, value, "test value", &err);
    if (*rc) {
        vc_buf_free(&b);
        return strdup(err.msg);
    }
    return vc_buf_steal(&b);
}

static void test_escape_doubles_commas(void)
{
    int rc;
    char *s = escaped("a,b,,c", &rc);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_EQ(s, "a,,b,,,,c");
    free(s);
    s = escaped("path with spaces=and 'quotes\"", &rc);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_EQ(s, "path with spaces=and 'quotes\"");
    free(s);
    s = escaped("", &rc);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_STR_EQ(s, "");
    free(s);
}

static void test_escape_refuses_newline(void)
{
    int rc;
    char *s = escaped("/tmp/disk\nimg", &rc);
    ASSERT_INT_EQ(rc, -EINVAL);
    ASSERT_STR_CONTAINS(s, "test value holds a control character (0x0a)");
    free(s);
    s = escaped("x\ry", &rc);
    ASSERT_INT_EQ(rc, -EINVAL);
    free(s);
}

static void test_escape_failure_leaves_buffer(void)
{
    vc_buf_t b = VC_BUF_INIT;
    vc_buf_puts(&b, "file=");
    ASSERT_INT_EQ(vc_escape_value(&b, "ok,", "v", NULL), 0);
    ASSERT_INT_EQ(vc_escape_value(&b, "bad\n", "v", NULL), -EINVAL);
    ASSERT_STR_EQ(b.data, "file=ok,,");
    vc_buf_free(&b);
}

static void test_id_rules(void)
{
    vc_error_t err = {0};
    ASSERT_INT_EQ(vc_id_check("disk1", "device id", &err), 0);
    ASSERT_INT_EQ(vc_id_check("a-b.c_d9", "device id", &err), 0);
    ASSERT_INT_EQ(vc_id_check("1disk", "device id", &err), -EINVAL);
    ASSERT_STR_CONTAINS(err.msg, "device id '1disk' must start with a letter");
    ASSERT_INT_EQ(vc_id_check("disk,1", "device id", &err), -EINVAL);
    ASSERT_STR_CONTAINS(err.msg, "may hold only letters");
    ASSERT_INT_EQ(vc_id_check("disk 1", "device id", &err), -EINVAL);
    ASSERT_INT_EQ(vc_id_check("", "device id", &err), -EINVAL);
    ASSERT_STR_CONTAINS(err.msg, "device id is empty");
    ASSERT_INT_EQ(vc_id_check("_x", "device id", &err), -EINVAL);
    char longid[VC_ID_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    ASSERT_INT_EQ(vc_id_check(longid, "device id", &err), -EINVAL);
    longid[VC_ID_MAX] = '\0';
    ASSERT_INT_EQ(vc_id_check(longid, "device id", &err), 0);
}

static void test_render_shell(void)
{
    vc_argv_t a = VC_ARGV_INIT;
    ASSERT_INT_EQ(vc_argv_push(&a, "qemu-system-x86_64"), 0);
    ASSERT_INT_EQ(vc_argv_push2(&a, "-drive", "file=/a,,b,format=raw"), 0);
    ASSERT_INT_EQ(vc_argv_push2(&a, "-append", "console=ttyS0 quiet"), 0);
    ASSERT_INT_EQ(vc_argv_push2(&a, "-name", "it's"), 0);
    ASSERT_INT_EQ(vc_argv_push(&a, ""), 0);
    ASSERT_INT_EQ(a.n, 8);
    ASSERT(a.v[8] == NULL);
    char *s = vc_argv_render_shell(&a);
    ASSERT_STR_EQ(s, "qemu-system-x86_64 -drive file=/a,,b,format=raw -append 'console=ttyS0 "
                     "quiet' -name 'it'\\''s' ''");
    free(s);
    vc_argv_free(&a);
    ASSERT(a.v == NULL && a.n == 0);
}

static void test_render_json(void)
{
    vc_argv_t a = VC_ARGV_INIT;
    vc_argv_push(&a, "q");
    vc_argv_push(&a, "quote\" back\\ nl\n");
    char *s = vc_argv_render_json(&a);
    ASSERT_STR_EQ(s, "[\"q\",\"quote\\\" back\\\\ nl\\n\"]");
    cJSON *j = cJSON_Parse(s);
    ASSERT(cJSON_IsArray(j));
    ASSERT_STR_EQ(cJSON_GetArrayItem(j, 1)->valuestring, "quote\" back\\ nl\n");
    cJSON_Delete(j);
    free(s);
    vc_argv_free(&a);
}

int main(void)
{
    RUN(test_escape_doubles_commas);
    RUN(test_escape_refuses_newline);
    RUN(test_escape_failure_leaves_buffer);
    RUN(test_id_rules);
    RUN(test_render_shell);
    RUN(test_render_json);
    return 0;
}
