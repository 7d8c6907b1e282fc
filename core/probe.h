/* vclaunch core: telling a disk image's format from its header, so that an
 * image is never attached as raw when it is not (a qcow2 written through as
 * raw is destroyed by the guest).
 *
 * vc_probe_format reads at most the first 512 bytes and the last 512 bytes
 * of a regular file or a block device; it writes nothing and blocks only
 * for that read (call it where a short synchronous read is fine: while a
 * pod is checked). */
#ifndef VC_PROBE_H
#define VC_PROBE_H

#include "error.h"

typedef struct vc_probe {
    /* QEMU's block driver name of the format found ("qcow2", "vmdk",
     * "vpc", ...), or "" when the file has no header vclaunch knows: raw. */
    char format[16];
    /* 1 when path is a block device (also set when reading it failed). */
    int block_device;
} vc_probe_t;

/* Probes path into *out. Returns 0, or a negative errno value with a
 * message naming path and what failed (it cannot be opened or read, or is
 * neither a regular file nor a block device: a FIFO would lose what is
 * read from it). */
int vc_probe_format(const char *path, vc_probe_t *out, vc_error_t *err);

#endif
