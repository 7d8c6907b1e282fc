/* Device kinds: golden argv for each boot kind, validation errors with
 * their messages, and real QEMU accepting the emitted argv (the guest name,
 * holding a comma, is read back through QMP). */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kind.h"
#include "kindtest.h"
#include "proc.h"
#include "rundir.h"
#include "test.h"

static void test_golden(void)
{
    GOLDEN("name", "-name vm,,1,debug-threads=on", {"name", "vm,1"}, {"debug_threads", "true"});
    GOLDEN("machine", "-machine q35,accel=tcg", {"type", "q35"}, {"accel", "tcg"});
    /* govmm's microvm knobs; QEMU 7.2 has them on every x86 machine */
    GOLDEN("machine", "-machine microvm,accel=kvm,pic=off,pit=off", {"type", "microvm"},
           {"accel", "kvm"}, {"pic", "off"}, {"pit", "off"});
    GOLDEN("machine", "-machine pc,pit=auto", {"type", "pc"}, {"pit", "auto"});
    GOLDEN("cpu", "-cpu max", {"model", "max"});
    GOLDEN("smp", "-smp 2,sockets=4,cores=1,threads=1,maxcpus=4", {"cpus", "2"}, {"sockets", "4"},
           {"cores", "1"}, {"threads", "1"}, {"maxcpus", "4"});
    GOLDEN("memory", "-m 512M,slots=2,maxmem=4G", {"size", "512m"}, {"slots", "2"},
           {"maxmem", "4G"});
    GOLDEN("kernel", "-kernel /k,x -initrd /i -append 'console=ttyS0 a=b,c'", {"path", "/k,x"},
           {"initrd", "/i"}, {"append", "console=ttyS0 a=b,c"});
    GOLDEN("chardev", "-chardev socket,id=qmp,fd=3,server=on,wait=off", {"backend", "socket"},
           {"id", "qmp"}, {"fd", "3"}, {"server", "on"}, {"wait", "off"});
    GOLDEN("chardev", "-chardev file,id=c1,path=/a,,b", {"backend", "file"}, {"id", "c1"},
           {"path", "/a,b"});
    GOLDEN("mon", "-mon chardev=qmp,mode=control", {"chardev", "qmp"});
    GOLDEN("serial", "-serial chardev:con0", {"chardev", "con0"});
    GOLDEN("pidfile", "-pidfile /run/x/pid", {"path", "/run/x/pid"});
    GOLDEN("flags", "-nodefaults -no-user-config -nographic", {"nodefaults", "on"},
           {"no_user_config", "on"}, {"nographic", "on"}, {"no_reboot", "off"});
}

static void test_rejects(void)
{
    REJECT("machine", "machine: field 'accel': \"hvf\" is not one of: kvm, tcg", {"type", "q35"},
           {"accel", "hvf"});
    REJECT("machine", "machine: field 'type': is required", {"accel", "tcg"});
    REJECT("machine", "machine: field 'pic': \"no\" is not one of: on, off, auto",
           {"type", "microvm"}, {"pic", "no"});
    REJECT("smp", "smp: field 'cpus': 0 is out of range (1 to 4096)", {"cpus", "0"});
    REJECT("smp", "smp: field 'cpus': expected an integer, got \"two\"", {"cpus", "two"});
    REJECT("memory", "memory: field 'size': size \"0\" is not positive", {"size", "0"});
    REJECT("memory", "memory: field 'size': size \"00G\" is not positive", {"size", "00G"});
    REJECT("memory", "memory: field 'size': expected a size like 512M or 2G or bytes, got \"1X\"",
           {"size", "1X"});
    REJECT("chardev", "chardev 'c1': field 'path': holds a control character (0x0a)", {"id", "c1"},
           {"backend", "file"}, {"path", "/a\nb"});
    REJECT("chardev", "chardev: field 'id': id '9x' must start with a letter", {"id", "9x"});
    REJECT("chardev", "chardev 'c1': field 'fd': 2 is out of range (3 to 65535)", {"id", "c1"},
           {"fd", "2"});
    REJECT("chardev", "chardev 'c0': field 'path': is required with backend socket (or fd)",
           {"id", "c0"}, {"backend", "socket"}, {"server", "on"});
    REJECT("chardev", "chardev 'c0': field 'fd': excludes 'path': set only one", {"id", "c0"},
           {"backend", "socket"}, {"path", "/run/c0.sock"}, {"fd", "3"});
    REJECT("chardev", "chardev 'c0': field 'path': is required with backend file", {"id", "c0"},
           {"backend", "file"});
    REJECT("chardev", "chardev 'c0': field 'path': is required with backend pipe", {"id", "c0"},
           {"backend", "pipe"}, {"fd", "3"});
    GOLDEN("chardev", "-chardev socket,id=c0,path=/run/c0.sock,server=on,wait=off",
           {"backend", "socket"}, {"id", "c0"}, {"path", "/run/c0.sock"}, {"server", "on"},
           {"wait", "off"});
    GOLDEN("chardev", "-chardev pty,id=c0", {"backend", "pty"}, {"id", "c0"});
    REJECT("flags", "flags: field 'nographic': expected a boolean, got \"yes\"",
           {"nographic", "yes"});
    REJECT("kernel", "kernel: field 'append': holds a control character (0x0a)", {"path", "/k"},
           {"append", "a\nb"});
}

