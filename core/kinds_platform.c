/* Device kinds: platform. Memory backends and NUMA, NVDIMM, confidential
 * guest objects, the IOMMU, firmware (loader, fw_cfg, pflash, bios),
 * migration, sandboxing, actions, and PCIe topology. Keys checked against
 * QEMU 7.2's own help (-object TYPE,help, -device TYPE,help, -h). See
 * core/kinds.c for how a kind is declared. */
#include <stdio.h>
#include <string.h>

#include "kinds_def.h"

static const char *const on_off_auto[] = {"on", "off", "auto", NULL};

/* ---- memory backends ---- */

/* The properties every memory-backend-* object shares (HostMemoryBackend). */
#define MEM_COMMON                                                                                 \
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0,                                     \
      "object id, named by machine memory_backend, numa-node memdev or a memory device"),          \
        F("size", VC_T_SIZE, VC_F_REQUIRED, NULL, NULL, 0, 0, "size", 0,                           \
          "size of the region (512M, 2G or bytes)"),                                               \
        F("share", VC_T_BOOL, 0, NULL, NULL, 0, 0, "share", 0,                                     \
          "map shared (needed by vhost-user back ends) rather than private"),                      \
        F("prealloc", VC_T_BOOL, 0, NULL, NULL, 0, 0, "prealloc", 0,                               \
          "allocate every page at startup"),                                                       \
        F("prealloc_threads", VC_T_INT, 0, NULL, NULL, 1, 1024, "prealloc-threads", 0,             \
          "threads used to preallocate"),                                                          \
        F("dump", VC_T_BOOL, 0, NULL, NULL, 0, 0, "dump", 0, "off: leave out of core dumps"),      \
        F("merge", VC_T_BOOL, 0, NULL, NULL, 0, 0, "merge", 0, "allow KSM page merging"),          \
        F("reserve", VC_T_BOOL, 0, NULL, NULL, 0, 0, "reserve", 0,                                 \
          "reserve swap space or huge pages up front")

static const vc_opt_t mem_ram_opts[] = {{"-object", VC_OPT_KV, "memory-backend-ram"}};
static const vc_field_t mem_ram_fields[] = {MEM_COMMON};
KIND("memory-backend-ram", "-object memory-backend-ram: anonymous guest RAM", mem_ram_opts,
     mem_ram_fields);

static const vc_opt_t mem_file_opts[] = {{"-object", VC_OPT_KV, "memory-backend-file"}};
static const vc_field_t mem_file_fields[] = {
    MEM_COMMON,
    F("mem_path", VC_T_PATH, VC_F_REQUIRED, NULL, NULL, 0, 0, "mem-path", 0,
      "backing file or directory; a hugetlbfs mount (/dev/hugepages) gives huge pages"),
    F("discard_data", VC_T_BOOL, 0, NULL, NULL, 0, 0, "discard-data", 0,
      "drop the file's contents when QEMU exits"),
    F("readonly", VC_T_BOOL, 0, NULL, NULL, 0, 0, "readonly", 0, "map the file read-only"),
    F("align", VC_T_SIZE, 0, NULL, NULL, 0, 0, "align", 0, "mapping alignment (2M, 1G)"),
    F("pmem", VC_T_BOOL, 0, NULL, NULL, 0, 0, "pmem", 0, "the file is on persistent memory"),
};
KIND("memory-backend-file",
     "-object memory-backend-file: guest RAM backed by a file (hugetlbfs for huge pages)",
     mem_file_opts, mem_file_fields);

static int check_memfd(const vc_dev_t *d, vc_error_t *err)
{
    if (has(d, "hugetlbsize") && !is_on(d, "hugetlb"))
        return vc_dev_error(d, "hugetlbsize", err, "needs hugetlb on");
    return 0;
}
static const vc_opt_t mem_memfd_opts[] = {{"-object", VC_OPT_KV, "memory-backend-memfd"}};
static const vc_field_t mem_memfd_fields[] = {
    MEM_COMMON,
    F("hugetlb", VC_T_BOOL, 0, NULL, NULL, 0, 0, "hugetlb", 0, "use huge pages"),
    F("hugetlbsize", VC_T_SIZE, 0, NULL, NULL, 0, 0, "hugetlbsize", 0,
      "huge page size (2M, 1G); needs hugetlb"),
    F("seal", VC_T_BOOL, 0, NULL, NULL, 0, 0, "seal", 0, "seal against growing and shrinking"),
};
KIND_CHECK("memory-backend-memfd",
           "-object memory-backend-memfd: guest RAM in a memfd (shareable; hugetlb for huge pages)",
           mem_memfd_opts, mem_memfd_fields, check_memfd);

