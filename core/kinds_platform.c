/* Device kinds: platform. Memory backends and NUMA, NVDIMM, confidential
 * guest objects, the IOMMU, firmware (loader, fw_cfg, pflash, bios),
 * migration, sandboxing, actions, and PCIe topology. Keys checked against
 * QEMU 7.2's own help (-object TYPE,help, -device TYPE,help, -h). See
 * core/kinds.c for how a kind is declared. */
#include <stdio.h>
#include <string.h>

#include "kinds_def.h"

static const char *const on_off_auto[] = {"on", "off", "auto", NULL};

#define NUMA_NODES_MAX 127 /* QEMU 7.2: MAX_NODES 128, guest and host nodes alike */

/* Reads a decimal index at *p, at most max; advances *p. */
static int index_at(const char **p, unsigned long max, unsigned long *out)
{
    if (**p < '0' || **p > '9') return -1;
    unsigned long v = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++) {
        v = v * 10 + (unsigned long)(**p - '0');
        if (v > max) return -1;
    }
    *out = v;
    return 0;
}

/* "N" or "N-M" with N <= M <= max: one range (a list would need a
 * repeated key, which the kinds do not emit). */
static int range_ok(const char *s, unsigned long max)
{
    const char *p = s;
    unsigned long a, b;
    if (index_at(&p, max, &a)) return 0;
    if (!*p) return 1;
    return *p++ == '-' && index_at(&p, max, &b) == 0 && !*p && a <= b;
}

/* ---- memory backends ---- */

static const char *const host_mem_policies[] = {"default", "preferred", "bind", "interleave", NULL};

/* The properties every memory-backend-* object shares (HostMemoryBackend). */
#define MEM_COMMON                                                                                 \
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID,                    \
          .doc = "object id, named by machine memory_backend, numa-node memdev or a "              \
                 "memory device"),                                                                 \
        FIELD("size", VC_T_SIZE, .key = "size", .flags = VC_F_REQUIRED,                            \
              .doc = "size of the region (512M, 2G or bytes)"),                                    \
        FIELD("share", VC_T_BOOL, .key = "share",                                                  \
              .doc = "map shared (needed by vhost-user back ends) rather than private"),           \
        FIELD("prealloc", VC_T_BOOL, .key = "prealloc", .doc = "allocate every page at startup"),  \
        FIELD("prealloc_threads", VC_T_INT, .key = "prealloc-threads", .min = 1, .max = 1024,      \
              .doc = "threads used to preallocate"),                                               \
        FIELD("dump", VC_T_BOOL, .key = "dump", .doc = "off: leave out of core dumps"),            \
        FIELD("merge", VC_T_BOOL, .key = "merge", .doc = "allow KSM page merging"),                \
        FIELD("reserve", VC_T_BOOL, .key = "reserve",                                              \
              .doc = "reserve swap space or huge pages up front"),                                 \
        FIELD("host_nodes", VC_T_STR, .key = "host-nodes",                                         \
              .doc = "host NUMA nodes for the memory, N or N-M (0 to 127); needs a policy "        \
                     "other than default"),                                                        \
        FIELD("policy", VC_T_ENUM, .key = "policy", .values = host_mem_policies,                   \
              .doc = "host NUMA policy: preferred, bind and interleave need host_nodes")

/* What QEMU 7.2 refuses of host_nodes and policy, for every backend. */
static int check_mem_common(const vc_dev_t *d, vc_error_t *err)
{
    const char *nodes = vc_dev_get(d, "host_nodes"), *policy = vc_dev_get(d, "policy");
    int is_default = !policy || strcmp(policy, "default") == 0;
    if (nodes && !range_ok(nodes, NUMA_NODES_MAX))
        return vc_dev_error(d, "host_nodes", err,
                            "\"%s\" is not a host node or range of nodes (1 or 0-3, at most %d)",
                            nodes, NUMA_NODES_MAX);
    if (nodes && is_default)
        return vc_dev_error(d, "host_nodes", err,
                            "needs policy preferred, bind or interleave (QEMU takes no host "
                            "nodes with policy default)");
    if (!nodes && !is_default) return vc_dev_error(d, "policy", err, "%s needs host_nodes", policy);
    return 0;
}

