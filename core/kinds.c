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

static const vc_opt_t name_opts[] = {{"-name", VC_OPT_KV, NULL}};
static const vc_field_t name_fields[] = {
    F("name", VC_T_STR, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0, "guest name"),
    F("debug_threads", VC_T_BOOL, 0, NULL, NULL, 0, 0, "debug-threads", 0, "name QEMU threads"),
};
KIND("name", "-name: the guest's name", name_opts, name_fields);

static const vc_opt_t machine_opts[] = {{"-machine", VC_OPT_KV, NULL}};
static const vc_field_t machine_fields[] = {
    F("type", VC_T_STR, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0, "machine type (q35, microvm, ...)"),
    F("accel", VC_T_ENUM, 0, NULL, accels, 0, 0, "accel", 0, "accelerator"),
    F("gic_version", VC_T_ENUM, 0, NULL, gic_versions, 0, 0, "gic-version", 0,
      "arm virt: interrupt controller"),
    F("kernel_irqchip", VC_T_ENUM, 0, NULL, irqchips, 0, 0, "kernel-irqchip", 0, NULL),
    F("nvdimm", VC_T_BOOL, 0, NULL, NULL, 0, 0, "nvdimm", 0, "enable NVDIMM support (pc, q35)"),
    F("smm", VC_T_BOOL, 0, NULL, NULL, 0, 0, "smm", 0, "x86 system management mode"),
    F("usb", VC_T_BOOL, 0, NULL, NULL, 0, 0, "usb", 0, NULL),
    F("dump_guest_core", VC_T_BOOL, 0, NULL, NULL, 0, 0, "dump-guest-core", 0, NULL),
    F("memory_backend", VC_T_ID, 0, NULL, NULL, 0, 0, "memory-backend", 0,
      "id of the memory backend object for boot memory"),
    F("confidential_guest_support", VC_T_ID, 0, NULL, NULL, 0, 0, "confidential-guest-support", 0,
      "id of a sev/tdx/s390-pv/pef guest object"),
    F("cap_htm", VC_T_BOOL, 0, NULL, NULL, 0, 0, "cap-htm", 0, "pseries: transactional memory"),
    F("cap_cfpc", VC_T_ENUM, 0, NULL, spapr_caps, 0, 0, "cap-cfpc", 0, "pseries"),
    F("cap_sbbc", VC_T_ENUM, 0, NULL, spapr_caps, 0, 0, "cap-sbbc", 0, "pseries"),
    F("cap_ibs", VC_T_ENUM, 0, NULL, spapr_ibs, 0, 0, "cap-ibs", 0, "pseries"),
    F("cap_large_decr", VC_T_BOOL, 0, NULL, NULL, 0, 0, "cap-large-decr", 0, "pseries"),
    F("cap_ccf_assist", VC_T_BOOL, 0, NULL, NULL, 0, 0, "cap-ccf-assist", 0, "pseries"),
};
KIND("machine", "-machine: machine type and accelerator", machine_opts, machine_fields);

static const vc_opt_t cpu_opts[] = {{"-cpu", VC_OPT_KV, NULL}};
static const vc_field_t cpu_fields[] = {
    F("model", VC_T_STR, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0, "CPU model (host, max, ...)"),
};
KIND("cpu", "-cpu: the CPU model", cpu_opts, cpu_fields);

static const vc_opt_t smp_opts[] = {{"-smp", VC_OPT_KV, NULL}};
static const vc_field_t smp_fields[] = {
    F("cpus", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 1, 4096, "", 0, "vCPUs at boot"),
    F("sockets", VC_T_INT, 0, NULL, NULL, 1, 4096, "sockets", 0, NULL),
    F("cores", VC_T_INT, 0, NULL, NULL, 1, 4096, "cores", 0, NULL),
    F("threads", VC_T_INT, 0, NULL, NULL, 1, 4096, "threads", 0, NULL),
    F("maxcpus", VC_T_INT, 0, NULL, NULL, 1, 4096, "maxcpus", 0, "vCPU hotplug limit"),
};
KIND("smp", "-smp: vCPU count and topology", smp_opts, smp_fields);

static const vc_opt_t memory_opts[] = {{"-m", VC_OPT_KV, NULL}};
static const vc_field_t memory_fields[] = {
    F("size", VC_T_SIZE, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0, "boot memory"),
    F("slots", VC_T_INT, 0, NULL, NULL, 0, 256, "slots", 0, "hotplug slots"),
    F("maxmem", VC_T_SIZE, 0, NULL, NULL, 0, 0, "maxmem", 0, "hotplug limit"),
};
KIND("memory", "-m: memory size, hotplug slots and limit", memory_opts, memory_fields);