/* ---- NUMA ---- */

#define NUMA_NODES_MAX 127 /* QEMU 7.2: MAX_NODES 128 */

/* Reads a decimal CPU index at *p; advances *p. */
static int cpu_index(const char **p, unsigned long *out)
{
    if (**p < '0' || **p > '9') return -1;
    unsigned long v = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++) {
        v = v * 10 + (unsigned long)(**p - '0');
        if (v > 4095) return -1;
    }
    *out = v;
    return 0;
}

/* "N" or "N-M" with N <= M: one range (a list would need a repeated key). */
static int check_numa_node(const vc_dev_t *d, vc_error_t *err)
{
    const char *cpus = vc_dev_get(d, "cpus");
    if (!cpus) return 0;
    const char *p = cpus;
    unsigned long a, b;
    if (cpu_index(&p, &a) == 0) {
        if (!*p) return 0;
        if (*p++ == '-' && cpu_index(&p, &b) == 0 && !*p && a <= b) return 0;
    }
    return vc_dev_error(d, "cpus", err, "\"%s\" is not a vCPU index or range (2 or 0-3)", cpus);
}
static const vc_opt_t numa_node_opts[] = {{"-numa", VC_OPT_KV, "node"}};
static const vc_field_t numa_node_fields[] = {
    F("nodeid", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 0, NUMA_NODES_MAX, "nodeid", 0,
      "the node's number"),
    F("cpus", VC_T_STR, 0, NULL, NULL, 0, 0, "cpus", 0, "vCPU indexes on the node: 2 or 0-1"),
    F("memdev", VC_T_ID, 0, NULL, NULL, 0, 0, "memdev", 0,
      "id of the memory-backend-* object holding the node's memory"),
    F("initiator", VC_T_INT, 0, NULL, NULL, 0, NUMA_NODES_MAX, "initiator", 0,
      "node whose CPUs access this memory-only node best (HMAT)"),
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
    F("src", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 0, NUMA_NODES_MAX, "src", 0, "source node"),
    F("dst", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 0, NUMA_NODES_MAX, "dst", 0, "destination node"),
    F("val", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 10, 255, "val", 0,
      "distance: 10 is local, 255 unreachable"),
};
KIND_CHECK("numa-dist", "-numa dist: the distance between two NUMA nodes", numa_dist_opts,
           numa_dist_fields, check_numa_dist);

/* ---- NVDIMM ---- */

static const vc_opt_t nvdimm_opts[] = {{"-object", VC_OPT_KV, "memory-backend-file"},
                                       {"-device", VC_OPT_KV, "nvdimm"}};
static const vc_field_t nvdimm_fields[] = {
    ID_LINK("memdev", 0, "memdev", 1, "id of the memory-backend-file object the NVDIMM exposes"),
    F("mem_path", VC_T_PATH, VC_F_REQUIRED, NULL, NULL, 0, 0, "mem-path", 0,
      "backing file (or a host /dev/pmem device)"),
    F("size", VC_T_SIZE, VC_F_REQUIRED, NULL, NULL, 0, 0, "size", 0, "size of the NVDIMM"),
    F("share", VC_T_BOOL, 0, "on", NULL, 0, 0, "share", 0,
      "guest writes reach the file (on by default)"),
    F("pmem", VC_T_BOOL, 0, NULL, NULL, 0, 0, "pmem", 0, "the file is on persistent memory"),
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 1, "id of the nvdimm device"),
    F("label_size", VC_T_SIZE, 0, NULL, NULL, 0, 0, "label-size", 1,
      "namespace label area (at least 128K when set)"),
    F("unarmed", VC_T_BOOL, 0, NULL, NULL, 0, 0, "unarmed", 1, "tell the guest writes may be lost"),
    F("slot", VC_T_INT, 0, NULL, NULL, 0, 255, "slot", 1, "memory slot"),
    F("node", VC_T_INT, 0, NULL, NULL, 0, NUMA_NODES_MAX, "node", 1, "guest NUMA node"),
};
KIND("nvdimm",
     "-object memory-backend-file + -device nvdimm: an emulated NVDIMM; the machine needs "
     "nvdimm on and memory slots and maxmem",
     nvdimm_opts, nvdimm_fields);