static const vc_opt_t mem_ram_opts[] = {{"-object", VC_OPT_KV, "memory-backend-ram"}};
static const vc_field_t mem_ram_fields[] = {MEM_COMMON};
KIND_CHECK("memory-backend-ram", "-object memory-backend-ram: anonymous guest RAM", mem_ram_opts,
           mem_ram_fields, check_mem_common);

static const vc_opt_t mem_file_opts[] = {{"-object", VC_OPT_KV, "memory-backend-file"}};
static const vc_field_t mem_file_fields[] = {
    MEM_COMMON,
    FIELD("mem_path", VC_T_PATH, .key = "mem-path", .flags = VC_F_REQUIRED,
          .doc = "backing file or directory; a hugetlbfs mount (/dev/hugepages) gives huge pages"),
    FIELD("discard_data", VC_T_BOOL, .key = "discard-data",
          .doc = "drop the file's contents when QEMU exits"),
    FIELD("readonly", VC_T_BOOL, .key = "readonly", .doc = "map the file read-only"),
    FIELD("align", VC_T_SIZE, .key = "align", .doc = "mapping alignment (2M, 1G)"),
    FIELD("pmem", VC_T_BOOL, .key = "pmem", .doc = "the file is on persistent memory"),
};
KIND_CHECK("memory-backend-file",
           "-object memory-backend-file: guest RAM backed by a file (hugetlbfs for huge pages)",
           mem_file_opts, mem_file_fields, check_mem_common);

static int check_memfd(const vc_dev_t *d, vc_error_t *err)
{
    if (has(d, "hugetlbsize") && !is_on(d, "hugetlb"))
        return vc_dev_error(d, "hugetlbsize", err, "needs hugetlb on");
    return check_mem_common(d, err);
}
static const vc_opt_t mem_memfd_opts[] = {{"-object", VC_OPT_KV, "memory-backend-memfd"}};
static const vc_field_t mem_memfd_fields[] = {
    MEM_COMMON,
    FIELD("hugetlb", VC_T_BOOL, .key = "hugetlb", .doc = "use huge pages"),
    FIELD("hugetlbsize", VC_T_SIZE, .key = "hugetlbsize",
          .doc = "huge page size (2M, 1G); needs hugetlb"),
    FIELD("seal", VC_T_BOOL, .key = "seal", .doc = "seal against growing and shrinking"),
};
KIND_CHECK("memory-backend-memfd",
           "-object memory-backend-memfd: guest RAM in a memfd (shareable; hugetlb for huge pages)",
           mem_memfd_opts, mem_memfd_fields, check_memfd);

/* ---- NUMA ---- */

static int check_numa_node(const vc_dev_t *d, vc_error_t *err)
{
    const char *cpus = vc_dev_get(d, "cpus");
    if (!cpus || range_ok(cpus, 4095)) return 0;
    return vc_dev_error(d, "cpus", err, "\"%s\" is not a vCPU index or range (2 or 0-3)", cpus);
}
static const vc_opt_t numa_node_opts[] = {{"-numa", VC_OPT_KV, "node"}};
static const vc_field_t numa_node_fields[] = {
    FIELD("nodeid", VC_T_INT, .key = "nodeid", .min = 0, .max = NUMA_NODES_MAX,
          .doc = "the node's number (unset: QEMU numbers the nodes in order)"),
    FIELD("cpus", VC_T_STR, .key = "cpus", .doc = "vCPU indexes on the node: 2 or 0-1"),
    FIELD("memdev", VC_T_ID, .key = "memdev",
          .doc = "id of the memory-backend-* object holding the node's memory"),
    FIELD("initiator", VC_T_INT, .key = "initiator", .min = 0, .max = NUMA_NODES_MAX,
          .doc = "node whose CPUs access this memory-only node best (HMAT)"),
};
KIND_CHECK("numa-node", "-numa node: a guest NUMA node with its CPUs and memory", numa_node_opts,
           numa_node_fields, check_numa_node);