static void test_lookup_and_suggest(void)
{
    ASSERT(vc_kind_find("memory") != NULL);
    ASSERT(vc_kind_find("memroy") == NULL);
    ASSERT_STR_EQ(vc_kind_suggest_kind("memroy"), "memory");
    const vc_kind_t *k = vc_kind_find("smp");
    ASSERT_STR_EQ(vc_kind_suggest(k, "maxcpu"), "maxcpus");
    ASSERT(vc_kind_suggest(k, "completely-different") == NULL);
    ASSERT_INT_EQ(vc_kind_field(k, "cores"), 2);

    /* Ties go to the longest shared start, whatever the order of the names
     * (a pod's field names come from a Lua table) */
    const char *pod[] = {"cpu",        "vcpus",        "max_vcpus", "memory",
                         "max_memory", "memory_slots", "uuid"};
    const char *rev[] = {"uuid",      "memory_slots", "max_memory", "memory",
                         "max_vcpus", "vcpus",        "cpu"};
    size_t npod = sizeof pod / sizeof pod[0];
    for (int r = 0; r < 2; r++) {
        const char *const *names = r ? rev : pod;
        ASSERT_STR_EQ(vc_suggest("vcpu", names, npod), "vcpus"); /* not cpu */
        ASSERT_STR_EQ(vc_suggest("VCPU", names, npod), "vcpus"); /* case is ignored */
        ASSERT_STR_EQ(vc_suggest("cpus", names, npod), "cpu");   /* not vcpus */
        ASSERT_STR_EQ(vc_suggest("memroy", names, npod), "memory");
        ASSERT_STR_EQ(vc_suggest("max_vcpu", names, npod), "max_vcpus");
        ASSERT_STR_EQ(vc_suggest("memory_slot", names, npod), "memory_slots");
        ASSERT_STR_EQ(vc_suggest("uid", names, npod), "uuid");
        ASSERT(vc_suggest("zzz", names, npod) == NULL);
    }
    /* the distance still comes first, and its limits stay */
    const char *near_far[] = {"abcdxy", "abcde"};
    ASSERT_STR_EQ(vc_suggest("abcd", near_far, 2), "abcde");
    const char *three[] = {"abcdefghijk"};
    ASSERT_STR_EQ(vc_suggest("abcdefgh", three, 1), "abcdefghijk"); /* 3 edits */
    const char *four[] = {"abcdefghijkl"};
    ASSERT(vc_suggest("abcdefgh", four, 1) == NULL); /* 4 edits */
    const char *half[] = {"abcd"};
    ASSERT(vc_suggest("ab", half, 1) == NULL); /* 2 edits: not fewer than half of 2 */
    ASSERT_STR_EQ(vc_suggest("abc", half, 1), "abcd");
    ASSERT_INT_EQ(vc_kind_field(k, "nope"), -1);
    vc_error_t err = {0};
    vc_dev_t *d;
    ASSERT_INT_EQ(vc_dev_new(k, &d, &err), 0);
    ASSERT_INT_EQ(vc_dev_set_bool(d, 0, 1, &err), VC_ERECIPE);
    ASSERT_STR_EQ(err.msg, "smp: field 'cpus': expected an integer, got a boolean");
    vc_dev_free(d);
}

/* A device error carries what its message names as data: the kind, the
 * device id when known, the kind field (pointing into the table). */
