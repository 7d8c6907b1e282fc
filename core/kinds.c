/* The device kinds, one table each. Adding a kind means adding its options
 * and fields here (or in kinds_io.c: network, block, vhost-user, VFIO;
 * kinds_platform.c: memory, objects, firmware, topology, machine knobs) and
 * its name to the list at the end of that file. */
#include "kinds_def.h"

static const char *const accels[] = {"kvm", "tcg", NULL};
static const char *const gic_versions[] = {"2", "3", "4", "host", "max", NULL};
static const char *const irqchips[] = {"on", "off", "split", NULL};
static const char *const spapr_caps[] = {"broken", "workaround", "fixed", NULL};
static const char *const spapr_ibs[] = {"broken",    "workaround", "fixed-ibs",
                                        "fixed-ccd", "fixed-na",   NULL};
static const char *const chardev_backends[] = {"socket", "pipe",  "file", "pty",
                                               "null",   "stdio", NULL};
static const char *const mon_modes[] = {"control", "readline", NULL};
static const char *const on_off_auto[] = {"on", "off", "auto", NULL};

static const vc_opt_t name_opts[] = {{"-name", VC_OPT_KV, NULL}};
static const vc_field_t name_fields[] = {
    FIELD("name", VC_T_STR, .key = "", .flags = VC_F_REQUIRED, .doc = "guest name"),
    FIELD("debug_threads", VC_T_BOOL, .key = "debug-threads", .doc = "name QEMU threads"),
};
KIND("name", "-name: the guest's name", name_opts, name_fields);

static const vc_opt_t machine_opts[] = {{"-machine", VC_OPT_KV, NULL}};
static const vc_field_t machine_fields[] = {
    FIELD("type", VC_T_STR, .key = "", .flags = VC_F_REQUIRED,
          .doc = "machine type (q35, microvm, ...)"),
    FIELD("accel", VC_T_ENUM, .key = "accel", .values = accels, .doc = "accelerator"),
    FIELD("gic_version", VC_T_ENUM, .key = "gic-version", .values = gic_versions,
          .doc = "arm virt: interrupt controller"),
    FIELD("kernel_irqchip", VC_T_ENUM, .key = "kernel-irqchip", .values = irqchips),
    FIELD("nvdimm", VC_T_BOOL, .key = "nvdimm", .doc = "enable NVDIMM support (pc, q35)"),
    FIELD("smm", VC_T_BOOL, .key = "smm", .doc = "x86 system management mode"),
    FIELD("usb", VC_T_BOOL, .key = "usb"),
    FIELD("dump_guest_core", VC_T_BOOL, .key = "dump-guest-core"),
    FIELD("memory_backend", VC_T_ID, .key = "memory-backend",
          .doc = "id of the memory backend object for boot memory"),
    FIELD("confidential_guest_support", VC_T_ID, .key = "confidential-guest-support",
          .doc = "id of a sev/tdx/s390-pv/pef guest object"),
    FIELD("cap_htm", VC_T_BOOL, .key = "cap-htm", .doc = "pseries: transactional memory"),
    FIELD("cap_cfpc", VC_T_ENUM, .key = "cap-cfpc", .values = spapr_caps, .doc = "pseries"),
    FIELD("cap_sbbc", VC_T_ENUM, .key = "cap-sbbc", .values = spapr_caps, .doc = "pseries"),
    FIELD("cap_ibs", VC_T_ENUM, .key = "cap-ibs", .values = spapr_ibs, .doc = "pseries"),
    FIELD("cap_large_decr", VC_T_BOOL, .key = "cap-large-decr", .doc = "pseries"),
    FIELD("cap_ccf_assist", VC_T_BOOL, .key = "cap-ccf-assist", .doc = "pseries"),
    FIELD("pic", VC_T_ENUM, .key = "pic", .values = on_off_auto,
          .doc = "x86 (microvm, q35, pc): the i8259 PIC"),
    FIELD("pit", VC_T_ENUM, .key = "pit", .values = on_off_auto,
          .doc = "x86 (microvm, q35, pc): the i8254 PIT"),
};
KIND("machine", "-machine: machine type and accelerator", machine_opts, machine_fields);