static int check_numa_dist(const vc_dev_t *d, vc_error_t *err)
{
    const char *src = vc_dev_get(d, "src"), *dst = vc_dev_get(d, "dst");
    const char *val = vc_dev_get(d, "val");
    if (strcmp(src, dst) == 0 && strcmp(val, "10") != 0)
        return vc_dev_error(d, "val", err, "a node's distance to itself must be 10, got %s", val);
    return 0;
}
static const vc_opt_t numa_dist_opts[] = {{"-numa", VC_OPT_KV, "dist"}};
static const vc_field_t numa_dist_fields[] = {
    FIELD("src", VC_T_INT, .key = "src", .flags = VC_F_REQUIRED, .min = 0, .max = NUMA_NODES_MAX,
          .doc = "source node"),
    FIELD("dst", VC_T_INT, .key = "dst", .flags = VC_F_REQUIRED, .min = 0, .max = NUMA_NODES_MAX,
          .doc = "destination node"),
    FIELD("val", VC_T_INT, .key = "val", .flags = VC_F_REQUIRED, .min = 10, .max = 255,
          .doc = "distance: 10 is local, 255 unreachable"),
};
KIND_CHECK("numa-dist", "-numa dist: the distance between two NUMA nodes", numa_dist_opts,
           numa_dist_fields, check_numa_dist);

/* ---- NVDIMM ---- */

static const vc_opt_t nvdimm_opts[] = {{"-object", VC_OPT_KV, "memory-backend-file"},
                                       {"-device", VC_OPT_KV, "nvdimm"}};
static const vc_field_t nvdimm_fields[] = {
    ID_LINK("memdev", .key2 = "memdev", .opt2 = 1,
            .doc = "id of the memory-backend-file object the NVDIMM exposes"),
    FIELD("mem_path", VC_T_PATH, .key = "mem-path", .flags = VC_F_REQUIRED,
          .doc = "backing file (or a host /dev/pmem device)"),
    FIELD("size", VC_T_SIZE, .key = "size", .flags = VC_F_REQUIRED, .doc = "size of the NVDIMM"),
    FIELD("share", VC_T_BOOL, .key = "share",
          .doc = "guest writes reach the file (off by default, as in QEMU: they stay in QEMU's "
                 "private copy)"),
    FIELD("readonly", VC_T_BOOL, .key = "readonly",
          .doc = "open and map the file read-only; needs unarmed on"),
    FIELD("pmem", VC_T_BOOL, .key = "pmem", .doc = "the file is on persistent memory"),
    FIELD("id", VC_T_ID, .key = "id", .opt = 1, .flags = VC_F_REQUIRED | VC_F_DEFINES_ID,
          .doc = "id of the nvdimm device"),
    FIELD("label_size", VC_T_SIZE, .key = "label-size", .opt = 1,
          .doc = "namespace label area (at least 128K when set)"),
    FIELD("unarmed", VC_T_BOOL, .key = "unarmed", .opt = 1,
          .doc = "tell the guest writes may be lost"),
    FIELD("slot", VC_T_INT, .key = "slot", .opt = 1, .min = 0, .max = 255, .doc = "memory slot"),
    FIELD("node", VC_T_INT, .key = "node", .opt = 1, .min = 0, .max = NUMA_NODES_MAX,
          .doc = "guest NUMA node"),
};
/* QEMU 7.2: "'unarmed' property must be 'on' since memdev ... is read-only" */
static int check_nvdimm(const vc_dev_t *d, vc_error_t *err)
{
    if (is_on(d, "readonly") && !is_on(d, "unarmed"))
        return vc_dev_error(d, "readonly", err,
                            "on needs unarmed on (QEMU refuses an armed NVDIMM on a read-only "
                            "file)");
    return 0;
}
KIND_CHECK("nvdimm",
           "-object memory-backend-file + -device nvdimm: an emulated NVDIMM; the machine needs "
           "nvdimm on and memory slots and maxmem",
           nvdimm_opts, nvdimm_fields, check_nvdimm);

/* ---- machine knobs ---- */

static const vc_opt_t overcommit_opts[] = {{"-overcommit", VC_OPT_KV, NULL}};
static const vc_field_t overcommit_fields[] = {
    FIELD("mem_lock", VC_T_BOOL, .key = "mem-lock", .flags = VC_F_REQUIRED,
          .doc = "lock guest and QEMU memory in RAM (mlock)"),
    FIELD("cpu_pm", VC_T_BOOL, .key = "cpu-pm",
          .doc = "let the guest idle vCPUs itself (KVM: no HLT/MWAIT exits)"),
};
KIND("overcommit", "-overcommit: memory locking and CPU power management hints", overcommit_opts,
     overcommit_fields);

/* ---- confidential guests ---- */

