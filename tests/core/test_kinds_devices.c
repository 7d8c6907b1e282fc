/* Device kinds (virtio devices, bridges, globals): golden argv for every
 * kind and each virtio transport, validation errors with their messages,
 * and real QEMU (q35, TCG) accepting every kind it can start here, read back
 * over QMP. vhost-vsock is golden only: it needs /dev/vhost-vsock, which
 * this host lacks, so QEMU cannot start with it. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kind.h"
#include "kindtest.h"
#include "proc.h"
#include "rundir.h"
#include "test.h"

static const char *const new_kinds[] = {
    "virtio-rng",
    "virtio-rng-builtin",
    "virtio-balloon",
    "virtio-blk",
    "virtio-serial",
    "virtconsole",
    "virtserialport",
    "vhost-vsock",
    "virtio-9p",
    "virtio-scsi",
    "iothread",
    "pcie-root-port",
    "pci-bridge",
    "pvpanic",
    "global",
    "uuid",
    "rtc",
    "vga",
    NULL,
};

static void test_registered(void)
{
    for (const char *const *n = new_kinds; *n; n++)
        if (!vc_kind_find(*n)) VC_FAIL("kind %s is not registered", *n);
    /* every file's list is merged, and no name is declared twice */
    ASSERT(vc_test_kinds_unique() >= 11 + 17);
    /* every virtio kind has the same transport field: pci by default */
    const char *virtio[] = {"virtio-rng",  "virtio-balloon", "virtio-blk", "virtio-serial",
                            "vhost-vsock", "virtio-9p",      "virtio-scsi"};
    for (size_t i = 0; i < sizeof virtio / sizeof virtio[0]; i++) {
        const vc_kind_t *k = vc_kind_find(virtio[i]);
        int f = vc_kind_field(k, "transport");
        if (f < 0) VC_FAIL("%s has no transport", virtio[i]);
        ASSERT_INT_EQ(k->fields[f].type, VC_T_ENUM);
        ASSERT_STR_EQ(k->fields[f].def, "pci");
        ASSERT(k->fields[f].key == NULL);
    }
    ASSERT_STR_EQ(vc_kind_suggest_kind("virtio-bln"), "virtio-blk");
}