static const vc_opt_t cpu_opts[] = {{"-cpu", VC_OPT_KV, NULL}};
static const vc_field_t cpu_fields[] = {
    FIELD("model", VC_T_STR, .key = "", .flags = VC_F_REQUIRED,
          .doc = "CPU model (host, max, ...); no comma: features go in features"),
    FIELD("features", VC_T_FEATURES, .key = "",
          .doc = "CPU features after the model: \"sse4.2=off,+avx\" (name=on|off|true|false|"
                 "<integer>; +name and -name are x86's)"),
};
/* QEMU's -cpu parser splits at every comma and does not read a doubled one
 * as a comma: escaping cannot carry one in the model. */
static int check_cpu(const vc_dev_t *d, vc_error_t *err)
{
    const char *model = vc_dev_get(d, "model");
    if (strchr(model, ','))
        return vc_dev_error(d, "model", err,
                            "\"%s\" holds a comma: QEMU's -cpu parser splits at every comma "
                            "(doubled or not); give features in 'features'",
                            model);
    if (!*model) return vc_dev_error(d, "model", err, "is empty");
    return 0;
}
KIND_CHECK("cpu", "-cpu: the CPU model and its features", cpu_opts, cpu_fields, check_cpu);

static const vc_opt_t smp_opts[] = {{"-smp", VC_OPT_KV, NULL}};
static const vc_field_t smp_fields[] = {
    FIELD("cpus", VC_T_INT, .key = "", .flags = VC_F_REQUIRED, .min = 1, .max = 4096,
          .doc = "vCPUs at boot"),
    FIELD("sockets", VC_T_INT, .key = "sockets", .min = 1, .max = 4096),
    FIELD("cores", VC_T_INT, .key = "cores", .min = 1, .max = 4096),
    FIELD("threads", VC_T_INT, .key = "threads", .min = 1, .max = 4096),
    FIELD("maxcpus", VC_T_INT, .key = "maxcpus", .min = 1, .max = 4096,
          .doc = "vCPU hotplug limit"),
};
KIND("smp", "-smp: vCPU count and topology", smp_opts, smp_fields);

static const vc_opt_t memory_opts[] = {{"-m", VC_OPT_KV, NULL}};
static const vc_field_t memory_fields[] = {
    FIELD("size", VC_T_SIZE, .key = "", .flags = VC_F_REQUIRED, .doc = "boot memory"),
    FIELD("slots", VC_T_INT, .key = "slots", .min = 0, .max = 256, .doc = "hotplug slots"),
    FIELD("maxmem", VC_T_SIZE, .key = "maxmem", .doc = "hotplug limit"),
};
KIND("memory", "-m: memory size, hotplug slots and limit", memory_opts, memory_fields);

static const vc_opt_t kernel_opts[] = {
    {"-kernel", VC_OPT_RAW, NULL}, {"-initrd", VC_OPT_RAW, NULL}, {"-append", VC_OPT_RAW, NULL}};
static const vc_field_t kernel_fields[] = {
    FIELD("path", VC_T_PATH, .key = "", .flags = VC_F_REQUIRED, .doc = "kernel image"),
    FIELD("initrd", VC_T_PATH, .key = "", .opt = 1, .doc = "initial ramdisk"),
    FIELD("append", VC_T_STR, .key = "", .opt = 2, .doc = "kernel command line"),
};
KIND("kernel", "-kernel/-initrd/-append: direct kernel boot", kernel_opts, kernel_fields);

static const vc_opt_t chardev_opts[] = {{"-chardev", VC_OPT_KV, NULL}};
static const vc_field_t chardev_fields[] = {
    FIELD("backend", VC_T_ENUM, .key = "", .flags = VC_F_REQUIRED, .values = chardev_backends),
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID),
    FIELD("path", VC_T_PATH, .key = "path", .doc = "socket, pipe or file path"),
    FIELD("fd", VC_T_INT, .key = "fd", .min = 3, .max = 65535, .doc = "an fd handed to QEMU"),
    FIELD("server", VC_T_BOOL, .key = "server"),
    FIELD("wait", VC_T_BOOL, .key = "wait"),
    FIELD("logfile", VC_T_PATH, .key = "logfile"),
};
/* What QEMU 7.2 refuses at start: a socket with neither path nor fd ("Unable
 * to parse FD number") or with both, a file or pipe without path ("no
 * filename given", "no device path given"). */