#define CGS_ID                                                                                     \
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID,                    \
          .doc = "object id, named by machine confidential_guest_support")

static const vc_opt_t sev_opts[] = {{"-object", VC_OPT_KV, "sev-guest"}};
static const vc_field_t sev_fields[] = {
    CGS_ID,
    FIELD("cbitpos", VC_T_INT, .key = "cbitpos", .flags = VC_F_REQUIRED, .min = 1, .max = 63,
          .doc = "C-bit position in page table entries (the host's, from CPUID 0x8000001f)"),
    FIELD("reduced_phys_bits", VC_T_INT, .key = "reduced-phys-bits", .flags = VC_F_REQUIRED,
          .min = 1, .max = 63, .doc = "physical address bits lost to memory encryption"),
    FIELD("policy", VC_T_INT, .key = "policy", .min = 0, .max = 4294967295LL,
          .doc = "SEV guest policy bits"),
    FIELD("handle", VC_T_INT, .key = "handle", .min = 0, .max = 4294967295LL,
          .doc = "SEV firmware handle to share keys with"),
    FIELD("sev_device", VC_T_PATH, .key = "sev-device", .doc = "SEV device (/dev/sev)"),
    FIELD("dh_cert_file", VC_T_PATH, .key = "dh-cert-file",
          .doc = "guest owner's DH certificate (base64)"),
    FIELD("session_file", VC_T_PATH, .key = "session-file",
          .doc = "guest owner's session parameters (base64)"),
    FIELD("kernel_hashes", VC_T_BOOL, .key = "kernel-hashes",
          .doc = "add kernel hashes to the firmware for measured direct boot"),
};
KIND("sev-guest",
     "-object sev-guest: AMD SEV memory encryption; needs SEV hardware and KVM, and machine "
     "confidential_guest_support naming it",
     sev_opts, sev_fields);

static const vc_opt_t tdx_opts[] = {{"-object", VC_OPT_KV, "tdx-guest"}};
static const vc_field_t tdx_fields[] = {
    CGS_ID,
    FIELD("attributes", VC_T_INT, .key = "attributes", .min = 0, .max = LLONG_MAX,
          .doc = "TD attribute bits"),
    FIELD("sept_ve_disable", VC_T_BOOL, .key = "sept-ve-disable",
          .doc = "no #VE on EPT violations of pending pages"),
    FIELD("mrconfigid", VC_T_STR, .key = "mrconfigid",
          .doc = "software-defined configuration id (base64 SHA384)"),
    FIELD("mrowner", VC_T_STR, .key = "mrowner", .doc = "guest owner id (base64 SHA384)"),
    FIELD("mrownerconfig", VC_T_STR, .key = "mrownerconfig",
          .doc = "owner-defined configuration id (base64 SHA384)"),
};
KIND("tdx-guest",
     "-object tdx-guest: Intel TDX trust domain, as upstream QEMU (10.1+) spells it; QEMU 7.2 "
     "rejects it (no tdx-guest object type); needs TDX hardware, KVM, machine "
     "kernel_irqchip split and confidential_guest_support naming it",
     tdx_opts, tdx_fields);

/* s390-pv-guest and pef-guest take nothing but their id. */
static const vc_field_t cgs_id_fields[] = {CGS_ID};

static const vc_opt_t s390_pv_opts[] = {{"-object", VC_OPT_KV, "s390-pv-guest"}};
KIND_NAMED(kind_s390_pv, "s390-pv-guest",
           "-object s390-pv-guest: s390x protected virtualization (qemu-system-s390x, KVM on "
           "secure-execution hardware)",
           s390_pv_opts, cgs_id_fields, NULL);

static const vc_opt_t pef_opts[] = {{"-object", VC_OPT_KV, "pef-guest"}};
KIND_NAMED(
    kind_pef, "pef-guest",
    "-object pef-guest: POWER protected execution facility (qemu-system-ppc64 pseries, KVM on "
    "PEF-capable hardware)",
    pef_opts, cgs_id_fields, NULL);

/* ---- IOMMU ---- */