/* ---- machine knobs ---- */

static const vc_opt_t overcommit_opts[] = {{"-overcommit", VC_OPT_KV, NULL}};
static const vc_field_t overcommit_fields[] = {
    F("mem_lock", VC_T_BOOL, VC_F_REQUIRED, NULL, NULL, 0, 0, "mem-lock", 0,
      "lock guest and QEMU memory in RAM (mlock)"),
    F("cpu_pm", VC_T_BOOL, 0, NULL, NULL, 0, 0, "cpu-pm", 0,
      "let the guest idle vCPUs itself (KVM: no HLT/MWAIT exits)"),
};
KIND("overcommit", "-overcommit: memory locking and CPU power management hints", overcommit_opts,
     overcommit_fields);

/* ---- confidential guests ---- */

#define CGS_ID                                                                                     \
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0,                                     \
      "object id, named by machine confidential_guest_support")

static const vc_opt_t sev_opts[] = {{"-object", VC_OPT_KV, "sev-guest"}};
static const vc_field_t sev_fields[] = {
    CGS_ID,
    F("cbitpos", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 1, 63, "cbitpos", 0,
      "C-bit position in page table entries (the host's, from CPUID 0x8000001f)"),
    F("reduced_phys_bits", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 1, 63, "reduced-phys-bits", 0,
      "physical address bits lost to memory encryption"),
    F("policy", VC_T_INT, 0, NULL, NULL, 0, 4294967295LL, "policy", 0, "SEV guest policy bits"),
    F("handle", VC_T_INT, 0, NULL, NULL, 0, 4294967295LL, "handle", 0,
      "SEV firmware handle to share keys with"),
    F("sev_device", VC_T_PATH, 0, NULL, NULL, 0, 0, "sev-device", 0, "SEV device (/dev/sev)"),
    F("dh_cert_file", VC_T_PATH, 0, NULL, NULL, 0, 0, "dh-cert-file", 0,
      "guest owner's DH certificate (base64)"),
    F("session_file", VC_T_PATH, 0, NULL, NULL, 0, 0, "session-file", 0,
      "guest owner's session parameters (base64)"),
    F("kernel_hashes", VC_T_BOOL, 0, NULL, NULL, 0, 0, "kernel-hashes", 0,
      "add kernel hashes to the firmware for measured direct boot"),
};
KIND("sev-guest",
     "-object sev-guest: AMD SEV memory encryption; needs SEV hardware and KVM, and machine "
     "confidential_guest_support naming it",
     sev_opts, sev_fields);

