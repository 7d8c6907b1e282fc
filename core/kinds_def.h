/* vclaunch core, private: the macros the kind tables are written with.
 * Included by core/kinds*.c only. */
#ifndef VC_KINDS_DEF_H
#define VC_KINDS_DEF_H

#include <ctype.h>
#include <limits.h>
#include <string.h>

#include "kind.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One row of a kind's fields table: the field's name and type, then only
 * what differs from the defaults, as designated initialisers:
 *
 *   FIELD("file", VC_T_PATH, .key = "file", .flags = VC_F_REQUIRED, .doc = "disk image")
 *
 * A member left out is 0 or NULL: not required, no default, no enum values,
 * any range, not emitted (.key NULL; .key = "" emits the value without a
 * key), in the kind's first option (.opt 0), no second key. The type
 * opens the variadic part so that a row may name nothing else. */
#define FIELD(name_, ...)                                                                          \
    {                                                                                              \
        .name = name_, .type = __VA_ARGS__                                                         \
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

/* A required id that lands in two options: as "id" in option .opt (the
 * backend this device creates: drive, netdev, chardev, object, fsdev; so the
 * field defines that id) and as .key2 in option .opt2 (the device that names
 * it), e.g.
 *
 *   ID_LINK("id", .key2 = "drive", .opt2 = 1, .doc = "id of the drive the device uses") */
#define ID_LINK(name_, ...)                                                                        \
    FIELD(name_, VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID, __VA_ARGS__)

extern const char *const vc__transports[];
extern const char *const vc__drive_formats[];
extern const char *const vc__drive_aios[];
extern const char *const vc__drive_discards[];

/* The fields every virtio device shares. transport comes before the fields
 * scoped to one transport: finish checks those against it. */
#define TRANSPORT                                                                                  \
    FIELD("transport", VC_T_ENUM, .def = "pci", .values = vc__transports,                          \
          .doc = "virtio transport: pci, ccw (s390x) or mmio (microvm)")
#define BUS(opt_)                                                                                  \
    FIELD("bus", VC_T_ID, .key = "bus", .opt = opt_, .flags = VC_F_PCI, .doc = "parent PCI bus")
#define ADDR_DOC                                                                                   \
    "slot[.function] on the bus, in hex as QEMU reads it (\"0x1f\", \"06.1\"); an integer is "     \
    "the slot, written in hex (16 gives 10)"
#define ADDR(opt_)                                                                                 \
    FIELD("addr", VC_T_PCI_ADDR, .key = "addr", .opt = opt_, .flags = VC_F_PCI, .doc = ADDR_DOC)
#define DEVNO(opt_)                                                                                \
    FIELD("devno", VC_T_STR, .key = "devno", .opt = opt_, .flags = VC_F_CCW,                       \
          .doc = "ccw device number (fe.0.0001)")
#define DISABLE_MODERN(opt_)                                                                       \
    FIELD("disable_modern", VC_T_BOOL, .key = "disable-modern", .opt = opt_, .flags = VC_F_PCI,    \
          .doc = "legacy virtio only")
#define ROMFILE(opt_)                                                                              \
    FIELD("romfile", VC_T_STR, .key = "romfile", .opt = opt_, .flags = VC_F_PCI,                   \
          .doc = "option ROM image; empty for none")
/* addr of a device that is on PCI whatever the machine (bridges, ports). */
#define PCI_ADDR FIELD("addr", VC_T_PCI_ADDR, .key = "addr", .doc = ADDR_DOC)
/* QEMU 7.2 asserts in pci_register_bar (an abort, not an error) when a
 * bridge or a port has an option ROM: the field is refused, with why. */
#define NO_ROMFILE                                                                                 \
    FIELD("romfile", VC_T_STR, .flags = VC_F_REFUSED,                                              \
          .doc = "refused: QEMU 7.2 aborts (an assertion in pci_register_bar) when a PCI bridge "  \
                 "or port has an option ROM")
/* The resource reservations firmware makes behind a bridge or port for
 * devices hotplugged there later (QEMU's reserve capability). See
 * vc__check_reserve. */
#define RESERVE_FIELDS                                                                             \
    FIELD("io_reserve", VC_T_SIZE, .key = "io-reserve", .doc = "I/O space to reserve"),            \
        FIELD("mem_reserve", VC_T_SIZE, .key = "mem-reserve",                                      \
              .doc = "non-prefetchable memory to reserve (below 4G)"),                             \
        FIELD("pref32_reserve", VC_T_SIZE, .key = "pref32-reserve",                                \
              .doc = "32-bit prefetchable memory to reserve (below 4G; not with pref64_reserve)"), \
        FIELD("pref64_reserve", VC_T_SIZE, .key = "pref64-reserve",                                \
              .doc = "64-bit prefetchable memory to reserve (not with pref32_reserve)"),           \
        FIELD("bus_reserve", VC_T_INT, .key = "bus-reserve", .min = 0, .max = 255,                 \
              .doc = "bus numbers to reserve")
/* What QEMU 7.2 refuses in a reserve capability: pref32 and pref64 both,
 * mem or pref32 of 4G or more. */
int vc__check_reserve(const vc_dev_t *d, vc_error_t *err);
/* Every virtio-*-ccw device in QEMU 7.2 has it; s390x protected guests need it. */
#define IOMMU_PLATFORM(opt_)                                                                       \
    FIELD("iommu_platform", VC_T_BOOL, .key = "iommu_platform", .opt = opt_, .flags = VC_F_CCW,    \
          .doc = "virtio through the platform IOMMU (s390x protected virtualization)")
/* The transport and where the device sits on it, in the order most virtio
 * kinds list them. */
#define VIRTIO_PLACEMENT(opt_) TRANSPORT, BUS(opt_), ADDR(opt_), DEVNO(opt_), IOMMU_PLATFORM(opt_)

/* The device's own id, when "id" names its backend. */
#define DEVICE_ID(opt_)                                                                            \
    FIELD("device_id", VC_T_ID, .key = "id", .opt = opt_, .flags = VC_F_DEFINES_ID,                \
          .doc = "id of the device itself")

/* The -drive if=none fields of a disk device (option 0; the device is
 * option 1): virtio-blk, scsi-hd, scsi-cd. */
#define DRIVE_FIELDS(readonly_doc_)                                                                \
    ID_LINK("id", .key2 = "drive", .opt2 = 1, .doc = "id of the drive the device uses"),           \
        FIELD("file", VC_T_PATH, .key = "file", .flags = VC_F_REQUIRED, .doc = "disk image"),      \
        FIELD("format", VC_T_ENUM, .key = "format", .flags = VC_F_REQUIRED,                        \
              .values = vc__drive_formats, .doc = "image format (never probed)"),                  \
        FIELD("readonly", VC_T_BOOL, .key = "readonly", .doc = readonly_doc_),                     \
        FIELD("aio", VC_T_ENUM, .key = "aio", .values = vc__drive_aios, .doc = "I/O backend"),     \
        FIELD("drive_discard", VC_T_ENUM, .key = "discard", .values = vc__drive_discards,          \
              .doc = "the drive's discard: unmap passes the guest's discards to the image, "       \
                     "ignore drops them (QEMU's default)")

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

/* The bytes of a size field's value ("4096", "2M": a size as stored),
 * saturated at ULLONG_MAX. */
static inline unsigned long long size_bytes(const char *s)
{
    unsigned long long v = 0;
    for (; isdigit((unsigned char)*s); s++) {
        if (v > (ULLONG_MAX - 9) / 10) return ULLONG_MAX;
        v = v * 10 + (unsigned long long)(*s - '0');
    }
    const char *units = "KMGT", *u = *s ? strchr(units, *s) : NULL;
    for (int shift = u ? (int)(u - units + 1) * 10 : 0; shift > 0; shift -= 10) {
        if (v > ULLONG_MAX >> 10) return ULLONG_MAX;
        v <<= 10;
    }
    return v;
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