static int check_intel_iommu(const vc_dev_t *d, vc_error_t *err)
{
    const char *aw = vc_dev_get(d, "aw_bits");
    if (aw && strcmp(aw, "39") != 0 && strcmp(aw, "48") != 0)
        return vc_dev_error(d, "aw_bits", err, "must be 39 or 48, got %s", aw);
    const char *intremap = vc_dev_get(d, "intremap");
    if (is_on(d, "eim") && intremap && strcmp(intremap, "off") == 0)
        return vc_dev_error(d, "eim", err, "on needs intremap on");
    return 0;
}
static const vc_opt_t intel_iommu_opts[] = {{"-device", VC_OPT_KV, "intel-iommu"}};
static const vc_field_t intel_iommu_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID),
    FIELD("intremap", VC_T_ENUM, .key = "intremap", .values = on_off_auto,
          .doc = "interrupt remapping; on needs machine kernel_irqchip split under KVM"),
    FIELD("eim", VC_T_ENUM, .key = "eim", .values = on_off_auto,
          .doc = "extended interrupt mode (x2APIC); on needs intremap"),
    FIELD("device_iotlb", VC_T_BOOL, .key = "device-iotlb",
          .doc = "address translation services for devices"),
    FIELD("caching_mode", VC_T_BOOL, .key = "caching-mode",
          .doc = "report caching mode (needed for VFIO behind the IOMMU)"),
    FIELD("aw_bits", VC_T_INT, .key = "aw-bits", .min = 39, .max = 48,
          .doc = "guest address width: 39 or 48"),
};
KIND_CHECK("intel-iommu",
           "-device intel-iommu: the emulated VT-d IOMMU (q35); put it before other devices",
           intel_iommu_opts, intel_iommu_fields, check_intel_iommu);

/* ---- firmware ---- */

static int check_loader(const vc_dev_t *d, vc_error_t *err)
{
    if (has(d, "data")) {
        if (has(d, "file"))
            return vc_dev_error(d, "data", err, "a value to store excludes a file to load");
        if (has(d, "force_raw"))
            return vc_dev_error(d, "force_raw", err, "applies to a file, not to data");
        if (!has(d, "data_len")) return vc_dev_error(d, "data_len", err, "is required with data");
    } else if (has(d, "data_len") || has(d, "data_be")) {
        return vc_dev_error(d, has(d, "data_len") ? "data_len" : "data_be", err,
                            "applies to data only");
    }
    return 0;
}
static const vc_opt_t loader_opts[] = {{"-device", VC_OPT_KV, "loader"}};
static const vc_field_t loader_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID),
    FIELD("file", VC_T_PATH, .key = "file",
          .doc = "image to load (ELF, uImage, Intel hex, or raw at addr)"),
    FIELD("addr", VC_T_INT, .key = "addr", .min = 0, .max = LLONG_MAX,
          .doc = "guest physical address to load at (0x... accepted)"),
    FIELD("cpu_num", VC_T_INT, .key = "cpu-num", .min = 0, .max = 4095,
          .doc = "vCPU whose program counter is set to the entry point"),
    FIELD("force_raw", VC_T_BOOL, .key = "force-raw",
          .doc = "load the file as raw bytes even if it is an ELF"),
    FIELD("data", VC_T_INT, .key = "data", .doc = "a value to store at addr instead of a file"),
    FIELD("data_len", VC_T_INT, .key = "data-len", .min = 1, .max = 8,
          .doc = "bytes of data to store"),
    FIELD("data_be", VC_T_BOOL, .key = "data-be", .doc = "store data big-endian"),
};
KIND_CHECK("loader", "-device loader: load a file or a value into guest memory", loader_opts,
           loader_fields, check_loader);

#define FW_CFG_NAME_MAX 55 /* QEMU 7.2: FW_CFG_MAX_FILE_PATH 56, with the NUL */

static int check_fw_cfg(const vc_dev_t *d, vc_error_t *err)
{
    const char *name = vc_dev_get(d, "name");
    if (strncmp(name, "opt/", 4) != 0 || !name[4])
        return vc_dev_error(d, "name", err, "\"%s\" must start with \"opt/\" and go on", name);
    if (strlen(name) > FW_CFG_NAME_MAX)
        return vc_dev_error(d, "name", err, "\"%s\" is longer than %d characters", name,
                            FW_CFG_NAME_MAX);
    static const char *const contents[] = {"file", "string"};
    const char *second;
    if (count_set(d, contents, N(contents), NULL, &second) != 1)
        return vc_dev_error(d, second, err, "set exactly one of file and string");
    return 0;
}
static const vc_opt_t fw_cfg_opts[] = {{"-fw_cfg", VC_OPT_KV, NULL}};
static const vc_field_t fw_cfg_fields[] = {
    FIELD("name", VC_T_STR, .key = "name", .flags = VC_F_REQUIRED,
          .doc = "item name: opt/<vendor>/<item> (opt/org.example/config)"),
    FIELD("file", VC_T_PATH, .key = "file", .doc = "item contents from a file"),
    FIELD("string", VC_T_STR, .key = "string", .doc = "item contents as text"),
};
KIND_CHECK("fw_cfg", "-fw_cfg: a named firmware configuration item for the guest", fw_cfg_opts,
           fw_cfg_fields, check_fw_cfg);

