/* vclaunch core: the host's time stamp counter rate.
 *
 * Under TCG, QEMU's x86 guests read the host's TSC (QEMU passes the host's
 * counter through, offset but not scaled), so a guest kernel that cannot
 * calibrate its TSC (microvm has no HPET or ACPI PM timer to fall back on
 * when calibration against the PIT fails, which under TCG it does at
 * random) can be told the rate on its command line: tsc_early_khz=. */
#ifndef VC_TSC_H
#define VC_TSC_H

#include <stdint.h>

/* The host TSC's rate in kHz, measured against CLOCK_MONOTONIC_RAW over
 * about ms milliseconds (the calling thread sleeps that long), or 0 when
 * the host has no TSC (not x86) or the measurement fails. */
uint32_t vc_tsc_khz(unsigned ms);

#endif