static const vc_opt_t tdx_opts[] = {{"-object", VC_OPT_KV, "tdx-guest"}};
static const vc_field_t tdx_fields[] = {
    CGS_ID,
    F("attributes", VC_T_INT, 0, NULL, NULL, 0, LLONG_MAX, "attributes", 0, "TD attribute bits"),
    F("sept_ve_disable", VC_T_BOOL, 0, NULL, NULL, 0, 0, "sept-ve-disable", 0,
      "no #VE on EPT violations of pending pages"),
    F("mrconfigid", VC_T_STR, 0, NULL, NULL, 0, 0, "mrconfigid", 0,
      "software-defined configuration id (base64 SHA384)"),
    F("mrowner", VC_T_STR, 0, NULL, NULL, 0, 0, "mrowner", 0, "guest owner id (base64 SHA384)"),
    F("mrownerconfig", VC_T_STR, 0, NULL, NULL, 0, 0, "mrownerconfig", 0,
      "owner-defined configuration id (base64 SHA384)"),
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
    F("id", VC_T_ID, 0, NULL, NULL, 0, 0, "id", 0, NULL),
    F("intremap", VC_T_ENUM, 0, NULL, on_off_auto, 0, 0, "intremap", 0,
      "interrupt remapping; on needs machine kernel_irqchip split under KVM"),
    F("eim", VC_T_ENUM, 0, NULL, on_off_auto, 0, 0, "eim", 0,
      "extended interrupt mode (x2APIC); on needs intremap"),
    F("device_iotlb", VC_T_BOOL, 0, NULL, NULL, 0, 0, "device-iotlb", 0,
      "address translation services for devices"),
    F("caching_mode", VC_T_BOOL, 0, NULL, NULL, 0, 0, "caching-mode", 0,
      "report caching mode (needed for VFIO behind the IOMMU)"),
    F("aw_bits", VC_T_INT, 0, NULL, NULL, 39, 48, "aw-bits", 0, "guest address width: 39 or 48"),
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
    F("id", VC_T_ID, 0, NULL, NULL, 0, 0, "id", 0, NULL),
    F("file", VC_T_PATH, 0, NULL, NULL, 0, 0, "file", 0,
      "image to load (ELF, uImage, Intel hex, or raw at addr)"),
    F("addr", VC_T_INT, 0, NULL, NULL, 0, LLONG_MAX, "addr", 0,
      "guest physical address to load at (0x... accepted)"),
    F("cpu_num", VC_T_INT, 0, NULL, NULL, 0, 4095, "cpu-num", 0,
      "vCPU whose program counter is set to the entry point"),
    F("force_raw", VC_T_BOOL, 0, NULL, NULL, 0, 0, "force-raw", 0,
      "load the file as raw bytes even if it is an ELF"),
    F("data", VC_T_INT, 0, NULL, NULL, 0, 0, "data", 0,
      "a value to store at addr instead of a file"),
    F("data_len", VC_T_INT, 0, NULL, NULL, 1, 8, "data-len", 0, "bytes of data to store"),
    F("data_be", VC_T_BOOL, 0, NULL, NULL, 0, 0, "data-be", 0, "store data big-endian"),
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
    F("name", VC_T_STR, VC_F_REQUIRED, NULL, NULL, 0, 0, "name", 0,
      "item name: opt/<vendor>/<item> (opt/org.example/config)"),
    F("file", VC_T_PATH, 0, NULL, NULL, 0, 0, "file", 0, "item contents from a file"),
    F("string", VC_T_STR, 0, NULL, NULL, 0, 0, "string", 0, "item contents as text"),
};
KIND_CHECK("fw_cfg", "-fw_cfg: a named firmware configuration item for the guest", fw_cfg_opts,
           fw_cfg_fields, check_fw_cfg);

static const char *const pflash_formats[] = {"raw", "qcow2", NULL};
static const vc_opt_t pflash_opts[] = {{"-drive", VC_OPT_KV, "if=pflash"}};
static const vc_field_t pflash_fields[] = {
    F("format", VC_T_ENUM, 0, "raw", pflash_formats, 0, 0, "format", 0, "image format"),
    F("unit", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 0, 1, "unit", 0,
      "flash chip: 0 firmware code, 1 variables"),
    F("readonly", VC_T_BOOL, 0, NULL, NULL, 0, 0, "readonly", 0,
      "read-only (firmware code); variables stay writable"),
    F("file", VC_T_PATH, VC_F_REQUIRED, NULL, NULL, 0, 0, "file", 0,
      "flash image (OVMF_CODE.fd, OVMF_VARS.fd)"),
    F("id", VC_T_ID, 0, NULL, NULL, 0, 0, "id", 0, "drive id (default pflash<unit>)"),
};
KIND("pflash", "-drive if=pflash: a firmware flash image (UEFI code or variables)", pflash_opts,
     pflash_fields);