static const vc_opt_t kernel_opts[] = {
    {"-kernel", VC_OPT_RAW, NULL}, {"-initrd", VC_OPT_RAW, NULL}, {"-append", VC_OPT_RAW, NULL}};
static const vc_field_t kernel_fields[] = {
    F("path", VC_T_PATH, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0, "kernel image"),
    F("initrd", VC_T_PATH, 0, NULL, NULL, 0, 0, "", 1, "initial ramdisk"),
    F("append", VC_T_STR, 0, NULL, NULL, 0, 0, "", 2, "kernel command line"),
};
KIND("kernel", "-kernel/-initrd/-append: direct kernel boot", kernel_opts, kernel_fields);

static const vc_opt_t chardev_opts[] = {{"-chardev", VC_OPT_KV, NULL}};
static const vc_field_t chardev_fields[] = {
    F("backend", VC_T_ENUM, VC_F_REQUIRED, NULL, chardev_backends, 0, 0, "", 0, NULL),
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0, NULL),
    F("path", VC_T_PATH, 0, NULL, NULL, 0, 0, "path", 0, "socket, pipe or file path"),
    F("fd", VC_T_INT, 0, NULL, NULL, 3, 65535, "fd", 0, "an fd handed to QEMU"),
    F("server", VC_T_BOOL, 0, NULL, NULL, 0, 0, "server", 0, NULL),
    F("wait", VC_T_BOOL, 0, NULL, NULL, 0, 0, "wait", 0, NULL),
    F("logfile", VC_T_PATH, 0, NULL, NULL, 0, 0, "logfile", 0, NULL),
};
KIND("chardev", "-chardev: a character device backend", chardev_opts, chardev_fields);

static const vc_opt_t mon_opts[] = {{"-mon", VC_OPT_KV, NULL}};
static const vc_field_t mon_fields[] = {
    F("chardev", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "chardev", 0, NULL),
    F("mode", VC_T_ENUM, 0, "control", mon_modes, 0, 0, "mode", 0, NULL),
};
KIND("mon", "-mon: a monitor on a chardev (QMP with mode=control)", mon_opts, mon_fields);

static const vc_opt_t serial_opts[] = {{"-serial", VC_OPT_RAW, "chardev:"}};
static const vc_field_t serial_fields[] = {
    F("chardev", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0, NULL),
};
KIND("serial", "-serial chardev:ID: the legacy serial port", serial_opts, serial_fields);

static const vc_opt_t pidfile_opts[] = {{"-pidfile", VC_OPT_RAW, NULL}};
static const vc_field_t pidfile_fields[] = {
    F("path", VC_T_PATH, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0, NULL),
};
KIND("pidfile", "-pidfile: where QEMU writes its pid", pidfile_opts, pidfile_fields);

static const vc_opt_t flags_opts[] = {
    {"-nodefaults", VC_OPT_FLAG, NULL}, {"-no-user-config", VC_OPT_FLAG, NULL},
    {"-nographic", VC_OPT_FLAG, NULL},  {"-no-reboot", VC_OPT_FLAG, NULL},
    {"-S", VC_OPT_FLAG, NULL},
};
static const vc_field_t flags_fields[] = {
    F("nodefaults", VC_T_BOOL, 0, NULL, NULL, 0, 0, "", 0, "no default devices"),
    F("no_user_config", VC_T_BOOL, 0, NULL, NULL, 0, 0, "", 1, "ignore user config files"),
    F("nographic", VC_T_BOOL, 0, NULL, NULL, 0, 0, "", 2, "no display"),
    F("no_reboot", VC_T_BOOL, 0, NULL, NULL, 0, 0, "", 3, "exit instead of rebooting"),
    F("freeze", VC_T_BOOL, 0, NULL, NULL, 0, 0, "", 4, "start with vCPUs stopped (-S)"),
};
KIND("flags", "standalone QEMU flags", flags_opts, flags_fields);

/* ---- devices ---- */

const char *const vc__transports[] = {"pci", "ccw", "mmio", NULL};

