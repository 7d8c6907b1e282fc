#include "test.h"

static void count_open(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) {
        fprintf(stderr, "leftover handle: %s\n", uv_handle_type_name(uv_handle_get_type(h)));
        (*(int *)arg)++;
        uv_close(h, NULL);
    }
}

void vc_test_loop_teardown(uv_loop_t *loop)
{
    int leaks = 0;
    uv_walk(loop, count_open, &leaks);
    uv_run(loop, UV_RUN_DEFAULT);
    ASSERT_INT_EQ(leaks, 0);
    ASSERT_INT_EQ(uv_loop_close(loop), 0);
}

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

void vc_test_run_until(uv_loop_t *loop, const int *flag, double timeout, const char *what)
{
    uv_timer_t guard;
    int expired = 0;
    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, (uint64_t)(timeout * 1000), 0);
    while (!*flag && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    if (!*flag) VC_FAIL("timed out after %.1fs waiting for %s", timeout, what);
}

const char *vc_test_qemu(void)
{
    static const char *paths[] = {"/usr/bin/qemu-system-x86_64", NULL};
    for (int i = 0; paths[i]; i++)
        if (access(paths[i], X_OK) == 0) return paths[i];
    VC_SKIP("qemu-system-x86_64 is not installed");
    return NULL;
}