static void test_error_fields(void)
{
    vc_error_t err = {0};
    vc_dev_t *d = NULL;
    kv_t fd[] = {{"id", "c1"}, {"backend", "socket"}, {"fd", "2"}, {NULL, NULL}};
    ASSERT_INT_EQ(vc_test_build_device("chardev", fd, &d, &err), VC_ERECIPE);
    ASSERT_STR_EQ(err.msg, "chardev 'c1': field 'fd': 2 is out of range (3 to 65535)");
    const vc_kind_t *k = vc_kind_find("chardev");
    ASSERT(err.device == k->name);
    ASSERT(err.field == k->fields[vc_kind_field(k, "fd")].name);
    ASSERT_STR_EQ(err.id, "c1");

    /* required, found by finish; no id yet */
    kv_t tag[] = {{"path", "/srv"}, {NULL, NULL}};
    ASSERT_INT_EQ(vc_test_build_device("virtio-9p", tag, &d, &err), VC_ERECIPE);
    ASSERT_STR_EQ(err.msg, "virtio-9p: field 'id': is required");
    ASSERT_STR_EQ(err.device, "virtio-9p");
    ASSERT_STR_EQ(err.field, "id");
    ASSERT_STR_EQ(err.id, "");

    /* a kind check about the device as a whole: no field */
    kv_t tap[] = {{"id", "tap0"}, {NULL, NULL}};
    ASSERT_INT_EQ(vc_test_build_device("virtio-net-tap", tap, &d, &err), VC_ERECIPE);
    ASSERT_STR_CONTAINS(err.msg, "virtio-net-tap 'tap0': exactly one of 'ifname' and 'fds'");
    ASSERT_STR_EQ(err.device, "virtio-net-tap");
    ASSERT(err.field == NULL);
    ASSERT_STR_EQ(err.id, "tap0");

    /* a kind check about one field */
    kv_t mac[] = {{"id", "n0"}, {"mac", "01:00:00:00:00"}, {NULL, NULL}};
    ASSERT_INT_EQ(vc_test_build_device("virtio-net-user", mac, &d, &err), VC_ERECIPE);
    ASSERT_STR_EQ(err.field, "mac");

    /* any other error clears them */
    vc_error_set(&err, -EINVAL, "not about a device");
    ASSERT(err.device == NULL && err.field == NULL);
    ASSERT_STR_EQ(err.id, "");
}

/* The id role is declared per field; it must agree with what the field
 * emits: a field defines an id exactly when its value lands as "id=" in one
 * of the kind's options (the device's own, or its backend's or object's). */
static void test_id_roles(void)
{
    size_t defining = 0;
    for (const vc_kind_t *const *kp = vc_kinds(); *kp; kp++) {
        const vc_kind_t *k = *kp;
        for (size_t i = 0; i < k->nfields; i++) {
            const vc_field_t *f = &k->fields[i];
            int defines = (f->flags & VC_F_DEFINES_ID) != 0;
            int emits_id = f->key && strcmp(f->key, "id") == 0;
            if (defines != emits_id)
                VC_FAIL("%s.%s: defines an id %s, emitted as id= %s", k->name, f->name,
                        defines ? "yes" : "no", emits_id ? "yes" : "no");
            if (defines && f->type != VC_T_ID)
                VC_FAIL("%s.%s defines an id but is not of type id", k->name, f->name);
            defining += defines;
        }
    }
    ASSERT_INT_GE(defining, 40);
    struct {
        const char *kind, *field;
        int defines;
    } roles[] = {
        {"nvdimm", "memdev", 1},    /* its own memory-backend-file object */
        {"nvdimm", "id", 1},        /* the nvdimm device */
        {"numa-node", "memdev", 0}, /* names another object */
        {"virtserialport", "chardev", 0},
        {"virtserialport", "id", 1},
        {"vhost-user-blk", "chardev", 1}, /* its own socket chardev */
        {"virtio-scsi", "iothread", 0},
        {"pcie-root-port", "bus", 0},
        {"machine", "memory_backend", 0},
        {"mon", "chardev", 0},
        {"virtio-9p", "id", 1}, /* the -fsdev */
    };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        const vc_kind_t *k = vc_kind_find(roles[i].kind);
        int f = vc_kind_field(k, roles[i].field);
        ASSERT(f >= 0);
        if (!!(k->fields[f].flags & VC_F_DEFINES_ID) != roles[i].defines)
            VC_FAIL("%s.%s should %sdefine an id", roles[i].kind, roles[i].field,
                    roles[i].defines ? "" : "not ");
    }

    /* vc_dev_ids: the ids a device defines, in field order */
    kv_t vals[] = {{"device_id", "vd0"}, {"id", "d0"},   {"file", "/d"},
                   {"format", "raw"},    {"bus", "rp1"}, {NULL, NULL}};
    vc_error_t err = {0};
    vc_dev_t *d;
    ASSERT_INT_EQ(vc_test_build_device("virtio-blk", vals, &d, &err), 0);
    vc_argv_t ids = VC_ARGV_INIT;
    ASSERT_INT_EQ(vc_dev_ids(d, &ids, &err), 0);
    ASSERT_INT_EQ(ids.n, 2);
    ASSERT_STR_EQ(ids.v[0], "d0");
    ASSERT_STR_EQ(ids.v[1], "vd0");
    vc_argv_free(&ids);
    vc_dev_free(d);
    kv_t numa[] = {{"nodeid", "0"}, {"memdev", "m0"}, {NULL, NULL}};
    ASSERT_INT_EQ(vc_test_build_device("numa-node", numa, &d, &err), 0);
    ASSERT_INT_EQ(vc_dev_ids(d, &ids, &err), 0);
    ASSERT_INT_EQ(ids.n, 0);
    vc_dev_free(d);
}