static void test_golden(void)
{
    GOLDEN("virtio-rng",
           "-object rng-random,id=rng0,filename=/dev/urandom -device "
           "virtio-rng-pci,rng=rng0,max-bytes=1024,period=1000,bus=pcie.0,addr=0x5",
           {"id", "rng0"}, {"filename", "/dev/urandom"}, {"max_bytes", "1024"}, {"period", "1000"},
           {"bus", "pcie.0"}, {"addr", "0x5"});
    GOLDEN("virtio-rng",
           "-object rng-random,id=rng0 -device virtio-rng-ccw,rng=rng0,devno=fe.0.0001",
           {"id", "rng0"}, {"transport", "ccw"}, {"devno", "fe.0.0001"});
    GOLDEN("virtio-rng", "-object rng-random,id=rng0 -device virtio-rng-device,rng=rng0",
           {"id", "rng0"}, {"transport", "mmio"});
    GOLDEN("virtio-rng-builtin",
           "-object rng-builtin,id=rng1 -device virtio-rng-pci,rng=rng1,max-bytes=2048,period=500",
           {"id", "rng1"}, {"max_bytes", "2048"}, {"period", "500"});
    GOLDEN("virtio-rng-builtin",
           "-object rng-builtin,id=rng1 -device virtio-rng-ccw,rng=rng1,devno=fe.0.0009",
           {"id", "rng1"}, {"transport", "ccw"}, {"devno", "fe.0.0009"});
    GOLDEN("virtio-balloon",
           "-device "
           "virtio-balloon-pci,id=bal0,deflate-on-oom=on,free-page-reporting=off,disable-modern=on",
           {"id", "bal0"}, {"deflate_on_oom", "true"}, {"free_page_reporting", "off"},
           {"disable_modern", "on"});
    GOLDEN("virtio-balloon", "-device virtio-balloon-device,id=bal0,deflate-on-oom=on",
           {"id", "bal0"}, {"deflate_on_oom", "on"}, {"transport", "mmio"});
    GOLDEN("virtio-balloon", "-device virtio-balloon-ccw,devno=fe.0.0004", {"transport", "ccw"},
           {"devno", "fe.0.0004"});
    GOLDEN("virtio-blk",
           "-drive if=none,id=d0,file=/img/a,,b.raw,format=raw,readonly=on,aio=threads -device "
           "virtio-blk-pci,drive=d0,discard=on,serial=disk-serial,config-wce=off,share-rw=on,"
           "bus=pcie.0,addr=0x6,romfile=,id=vd0",
           {"id", "d0"}, {"file", "/img/a,b.raw"}, {"format", "raw"}, {"readonly", "on"},
           {"aio", "threads"}, {"discard", "on"}, {"serial", "disk-serial"}, {"config_wce", "off"},
           {"share_rw", "on"}, {"bus", "pcie.0"}, {"addr", "0x6"}, {"romfile", ""},
           {"device_id", "vd0"});
    GOLDEN("virtio-blk",
           "-drive if=none,id=d1,file=/d.qcow2,format=qcow2 -device "
           "virtio-blk-ccw,drive=d1,devno=fe.0.0002",
           {"id", "d1"}, {"file", "/d.qcow2"}, {"format", "qcow2"}, {"transport", "ccw"},
           {"devno", "fe.0.0002"});
    GOLDEN("virtio-blk",
           "-drive if=none,id=d2,file=/d.raw,format=raw -device "
           "'virtio-blk-device,drive=d2,serial=a b'",
           {"id", "d2"}, {"file", "/d.raw"}, {"format", "raw"}, {"transport", "mmio"},
           {"serial", "a b"});
    GOLDEN("virtio-serial", "-device virtio-serial-pci,id=vser0,max_ports=4,addr=0x7",
           {"id", "vser0"}, {"max_ports", "4"}, {"addr", "0x7"});
    GOLDEN("virtio-serial", "-device virtio-serial-device,id=vser0", {"id", "vser0"},
           {"transport", "mmio"});
    GOLDEN("virtconsole",
           "-device virtconsole,chardev=con0,id=vc0,name=org.test.console,bus=vser0.0",
           {"chardev", "con0"}, {"id", "vc0"}, {"name", "org.test.console"}, {"bus", "vser0.0"});
    GOLDEN("virtserialport", "-device virtserialport,chardev=port0,name=org.test.0",
           {"chardev", "port0"}, {"name", "org.test.0"});
    GOLDEN("vhost-vsock", "-device vhost-vsock-pci,id=vsock0,guest-cid=3,vhostfd=5",
           {"id", "vsock0"}, {"guest_cid", "3"}, {"vhostfd", "5"});
    GOLDEN("vhost-vsock", "-device vhost-vsock-ccw,guest-cid=4294967295,devno=fe.0.0003",
           {"guest_cid", "4294967295"}, {"transport", "ccw"}, {"devno", "fe.0.0003"});
    GOLDEN("virtio-9p",
           "-fsdev local,id=fs0,path=/srv/a,,b,security_model=none,multidevs=remap,readonly=on "
           "-device virtio-9p-pci,fsdev=fs0,mount_tag=share",
           {"id", "fs0"}, {"path", "/srv/a,b"}, {"mount_tag", "share"}, {"readonly", "on"},
           {"multidevs", "remap"});
    GOLDEN("virtio-9p",
           "-fsdev local,id=fs1,path=/srv,security_model=mapped-xattr -device "
           "virtio-9p-ccw,fsdev=fs1,mount_tag=t,,1,devno=fe.0.0005",
           {"id", "fs1"}, {"path", "/srv"}, {"security_model", "mapped-xattr"},
           {"mount_tag", "t,1"}, {"transport", "ccw"}, {"devno", "fe.0.0005"});
    GOLDEN("virtio-scsi", "-device virtio-scsi-pci,id=scsi0,iothread=io0,num_queues=2,bus=rp1",
           {"id", "scsi0"}, {"iothread", "io0"}, {"num_queues", "2"}, {"bus", "rp1"});
    GOLDEN("virtio-scsi", "-device virtio-scsi-device,id=scsi0", {"id", "scsi0"},
           {"transport", "mmio"});
    GOLDEN("iothread", "-object iothread,id=io0", {"id", "io0"});
    GOLDEN("pcie-root-port",
           "-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=2,addr=0x10,multifunction=on,"
           "io-reserve=4K,mem-reserve=1M,pref64-reserve=2G,bus-reserve=3",
           {"id", "rp1"}, {"chassis", "1"}, {"slot", "2"}, {"addr", "0x10"},
           {"multifunction", "on"}, {"io_reserve", "4k"}, {"mem_reserve", "1M"},
           {"pref64_reserve", "2g"}, {"bus_reserve", "3"});
    GOLDEN("pcie-root-port", "-device pcie-root-port,id=rp2,bus=rp1", {"id", "rp2"},
           {"bus", "rp1"});
    GOLDEN("pci-bridge", "-device pci-bridge,id=br1,bus=pcie.0,chassis_nr=2,shpc=off,addr=0x11",
           {"id", "br1"}, {"bus", "pcie.0"}, {"chassis_nr", "2"}, {"shpc", "off"},
           {"addr", "0x11"});
    GOLDEN("pvpanic", "-device pvpanic", {NULL, NULL});
    GOLDEN("pvpanic", "-device pvpanic,id=pp0", {"id", "pp0"});
    GOLDEN("global", "-global kvm-pit.lost_tick_policy=discard",
           {"value", "kvm-pit.lost_tick_policy=discard"});
    GOLDEN("uuid", "-uuid 12345678-1234-5678-9abc-def012345678",
           {"uuid", "12345678-1234-5678-9abc-def012345678"});
    GOLDEN("rtc", "-rtc base=utc,clock=vm,driftfix=slew", {"base", "utc"}, {"clock", "vm"},
           {"driftfix", "slew"});
    GOLDEN("rtc", "-rtc base=2006-06-17T16:01:21", {"base", "2006-06-17T16:01:21"});
    GOLDEN("vga", "-vga none", {"type", "none"});
    GOLDEN("vga", "-vga virtio", {"type", "virtio"});
}

