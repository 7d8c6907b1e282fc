#include "tsc.h"

#include <errno.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>

static double ns_of(const struct timespec *t)
{
    return (double)t->tv_sec * 1e9 + (double)t->tv_nsec;
}

/* One (clock, counter) pair: the counter read between two clock reads,
 * the clock taken as their midpoint. */
static void sample(double *ns, unsigned long long *tsc)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC_RAW, &a);
    *tsc = __rdtsc();
    clock_gettime(CLOCK_MONOTONIC_RAW, &b);
    *ns = (ns_of(&a) + ns_of(&b)) / 2;
}

uint32_t vc_tsc_khz(unsigned ms)
{
    double ns0, ns1;
    unsigned long long c0, c1;
    sample(&ns0, &c0);
    struct timespec nap = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {
    }
    sample(&ns1, &c1);
    if (c1 <= c0 || ns1 <= ns0) return 0;
    double khz = (double)(c1 - c0) / (ns1 - ns0) * 1e6;
    return khz >= 1 && khz < 4294967295.0 ? (uint32_t)(khz + 0.5) : 0;
}

#else

uint32_t vc_tsc_khz(unsigned ms)
{
    (void)ms;
    return 0;
}

#endif