/* Sets field of a new device of kind to the integer i; returns the stored
 * text, or NULL with err filled. The device is freed on the next call. */
static const char *set_int(const char *kind, const char *field, long long i, vc_error_t *err)
{
    static vc_dev_t *d;
    vc_dev_free(d);
    d = NULL;
    const vc_kind_t *k = vc_kind_find(kind);
    ASSERT_INT_EQ(vc_dev_new(k, &d, err), 0);
    int f = vc_kind_field(k, field);
    ASSERT(f >= 0);
    if (vc_dev_set_int(d, f, i, err)) return NULL;
    return d->v[f].s;
}

/* A PCI addr is read as QEMU reads it: text as slot[.function] in hex, an
 * integer as the slot, written in hex (govmm's Addr "255" gives addr=ff; a
 * slot is at most 1f, which QEMU checks, so 31 gives 1f). Every addr field
 * has the type. */
static void test_pci_addr(void)
{
    vc_error_t err = {0};
    ASSERT_STR_EQ(set_int("virtio-blk", "addr", 16, &err), "10");
    ASSERT_STR_EQ(set_int("virtio-blk", "addr", 0, &err), "0");
    ASSERT_STR_EQ(set_int("pci-bridge", "addr", 31, &err), "1f");
    ASSERT_STR_EQ(set_int("vfio-pci", "addr", 10, &err), "a");
    ASSERT(set_int("virtio-net-user", "addr", 255, &err) == NULL);
    ASSERT_STR_EQ(err.msg, "virtio-net-user: field 'addr': 255 is not a PCI slot (0 to 31); give "
                           "slot.function as text (\"1f.7\")");
    ASSERT(set_int("pcie-root-port", "addr", -1, &err) == NULL);
    ASSERT_STR_CONTAINS(err.msg, "-1 is not a PCI slot (0 to 31)");

    GOLDEN("virtio-rng", "-object rng-random,id=r0 -device virtio-rng-pci,rng=r0,addr=0x1f.7",
           {"id", "r0"}, {"addr", "0x1f.7"});
    GOLDEN("virtio-rng", "-object rng-random,id=r0 -device virtio-rng-pci,rng=r0,addr=06.0",
           {"id", "r0"}, {"addr", "06.0"});
    GOLDEN("virtio-rng", "-object rng-random,id=r0 -device virtio-rng-pci,rng=r0,addr=0X1F",
           {"id", "r0"}, {"addr", "0X1F"});
    const char *bad[] = {"ff", "20", "1f.8", "5.", "-1", " 5", "0x", "g", "", "1.1.1", "0x0x1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[256];
        snprintf(want, sizeof want,
                 "virtio-rng 'r0': field 'addr': \"%s\" is not a PCI address as QEMU reads it: "
                 "slot[.function], slot in hex 0 to 1f, function 0 to 7 (\"0x1f\", \"06.1\"), "
                 "or the slot as an integer",
                 bad[i]);
        REJECT("virtio-rng", want, {"id", "r0"}, {"addr", bad[i]});
    }

    /* every field called addr, bar the loader's guest address, is one */
    size_t n = 0;
    for (const vc_kind_t *const *kp = vc_kinds(); *kp; kp++) {
        int f = vc_kind_field(*kp, "addr");
        if (f < 0 || strcmp((*kp)->name, "loader") == 0) continue;
        if ((*kp)->fields[f].type != VC_T_PCI_ADDR)
            VC_FAIL("%s.addr is not a PCI address", (*kp)->name);
        n++;
    }
    ASSERT_INT_GE(n, 20);
    ASSERT_STR_EQ(vc_type_name(VC_T_PCI_ADDR), "pci-addr");
    ASSERT_STR_EQ(vc_type_phrase(VC_T_PCI_ADDR), "a PCI address");
}