static const vc_opt_t bios_opts[] = {{"-bios", VC_OPT_RAW, NULL}};
static const vc_field_t bios_fields[] = {
    F("path", VC_T_PATH, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0,
      "firmware image (SeaBIOS bios.bin, qboot)"),
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
    F("uri", VC_T_STR, 0, NULL, NULL, 0, 0, "", 0,
      "defer (wait for migrate-incoming over QMP) or a full migration address"),
    F("fd", VC_T_INT, 0, NULL, NULL, 3, INT_MAX, "", 1,
      "read the stream from an fd handed to QEMU"),
    F("exec", VC_T_STR, 0, NULL, NULL, 0, 0, "", 2, "read the stream from a command's output"),
    F("tcp", VC_T_STR, 0, NULL, NULL, 0, 0, "", 3, "listen on [host]:port"),
    F("unix", VC_T_PATH, 0, NULL, NULL, 0, 0, "", 4, "listen on a unix socket"),
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
    F("obsolete", VC_T_ENUM, 0, "deny", allow_deny, 0, 0, "obsolete", 0,
      "obsolete system calls (deny by default)"),
    F("elevateprivileges", VC_T_ENUM, 0, "deny", elevate_modes, 0, 0, "elevateprivileges", 0,
      "set*uid/set*gid (deny by default; children: allowed in children only)"),
    F("spawn", VC_T_ENUM, 0, "deny", allow_deny, 0, 0, "spawn", 0,
      "fork and execve (deny by default)"),
    F("resourcecontrol", VC_T_ENUM, 0, "deny", allow_deny, 0, 0, "resourcecontrol", 0,
      "process affinity and scheduler changes (deny by default)"),
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
    F("reboot", VC_T_ENUM, 0, NULL, reboot_actions, 0, 0, "reboot", 0,
      "when the guest reboots (QEMU default reset)"),
    F("shutdown", VC_T_ENUM, 0, NULL, shutdown_actions, 0, 0, "shutdown", 0,
      "when the guest shuts down (QEMU default poweroff)"),
    F("panic", VC_T_ENUM, 0, NULL, panic_actions, 0, 0, "panic", 0,
      "when the guest panics (QEMU default shutdown)"),
    F("watchdog", VC_T_ENUM, 0, NULL, watchdog_actions, 0, 0, "watchdog", 0,
      "when the watchdog fires (QEMU default reset)"),
};
KIND_CHECK("action", "-action: what QEMU does on guest reboot, shutdown, panic, watchdog",
           action_opts, action_fields, check_action);

/* ---- PCIe topology ---- */

static const vc_opt_t x3130_up_opts[] = {{"-device", VC_OPT_KV, "x3130-upstream"}};
static const vc_field_t x3130_up_fields[] = {
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0,
      "downstream ports plug into bus <id>"),
    F("bus", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "bus", 0,
      "the root port (pcie-root-port id) the switch sits behind"),
    PCI_ADDR,
};
KIND("x3130-upstream", "-device x3130-upstream: the upstream port of a PCIe switch", x3130_up_opts,
     x3130_up_fields);

static const vc_opt_t xio3130_down_opts[] = {{"-device", VC_OPT_KV, "xio3130-downstream"}};
static const vc_field_t xio3130_down_fields[] = {
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0, "a device plugs into bus <id>"),
    F("bus", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "bus", 0, "the x3130-upstream id"),
    F("chassis", VC_T_INT, 0, NULL, NULL, 0, 255, "chassis", 0,
      "chassis number; chassis and slot must be unique per port"),
    F("slot", VC_T_INT, 0, NULL, NULL, 0, 65535, "slot", 0, "slot number"),
    PCI_ADDR,
};
KIND("xio3130-downstream", "-device xio3130-downstream: a downstream port of a PCIe switch",
     xio3130_down_opts, xio3130_down_fields);

static const vc_opt_t pxb_pcie_opts[] = {{"-device", VC_OPT_KV, "pxb-pcie"}};
static const vc_field_t pxb_pcie_fields[] = {
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0, "root ports plug into bus <id>"),
    F("bus_nr", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 0, 255, "bus_nr", 0,
      "first bus number of the new root complex"),
    F("numa_node", VC_T_INT, 0, NULL, NULL, 0, NUMA_NODES_MAX, "numa_node", 0,
      "guest NUMA node the root complex belongs to"),
    F("bus", VC_T_ID, 0, "pcie.0", NULL, 0, 0, "bus", 0, "the main root complex"),
    PCI_ADDR,
};
KIND("pxb-pcie", "-device pxb-pcie: an extra PCIe root complex (per NUMA node)", pxb_pcie_opts,
     pxb_pcie_fields);

static const vc_opt_t pcie_pci_bridge_opts[] = {{"-device", VC_OPT_KV, "pcie-pci-bridge"}};
static const vc_field_t pcie_pci_bridge_fields[] = {
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0,
      "conventional PCI devices plug into bus <id>"),
    F("bus", VC_T_ID, 0, NULL, NULL, 0, 0, "bus", 0, "a PCIe bus (pcie.0 or a root port)"),
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
    NULL,
};