static const char *const pflash_formats[] = {"raw", "qcow2", NULL};
static const vc_opt_t pflash_opts[] = {{"-drive", VC_OPT_KV, "if=pflash"}};
static const vc_field_t pflash_fields[] = {
    FIELD("format", VC_T_ENUM, .key = "format", .def = "raw", .values = pflash_formats,
          .doc = "image format"),
    FIELD("unit", VC_T_INT, .key = "unit", .flags = VC_F_REQUIRED, .min = 0, .max = 1,
          .doc = "flash chip: 0 firmware code, 1 variables"),
    FIELD("readonly", VC_T_BOOL, .key = "readonly",
          .doc = "read-only (firmware code); variables stay writable"),
    FIELD("file", VC_T_PATH, .key = "file", .flags = VC_F_REQUIRED,
          .doc = "flash image (OVMF_CODE.fd, OVMF_VARS.fd)"),
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID,
          .doc = "drive id (default pflash<unit>)"),
};
KIND("pflash", "-drive if=pflash: a firmware flash image (UEFI code or variables)", pflash_opts,
     pflash_fields);

static const vc_opt_t bios_opts[] = {{"-bios", VC_OPT_RAW, NULL}};
static const vc_field_t bios_fields[] = {
    FIELD("path", VC_T_PATH, .key = "", .flags = VC_F_REQUIRED,
          .doc = "firmware image (SeaBIOS bios.bin, qboot)"),
};
KIND("bios", "-bios: the firmware image loaded as the BIOS ROM", bios_opts, bios_fields);

/* ---- migration ---- */

static const char *const incoming_modes[] = {"uri", "fd", "exec", "tcp", "unix"};

static int check_incoming(const vc_dev_t *d, vc_error_t *err)
{
    const char *first, *second;
    int nset = count_set(d, incoming_modes, N(incoming_modes), &first, &second);
    if (nset > 1) return vc_dev_error(d, second, err, "excludes '%s': set only one", first);
    if (!nset) return vc_dev_error(d, NULL, err, "set one of uri, fd, exec, tcp and unix");
    const char *uri = vc_dev_get(d, "uri");
    static const char *const schemes[] = {"tcp:", "unix:", "fd:", "exec:", "rdma:", "vsock:"};
    if (uri && strcmp(uri, "defer") != 0) {
        for (size_t i = 0; i < N(schemes); i++)
            if (strncmp(uri, schemes[i], strlen(schemes[i])) == 0) return 0;
        return vc_dev_error(d, "uri", err,
                            "\"%s\" is neither defer nor a tcp:, unix:, fd:, exec:, rdma: or "
                            "vsock: address",
                            uri);
    }
    return 0;
}
static const vc_opt_t incoming_opts[] = {
    {"-incoming", VC_OPT_RAW, NULL},    {"-incoming", VC_OPT_RAW, "fd:"},
    {"-incoming", VC_OPT_RAW, "exec:"}, {"-incoming", VC_OPT_RAW, "tcp:"},
    {"-incoming", VC_OPT_RAW, "unix:"},
};
static const vc_field_t incoming_fields[] = {
    FIELD("uri", VC_T_STR, .key = "",
          .doc = "defer (wait for migrate-incoming over QMP) or a full migration address"),
    FIELD("fd", VC_T_INT, .key = "", .opt = 1, .min = 3, .max = INT_MAX,
          .doc = "read the stream from an fd handed to QEMU"),
    FIELD("exec", VC_T_STR, .key = "", .opt = 2, .doc = "read the stream from a command's output"),
    FIELD("tcp", VC_T_STR, .key = "", .opt = 3, .doc = "listen on [host]:port"),
    FIELD("unix", VC_T_PATH, .key = "", .opt = 4, .doc = "listen on a unix socket"),
};
KIND_CHECK("incoming",
           "-incoming: wait for an incoming migration (exactly one of uri (defer), fd, exec, tcp, "
           "unix)",
           incoming_opts, incoming_fields, check_incoming);