static int check_chardev(const vc_dev_t *d, vc_error_t *err)
{
    const char *backend = vc_dev_get(d, "backend");
    if (strcmp(backend, "socket") == 0) {
        if (!has(d, "path") && !has(d, "fd"))
            return vc_dev_error(d, "path", err, "is required with backend socket (or fd)");
        if (has(d, "path") && has(d, "fd"))
            return vc_dev_error(d, "fd", err, "excludes 'path': set only one");
    } else if ((strcmp(backend, "file") == 0 || strcmp(backend, "pipe") == 0) && !has(d, "path")) {
        return vc_dev_error(d, "path", err, "is required with backend %s", backend);
    }
    return 0;
}
KIND_CHECK("chardev", "-chardev: a character device backend", chardev_opts, chardev_fields,
           check_chardev);

static const vc_opt_t mon_opts[] = {{"-mon", VC_OPT_KV, NULL}};
static const vc_field_t mon_fields[] = {
    FIELD("chardev", VC_T_ID, .key = "chardev", .flags = VC_F_REQUIRED),
    FIELD("mode", VC_T_ENUM, .key = "mode", .def = "control", .values = mon_modes),
};
KIND("mon", "-mon: a monitor on a chardev (QMP with mode=control)", mon_opts, mon_fields);

static const vc_opt_t serial_opts[] = {{"-serial", VC_OPT_RAW, "chardev:"}};
static const vc_field_t serial_fields[] = {
    FIELD("chardev", VC_T_ID, .key = "", .flags = VC_F_REQUIRED),
};
KIND("serial", "-serial chardev:ID: the legacy serial port", serial_opts, serial_fields);

static const vc_opt_t pidfile_opts[] = {{"-pidfile", VC_OPT_RAW, NULL}};
static const vc_field_t pidfile_fields[] = {
    FIELD("path", VC_T_PATH, .key = "", .flags = VC_F_REQUIRED),
};
KIND("pidfile", "-pidfile: where QEMU writes its pid", pidfile_opts, pidfile_fields);

static const vc_opt_t flags_opts[] = {
    {"-nodefaults", VC_OPT_FLAG, NULL}, {"-no-user-config", VC_OPT_FLAG, NULL},
    {"-nographic", VC_OPT_FLAG, NULL},  {"-display", VC_OPT_RAW, NULL},
    {"-no-reboot", VC_OPT_FLAG, NULL},  {"-S", VC_OPT_FLAG, NULL},
};
static const char *const displays[] = {"none", NULL};
static const vc_field_t flags_fields[] = {
    FIELD("nodefaults", VC_T_BOOL, .key = "", .doc = "no default devices"),
    FIELD("no_user_config", VC_T_BOOL, .key = "", .opt = 1, .doc = "ignore user config files"),
    FIELD("nographic", VC_T_BOOL, .key = "", .opt = 2,
          .doc = "no display; firmware (SeaBIOS) writes its screen, escapes included, to the serial"),
    FIELD("display", VC_T_ENUM, .key = "", .opt = 3, .values = displays,
          .doc = "-display none: no display, the serial carries only what the guest writes"),
    FIELD("no_reboot", VC_T_BOOL, .key = "", .opt = 4, .doc = "exit instead of rebooting"),
    FIELD("freeze", VC_T_BOOL, .key = "", .opt = 5, .doc = "start with vCPUs stopped (-S)"),
};
KIND("flags", "standalone QEMU flags", flags_opts, flags_fields);

/* ---- devices ---- */

const char *const vc__transports[] = {"pci", "ccw", "mmio", NULL};

