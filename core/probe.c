/* Image format probing: the magic numbers of QEMU's block drivers (the
 * probe functions in QEMU's block/<format>.c), checked against images made
 * by `qemu-img create -f FORMAT`. */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR 512

static int at(const unsigned char *buf, size_t n, size_t off, const char *magic, size_t len)
{
    return n >= off + len && memcmp(buf + off, magic, len) == 0;
}

#define AT(buf_, n_, off_, lit_) at(buf_, n_, off_, lit_, sizeof(lit_) - 1)

/* The format the first bytes name, or NULL. */
static const char *head_format(const unsigned char *b, size_t n)
{
    if (AT(b, n, 0, "QFI\xfb")) {
        /* version (big endian) 1: QEMU's old qcow; 2 and 3: qcow2 */
        uint32_t v = n >= 8 ? (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7]
                            : 0;
        return v == 1 ? "qcow" : "qcow2";
    }
    if (AT(b, n, 0, "QED\0")) return "qed";
    if (AT(b, n, 0, "KDMV") || AT(b, n, 0, "COWD") || AT(b, n, 0, "# Disk DescriptorFile"))
        return "vmdk";
    if (AT(b, n, 0, "vhdxfile")) return "vhdx";
    if (AT(b, n, 0, "conectix")) return "vpc";
    if (AT(b, n, 0, "LUKS\xba\xbe")) return "luks";
    if (AT(b, n, 0, "WithoutFreeSpace") || AT(b, n, 0, "WithouFreSpacExt")) return "parallels";
    if (AT(b, n, 0, "Bochs Virtual HD Image")) return "bochs";
    if (AT(b, n, 0, "#!/bin/sh\n#V2.0 Format\n")) return "cloop";
    /* VDI: the signature 0xbeda107f, little endian, at 0x40 */
    if (AT(b, n, 0x40, "\x7f\x10\xda\xbe")) return "vdi";
    return NULL;
}

/* The format the last sector names: a fixed VHD has only its footer, a
 * DMG its "koly" trailer. */
static const char *tail_format(const unsigned char *b, size_t n)
{
    if (AT(b, n, 0, "conectix")) return "vpc";
    if (AT(b, n, 0, "koly")) return "dmg";
    return NULL;
}

static ssize_t read_at(int fd, unsigned char *buf, size_t len, off_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, off + (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -errno;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int vc_probe_format(const char *path, vc_probe_t *out, vc_error_t *err)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) out->block_device = 1;
    const char *what = out->block_device ? "block device " : "";
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        return vc_error_set(err, -e, "%s%s cannot be read: %s", what, path, strerror(e));
    }
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = vc_error_set(err, -errno, "%s%s: %s", what, path, strerror(errno));
        goto done;
    }
    out->block_device = S_ISBLK(st.st_mode) ? 1 : 0;
    what = out->block_device ? "block device " : "";
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        rc = vc_error_set(err, -EINVAL, "%s is neither a regular file nor a block device", path);
        goto done;
    }
    unsigned char buf[SECTOR];
    ssize_t n = read_at(fd, buf, sizeof buf, 0);
    if (n < 0) {
        rc = vc_error_set(err, (int)n, "%s%s cannot be read: %s", what, path, strerror((int)-n));
        goto done;
    }
    const char *fmt = head_format(buf, (size_t)n);
    if (!fmt) {
        off_t size = S_ISBLK(st.st_mode) ? lseek(fd, 0, SEEK_END) : st.st_size;
        if (size >= 2 * SECTOR) {
            n = read_at(fd, buf, sizeof buf, size - SECTOR);
            if (n < 0) {
                rc = vc_error_set(err, (int)n, "%s%s cannot be read: %s", what, path,
                                  strerror((int)-n));
                goto done;
            }
            fmt = tail_format(buf, (size_t)n);
        }
    }
    if (fmt) snprintf(out->format, sizeof out->format, "%s", fmt);
done:
    close(fd);
    return rc;
}