/* ---- sandboxing and actions ---- */

static const char *const allow_deny[] = {"allow", "deny", NULL};
static const char *const elevate_modes[] = {"allow", "deny", "children", NULL};
static const vc_opt_t sandbox_opts[] = {{"-sandbox", VC_OPT_KV, "on"}};
static const vc_field_t sandbox_fields[] = {
    FIELD("obsolete", VC_T_ENUM, .key = "obsolete", .def = "deny", .values = allow_deny,
          .doc = "obsolete system calls (deny by default)"),
    FIELD("elevateprivileges", VC_T_ENUM, .key = "elevateprivileges", .def = "deny",
          .values = elevate_modes,
          .doc = "set*uid/set*gid (deny by default; children: allowed in children only)"),
    FIELD("spawn", VC_T_ENUM, .key = "spawn", .def = "deny", .values = allow_deny,
          .doc = "fork and execve (deny by default)"),
    FIELD("resourcecontrol", VC_T_ENUM, .key = "resourcecontrol", .def = "deny",
          .values = allow_deny, .doc = "process affinity and scheduler changes (deny by default)"),
};
KIND("sandbox", "-sandbox on: QEMU's seccomp filter, denying everything optional by default",
     sandbox_opts, sandbox_fields);

static int check_action(const vc_dev_t *d, vc_error_t *err)
{
    if (!has(d, "reboot") && !has(d, "shutdown") && !has(d, "panic") && !has(d, "watchdog"))
        return vc_dev_error(d, NULL, err, "set at least one of reboot, shutdown, panic, watchdog");
    return 0;
}
static const char *const reboot_actions[] = {"reset", "shutdown", NULL};
static const char *const shutdown_actions[] = {"poweroff", "pause", NULL};
static const char *const panic_actions[] = {"pause", "shutdown", "exit-failure", "none", NULL};
static const char *const watchdog_actions[] = {"reset", "shutdown", "poweroff", "inject-nmi",
                                               "pause", "debug",    "none",     NULL};
static const vc_opt_t action_opts[] = {{"-action", VC_OPT_KV, NULL}};
static const vc_field_t action_fields[] = {
    FIELD("reboot", VC_T_ENUM, .key = "reboot", .values = reboot_actions,
          .doc = "when the guest reboots (QEMU default reset)"),
    FIELD("shutdown", VC_T_ENUM, .key = "shutdown", .values = shutdown_actions,
          .doc = "when the guest shuts down (QEMU default poweroff)"),
    FIELD("panic", VC_T_ENUM, .key = "panic", .values = panic_actions,
          .doc = "when the guest panics (QEMU default shutdown)"),
    FIELD("watchdog", VC_T_ENUM, .key = "watchdog", .values = watchdog_actions,
          .doc = "when the watchdog fires (QEMU default reset)"),
};
KIND_CHECK("action", "-action: what QEMU does on guest reboot, shutdown, panic, watchdog",
           action_opts, action_fields, check_action);

/* ---- PCIe topology ---- */

static const vc_opt_t x3130_up_opts[] = {{"-device", VC_OPT_KV, "x3130-upstream"}};
static const vc_field_t x3130_up_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID,
          .doc = "downstream ports plug into bus <id>"),
    FIELD("bus", VC_T_ID, .key = "bus", .flags = VC_F_REQUIRED,
          .doc = "the root port (pcie-root-port id) the switch sits behind"),
    PCI_ADDR,
};
KIND("x3130-upstream", "-device x3130-upstream: the upstream port of a PCIe switch", x3130_up_opts,
     x3130_up_fields);