/* The virtio-rng device's own fields, after its backend's. */
#define RNG_DEVICE_FIELDS                                                                          \
    F("max_bytes", VC_T_INT, 0, NULL, NULL, 1, LLONG_MAX, "max-bytes", 1,                          \
      "bytes the guest may read per period"),                                                      \
        F("period", VC_T_INT, 0, NULL, NULL, 1, 4294967295LL, "period", 1,                         \
          "rate-limit period (ms)"),                                                               \
        TRANSPORT, BUS(1), ADDR(1), ROMFILE(1), DEVNO(1), IOMMU_PLATFORM(1)

static const vc_opt_t virtio_rng_opts[] = {{"-object", VC_OPT_KV, "rng-random"},
                                           {"-device", VC_OPT_KV, "virtio-rng-%t"}};
static const vc_field_t virtio_rng_fields[] = {
    ID_LINK("id", 0, "rng", 1, "id of the rng-random object the device reads"),
    F("filename", VC_T_PATH, 0, NULL, NULL, 0, 0, "filename", 0, "entropy source (/dev/urandom)"),
    RNG_DEVICE_FIELDS,
};
KIND("virtio-rng", "virtio-rng: an entropy source for the guest, read from a host file",
     virtio_rng_opts, virtio_rng_fields);

static const vc_opt_t virtio_rng_builtin_opts[] = {{"-object", VC_OPT_KV, "rng-builtin"},
                                                   {"-device", VC_OPT_KV, "virtio-rng-%t"}};
static const vc_field_t virtio_rng_builtin_fields[] = {
    ID_LINK("id", 0, "rng", 1, "id of the rng-builtin object the device reads"),
    RNG_DEVICE_FIELDS,
};
KIND("virtio-rng-builtin",
     "virtio-rng-builtin: an entropy source for the guest, from QEMU's own generator "
     "(getrandom)",
     virtio_rng_builtin_opts, virtio_rng_builtin_fields);

static const vc_opt_t virtio_balloon_opts[] = {{"-device", VC_OPT_KV, "virtio-balloon-%t"}};
static const vc_field_t virtio_balloon_fields[] = {
    F("id", VC_T_ID, 0, NULL, NULL, 0, 0, "id", 0, NULL),
    F("deflate_on_oom", VC_T_BOOL, 0, NULL, NULL, 0, 0, "deflate-on-oom", 0,
      "give memory back when the guest runs out"),
    F("free_page_reporting", VC_T_BOOL, 0, NULL, NULL, 0, 0, "free-page-reporting", 0,
      "the guest reports free pages"),
    VIRTIO_PLACEMENT(0),
    DISABLE_MODERN(0),
};
KIND("virtio-balloon", "virtio-balloon: guest memory ballooning", virtio_balloon_opts,
     virtio_balloon_fields);

const char *const vc__drive_formats[] = {"raw", "qcow2", NULL};
const char *const vc__drive_aios[] = {"threads", "native", "io_uring", NULL};
static const vc_opt_t virtio_blk_opts[] = {{"-drive", VC_OPT_KV, "if=none"},
                                           {"-device", VC_OPT_KV, "virtio-blk-%t"}};
static const vc_field_t virtio_blk_fields[] = {
    DRIVE_FIELDS(NULL),
    F("discard", VC_T_BOOL, 0, NULL, NULL, 0, 0, "discard", 1, "the guest may discard"),
    F("serial", VC_T_STR, 0, NULL, NULL, 0, 0, "serial", 1, "serial number seen by the guest"),
    F("config_wce", VC_T_BOOL, 0, NULL, NULL, 0, 0, "config-wce", 1,
      "the guest may toggle the write cache"),
    F("share_rw", VC_T_BOOL, 0, NULL, NULL, 0, 0, "share-rw", 1, "allow shared writers"),
    VIRTIO_PLACEMENT(1),
    DISABLE_MODERN(1),
    ROMFILE(1),
    DEVICE_ID(1),
};
KIND("virtio-blk", "virtio-blk: a disk image as a virtio block device", virtio_blk_opts,
     virtio_blk_fields);

static const vc_opt_t virtio_serial_opts[] = {{"-device", VC_OPT_KV, "virtio-serial-%t"}};
static const vc_field_t virtio_serial_fields[] = {
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0, "ports attach to bus <id>.0"),
    F("max_ports", VC_T_INT, 0, NULL, NULL, 1, 31, "max_ports", 0, NULL),
    VIRTIO_PLACEMENT(0),
    DISABLE_MODERN(0),
};
KIND("virtio-serial", "virtio-serial: a controller for virtconsole/virtserialport",
     virtio_serial_opts, virtio_serial_fields);