/* The fields govmm emits that the kinds lacked: romfile on every virtio PCI
 * kind, disable_modern on 9p, the reserve capability on pci-bridge (and
 * pref32 on the root port), as govmm writes them. */
static void test_golden_govmm(void)
{
    GOLDEN("virtio-9p",
           "-fsdev local,id=fs0,path=/srv,security_model=none -device "
           "virtio-9p-pci,fsdev=fs0,mount_tag=t,disable-modern=on,romfile=/r,,1.rom",
           {"id", "fs0"}, {"path", "/srv"}, {"mount_tag", "t"}, {"disable_modern", "on"},
           {"romfile", "/r,1.rom"});
    GOLDEN("virtio-serial",
           "-device virtio-serial-pci,id=vser0,max_ports=2,romfile=", {"id", "vser0"},
           {"max_ports", "2"}, {"romfile", ""});
    GOLDEN("virtio-scsi",
           "-device virtio-scsi-pci,id=scsi0,iothread=io0,disable-modern=off,romfile=efi.rom",
           {"id", "scsi0"}, {"iothread", "io0"}, {"disable_modern", "off"}, {"romfile", "efi.rom"});
    GOLDEN("vhost-vsock",
           "-device vhost-vsock-pci,id=vsock0,guest-cid=3,bus=pcie.0,romfile=", {"id", "vsock0"},
           {"guest_cid", "3"}, {"bus", "pcie.0"}, {"romfile", ""});
    GOLDEN("virtio-balloon",
           "-device virtio-balloon-pci,id=balloon0,deflate-on-oom=on,disable-modern=off,romfile=",
           {"id", "balloon0"}, {"deflate_on_oom", "on"}, {"disable_modern", "off"},
           {"romfile", ""});
    /* romfile and disable_modern are PCI's */
    const char *pci_only[] = {"virtio-9p", "virtio-serial", "virtio-scsi", "vhost-vsock",
                              "virtio-balloon"};
    for (size_t i = 0; i < sizeof pci_only / sizeof pci_only[0]; i++) {
        const vc_kind_t *k = vc_kind_find(pci_only[i]);
        int rom = vc_kind_field(k, "romfile"), dm = vc_kind_field(k, "disable_modern");
        if (rom < 0 || dm < 0) VC_FAIL("%s lacks romfile or disable_modern", pci_only[i]);
        ASSERT_INT_EQ(k->fields[rom].flags, VC_F_PCI);
        ASSERT_STR_EQ(k->fields[rom].key, "romfile");
        ASSERT_INT_EQ(k->fields[dm].flags, VC_F_PCI);
    }
    REJECT("virtio-9p",
           "virtio-9p 'fs0': field 'disable_modern': applies to the pci transport only",
           {"id", "fs0"}, {"path", "/srv"}, {"mount_tag", "t"}, {"transport", "ccw"},
           {"disable_modern", "on"});
    REJECT("vhost-vsock", "vhost-vsock: field 'romfile': applies to the pci transport only",
           {"guest_cid", "3"}, {"transport", "mmio"}, {"romfile", ""});

    /* govmm: pci-bridge,bus=B,id=I,chassis_nr=N,shpc=on,addr=ff,io-reserve=,mem-reserve=,
     * pref64-reserve= (addr from an integer, in hex) */
    GOLDEN("pci-bridge",
           "-device pci-bridge,id=br0,bus=pcie.0,chassis_nr=5,shpc=on,addr=1f,io-reserve=4K,"
           "mem-reserve=1M,pref64-reserve=2G,bus-reserve=2",
           {"id", "br0"}, {"bus", "pcie.0"}, {"chassis_nr", "5"}, {"shpc", "on"}, {"addr", "1f"},
           {"io_reserve", "4k"}, {"mem_reserve", "1M"}, {"pref64_reserve", "2G"},
           {"bus_reserve", "2"});
    GOLDEN("pci-bridge", "-device pci-bridge,id=br0,bus=pci.0,chassis_nr=1,pref32-reserve=16M",
           {"id", "br0"}, {"bus", "pci.0"}, {"chassis_nr", "1"}, {"pref32_reserve", "16M"});
    GOLDEN("pcie-root-port", "-device pcie-root-port,id=rp0,bus=pcie.0,pref32-reserve=1048576",
           {"id", "rp0"}, {"pref32_reserve", "1048576"});
    /* what QEMU refuses of the reserve capability; the bridge's own
     * required fields come first */
#define BRIDGE "pci-bridge 'p0': field "
#define PORT "pcie-root-port 'p0': field "
#define BOTH                                                                                       \
    "'pref64_reserve': excludes 'pref32_reserve': set only one (QEMU: \"PREF32 and "               \
    "PREF64 conflict\")"
#define MEM4G "'mem_reserve': 4G is not below 4G, as QEMU requires"
#define PREF4G "'pref32_reserve': 4294967296 is not below 4G, as QEMU requires"
#define NOROM                                                                                      \
    "'romfile': refused: QEMU 7.2 aborts (an assertion in pci_register_bar) when a PCI bridge or " \
    "port has an option ROM"
    REJECT("pci-bridge", BRIDGE BOTH, {"id", "p0"}, {"bus", "pcie.0"}, {"chassis_nr", "1"},
           {"pref32_reserve", "1M"}, {"pref64_reserve", "1M"});
    REJECT("pcie-root-port", PORT BOTH, {"id", "p0"}, {"pref32_reserve", "1M"},
           {"pref64_reserve", "1M"});
    REJECT("pci-bridge", BRIDGE MEM4G, {"id", "p0"}, {"bus", "pcie.0"}, {"chassis_nr", "1"},
           {"mem_reserve", "4G"});
    REJECT("pcie-root-port", PORT MEM4G, {"id", "p0"}, {"mem_reserve", "4G"});
    REJECT("pci-bridge", BRIDGE PREF4G, {"id", "p0"}, {"bus", "pcie.0"}, {"chassis_nr", "1"},
           {"pref32_reserve", "4294967296"});
    REJECT("pcie-root-port", PORT PREF4G, {"id", "p0"}, {"pref32_reserve", "4294967296"});
    REJECT("pci-bridge", BRIDGE NOROM, {"id", "p0"}, {"romfile", "efi-virtio.rom"});
    REJECT("pcie-root-port", PORT NOROM, {"id", "p0"}, {"romfile", ""});
#undef BRIDGE
#undef PORT
#undef BOTH
#undef MEM4G
#undef PREF4G
#undef NOROM
    GOLDEN("pci-bridge", "-device pci-bridge,id=br0,bus=pcie.0,chassis_nr=1,mem-reserve=4095M",
           {"id", "br0"}, {"bus", "pcie.0"}, {"chassis_nr", "1"}, {"mem_reserve", "4095M"});
    REJECT("pci-bridge", "pci-bridge 'br0': field 'bus_reserve': 256 is out of range (0 to 255)",
           {"id", "br0"}, {"bus_reserve", "256"});
}