/* The virtio-rng device's own fields, after its backend's. */
#define RNG_DEVICE_FIELDS                                                                          \
    FIELD("max_bytes", VC_T_INT, .key = "max-bytes", .opt = 1, .min = 1, .max = LLONG_MAX,         \
          .doc = "bytes the guest may read per period"),                                           \
        FIELD("period", VC_T_INT, .key = "period", .opt = 1, .min = 1, .max = 4294967295LL,        \
              .doc = "rate-limit period (ms)"),                                                    \
        TRANSPORT, BUS(1), ADDR(1), ROMFILE(1), DEVNO(1), IOMMU_PLATFORM(1)

static const vc_opt_t virtio_rng_opts[] = {{"-object", VC_OPT_KV, "rng-random"},
                                           {"-device", VC_OPT_KV, "virtio-rng-%t"}};
static const vc_field_t virtio_rng_fields[] = {
    ID_LINK("id", .key2 = "rng", .opt2 = 1, .doc = "id of the rng-random object the device reads"),
    FIELD("filename", VC_T_PATH, .key = "filename", .doc = "entropy source (/dev/urandom)"),
    RNG_DEVICE_FIELDS,
};
KIND("virtio-rng", "virtio-rng: an entropy source for the guest, read from a host file",
     virtio_rng_opts, virtio_rng_fields);

static const vc_opt_t virtio_rng_builtin_opts[] = {{"-object", VC_OPT_KV, "rng-builtin"},
                                                   {"-device", VC_OPT_KV, "virtio-rng-%t"}};
static const vc_field_t virtio_rng_builtin_fields[] = {
    ID_LINK("id", .key2 = "rng", .opt2 = 1, .doc = "id of the rng-builtin object the device reads"),
    RNG_DEVICE_FIELDS,
};
KIND("virtio-rng-builtin",
     "virtio-rng-builtin: an entropy source for the guest, from QEMU's own generator "
     "(getrandom)",
     virtio_rng_builtin_opts, virtio_rng_builtin_fields);

static const vc_opt_t virtio_balloon_opts[] = {{"-device", VC_OPT_KV, "virtio-balloon-%t"}};
static const vc_field_t virtio_balloon_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID),
    FIELD("deflate_on_oom", VC_T_BOOL, .key = "deflate-on-oom",
          .doc = "give memory back when the guest runs out"),
    FIELD("free_page_reporting", VC_T_BOOL, .key = "free-page-reporting",
          .doc = "the guest reports free pages"),
    VIRTIO_PLACEMENT(0),
    DISABLE_MODERN(0),
    ROMFILE(0),
};
KIND("virtio-balloon", "virtio-balloon: guest memory ballooning", virtio_balloon_opts,
     virtio_balloon_fields);

/* The formats QEMU 7.2 reads and writes without a secret or a module
 * (luks needs a key, dmg/bochs/cloop are read-only). */
const char *const vc__drive_formats[] = {"raw", "qcow2", "qcow", "vmdk", "vdi", "vhdx",
                                         "vpc", "qed", "parallels", NULL};
const char *const vc__drive_aios[] = {"threads", "native", "io_uring", NULL};
const char *const vc__drive_discards[] = {"ignore", "unmap", NULL};
static const vc_opt_t virtio_blk_opts[] = {{"-drive", VC_OPT_KV, "if=none"},
                                           {"-device", VC_OPT_KV, "virtio-blk-%t"}};
static const vc_field_t virtio_blk_fields[] = {
    DRIVE_FIELDS(NULL),
    FIELD("discard", VC_T_BOOL, .key = "discard", .opt = 1, .doc = "the guest may discard"),
    FIELD("serial", VC_T_STR, .key = "serial", .opt = 1, .doc = "serial number seen by the guest"),
    FIELD("config_wce", VC_T_BOOL, .key = "config-wce", .opt = 1,
          .doc = "the guest may toggle the write cache"),
    FIELD("share_rw", VC_T_BOOL, .key = "share-rw", .opt = 1, .doc = "allow shared writers"),
    VIRTIO_PLACEMENT(1),
    DISABLE_MODERN(1),
    ROMFILE(1),
    DEVICE_ID(1),
};
KIND("virtio-blk", "virtio-blk: a disk image as a virtio block device", virtio_blk_opts,
     virtio_blk_fields);