static const vc_field_t serial_port_fields[] = {
    F("chardev", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "chardev", 0, "backend chardev"),
    F("id", VC_T_ID, 0, NULL, NULL, 0, 0, "id", 0, NULL),
    F("name", VC_T_STR, 0, NULL, NULL, 0, 0, "name", 0, "port name seen by the guest"),
    F("bus", VC_T_ID, 0, NULL, NULL, 0, 0, "bus", 0, "virtio-serial bus (serial0.0)"),
};
static const vc_opt_t virtconsole_opts[] = {{"-device", VC_OPT_KV, "virtconsole"}};
KIND_NAMED(kind_virtconsole, "virtconsole", "virtconsole: a console port on virtio-serial",
           virtconsole_opts, serial_port_fields, NULL);
static const vc_opt_t virtserialport_opts[] = {{"-device", VC_OPT_KV, "virtserialport"}};
KIND_NAMED(kind_virtserialport, "virtserialport", "virtserialport: a named port on virtio-serial",
           virtserialport_opts, serial_port_fields, NULL);

static const vc_opt_t vhost_vsock_opts[] = {{"-device", VC_OPT_KV, "vhost-vsock-%t"}};
static const vc_field_t vhost_vsock_fields[] = {
    F("id", VC_T_ID, 0, NULL, NULL, 0, 0, "id", 0, NULL),
    F("guest_cid", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 3, 4294967295LL, "guest-cid", 0,
      "the guest's vsock address"),
    F("vhostfd", VC_T_INT, 0, NULL, NULL, 3, INT_MAX, "vhostfd", 0,
      "an open /dev/vhost-vsock handed to QEMU"),
    VIRTIO_PLACEMENT(0),
    DISABLE_MODERN(0),
};
KIND("vhost-vsock", "vhost-vsock: host<->guest sockets", vhost_vsock_opts, vhost_vsock_fields);

static const char *const security_models[] = {"none", "passthrough", "mapped-xattr", "mapped-file",
                                              NULL};
static const char *const multidevs_modes[] = {"remap", "forbid", "warn", NULL};
static const vc_opt_t virtio_9p_opts[] = {{"-fsdev", VC_OPT_KV, "local"},
                                          {"-device", VC_OPT_KV, "virtio-9p-%t"}};
static const vc_field_t virtio_9p_fields[] = {
    ID_LINK("id", 0, "fsdev", 1, "id of the fsdev the device exports"),
    F("path", VC_T_PATH, VC_F_REQUIRED, NULL, NULL, 0, 0, "path", 0, "host directory"),
    F("security_model", VC_T_ENUM, 0, "none", security_models, 0, 0, "security_model", 0, NULL),
    F("multidevs", VC_T_ENUM, 0, NULL, multidevs_modes, 0, 0, "multidevs", 0, NULL),
    F("readonly", VC_T_BOOL, 0, NULL, NULL, 0, 0, "readonly", 0, NULL),
    F("mount_tag", VC_T_STR, VC_F_REQUIRED, NULL, NULL, 0, 0, "mount_tag", 1,
      "tag the guest mounts"),
    VIRTIO_PLACEMENT(1),
};
KIND("virtio-9p", "virtio-9p: a host directory shared over 9p", virtio_9p_opts, virtio_9p_fields);

static const vc_opt_t virtio_scsi_opts[] = {{"-device", VC_OPT_KV, "virtio-scsi-%t"}};
static const vc_field_t virtio_scsi_fields[] = {
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0, NULL),
    F("iothread", VC_T_ID, 0, NULL, NULL, 0, 0, "iothread", 0, "iothread object id"),
    F("num_queues", VC_T_INT, 0, NULL, NULL, 1, 1024, "num_queues", 0, NULL),
    VIRTIO_PLACEMENT(0),
    DISABLE_MODERN(0),
};
KIND("virtio-scsi", "virtio-scsi: a SCSI controller", virtio_scsi_opts, virtio_scsi_fields);

static const vc_opt_t iothread_opts[] = {{"-object", VC_OPT_KV, "iothread"}};
static const vc_field_t iothread_fields[] = {
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0, NULL),
};
KIND("iothread", "-object iothread: an I/O thread for devices", iothread_opts, iothread_fields);