#define TAG31 "tag-of-thirty-one-bytes-1234567"
#define TAG32 TAG31 "8"

static void test_rejects(void)
{
    REJECT("virtio-rng", "virtio-rng 'rng0': field 'devno': applies to the ccw transport only",
           {"id", "rng0"}, {"devno", "fe.0.0001"});
    REJECT("virtio-rng", "virtio-rng 'rng0': field 'romfile': applies to the pci transport only",
           {"id", "rng0"}, {"transport", "ccw"}, {"romfile", "/r.rom"});
    REJECT("virtio-balloon", "virtio-balloon: field 'bus': applies to the pci transport only",
           {"bus", "pcie.0"}, {"transport", "mmio"});
    REJECT("virtio-balloon",
           "virtio-balloon: field 'disable_modern': applies to the pci transport only",
           {"transport", "ccw"}, {"disable_modern", "on"});
    REJECT("virtio-balloon",
           "virtio-balloon: field 'transport': \"isa\" is not one of: pci, ccw, "
           "mmio",
           {"transport", "isa"});
    REJECT("vhost-vsock", "vhost-vsock: field 'guest_cid': 2 is out of range (3 to 4294967295)",
           {"guest_cid", "2"});
    REJECT("vhost-vsock",
           "vhost-vsock: field 'guest_cid': 4294967296 is out of range (3 to 4294967295)",
           {"guest_cid", "4294967296"});
    REJECT("vhost-vsock", "vhost-vsock: field 'guest_cid': is required", {"vhostfd", "3"});
    REJECT("vhost-vsock", "vhost-vsock: field 'vhostfd': 2 is out of range (3 to 2147483647)",
           {"guest_cid", "3"}, {"vhostfd", "2"});
    REJECT("virtio-9p", "virtio-9p 'fs0': field 'mount_tag': is required", {"id", "fs0"},
           {"path", "/srv"});
    REJECT("virtio-9p",
           "virtio-9p 'fs0': field 'security_model': \"bogus\" is not one of: none, passthrough, "
           "mapped-xattr, mapped-file",
           {"id", "fs0"}, {"path", "/srv"}, {"mount_tag", "t"}, {"security_model", "bogus"});
    REJECT("virtio-9p", "virtio-9p 'fs0': field 'path': empty path", {"id", "fs0"}, {"path", ""});
    REJECT("virtio-blk",
           "virtio-blk 'd0': field 'format': \"vhd\" is not one of: raw, qcow2, qcow, vmdk, vdi, "
           "vhdx, vpc, qed, parallels",
           {"id", "d0"}, {"file", "/d"}, {"format", "vhd"});
    REJECT("virtio-blk", "virtio-blk 'd0': field 'format': is required", {"id", "d0"},
           {"file", "/d"});
    REJECT("virtio-blk", "virtio-blk 'd0': field 'file': holds a control character (0x0a)",
           {"id", "d0"}, {"file", "/a\nb"}, {"format", "raw"});
    REJECT("virtio-blk",
           "virtio-blk 'd0': field 'aio': \"posix\" is not one of: threads, native, "
           "io_uring",
           {"id", "d0"}, {"file", "/d"}, {"format", "raw"}, {"aio", "posix"});
    REJECT("virtio-blk",
           "virtio-blk: field 'id': id 'd 0' may hold only letters, digits, '-', '.' "
           "and '_'",
           {"id", "d 0"});
    REJECT("virtio-serial",
           "virtio-serial 'vser0': field 'max_ports': 32 is out of range (1 to 31)",
           {"id", "vser0"}, {"max_ports", "32"});
    REJECT("virtio-serial", "virtio-serial: field 'id': is required", {"max_ports", "2"});
    REJECT("virtconsole", "virtconsole: field 'chardev': is required", {"name", "x"});
    REJECT("virtio-scsi",
           "virtio-scsi 'scsi0': field 'iothread': id '1io' must start with a letter",
           {"id", "scsi0"}, {"iothread", "1io"});
    REJECT(
        "pcie-root-port",
        "pcie-root-port 'rp1': field 'io_reserve': expected a size like 512M or 2G or bytes, got "
        "\"4X\"",
        {"id", "rp1"}, {"io_reserve", "4X"});
    REJECT("pci-bridge", "pci-bridge 'br1': field 'chassis_nr': 0 is out of range (1 to 255)",
           {"id", "br1"}, {"bus", "pcie.0"}, {"chassis_nr", "0"});
    REJECT("pci-bridge", "pci-bridge 'br1': field 'bus': is required", {"id", "br1"},
           {"chassis_nr", "1"});
    REJECT("global", "global: field 'value': is required", {NULL, NULL});
    REJECT("uuid", "uuid: field 'uuid': holds a control character (0x09)", {"uuid", "a\tb"});
    /* QEMU wants 8-4-4-4-12 hex digits: nothing around them, no other grouping */
    const char *bad_uuids[] = {"xyz",
                               "12345678123412341234123456789abc",
                               "{12345678-1234-1234-1234-123456789abc}",
                               " 12345678-1234-1234-1234-123456789abc",
                               "12345678-1234-1234-1234-123456789abg",
                               "1234567-81234-1234-1234-123456789abc"};
    for (size_t i = 0; i < sizeof bad_uuids / sizeof bad_uuids[0]; i++) {
        char want[256];
        snprintf(want, sizeof want,
                 "uuid: field 'uuid': \"%s\" is not a UUID like "
                 "5e1f7a2c-0b8d-4c3e-9f61-2a7d3c4b5e6f (8-4-4-4-12 hex digits)",
                 bad_uuids[i]);
        REJECT("uuid", want, {"uuid", bad_uuids[i]});
    }
    GOLDEN("uuid", "-uuid 5E1F7A2C-0B8D-4C3E-9F61-2A7D3C4B5E6F",
           {"uuid", "5E1F7A2C-0B8D-4C3E-9F61-2A7D3C4B5E6F"});
    /* QEMU 7.2 takes a 9p mount tag of at most 31 bytes */
    REJECT("virtio-9p",
           "virtio-9p 'fs0': field 'mount_tag': \"" TAG32 "\" is 32 bytes, QEMU takes at most 31",
           {"id", "fs0"}, {"path", "/srv"}, {"mount_tag", TAG32});
    GOLDEN("virtio-9p",
           "-fsdev local,id=fs0,path=/srv,security_model=none -device "
           "virtio-9p-pci,fsdev=fs0,mount_tag=" TAG31,
           {"id", "fs0"}, {"path", "/srv"}, {"mount_tag", TAG31});
    REJECT("rtc", "rtc: field 'driftfix': \"fast\" is not one of: none, slew",
           {"driftfix", "fast"});
    REJECT("vga", "vga: field 'type': is required", {NULL, NULL});
    REJECT("vga",
           "vga: field 'type': \"vesa\" is not one of: std, cirrus, vmware, qxl, virtio, none",
           {"type", "vesa"});
}

