/* A tiny test harness for core/ unit tests: typed asserts that print the
 * file:line and both values, skips reported with exit code 77, and a loop
 * teardown that fails on leftover handles. */
#ifndef VC_TEST_H
#define VC_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define VC_TEST_SKIP 77

#define VC_FAIL(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);                                      \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

#define ASSERT(c)                                                                                  \
    do {                                                                                           \
        if (!(c)) VC_FAIL("%s", #c);                                                               \
    } while (0)

#define ASSERT_INT_EQ(a, b)                                                                        \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) VC_FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);                           \
    } while (0)

#define ASSERT_INT_GE(a, b)                                                                        \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ < b_) VC_FAIL("%s >= %s: %lld < %lld", #a, #b, a_, b_);                             \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            VC_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)

#define ASSERT_STR_CONTAINS(hay, needle)                                                           \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_)) VC_FAIL("\"%s\" does not contain \"%s\"", h_ ? h_ : "", n_);   \
    } while (0)

#define VC_SKIP(...)                                                                               \
    do {                                                                                           \
        printf("SKIP: ");                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        exit(VC_TEST_SKIP);                                                                        \
    } while (0)

/* Runs one test function with its name printed. */
#define RUN(fn)                                                                                    \
    do {                                                                                           \
        printf("-- %s\n", #fn);                                                                    \
        fflush(stdout);                                                                            \
        fn();                                                                                      \
        printf("ok %s\n", #fn);                                                                    \
    } while (0)

/* Closes every handle still open (reporting each as a leak), runs the loop
 * until their close callbacks ran, and asserts uv_loop_close() == 0. Fails
 * the test if any handle was left open by the code under test. */
void vc_test_loop_teardown(uv_loop_t *loop);

/* Runs the loop until *flag becomes non-zero or timeout seconds pass;
 * fails the test on timeout. The timeout guards against hangs only. */
void vc_test_run_until(uv_loop_t *loop, const int *flag, double timeout, const char *what);

/* Path of the qemu-system-x86_64 binary, or skips the test. */
const char *vc_test_qemu(void);

#endif