static const vc_opt_t pcie_root_port_opts[] = {{"-device", VC_OPT_KV, "pcie-root-port"}};
static const vc_field_t pcie_root_port_fields[] = {
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0, NULL),
    F("bus", VC_T_ID, 0, "pcie.0", NULL, 0, 0, "bus", 0, NULL),
    F("chassis", VC_T_INT, 0, NULL, NULL, 0, 255, "chassis", 0, NULL),
    F("slot", VC_T_INT, 0, NULL, NULL, 0, 65535, "slot", 0, NULL),
    F("addr", VC_T_STR, 0, NULL, NULL, 0, 0, "addr", 0, NULL),
    F("multifunction", VC_T_BOOL, 0, NULL, NULL, 0, 0, "multifunction", 0, NULL),
    F("io_reserve", VC_T_SIZE, 0, NULL, NULL, 0, 0, "io-reserve", 0, NULL),
    F("mem_reserve", VC_T_SIZE, 0, NULL, NULL, 0, 0, "mem-reserve", 0, NULL),
    F("pref64_reserve", VC_T_SIZE, 0, NULL, NULL, 0, 0, "pref64-reserve", 0, NULL),
    F("bus_reserve", VC_T_INT, 0, NULL, NULL, 0, 255, "bus-reserve", 0, NULL),
};
KIND("pcie-root-port", "pcie-root-port: a PCIe port for one (hotplugged) device",
     pcie_root_port_opts, pcie_root_port_fields);

static const vc_opt_t pci_bridge_opts[] = {{"-device", VC_OPT_KV, "pci-bridge"}};
static const vc_field_t pci_bridge_fields[] = {
    F("id", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "id", 0, NULL),
    F("bus", VC_T_ID, VC_F_REQUIRED, NULL, NULL, 0, 0, "bus", 0, NULL),
    F("chassis_nr", VC_T_INT, VC_F_REQUIRED, NULL, NULL, 1, 255, "chassis_nr", 0, NULL),
    F("shpc", VC_T_BOOL, 0, NULL, NULL, 0, 0, "shpc", 0, NULL),
    F("addr", VC_T_STR, 0, NULL, NULL, 0, 0, "addr", 0, NULL),
};
KIND("pci-bridge", "pci-bridge: a conventional PCI bridge", pci_bridge_opts, pci_bridge_fields);

static const vc_opt_t pvpanic_opts[] = {{"-device", VC_OPT_KV, "pvpanic"}};
static const vc_field_t pvpanic_fields[] = {
    F("id", VC_T_ID, 0, NULL, NULL, 0, 0, "id", 0, NULL),
};
KIND("pvpanic", "pvpanic: guest panic notification (ISA)", pvpanic_opts, pvpanic_fields);

static const vc_opt_t global_opts[] = {{"-global", VC_OPT_RAW, NULL}};
static const vc_field_t global_fields[] = {
    F("value", VC_T_STR, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0,
      "driver.property=value (kvm-pit.lost_tick_policy=discard)"),
};
KIND("global", "-global: a default for a device property", global_opts, global_fields);

static const vc_opt_t uuid_opts[] = {{"-uuid", VC_OPT_RAW, NULL}};
static const vc_field_t uuid_fields[] = {
    F("uuid", VC_T_STR, VC_F_REQUIRED, NULL, NULL, 0, 0, "", 0, "the machine's UUID"),
};
KIND("uuid", "-uuid: the machine's UUID", uuid_opts, uuid_fields);

static const char *const rtc_clocks[] = {"host", "rt", "vm", NULL};
static const char *const rtc_driftfixes[] = {"none", "slew", NULL};
static const vc_opt_t rtc_opts[] = {{"-rtc", VC_OPT_KV, NULL}};
static const vc_field_t rtc_fields[] = {
    F("base", VC_T_STR, 0, NULL, NULL, 0, 0, "base", 0, "utc, localtime or a date"),
    F("clock", VC_T_ENUM, 0, NULL, rtc_clocks, 0, 0, "clock", 0, NULL),
    F("driftfix", VC_T_ENUM, 0, NULL, rtc_driftfixes, 0, 0, "driftfix", 0, NULL),
};
KIND("rtc", "-rtc: the real-time clock", rtc_opts, rtc_fields);

static const char *const vga_types[] = {"std", "cirrus", "vmware", "qxl", "virtio", "none", NULL};
static const vc_opt_t vga_opts[] = {{"-vga", VC_OPT_RAW, NULL}};
static const vc_field_t vga_fields[] = {
    F("type", VC_T_ENUM, VC_F_REQUIRED, NULL, vga_types, 0, 0, "", 0, NULL),
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
    &kind_global_fields,
    &kind_uuid_fields,
    &kind_rtc_fields,
    &kind_vga_fields,
    NULL,
};