static const vc_opt_t virtio_serial_opts[] = {{"-device", VC_OPT_KV, "virtio-serial-%t"}};
static const vc_field_t virtio_serial_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID,
          .doc = "ports attach to bus <id>.0"),
    FIELD("max_ports", VC_T_INT, .key = "max_ports", .min = 1, .max = 31),
    VIRTIO_PLACEMENT(0),
    DISABLE_MODERN(0),
    ROMFILE(0),
};
KIND("virtio-serial", "virtio-serial: a controller for virtconsole/virtserialport",
     virtio_serial_opts, virtio_serial_fields);

static const vc_field_t serial_port_fields[] = {
    FIELD("chardev", VC_T_ID, .key = "chardev", .flags = VC_F_REQUIRED, .doc = "backend chardev"),
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID),
    FIELD("name", VC_T_STR, .key = "name", .doc = "port name seen by the guest"),
    FIELD("bus", VC_T_ID, .key = "bus", .doc = "virtio-serial bus (serial0.0)"),
};
static const vc_opt_t virtconsole_opts[] = {{"-device", VC_OPT_KV, "virtconsole"}};
KIND_NAMED(kind_virtconsole, "virtconsole", "virtconsole: a console port on virtio-serial",
           virtconsole_opts, serial_port_fields, NULL);
static const vc_opt_t virtserialport_opts[] = {{"-device", VC_OPT_KV, "virtserialport"}};
KIND_NAMED(kind_virtserialport, "virtserialport", "virtserialport: a named port on virtio-serial",
           virtserialport_opts, serial_port_fields, NULL);

static const vc_opt_t vhost_vsock_opts[] = {{"-device", VC_OPT_KV, "vhost-vsock-%t"}};
static const vc_field_t vhost_vsock_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID),
    FIELD("guest_cid", VC_T_INT, .key = "guest-cid", .flags = VC_F_REQUIRED, .min = 3,
          .max = 4294967295LL, .doc = "the guest's vsock address"),
    FIELD("vhostfd", VC_T_INT, .key = "vhostfd", .min = 3, .max = INT_MAX,
          .doc = "an open /dev/vhost-vsock handed to QEMU"),
    VIRTIO_PLACEMENT(0),
    DISABLE_MODERN(0),
    ROMFILE(0),
};
KIND("vhost-vsock", "vhost-vsock: host<->guest sockets", vhost_vsock_opts, vhost_vsock_fields);

static const char *const security_models[] = {"none", "passthrough", "mapped-xattr", "mapped-file",
                                              NULL};
static const char *const multidevs_modes[] = {"remap", "forbid", "warn", NULL};
static const vc_opt_t virtio_9p_opts[] = {{"-fsdev", VC_OPT_KV, "local"},
                                          {"-device", VC_OPT_KV, "virtio-9p-%t"}};
static const vc_field_t virtio_9p_fields[] = {
    ID_LINK("id", .key2 = "fsdev", .opt2 = 1, .doc = "id of the fsdev the device exports"),
    FIELD("path", VC_T_PATH, .key = "path", .flags = VC_F_REQUIRED, .doc = "host directory"),
    FIELD("security_model", VC_T_ENUM, .key = "security_model", .def = "none",
          .values = security_models),
    FIELD("multidevs", VC_T_ENUM, .key = "multidevs", .values = multidevs_modes),
    FIELD("readonly", VC_T_BOOL, .key = "readonly"),
    FIELD("mount_tag", VC_T_STR, .key = "mount_tag", .opt = 1, .flags = VC_F_REQUIRED,
          .doc = "tag the guest mounts"),
    VIRTIO_PLACEMENT(1),
    DISABLE_MODERN(1),
    ROMFILE(1),
};
#define MOUNT_TAG_MAX 31 /* QEMU 7.2: MAX_TAG_LEN 32, with the NUL */

static int check_virtio_9p(const vc_dev_t *d, vc_error_t *err)
{
    const char *tag = vc_dev_get(d, "mount_tag");
    if (strlen(tag) > MOUNT_TAG_MAX)
        return vc_dev_error(d, "mount_tag", err, "\"%s\" is %zu bytes, QEMU takes at most %d", tag,
                            strlen(tag), MOUNT_TAG_MAX);
    return 0;
}
KIND_CHECK("virtio-9p", "virtio-9p: a host directory shared over 9p", virtio_9p_opts,
           virtio_9p_fields, check_virtio_9p);

