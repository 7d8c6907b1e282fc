/* vclaunch core, private: the macros the kind tables are written with.
 * Included by core/kinds*.c only. */
#ifndef VC_KINDS_DEF_H
#define VC_KINDS_DEF_H

#include <limits.h>

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
    static const vc_kind_t kind_##fields_ = {.name = name_,                                        \
                                             .doc = doc_,                                          \
                                             .opts = opts_,                                        \
                                             .nopts = N(opts_),                                    \
                                             .fields = fields_,                                    \
                                             .nfields = N(fields_),                                \
                                             .check = check_}

extern const char *const vc__transports[];

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
/* Every virtio-*-ccw device in QEMU 7.2 has it; s390x protected guests need it. */
#define IOMMU_PLATFORM(opt_)                                                                       \
    F("iommu_platform", VC_T_BOOL, VC_F_CCW, NULL, NULL, 0, 0, "iommu_platform", opt_,             \
      "virtio through the platform IOMMU (s390x protected virtualization)")

#endif
