/* vclaunch core, private: the macros the kind tables are written with.
 * Included by core/kinds*.c only. */
#ifndef VC_KINDS_DEF_H
#define VC_KINDS_DEF_H

#include <ctype.h>
#include <limits.h>
#include <string.h>

#include "kind.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* A field in the common case: lands in one option under one key. */
#define F(name_, type_, flags_, def_, values_, min_, max_, key_, opt_, doc_)                       \
    {                                                                                              \
        .name = name_, .type = type_, .flags = flags_, .def = def_, .values = values_,             \
        .min = min_, .max = max_, .key = key_, .opt = opt_, .doc = doc_                            \
    }
#define KIND(name_, doc_, opts_, fields_) KIND_CHECK(name_, doc_, opts_, fields_, NULL)
/* A kind with a check function for rules that span fields. */
#define KIND_CHECK(name_, doc_, opts_, fields_, check_)                                            \
    KIND_NAMED(kind_##fields_, name_, doc_, opts_, fields_, check_)
/* A kind declared as var_: for kinds that share one fields table. */
#define KIND_NAMED(var_, name_, doc_, opts_, fields_, check_)                                      \
    static const vc_kind_t var_ = {.name = name_,                                                  \
                                   .doc = doc_,                                                    \
                                   .opts = opts_,                                                  \
                                   .nopts = N(opts_),                                              \
                                   .fields = fields_,                                              \
                                   .nfields = N(fields_),                                          \
                                   .check = check_}

/* A required id that lands in two options: as "id" in option opt_ (the
 * backend: drive, netdev, chardev, object) and as key2_ in option opt2_ (the
 * device that names it). */
#define ID_LINK(name_, opt_, key2_, opt2_, doc_)                                                   \
    {                                                                                              \
        .name = name_, .type = VC_T_ID, .flags = VC_F_REQUIRED, .key = "id", .opt = opt_,          \
        .doc = doc_, .key2 = key2_, .opt2 = opt2_                                                  \
    }

extern const char *const vc__transports[];
extern const char *const vc__drive_formats[];
extern const char *const vc__drive_aios[];

/* The fields every virtio device shares. transport comes before the fields
 * scoped to one transport: finish checks those against it. */
#define TRANSPORT                                                                                  \
    F("transport", VC_T_ENUM, 0, "pci", vc__transports, 0, 0, NULL, 0,                             \
      "virtio transport: pci, ccw (s390x) or mmio (microvm)")
#define BUS(opt_) F("bus", VC_T_ID, VC_F_PCI, NULL, NULL, 0, 0, "bus", opt_, "parent PCI bus")
#define ADDR(opt_)                                                                                 \
    F("addr", VC_T_STR, VC_F_PCI, NULL, NULL, 0, 0, "addr", opt_, "slot[.function] on the bus")
#define DEVNO(opt_)                                                                                \
    F("devno", VC_T_STR, VC_F_CCW, NULL, NULL, 0, 0, "devno", opt_, "ccw device number (fe.0.0001)")
#define DISABLE_MODERN(opt_)                                                                       \
    F("disable_modern", VC_T_BOOL, VC_F_PCI, NULL, NULL, 0, 0, "disable-modern", opt_,             \
      "legacy virtio only")
#define ROMFILE(opt_)                                                                              \
    F("romfile", VC_T_STR, VC_F_PCI, NULL, NULL, 0, 0, "romfile", opt_,                            \
      "option ROM image; empty for none")
/* addr of a device that is on PCI whatever the machine (bridges, ports). */
#define PCI_ADDR F("addr", VC_T_STR, 0, NULL, NULL, 0, 0, "addr", 0, "slot[.function] on the bus")
/* Every virtio-*-ccw device in QEMU 7.2 has it; s390x protected guests need it. */
#define IOMMU_PLATFORM(opt_)                                                                       \
    F("iommu_platform", VC_T_BOOL, VC_F_CCW, NULL, NULL, 0, 0, "iommu_platform", opt_,             \
      "virtio through the platform IOMMU (s390x protected virtualization)")
/* The transport and where the device sits on it, in the order most virtio
 * kinds list them. */
#define VIRTIO_PLACEMENT(opt_) TRANSPORT, BUS(opt_), ADDR(opt_), DEVNO(opt_), IOMMU_PLATFORM(opt_)

/* The device's own id, when "id" names its backend. */
#define DEVICE_ID(opt_)                                                                            \
    F("device_id", VC_T_ID, 0, NULL, NULL, 0, 0, "id", opt_, "id of the device itself")

/* The -drive if=none fields of a disk device (option 0; the device is
 * option 1): virtio-blk, scsi-hd, scsi-cd. */
#define DRIVE_FIELDS(readonly_doc_)                                                                \
    ID_LINK("id", 0, "drive", 1, "id of the drive the device uses"),                               \
        F("file", VC_T_PATH, VC_F_REQUIRED, NULL, NULL, 0, 0, "file", 0, "disk image"),            \
        F("format", VC_T_ENUM, VC_F_REQUIRED, NULL, vc__drive_formats, 0, 0, "format", 0,          \
          "image format (never probed)"),                                                          \
        F("readonly", VC_T_BOOL, 0, NULL, NULL, 0, 0, "readonly", 0, readonly_doc_),               \
        F("aio", VC_T_ENUM, 0, NULL, vc__drive_aios, 0, 0, "aio", 0, "I/O backend")

/* ---- checks shared by the kinds' check functions ---- */

static inline int has(const vc_dev_t *d, const char *name)
{
    return vc_dev_get(d, name) != NULL;
}

static inline int is_on(const vc_dev_t *d, const char *name)
{
    const char *v = vc_dev_get(d, name);
    return v && strcmp(v, "on") == 0;
}

static inline int hex_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* How many of the n fields are set, 0, 1 or 2 (it stops at the second);
 * *first and *second (either may be NULL) get the first two set, or NULL. */
static inline int count_set(const vc_dev_t *d, const char *const *names, size_t n,
                            const char **first, const char **second)
{
    const char *found[2] = {NULL, NULL};
    int count = 0;
    for (size_t i = 0; i < n && count < 2; i++)
        if (has(d, names[i])) found[count++] = names[i];
    if (first) *first = found[0];
    if (second) *second = found[1];
    return count;
}

#endif