static const vc_opt_t virtio_scsi_opts[] = {{"-device", VC_OPT_KV, "virtio-scsi-%t"}};
static const vc_field_t virtio_scsi_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID),
    FIELD("iothread", VC_T_ID, .key = "iothread", .doc = "iothread object id"),
    FIELD("num_queues", VC_T_INT, .key = "num_queues", .min = 1, .max = 1024),
    VIRTIO_PLACEMENT(0),
    DISABLE_MODERN(0),
    ROMFILE(0),
};
KIND("virtio-scsi", "virtio-scsi: a SCSI controller", virtio_scsi_opts, virtio_scsi_fields);

static const vc_opt_t iothread_opts[] = {{"-object", VC_OPT_KV, "iothread"}};
static const vc_field_t iothread_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID),
};
KIND("iothread", "-object iothread: an I/O thread for devices", iothread_opts, iothread_fields);

#define GiB (1ull << 30)

int vc__check_reserve(const vc_dev_t *d, vc_error_t *err)
{
    if (has(d, "pref32_reserve") && has(d, "pref64_reserve"))
        return vc_dev_error(d, "pref64_reserve", err,
                            "excludes 'pref32_reserve': set only one (QEMU: \"PREF32 and PREF64 "
                            "conflict\")");
    static const char *const below_4g[] = {"mem_reserve", "pref32_reserve"};
    for (size_t i = 0; i < N(below_4g); i++) {
        const char *v = vc_dev_get(d, below_4g[i]);
        if (v && size_bytes(v) >= 4 * GiB)
            return vc_dev_error(d, below_4g[i], err, "%s is not below 4G, as QEMU requires", v);
    }
    return 0;
}

static const vc_opt_t pcie_root_port_opts[] = {{"-device", VC_OPT_KV, "pcie-root-port"}};
static const vc_field_t pcie_root_port_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID),
    FIELD("bus", VC_T_ID, .key = "bus", .def = "pcie.0"),
    FIELD("chassis", VC_T_INT, .key = "chassis", .min = 0, .max = 255),
    FIELD("slot", VC_T_INT, .key = "slot", .min = 0, .max = 65535),
    PCI_ADDR,
    FIELD("multifunction", VC_T_BOOL, .key = "multifunction"),
    RESERVE_FIELDS,
    NO_ROMFILE,
};
KIND_CHECK("pcie-root-port", "pcie-root-port: a PCIe port for one (hotplugged) device",
           pcie_root_port_opts, pcie_root_port_fields, vc__check_reserve);

static const vc_opt_t pci_bridge_opts[] = {{"-device", VC_OPT_KV, "pci-bridge"}};
static const vc_field_t pci_bridge_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_REQUIRED | VC_F_DEFINES_ID),
    FIELD("bus", VC_T_ID, .key = "bus", .flags = VC_F_REQUIRED),
    FIELD("chassis_nr", VC_T_INT, .key = "chassis_nr", .flags = VC_F_REQUIRED, .min = 1,
          .max = 255),
    FIELD("shpc", VC_T_BOOL, .key = "shpc"),
    PCI_ADDR,
    RESERVE_FIELDS,
    NO_ROMFILE,
};
KIND_CHECK("pci-bridge", "pci-bridge: a conventional PCI bridge", pci_bridge_opts,
           pci_bridge_fields, vc__check_reserve);

static const vc_opt_t pvpanic_opts[] = {{"-device", VC_OPT_KV, "pvpanic"}};
static const vc_field_t pvpanic_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID),
};
KIND("pvpanic", "pvpanic: guest panic notification (ISA)", pvpanic_opts, pvpanic_fields);

static const vc_opt_t pvpanic_pci_opts[] = {{"-device", VC_OPT_KV, "pvpanic-pci"}};
static const vc_field_t pvpanic_pci_fields[] = {
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID),
    FIELD("bus", VC_T_ID, .key = "bus", .doc = "parent PCI bus"),
    PCI_ADDR,
};
KIND("pvpanic-pci", "pvpanic-pci: guest panic notification (PCI)", pvpanic_pci_opts,
     pvpanic_pci_fields);