static const vc_opt_t xio3130_down_opts[] = {{"-device", VC_OPT_KV, "xio3130-downstream"}};
static const vc_field_t xio3130_down_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID,
          .doc = "a device plugs into bus <id>"),
    FIELD("bus", VC_T_ID, .key = "bus", .flags = VC_F_REQUIRED, .doc = "the x3130-upstream id"),
    FIELD("chassis", VC_T_INT, .key = "chassis", .min = 0, .max = 255,
          .doc = "chassis number; chassis and slot must be unique per port"),
    FIELD("slot", VC_T_INT, .key = "slot", .min = 0, .max = 65535, .doc = "slot number"),
    PCI_ADDR,
};
KIND("xio3130-downstream", "-device xio3130-downstream: a downstream port of a PCIe switch",
     xio3130_down_opts, xio3130_down_fields);

static const vc_opt_t pxb_pcie_opts[] = {{"-device", VC_OPT_KV, "pxb-pcie"}};
static const vc_field_t pxb_pcie_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID,
          .doc = "root ports plug into bus <id>"),
    FIELD("bus_nr", VC_T_INT, .key = "bus_nr", .flags = VC_F_REQUIRED, .min = 0, .max = 255,
          .doc = "first bus number of the new root complex"),
    FIELD("numa_node", VC_T_INT, .key = "numa_node", .min = 0, .max = NUMA_NODES_MAX,
          .doc = "guest NUMA node the root complex belongs to"),
    FIELD("bus", VC_T_ID, .key = "bus", .def = "pcie.0", .doc = "the main root complex"),
    PCI_ADDR,
};
KIND("pxb-pcie", "-device pxb-pcie: an extra PCIe root complex (per NUMA node)", pxb_pcie_opts,
     pxb_pcie_fields);

/* virtio-mem: memory the guest plugs and unplugs in blocks, resized at run
 * time through its requested-size property (qom-set). PCI only in QEMU 7.2
 * (no virtio-mem-ccw). */
static const vc_opt_t virtio_mem_opts[] = {{"-device", VC_OPT_KV, "virtio-mem-pci"}};
static const vc_field_t virtio_mem_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID,
          .doc = "id of the device (qom-set /machine/peripheral/<id> requested-size resizes it)"),
    FIELD("memdev", VC_T_ID, .key = "memdev", .flags = VC_F_REQUIRED,
          .doc = "id of the memory-backend-* object: the most the device can plug"),
    FIELD("requested_size", VC_T_SIZE, .key = "requested-size",
          .doc = "what the guest is asked to plug at start (default none)"),
    FIELD("block_size", VC_T_SIZE, .key = "block-size",
          .doc = "the unit the guest plugs (default: the backend's page size, at least 1M)"),
    FIELD("node", VC_T_INT, .key = "node", .min = 0, .max = NUMA_NODES_MAX,
          .doc = "guest NUMA node of the memory"),
    FIELD("bus", VC_T_ID, .key = "bus", .doc = "parent PCI bus"),
    PCI_ADDR,
};
KIND("virtio-mem", "-device virtio-mem-pci: guest memory resized in blocks at run time",
     virtio_mem_opts, virtio_mem_fields);

static const vc_opt_t pcie_pci_bridge_opts[] = {{"-device", VC_OPT_KV, "pcie-pci-bridge"}};
static const vc_field_t pcie_pci_bridge_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID,
          .doc = "conventional PCI devices plug into bus <id>"),
    FIELD("bus", VC_T_ID, .key = "bus", .doc = "a PCIe bus (pcie.0 or a root port)"),
    PCI_ADDR,
};
KIND("pcie-pci-bridge", "-device pcie-pci-bridge: a PCIe to conventional PCI bridge",
     pcie_pci_bridge_opts, pcie_pci_bridge_fields);

const vc_kind_t *const vc__kinds_platform[] = {
    &kind_mem_ram_fields,
    &kind_mem_file_fields,
    &kind_mem_memfd_fields,
    &kind_numa_node_fields,
    &kind_numa_dist_fields,
    &kind_nvdimm_fields,
    &kind_overcommit_fields,
    &kind_sev_fields,
    &kind_tdx_fields,
    &kind_s390_pv,
    &kind_pef,
    &kind_intel_iommu_fields,
    &kind_loader_fields,
    &kind_fw_cfg_fields,
    &kind_pflash_fields,
    &kind_bios_fields,
    &kind_incoming_fields,
    &kind_sandbox_fields,
    &kind_action_fields,
    &kind_x3130_up_fields,
    &kind_xio3130_down_fields,
    &kind_pxb_pcie_fields,
    &kind_pcie_pci_bridge_fields,
    &kind_virtio_mem_fields,
    NULL,
};
