/* The device kinds, one table each. Adding a kind means adding its options
 * and fields here and its name to vc__kinds. */
#include "kind.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* A field in the common case: lands in one option under one key. */
#define F(name_, type_, flags_, def_, values_, min_, max_, key_, opt_, doc_)                       \
    {                                                                                              \
        .name = name_, .type = type_, .flags = flags_, .def = def_, .values = values_,             \
        .min = min_, .max = max_, .key = key_, .opt = opt_, .doc = doc_                            \
    }
#define KIND(name_, doc_, opts_, fields_)                                                          \
    static const vc_kind_t kind_##fields_ = {name_, doc_, opts_, N(opts_), fields_, N(fields_)}

static const char *const accels[] = {"kvm", "tcg", NULL};
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

const vc_kind_t *const vc__kinds[] = {
    &kind_name_fields,   &kind_machine_fields, &kind_cpu_fields,     &kind_smp_fields,
    &kind_memory_fields, &kind_kernel_fields,  &kind_chardev_fields, &kind_mon_fields,
    &kind_serial_fields, &kind_pidfile_fields, &kind_flags_fields,   NULL,
};