static const vc_opt_t global_opts[] = {{"-global", VC_OPT_RAW, NULL}};
static const vc_field_t global_fields[] = {
    FIELD("value", VC_T_STR, .key = "", .flags = VC_F_REQUIRED,
          .doc = "driver.property=value (kvm-pit.lost_tick_policy=discard)"),
};
KIND("global", "-global: a default for a device property", global_opts, global_fields);

static const vc_opt_t uuid_opts[] = {{"-uuid", VC_OPT_RAW, NULL}};
static const vc_field_t uuid_fields[] = {
    FIELD("uuid", VC_T_STR, .key = "", .flags = VC_F_REQUIRED, .doc = "the machine's UUID"),
};
/* QEMU parses 8-4-4-4-12 hex digits, either case, and nothing else (no
 * braces, no spaces, not the 32 digits alone). */
static int check_uuid(const vc_dev_t *d, vc_error_t *err)
{
    const char *u = vc_dev_get(d, "uuid");
    static const size_t groups[] = {8, 4, 4, 4, 12};
    int ok = strlen(u) == 36;
    for (size_t i = 0, at = 0; ok && i < N(groups); at += groups[i++] + 1)
        ok = hex_digits(u + at, groups[i]) && (i + 1 == N(groups) || u[at + groups[i]] == '-');
    if (!ok)
        return vc_dev_error(d, "uuid", err,
                            "\"%s\" is not a UUID like 5e1f7a2c-0b8d-4c3e-9f61-2a7d3c4b5e6f "
                            "(8-4-4-4-12 hex digits)",
                            u);
    return 0;
}
KIND_CHECK("uuid", "-uuid: the machine's UUID", uuid_opts, uuid_fields, check_uuid);

static const char *const rtc_clocks[] = {"host", "rt", "vm", NULL};
static const char *const rtc_driftfixes[] = {"none", "slew", NULL};
static const vc_opt_t rtc_opts[] = {{"-rtc", VC_OPT_KV, NULL}};
static const vc_field_t rtc_fields[] = {
    FIELD("base", VC_T_STR, .key = "base", .doc = "utc, localtime or a date"),
    FIELD("clock", VC_T_ENUM, .key = "clock", .values = rtc_clocks),
    FIELD("driftfix", VC_T_ENUM, .key = "driftfix", .values = rtc_driftfixes),
};
KIND("rtc", "-rtc: the real-time clock", rtc_opts, rtc_fields);

static const char *const vga_types[] = {"std", "cirrus", "vmware", "qxl", "virtio", "none", NULL};
static const vc_opt_t vga_opts[] = {{"-vga", VC_OPT_RAW, NULL}};
static const vc_field_t vga_fields[] = {
    FIELD("type", VC_T_ENUM, .key = "", .flags = VC_F_REQUIRED, .values = vga_types),
};
KIND("vga", "-vga: the display adapter", vga_opts, vga_fields);

const vc_kind_t *const vc__kinds_base[] = {
    &kind_name_fields,
    &kind_machine_fields,
    &kind_cpu_fields,
    &kind_smp_fields,
    &kind_memory_fields,
    &kind_kernel_fields,
    &kind_chardev_fields,
    &kind_mon_fields,
    &kind_serial_fields,
    &kind_pidfile_fields,
    &kind_flags_fields,
    &kind_virtio_rng_fields,
    &kind_virtio_rng_builtin_fields,
    &kind_virtio_balloon_fields,
    &kind_virtio_blk_fields,
    &kind_virtio_serial_fields,
    &kind_virtconsole,
    &kind_virtserialport,
    &kind_vhost_vsock_fields,
    &kind_virtio_9p_fields,
    &kind_virtio_scsi_fields,
    &kind_iothread_fields,
    &kind_pcie_root_port_fields,
    &kind_pci_bridge_fields,
    &kind_pvpanic_fields,
    &kind_pvpanic_pci_fields,
    &kind_global_fields,
    &kind_uuid_fields,
    &kind_rtc_fields,
    &kind_vga_fields,
    NULL,
};