static char line[65536];

static const char *qom_get(int fd, const char *path, const char *prop)
{
    return vc_test_qom_get(fd, path, prop, line, sizeof line);
}

#define UUID "5e1f7a2c-0b8d-4c3e-9f61-2a7d3c4b5e6f"

/* The name (device[N]) of the first child of type under path. */
static const char *child_of_type(int fd, const char *path, const char *type, char name[128])
{
    char cmd[256], want[128];
    snprintf(cmd, sizeof cmd, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"%s\"}}\n", path);
    vc_test_qmp(fd, cmd, line, sizeof line);
    snprintf(want, sizeof want, "\"type\": \"child<%s>\"", type);
    char *at = strstr(line, want);
    if (!at) VC_FAIL("no %s under %s: %s", type, path, line);
    /* {"name": "device[3]", "type": "child<...>"}: the name comes first */
    char *open_ = at;
    while (open_ > line && *open_ != '{')
        open_--;
    if (sscanf(open_, "{\"name\": \"%127[^\"]\"", name) != 1) VC_FAIL("no name in %s", open_);
    return name;
}

static void make_file(const char *path, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT(fd >= 0);
    ASSERT_INT_EQ(ftruncate(fd, size), 0);
    close(fd);
}

static void test_qemu_accepts(void)
{
    char dir[] = "/tmp/vc-test-kinds-XXXXXX";
    ASSERT(mkdtemp(dir));
    char disk[100], share[100], rom[100];
    snprintf(disk, sizeof disk, "%s/disk,1.raw", dir); /* a comma, escaped */
    snprintf(share, sizeof share, "%s/share", dir);
    /* an option ROM: QEMU maps any file (no 55 aa signature: left unpatched) */
    snprintf(rom, sizeof rom, "%s/opt,1.rom", dir);
    ASSERT_INT_EQ(mkdir(share, 0700), 0);
    make_file(disk, 1 << 20);
    make_file(rom, 4096);

    const vc_test_dev_t devs[] = {
        {"machine", {{"type", "q35"}, {"accel", "tcg"}}},
        {"memory", {{"size", "256M"}}},
        {"chardev", {{"backend", "null"}, {"id", "con0"}}},
        {"chardev", {{"backend", "null"}, {"id", "port0"}}},
        {"iothread", {{"id", "io0"}}},
        {"virtio-rng",
         {{"id", "rng0"}, {"filename", "/dev/urandom"}, {"max_bytes", "1024"}, {"period", "1000"}}},
        {"virtio-rng-builtin", {{"id", "rng1"}, {"max_bytes", "2048"}, {"period", "500"}}},
        {"virtio-balloon", {{"id", "bal0"}, {"deflate_on_oom", "on"}, {"romfile", rom}}},
        {"virtio-blk",
         {{"id", "d0"},
          {"file", disk},
          {"format", "raw"},
          {"aio", "threads"},
          {"serial", "disk-serial"},
          {"drive_discard", "unmap"},
          {"discard", "on"},
          {"device_id", "vd0"}}},
        {"virtio-serial", {{"id", "vser0"}, {"max_ports", "4"}, {"romfile", ""}}},
        {"virtconsole", {{"chardev", "con0"}, {"id", "vc0"}, {"bus", "vser0.0"}}},
        {"virtserialport",
         {{"chardev", "port0"}, {"id", "sp0"}, {"name", "org.test.0"}, {"bus", "vser0.0"}}},
        {"virtio-9p",
         {{"id", "fs0"},
          {"path", share},
          {"security_model", "none"},
          {"mount_tag", "share0"},
          {"disable_modern", "on"},
          {"romfile", rom}}},
        {"virtio-9p", /* the longest tag QEMU takes */
         {{"id", "fs1"}, {"path", share}, {"security_model", "none"}, {"mount_tag", TAG31}}},
        {"pcie-root-port",
         {{"id", "rp1"},
          {"chassis", "1"},
          {"slot", "1"},
          {"io_reserve", "4K"},
          {"mem_reserve", "2M"},
          {"bus_reserve", "1"}}},
        {"pcie-root-port",
         {{"id", "rp2"}, {"chassis", "3"}, {"slot", "3"}, {"pref32_reserve", "8M"}}},
        {"virtio-scsi",
         {{"id", "scsi0"},
          {"iothread", "io0"},
          {"num_queues", "2"},
          {"bus", "rp1"},
          {"romfile", rom}}},
        {"pci-bridge", {{"id", "br1"}, {"bus", "pcie.0"}, {"chassis_nr", "2"}, {"shpc", "off"}}},
        {"pci-bridge",
         {{"id", "br2"},
          {"bus", "pcie.0"},
          {"chassis_nr", "4"},
          {"addr", "0x1e"},
          {"io_reserve", "8K"},
          {"mem_reserve", "4M"},
          {"pref64_reserve", "64M"},
          {"bus_reserve", "2"}}},
        {"pvpanic", {{"id", "pp0"}}},
        {"global", {{"value", "pvpanic.events=1"}}},
        {"uuid", {{"uuid", UUID}}},
        {"rtc", {{"base", "utc"}, {"clock", "vm"}, {"driftfix", "none"}}},
        {"vga", {{"type", "none"}}},
    };
    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_test_vm_t vm;
    vc_test_vm_start(&vm, &loop, dir, NULL, devs, sizeof devs / sizeof devs[0], NULL, 0);
    int cfd = vm.qmp;

    /* devices with ids, by QOM type */
    struct {
        const char *id, *type;
    } typed[] = {
        {"bal0", "virtio-balloon-pci"}, {"vd0", "virtio-blk-pci"}, {"vser0", "virtio-serial-pci"},
        {"vc0", "virtconsole"},         {"sp0", "virtserialport"}, {"rp1", "pcie-root-port"},
        {"scsi0", "virtio-scsi-pci"},   {"br1", "pci-bridge"},     {"pp0", "pvpanic"},
    };
    for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++) {
        char path[128], want[128];
        snprintf(path, sizeof path, "/machine/peripheral/%s", typed[i].id);
        snprintf(want, sizeof want, "{\"return\": \"%s\"}", typed[i].type);
        ASSERT_STR_EQ(qom_get(cfd, path, "type"), want);
    }
    /* the devices whose id names their backend: anonymous, found by type */
    vc_test_qmp(
        cfd, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral-anon\"}}\n",
        line, sizeof line);
    ASSERT_STR_CONTAINS(line, "child<virtio-rng-pci>");
    /* two of them: on rng-random and on rng-builtin */
    ASSERT(strstr(strstr(line, "child<virtio-rng-pci>") + 1, "child<virtio-rng-pci>") != NULL);
    ASSERT_STR_CONTAINS(line, "child<virtio-9p-pci>");
    ASSERT_STR_EQ(qom_get(cfd, "/objects/rng0", "type"), "{\"return\": \"rng-random\"}");
    ASSERT_STR_EQ(qom_get(cfd, "/objects/rng0", "filename"), "{\"return\": \"/dev/urandom\"}");
    ASSERT_STR_EQ(qom_get(cfd, "/objects/rng1", "type"), "{\"return\": \"rng-builtin\"}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/bal0", "deflate-on-oom"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/vd0", "serial"),
                  "{\"return\": \"disk-serial\"}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/vd0", "drive"), "{\"return\": \"d0\"}");
    /* the device's discard; the drive's (discard=unmap) is not readable over
     * QMP in 7.2: QEMU took it */
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/vd0", "discard"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/vser0", "max_ports"), "{\"return\": 4}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/sp0", "name"), "{\"return\": \"org.test.0\"}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/scsi0", "iothread"),
                  "{\"return\": \"/objects/io0\"}"); /* a link: its path */
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/scsi0", "num_queues"), "{\"return\": 2}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/scsi0", "parent_bus"),
                  "{\"return\": \"/machine/peripheral/rp1/rp1\"}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/rp1", "io-reserve"), "{\"return\": 4096}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/br1", "chassis_nr"), "{\"return\": 2}");
    /* the reserve capability of the bridge and the ports */
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/br2", "io-reserve"), "{\"return\": 8192}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/br2", "mem-reserve"), "{\"return\": 4194304}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/br2", "pref64-reserve"),
                  "{\"return\": 67108864}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/br2", "bus-reserve"), "{\"return\": 2}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/br2", "addr"), "{\"return\": 240}");
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/rp2", "pref32-reserve"),
                  "{\"return\": 8388608}");
    /* the option ROMs (a comma in their path), and none for "" */
    char want_rom[256];
    snprintf(want_rom, sizeof want_rom, "{\"return\": \"%s\"}", rom);
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/bal0", "romfile"), want_rom);
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/scsi0", "romfile"), want_rom);
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/vser0", "romfile"), "{\"return\": \"\"}");
    /* the 9p device is anonymous: found by its type */
    char name[128], path[256];
    child_of_type(cfd, "/machine/peripheral-anon", "virtio-9p-pci", name);
    snprintf(path, sizeof path, "/machine/peripheral-anon/%s", name);
    ASSERT_STR_EQ(qom_get(cfd, path, "disable-modern"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(cfd, path, "romfile"), want_rom);
    /* -global pvpanic.events=1 changed the default of 3 */
    ASSERT_STR_EQ(qom_get(cfd, "/machine/peripheral/pp0", "events"), "{\"return\": 1}");

    vc_test_qmp(cfd, "{\"execute\":\"query-pci\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"vd0\"");
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"bal0\"");
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"rp1\"");
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"br1\"");
    /* scsi0 sits behind rp1, which firmware has not numbered yet under -S:
     * query-pci cannot list it; its type and parent_bus are checked above */
    /* the anonymous virtio devices, by transitional virtio ids (0x1af4) */
    ASSERT_STR_CONTAINS(line, "\"id\": {\"device\": 4101, \"subsystem-vendor\": 6900, "
                              "\"vendor\": 6900, \"subsystem\": 4}"); /* rng */
    ASSERT_STR_CONTAINS(line, "\"id\": {\"device\": 4105, \"subsystem-vendor\": 6900, "
                              "\"vendor\": 6900, \"subsystem\": 9}"); /* 9p */
    ASSERT(!strstr(line, "\"class\": 768")); /* -vga none: no display controller */

    vc_test_qmp(cfd, "{\"execute\":\"query-block\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"device\": \"d0\"");
    char want[256];
    snprintf(want, sizeof want, "\"file\": \"%s\"", disk);
    ASSERT_STR_CONTAINS(line, want);
    ASSERT_STR_CONTAINS(line, "\"drv\": \"raw\"");
    ASSERT_STR_CONTAINS(line, "\"virtual-size\": 1048576");

    vc_test_qmp(cfd, "{\"execute\":\"query-iothreads\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"id\": \"io0\"");
    vc_test_qmp(cfd, "{\"execute\":\"query-uuid\"}\n", line, sizeof line);
    ASSERT_STR_EQ(line, "{\"return\": {\"UUID\": \"" UUID "\"}}");
    vc_test_qmp(cfd, "{\"execute\":\"query-chardev\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"label\": \"con0\"");
    ASSERT_STR_CONTAINS(line, "\"label\": \"port0\"");
    ASSERT_STR_CONTAINS(line, "\"filename\": \"null\"");

    vc_test_vm_quit(&vm);
    vc_test_loop_teardown(&loop);
    vc_error_t err = {0};
    ASSERT_INT_EQ(rmdir(share), 0); /* the run dir holds files only */
    if (vc_rundir_remove(dir, &err)) VC_FAIL("%s", err.msg);
}