/* A feature list is emitted as it is, so it is checked item by item. */
static void test_features(void)
{
    GOLDEN("cpu", "-cpu max,sse4.2=off,+avx,-avx2,pmu=false,phys-bits=40,hv-relaxed=on",
           {"model", "max"},
           {"features", "sse4.2=off,+avx,-avx2,pmu=false,phys-bits=40,hv-relaxed=on"});
    GOLDEN("cpu", "-cpu Skylake-Server-v4,kvm_pv_unhalt=true", {"model", "Skylake-Server-v4"},
           {"features", "kvm_pv_unhalt=true"});
    const char *empty_item[] = {"sse4.2=off,,avx=on", ",avx=on", "avx=on,"};
    for (size_t i = 0; i < sizeof empty_item / sizeof empty_item[0]; i++) {
        char want[512];
        snprintf(want, sizeof want,
                 "cpu: field 'features': \"%s\" has an empty item: features are separated by "
                 "one comma (QEMU's -cpu parser does not take a doubled comma as a comma)",
                 empty_item[i]);
        REJECT("cpu", want, {"model", "max"}, {"features", empty_item[i]});
    }
    struct {
        const char *list, *item;
    } bad[] = {
        {"avx", "avx"}, /* QEMU reads avx=on: it is written out */
        {"pmu=maybe", "pmu=maybe"},
        {"+", "+"},
        {"+avx=on", "+avx=on"},
        {"a b=on", "a b=on"},
        {"x=on,y=-1", "y=-1"},
        {"=on", "=on"},
        {"avx=", "avx="},
        {"-.x", "-.x"},
        {"sse4.2=off,a=b=c", "a=b=c"},
        {"tsc-frequency=1e9", "tsc-frequency=1e9"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[512];
        snprintf(want, sizeof want,
                 "cpu: field 'features': \"%s\" is not a feature like +name, -name or "
                 "name=on|off|true|false|<integer> (names: letters, digits, '.', '_', '-')",
                 bad[i].item);
        REJECT("cpu", want, {"model", "max"}, {"features", bad[i].list});
    }
    REJECT("cpu", "cpu: field 'features': empty feature list", {"model", "max"}, {"features", ""});
    /* a comma in the model cannot be escaped for -cpu: refused */
    REJECT("cpu",
           "cpu: field 'model': \"max,sse4.2=off\" holds a comma: QEMU's -cpu parser splits at "
           "every comma (doubled or not); give features in 'features'",
           {"model", "max,sse4.2=off"});
    REJECT("cpu", "cpu: field 'model': is empty", {"model", ""});
    ASSERT_STR_EQ(vc_type_name(VC_T_FEATURES), "features");
    vc_error_t err = {0};
    ASSERT(set_int("cpu", "features", 1, &err) == NULL);
    ASSERT_STR_EQ(err.msg, "cpu: field 'features': expected a feature list, got an integer");
}

/* A refused field says why, whatever the value, and is never emitted. */
static void test_refused(void)
{
    const char *kinds[] = {"pci-bridge", "pcie-root-port"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const vc_kind_t *k = vc_kind_find(kinds[i]);
        int f = vc_kind_field(k, "romfile");
        ASSERT(f >= 0);
        ASSERT(k->fields[f].flags & VC_F_REFUSED);
        ASSERT(k->fields[f].key == NULL);
        vc_dev_t *d;
        vc_error_t err = {0};
        ASSERT_INT_EQ(vc_dev_new(k, &d, &err), 0);
        char want[256];
        snprintf(want, sizeof want,
                 "%s: field 'romfile': refused: QEMU 7.2 aborts (an assertion in "
                 "pci_register_bar) when a PCI bridge or port has an option ROM",
                 kinds[i]);
        ASSERT_INT_EQ(vc_dev_set_str(d, f, "", &err), VC_ERECIPE);
        ASSERT_STR_EQ(err.msg, want);
        ASSERT_STR_EQ(err.field, "romfile");
        ASSERT_INT_EQ(vc_dev_set_int(d, f, 1, &err), VC_ERECIPE);
        ASSERT_STR_EQ(err.msg, want);
        ASSERT_INT_EQ(vc_dev_set_bool(d, f, 0, &err), VC_ERECIPE);
        ASSERT_STR_EQ(err.msg, want);
        ASSERT(!d->v[f].set);
        vc_dev_free(d);
    }
    /* only flagged fields are refused */
    for (const vc_kind_t *const *kp = vc_kinds(); *kp; kp++)
        for (size_t i = 0; i < (*kp)->nfields; i++) {
            const vc_field_t *f = &(*kp)->fields[i];
            if ((f->flags & VC_F_REFUSED) && (f->key || !f->doc || strncmp(f->doc, "refused: ", 9)))
                VC_FAIL("%s.%s: a refused field is not emitted and its doc says why", (*kp)->name,
                        f->name);
        }
}

/* Warnings go to the callback, in the shape of the errors; the default
 * callback writes to stderr. */
static void test_warnings(void)
{
    vc_test_warn_begin();
    char *s = vc_test_emit_shell(
        "virtio-net-user", (kv_t[]){{"id", "n0"}, {"mac", "01:02:de:ad:be:ef"}, {NULL, NULL}});
    ASSERT_STR_EQ(s, "-netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=01:02:de:ad:be:ef");
    free(s);
    ASSERT_STR_EQ(vc_test_warnings(),
                  "virtio-net-user 'n0': field 'mac': 01:02:de:ad:be:ef is a multicast address "
                  "(first octet is odd): QEMU takes it, but a NIC's own address is normally "
                  "unicast (52:54:00:...)\n");
    s = vc_test_emit_shell("virtio-net-user",
                           (kv_t[]){{"id", "n0"}, {"mac", "52:54:00:12:34:56"}, {NULL, NULL}});
    free(s);
    ASSERT_STR_EQ(vc_test_warnings(), "");
    vc_test_warn_end();

    /* the default: one line on stderr */
    fflush(stderr);
    int saved = dup(2), pipefd[2];
    ASSERT_INT_EQ(pipe(pipefd), 0);
    dup2(pipefd[1], 2);
    close(pipefd[1]);
    s = vc_test_emit_shell("virtio-net-user",
                           (kv_t[]){{"id", "n1"}, {"mac", "03:00:00:00:00:01"}, {NULL, NULL}});
    free(s);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[512] = "";
    ssize_t n = read(pipefd[0], buf, sizeof buf - 1);
    close(pipefd[0]);
    ASSERT(n > 0);
    buf[n] = '\0';
    ASSERT_STR_EQ(buf, "vclaunch: warning: virtio-net-user 'n1': field 'mac': 03:00:00:00:00:01 "
                       "is a multicast address (first octet is odd): QEMU takes it, but a NIC's "
                       "own address is normally unicast (52:54:00:...)\n");
}

static void test_qemu_accepts(void)
{
    char dir[] = "/tmp/vc-test-kind-XXXXXX";
    ASSERT(mkdtemp(dir));
    char sock[100];
    snprintf(sock, sizeof sock, "%s/qmp.sock", dir);
    vc_error_t err = {0};
    int lfd;
    if (vc_socket_listen(sock, &lfd, &err)) VC_FAIL("%s", err.msg);

    vc_argv_t a = VC_ARGV_INIT;
    vc_argv_push(&a, vc_test_qemu());
    struct {
        const char *kind;
        kv_t vals[6];
    } devs[] = {
        {"name", {{"name", "vm,with,commas"}}},
        {"machine", {{"type", "q35"}, {"accel", "tcg"}}},
        {"cpu", {{"model", "max"}, {"features", "sse4.2=off,+avx,-avx2,pmu=off,phys-bits=40"}}},
        {"smp",
         {{"cpus", "2"}, {"sockets", "4"}, {"cores", "1"}, {"threads", "1"}, {"maxcpus", "4"}}},
        {"memory", {{"size", "128M"}, {"slots", "2"}, {"maxmem", "1G"}}},
        {"chardev",
         {{"backend", "socket"}, {"id", "qmp"}, {"fd", "3"}, {"server", "on"}, {"wait", "off"}}},
        {"mon", {{"chardev", "qmp"}}},
        {"flags",
         {{"nodefaults", "on"}, {"no_user_config", "on"}, {"nographic", "on"}, {"freeze", "on"}}},
    };
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        vc_dev_t *d;
        if (vc_test_build_device(devs[i].kind, devs[i].vals, &d, &err)) VC_FAIL("%s", err.msg);
        ASSERT_INT_EQ(vc_dev_emit(d, &a, &err), 0);
        vc_dev_free(d);
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_test_exit_t ex = {0};
    vc_proc_t *p = NULL;
    vc_proc_options_t o = {.argv = (const char *const *)a.v, .fds = &lfd, .nfds = 1};
    if (vc_proc_spawn(&loop, &o, NULL, vc_test_on_exit, &ex, &p, &err)) VC_FAIL("%s", err.msg);
    close(lfd);

    int cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    ASSERT_INT_EQ(connect(cfd, (struct sockaddr *)&sa, sizeof sa), 0);
    char line[8192];
    vc_test_read_line(cfd, line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"QMP\"");
    vc_test_qmp(cfd, "{\"execute\":\"qmp_capabilities\"}\n", line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": {}}");
    vc_test_qmp(cfd, "{\"execute\":\"query-name\"}\n", line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": {\"name\": \"vm,with,commas\"}}");
    vc_test_qmp(cfd, "{\"execute\":\"query-status\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"status\": \"prelaunch\"");
    vc_test_qmp(cfd, "{\"execute\":\"query-cpus-fast\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"cpu-index\": 1");
    ASSERT(!strstr(line, "\"cpu-index\": 2"));
    vc_test_qmp(cfd, "{\"execute\":\"query-memory-size-summary\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"base-memory\": 134217728");
    /* the features reached the CPU: sse4.2 and avx2 off, avx on */
    vc_test_qmp(cfd,
                "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/unattached/"
                "device[0]\",\"property\":\"sse4.2\"}}\n",
                line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": false}");
    vc_test_qmp(cfd,
                "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/unattached/"
                "device[0]\",\"property\":\"avx2\"}}\n",
                line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": false}");
    vc_test_qmp(cfd,
                "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/unattached/"
                "device[0]\",\"property\":\"phys-bits\"}}\n",
                line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": 40}");
    vc_test_qmp(cfd, "{\"execute\":\"quit\"}\n", line, sizeof line);
    close(cfd);
    vc_test_run_until(&loop, &ex.done, 30, "qemu exit after quit");
    ASSERT_INT_EQ(ex.status, 0);
    vc_proc_close(p);
    vc_test_loop_teardown(&loop);
    vc_argv_free(&a);
    ASSERT_INT_EQ(vc_rundir_remove(dir, &err), 0);
}

/* The chardevs the kind refuses, QEMU 7.2 refuses at start. */
static void test_qemu_refuses(void)
{
    const char *none[] = {"-chardev", "socket,id=c0", NULL};
    vc_test_qemu_refuses(none, "Unable to parse FD number");
    const char *both[] = {"-chardev", "socket,id=c0,path=/run/c0.sock,fd=3", NULL};
    vc_test_qemu_refuses(both, "None or one of 'path', 'fd' or 'host' option required");
    const char *file[] = {"-chardev", "file,id=c0", NULL};
    vc_test_qemu_refuses(file, "chardev: file: no filename given");
    const char *pipe[] = {"-chardev", "pipe,id=c0,fd=3", NULL};
    vc_test_qemu_refuses(pipe, "chardev: pipe: no device path given");
    /* -cpu: a doubled comma is no escape; a slot above 1f is no PCI addr */
    const char *cpu[] = {"-cpu", "max,,x", NULL};
    vc_test_qemu_refuses(cpu, "Property 'max-x86_64-cpu.x' not found");
    const char *addr[] = {"-device", "virtio-rng-pci,addr=ff", NULL};
    vc_test_qemu_refuses(addr, "Property 'virtio-rng-pci.addr' doesn't take value 'ff'");
}

int main(void)
{
    RUN(test_golden);
    RUN(test_rejects);
    RUN(test_lookup_and_suggest);
    RUN(test_error_fields);
    RUN(test_id_roles);
    RUN(test_pci_addr);
    RUN(test_features);
    RUN(test_refused);
    RUN(test_warnings);
    RUN(test_qemu_accepts);
    RUN(test_qemu_refuses);
    return 0;
}