/* What the kinds refuse, QEMU refuses too: the arguments they would have
 * emitted, given to QEMU by hand. */
static void test_qemu_refuses(void)
{
    const char *uuid[] = {"-uuid", "12345678123412341234123456789abc", NULL};
    vc_test_qemu_refuses(uuid, "failed to parse UUID string");
    char dir[] = "/tmp/vc-test-9p-XXXXXX";
    ASSERT(mkdtemp(dir));
    char fsdev[128];
    snprintf(fsdev, sizeof fsdev, "local,id=fs0,path=%s,security_model=none", dir);
    const char *tag[] = {"-fsdev", fsdev, "-device", "virtio-9p-pci,fsdev=fs0,mount_tag=" TAG32,
                         NULL};
    vc_test_qemu_refuses(tag, "is longer than maximum (31 bytes)");
    ASSERT_INT_EQ(rmdir(dir), 0);

    /* an option ROM on a bridge or a root port: QEMU 7.2 aborts, it does
     * not refuse (the kinds refuse romfile there) */
    char romdir[] = "/tmp/vc-test-rom-XXXXXX";
    ASSERT(mkdtemp(romdir));
    char rom[128], bridge[256], port[256];
    snprintf(rom, sizeof rom, "%s/opt.rom", romdir);
    make_file(rom, 4096);
    snprintf(bridge, sizeof bridge, "pci-bridge,id=br0,bus=pcie.0,chassis_nr=1,romfile=%s", rom);
    snprintf(port, sizeof port, "pcie-root-port,id=rp0,romfile=%s", rom);
    const char *with_bridge[] = {"-device", bridge, NULL};
    vc_test_qemu_aborts(with_bridge, "pci_register_bar: Assertion");
    const char *with_port[] = {"-device", port, NULL};
    vc_test_qemu_aborts(with_port, "pci_register_bar: Assertion");
    ASSERT_INT_EQ(unlink(rom), 0);
    ASSERT_INT_EQ(rmdir(romdir), 0);
    /* the reserve capability's limits */
    const char *both[] = {"-device",
                          "pci-bridge,id=br0,bus=pcie.0,chassis_nr=1,pref32-reserve=1M,"
                          "pref64-reserve=1M",
                          NULL};
    vc_test_qemu_refuses(both, "PREF32 and PREF64 conflict");
    const char *mem[] = {"-device", "pci-bridge,id=br0,bus=pcie.0,chassis_nr=1,mem-reserve=4G",
                         NULL};
    vc_test_qemu_refuses(mem, "mem-reserve must be less than 4G");
    const char *pref32[] = {"-device", "pcie-root-port,id=rp0,pref32-reserve=4G", NULL};
    vc_test_qemu_refuses(pref32, "pref32-reserve  must be less than 4G");
}

int main(void)
{
    RUN(test_registered);
    RUN(test_golden);
    RUN(test_golden_govmm);
    RUN(test_rejects);
    RUN(test_qemu_accepts);
    RUN(test_qemu_refuses);
    return 0;
}
