/* Device kinds of core/kinds_io.c (network, SCSI disks, vhost-user, VFIO)
 * and the iommu_platform field of the virtio kinds: golden argv for every
 * kind and transport, validation errors with their exact messages, and
 * real QEMU (q35, TCG, -S) accepting each kind that can run on this host,
 * read back over QMP:
 * - virtio-net-user, virtio-net-tap by ifname (a tap created with
 *   `ip tuntap`) and by fds (a tap opened here with TUNSETIFF), scsi-hd and
 *   scsi-cd on a virtio-scsi controller;
 * - vhost-user-blk served by qemu-storage-daemon and vhost-user-fs served
 *   by virtiofsd, with guest memory shared through memory-backend-memfd;
 * - the ccw transport with iommu_platform on qemu-system-s390x.
 * Golden only, with the reason printed: vhost-user-net and vhost-user-scsi
 * (no backend on this host that is simple to run), vhost=on (no
 * /dev/vhost-net), vfio-* (no VFIO device on this host). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kind.h"
#include "kindtest.h"
#include "proc.h"
#include "rundir.h"
#include "test.h"

static const char *const io_kinds[] = {
    "virtio-net-tap",  "virtio-net-user", "vhost-user-net", "scsi-hd",  "scsi-cd", "vhost-user-blk",
    "vhost-user-scsi", "vhost-user-fs",   "vfio-pci",       "vfio-ccw", "vfio-ap", NULL,
};

static void test_registered(void)
{
    for (const char *const *n = io_kinds; *n; n++) {
        const vc_kind_t *k = vc_kind_find(*n);
        if (!k) VC_FAIL("kind %s is not registered", *n);
        ASSERT(k->doc && *k->doc);
        for (size_t f = 0; f < k->nfields; f++)
            if (!k->fields[f].doc || !*k->fields[f].doc)
                VC_FAIL("%s.%s has no doc", *n, k->fields[f].name);
    }
    vc_test_kinds_unique();
    /* QEMU 7.2 has neither: vhost-user-fs-pci,help lists no cache-size and
     * no disable-modern */
    const vc_kind_t *fs = vc_kind_find("vhost-user-fs");
    ASSERT_INT_EQ(vc_kind_field(fs, "cache_size"), -1);
    ASSERT_INT_EQ(vc_kind_field(fs, "disable_modern"), -1);
    /* every virtio-*-ccw device in QEMU 7.2 has iommu_platform */
    const char *ccw[] = {"virtio-rng",      "virtio-balloon", "virtio-blk",   "virtio-serial",
                         "vhost-vsock",     "virtio-9p",      "virtio-scsi",  "virtio-net-tap",
                         "virtio-net-user", "vhost-user-net", "vhost-user-fs"};
    for (size_t i = 0; i < sizeof ccw / sizeof ccw[0]; i++) {
        const vc_kind_t *k = vc_kind_find(ccw[i]);
        int f = vc_kind_field(k, "iommu_platform");
        if (f < 0) VC_FAIL("%s has no iommu_platform", ccw[i]);
        ASSERT_INT_EQ(k->fields[f].flags, VC_F_CCW);
        ASSERT_STR_EQ(k->fields[f].key, "iommu_platform");
    }
}

static void test_golden_net(void)
{
    GOLDEN("virtio-net-tap",
           "-netdev tap,id=tap0,ifname=vctap0,script=/etc/vc,,up,downscript=no,vhost=on,queues=2 "
           "-device virtio-net-pci,netdev=tap0,mac=52:54:00:12:34:56,mq=on,bus=rp1,addr=0x3,"
           "vectors=6,disable-modern=off,romfile=,id=net0",
           {"id", "tap0"}, {"ifname", "vctap0"}, {"script", "/etc/vc,up"}, {"downscript", "no"},
           {"vhost", "on"}, {"queues", "2"}, {"mac", "52:54:00:12:34:56"}, {"mq", "on"},
           {"vectors", "6"}, {"bus", "rp1"}, {"addr", "0x3"}, {"disable_modern", "off"},
           {"romfile", ""}, {"device_id", "net0"});
    /* macvtap/ipvtap: the same kind with the queue fds opened by the caller */
    GOLDEN("virtio-net-tap",
           "-netdev tap,id=tap1,fds=3:4,vhost=on,vhostfds=5:6 -device "
           "virtio-net-ccw,netdev=tap1,mac=02:00:00:00:00:01,devno=fe.0.0001,iommu_platform=on",
           {"id", "tap1"}, {"fds", "3:4"}, {"vhost", "on"}, {"vhostfds", "5:6"},
           {"transport", "ccw"}, {"mac", "02:00:00:00:00:01"}, {"devno", "fe.0.0001"},
           {"iommu_platform", "on"});
    GOLDEN("virtio-net-tap",
           "-netdev tap,id=tap2,fds=3,vhost=off -device virtio-net-device,netdev=tap2",
           {"id", "tap2"}, {"fds", "3"}, {"vhost", "off"}, {"transport", "mmio"});
    GOLDEN(
        "virtio-net-user",
        "-netdev user,id=user0,restrict=on,net=10.0.3.0/24,hostname=my,,host,"
        "hostfwd=tcp::2222-:22 -device virtio-net-pci,netdev=user0,mac=52:54:00:00:00:02,id=net1",
        {"id", "user0"}, {"restrict", "on"}, {"net", "10.0.3.0/24"}, {"hostname", "my,host"},
        {"hostfwd", "tcp::2222-:22"}, {"mac", "52:54:00:00:00:02"}, {"device_id", "net1"});
    GOLDEN("virtio-net-user",
           "-netdev user,id=user1 -device virtio-net-ccw,netdev=user1,devno=fe.0.0002",
           {"id", "user1"}, {"transport", "ccw"}, {"devno", "fe.0.0002"});
    GOLDEN("virtio-net-user",
           "-netdev user,id=user2,restrict=off -device virtio-net-device,netdev=user2",
           {"id", "user2"}, {"restrict", "off"}, {"transport", "mmio"});
    GOLDEN("vhost-user-net",
           "-chardev socket,id=char0,path=/run/vu,,1.sock -netdev "
           "vhost-user,id=vun0,chardev=char0,vhostforce=on,queues=2 -device "
           "virtio-net-pci,netdev=vun0,mac=52:54:00:00:00:03,mq=on,vectors=6",
           {"id", "vun0"}, {"chardev", "char0"}, {"socket", "/run/vu,1.sock"}, {"queues", "2"},
           {"mac", "52:54:00:00:00:03"}, {"mq", "on"}, {"vectors", "6"});
    GOLDEN("vhost-user-net",
           "-chardev socket,id=char1,path=/run/vu.sock -netdev "
           "vhost-user,id=vun1,chardev=char1,vhostforce=off -device "
           "virtio-net-ccw,netdev=vun1,mac=52:54:00:00:00:04,devno=fe.0.0003",
           {"id", "vun1"}, {"chardev", "char1"}, {"socket", "/run/vu.sock"}, {"vhostforce", "off"},
           {"mac", "52:54:00:00:00:04"}, {"transport", "ccw"}, {"devno", "fe.0.0003"});
    GOLDEN("vhost-user-net",
           "-chardev socket,id=char2,path=/run/vu.sock -netdev "
           "vhost-user,id=vun2,chardev=char2,vhostforce=on -device "
           "virtio-net-device,netdev=vun2,mac=AA:BB:CC:DD:EE:FF",
           {"id", "vun2"}, {"chardev", "char2"}, {"socket", "/run/vu.sock"},
           {"mac", "AA:BB:CC:DD:EE:FF"}, {"transport", "mmio"});
}

static void test_golden_block(void)
{
    GOLDEN("scsi-hd",
           "-drive if=none,id=d0,file=/img/a,,b.raw,format=raw,readonly=off,aio=native -device "
           "scsi-hd,drive=d0,bus=scsi0.0,channel=0,scsi-id=1,lun=2,serial=s1,id=sd0",
           {"id", "d0"}, {"file", "/img/a,b.raw"}, {"format", "raw"}, {"readonly", "off"},
           {"aio", "native"}, {"bus", "scsi0.0"}, {"channel", "0"}, {"scsi_id", "1"}, {"lun", "2"},
           {"serial", "s1"}, {"device_id", "sd0"});
    GOLDEN("scsi-hd",
           "-drive if=none,id=d1,file=/d.qcow2,format=qcow2 -device scsi-hd,drive=d1,bus=s.0",
           {"id", "d1"}, {"file", "/d.qcow2"}, {"format", "qcow2"}, {"bus", "s.0"});
    GOLDEN("scsi-cd",
           "-drive if=none,id=cd0,file=/img/c,,1.iso,format=raw,readonly=on -device "
           "scsi-cd,drive=cd0,bus=scsi0.0,scsi-id=2,lun=3",
           {"id", "cd0"}, {"file", "/img/c,1.iso"}, {"format", "raw"}, {"readonly", "on"},
           {"bus", "scsi0.0"}, {"scsi_id", "2"}, {"lun", "3"});
    GOLDEN("vhost-user-blk",
           "-chardev socket,id=vub0c,path=/run/b,,1.sock -device "
           "vhost-user-blk-pci,chardev=vub0c,num-queues=2,queue-size=256,bus=rp2,addr=0x0,"
           "disable-modern=off,romfile=,id=vub0",
           {"chardev", "vub0c"}, {"socket", "/run/b,1.sock"}, {"num_queues", "2"},
           {"queue_size", "256"}, {"bus", "rp2"}, {"addr", "0x0"}, {"disable_modern", "off"},
           {"romfile", ""}, {"device_id", "vub0"});
    GOLDEN("vhost-user-scsi",
           "-chardev socket,id=vus0c,path=/run/s,,1.sock -device "
           "vhost-user-scsi-pci,chardev=vus0c,num_queues=4,bus=pcie.0,id=vus0",
           {"chardev", "vus0c"}, {"socket", "/run/s,1.sock"}, {"num_queues", "4"},
           {"bus", "pcie.0"}, {"device_id", "vus0"});
    GOLDEN("vhost-user-fs",
           "-chardev socket,id=fsc,path=/run/fs,,1.sock -device "
           "vhost-user-fs-pci,chardev=fsc,tag=my,,tag,queue-size=1024,num-request-queues=2,"
           "bus=pcie.0,addr=0x4,romfile=,id=vuf0",
           {"chardev", "fsc"}, {"socket", "/run/fs,1.sock"}, {"tag", "my,tag"},
           {"num_request_queues", "2"}, {"bus", "pcie.0"}, {"addr", "0x4"}, {"romfile", ""},
           {"device_id", "vuf0"});
    GOLDEN("vhost-user-fs",
           "-chardev socket,id=fsc,path=/run/fs.sock -device "
           "vhost-user-fs-ccw,chardev=fsc,tag=t,queue-size=512,devno=fe.0.0002,iommu_platform=on",
           {"chardev", "fsc"}, {"socket", "/run/fs.sock"}, {"tag", "t"}, {"queue_size", "512"},
           {"transport", "ccw"}, {"devno", "fe.0.0002"}, {"iommu_platform", "on"});
    GOLDEN("vhost-user-fs",
           "-chardev socket,id=fsc,path=/run/fs.sock -device "
           "vhost-user-fs-device,chardev=fsc,tag=t,queue-size=1024",
           {"chardev", "fsc"}, {"socket", "/run/fs.sock"}, {"tag", "t"}, {"transport", "mmio"});
    /* the drive's discard beside the device's: govmm's DiscardUnmap gives
     * both (discard=on on virtio-blk, discard=unmap on the drive) */
    GOLDEN("virtio-blk",
           "-drive if=none,id=d0,file=/d.raw,format=raw,discard=unmap -device "
           "virtio-blk-pci,drive=d0,discard=on",
           {"id", "d0"}, {"file", "/d.raw"}, {"format", "raw"}, {"drive_discard", "unmap"},
           {"discard", "on"});
    GOLDEN("scsi-hd",
           "-drive if=none,id=d1,file=/d.raw,format=raw,aio=threads,discard=ignore -device "
           "scsi-hd,drive=d1,bus=scsi0.0",
           {"id", "d1"}, {"file", "/d.raw"}, {"format", "raw"}, {"aio", "threads"},
           {"drive_discard", "ignore"}, {"bus", "scsi0.0"});
    GOLDEN("scsi-cd",
           "-drive if=none,id=cd0,file=/c.iso,format=raw,readonly=on,discard=unmap -device "
           "scsi-cd,drive=cd0,bus=scsi0.0",
           {"id", "cd0"}, {"file", "/c.iso"}, {"format", "raw"}, {"readonly", "on"},
           {"drive_discard", "unmap"}, {"bus", "scsi0.0"});
    REJECT("scsi-hd", "scsi-hd 'd1': field 'drive_discard': \"on\" is not one of: ignore, unmap",
           {"id", "d1"}, {"drive_discard", "on"});
    const vc_kind_t *blk = vc_kind_find("virtio-blk");
    ASSERT_STR_EQ(blk->fields[vc_kind_field(blk, "drive_discard")].key, "discard");
    ASSERT_INT_EQ(blk->fields[vc_kind_field(blk, "drive_discard")].opt, 0); /* the -drive */
    ASSERT_INT_EQ(blk->fields[vc_kind_field(blk, "discard")].opt, 1);       /* the device */
}

static void test_golden_vfio(void)
{
    GOLDEN("vfio-pci",
           "-device vfio-pci,host=0000:01:00.0,x-pci-vendor-id=32902,x-pci-device-id=4660,"
           "romfile=/r,,1.rom,bus=rp3,addr=0x0,id=hostdev0",
           {"host", "0000:01:00.0"}, {"x_pci_vendor_id", "0x8086"}, {"x_pci_device_id", "0x1234"},
           {"romfile", "/r,1.rom"}, {"bus", "rp3"}, {"addr", "0x0"}, {"id", "hostdev0"});
    GOLDEN("vfio-pci", "-device vfio-pci,host=ff:1f.7", {"host", "ff:1f.7"});
    GOLDEN("vfio-pci",
           "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/"
           "c4f6a7b2-0000-4000-8000-000000000001,,x,id=gpu0",
           {"sysfsdev", "/sys/bus/mdev/devices/c4f6a7b2-0000-4000-8000-000000000001,x"},
           {"id", "gpu0"});
    GOLDEN("vfio-pci", "-device vfio-pci,host=abcd:0a:1e.0", {"host", "abcd:0a:1e.0"});
    GOLDEN("vfio-ccw",
           "-device vfio-ccw,sysfsdev=/sys/bus/mdev/devices/"
           "7e270a25-e163-4922-af60-757fc8ed48c6,devno=fe.0.0004,id=ccw0",
           {"sysfsdev", "/sys/bus/mdev/devices/7e270a25-e163-4922-af60-757fc8ed48c6"},
           {"devno", "fe.0.0004"}, {"id", "ccw0"});
    GOLDEN("vfio-ap",
           "-device vfio-ap,sysfsdev=/sys/devices/vfio_ap/matrix/"
           "4b0fcd9e-1e4d-4b8c-bb4b-3d2d8e9e1d01,id=ap0",
           {"sysfsdev", "/sys/devices/vfio_ap/matrix/4b0fcd9e-1e4d-4b8c-bb4b-3d2d8e9e1d01"},
           {"id", "ap0"});
    /* the iommu_platform field added to the existing virtio kinds */
    GOLDEN("virtio-blk",
           "-drive if=none,id=d0,file=/d.raw,format=raw -device "
           "virtio-blk-ccw,drive=d0,devno=fe.0.0001,iommu_platform=on",
           {"id", "d0"}, {"file", "/d.raw"}, {"format", "raw"}, {"transport", "ccw"},
           {"devno", "fe.0.0001"}, {"iommu_platform", "on"});
    GOLDEN("virtio-rng",
           "-object rng-random,id=rng0 -device virtio-rng-ccw,rng=rng0,iommu_platform=off",
           {"id", "rng0"}, {"transport", "ccw"}, {"iommu_platform", "off"});
    GOLDEN("virtio-scsi", "-device virtio-scsi-ccw,id=scsi0,iommu_platform=on", {"id", "scsi0"},
           {"transport", "ccw"}, {"iommu_platform", "on"});
}

static void test_rejects(void)
{
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': exactly one of 'ifname' and 'fds' must be set (both are)",
           {"id", "tap0"}, {"ifname", "vctap0"}, {"fds", "3"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': exactly one of 'ifname' and 'fds' must be set (neither is)",
           {"id", "tap0"}, {"mac", "52:54:00:12:34:56"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'mac': \"52:54:00:12:34\" is not a MAC address like "
           "52:54:00:12:34:56",
           {"id", "tap0"}, {"fds", "3"}, {"mac", "52:54:00:12:34"});
    REJECT("virtio-net-user",
           "virtio-net-user 'u0': field 'mac': \"52-54-00-12-34-56\" is not a MAC address like "
           "52:54:00:12:34:56",
           {"id", "u0"}, {"mac", "52-54-00-12-34-56"});
    REJECT("virtio-net-user",
           "virtio-net-user 'u0': field 'mac': \"52:54:00:12:34:5g\" is not a MAC address like "
           "52:54:00:12:34:56",
           {"id", "u0"}, {"mac", "52:54:00:12:34:5g"});
    /* a multicast MAC: QEMU takes it (govmm's expected strings use one),
     * vclaunch warns */
    vc_test_warn_begin();
    GOLDEN("virtio-net-user",
           "-netdev user,id=u0 -device virtio-net-pci,netdev=u0,mac=01:00:5e:00:00:01",
           {"id", "u0"}, {"mac", "01:00:5e:00:00:01"});
    ASSERT_STR_EQ(vc_test_warnings(),
                  "virtio-net-user 'u0': field 'mac': 01:00:5e:00:00:01 is a multicast address "
                  "(first octet is odd): QEMU takes it, but a NIC's own address is normally "
                  "unicast (52:54:00:...)\n");
    GOLDEN("vhost-user-net",
           "-chardev socket,id=c0,path=/run/vu.sock -netdev "
           "vhost-user,id=vun0,chardev=c0,vhostforce=on -device "
           "virtio-net-pci,netdev=vun0,mac=ff:ff:ff:ff:ff:ff",
           {"id", "vun0"}, {"chardev", "c0"}, {"socket", "/run/vu.sock"},
           {"mac", "ff:ff:ff:ff:ff:ff"});
    ASSERT_STR_CONTAINS(vc_test_warnings(), "vhost-user-net 'vun0': field 'mac': "
                                            "ff:ff:ff:ff:ff:ff is a multicast address");
    vc_test_warn_end();
    REJECT("virtio-net-tap", "virtio-net-tap 'tap0': field 'vhostfds': needs vhost on",
           {"id", "tap0"}, {"fds", "3"}, {"vhostfds", "4"});
    REJECT("virtio-net-tap", "virtio-net-tap 'tap0': field 'vhostfds': needs vhost on",
           {"id", "tap0"}, {"fds", "3"}, {"vhost", "off"}, {"vhostfds", "4"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'vhostfds': has 1 fds, fds has 2: one per queue",
           {"id", "tap0"}, {"fds", "3:4"}, {"vhost", "on"}, {"vhostfds", "5"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'vhostfds': needs fds (QEMU refuses it with ifname)",
           {"id", "tap0"}, {"ifname", "t0"}, {"script", "no"}, {"downscript", "no"},
           {"vhost", "on"}, {"vhostfds", "5"});
    REJECT("virtio-net-tap", "virtio-net-tap 'tap0': field 'script': is required with ifname",
           {"id", "tap0"}, {"ifname", "t0"});
    REJECT("virtio-net-tap", "virtio-net-tap 'tap0': field 'downscript': is required with ifname",
           {"id", "tap0"}, {"ifname", "t0"}, {"script", "no"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'queues': applies with ifname only, not fds",
           {"id", "tap0"}, {"fds", "3:4"}, {"queues", "2"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'script': applies with ifname only, not fds",
           {"id", "tap0"}, {"fds", "3"}, {"script", "no"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'fds': \"3:4x\" is not a list of fds (numbers from 3, "
           "or getfd names) like 3:4",
           {"id", "tap0"}, {"fds", "3:4x"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'fds': \"1\" is not a list of fds (numbers from 3, or "
           "getfd names) like 3:4",
           {"id", "tap0"}, {"fds", "1"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'vhostfds': \"4:\" is not a list of fds (numbers from 3, "
           "or getfd names) like 3:4",
           {"id", "tap0"}, {"fds", "3"}, {"vhost", "on"}, {"vhostfds", "4:"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'ifname': \"vctap0123456789x\" is not an interface name "
           "(1 to 15 characters, no '/', ':' or space)",
           {"id", "tap0"}, {"ifname", "vctap0123456789x"}, {"script", "no"}, {"downscript", "no"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'ifname': \"a/b\" is not an interface name (1 to 15 "
           "characters, no '/', ':' or space)",
           {"id", "tap0"}, {"ifname", "a/b"}, {"script", "no"}, {"downscript", "no"});
    REJECT("virtio-net-tap", "virtio-net-tap 'tap0': field 'queues': 0 is out of range (1 to 1024)",
           {"id", "tap0"}, {"queues", "0"});
    REJECT("virtio-net-tap",
           "virtio-net-tap 'tap0': field 'vectors': applies to the pci transport only",
           {"id", "tap0"}, {"fds", "3"}, {"transport", "ccw"}, {"vectors", "4"});
    REJECT("virtio-net-user",
           "virtio-net-user 'u0': field 'iommu_platform': applies to the ccw transport only",
           {"id", "u0"}, {"iommu_platform", "on"});
    REJECT("virtio-net-user", "virtio-net-user: field 'id': id '0u' must start with a letter",
           {"id", "0u"});
    REJECT("vhost-user-net", "vhost-user-net 'vun0': field 'mac': is required", {"id", "vun0"},
           {"chardev", "c0"}, {"socket", "/run/vu.sock"});
    REJECT("vhost-user-net", "vhost-user-net 'vun0': field 'socket': is required", {"id", "vun0"},
           {"chardev", "c0"}, {"mac", "52:54:00:00:00:01"});
    REJECT("vhost-user-net", "vhost-user-net: field 'chardev': id '9c' must start with a letter",
           {"chardev", "9c"});
    REJECT("vhost-user-net",
           "vhost-user-net 'vun0': field 'socket': holds a control character (0x0a)",
           {"id", "vun0"}, {"socket", "/run/a\nb.sock"});
    REJECT("scsi-hd", "scsi-hd 'd0': field 'bus': is required", {"id", "d0"}, {"file", "/d"},
           {"format", "raw"});
    REJECT("scsi-hd", "scsi-hd 'd0': field 'format': is required", {"id", "d0"}, {"file", "/d"},
           {"bus", "scsi0.0"});
    REJECT("scsi-cd",
           "scsi-cd 'cd0': field 'format': \"iso\" is not one of: raw, qcow2, qcow, vmdk, vdi, "
           "vhdx, vpc, qed, parallels",
           {"id", "cd0"}, {"format", "iso"});
    REJECT("scsi-hd", "scsi-hd 'd0': field 'scsi_id': 256 is out of range (0 to 255)", {"id", "d0"},
           {"scsi_id", "256"});
    REJECT("scsi-hd", "scsi-hd 'd0': field 'file': holds a control character (0x0a)", {"id", "d0"},
           {"file", "/a\nb"});
    REJECT("vhost-user-blk",
           "vhost-user-blk: field 'transport': QEMU has vhost-user-blk on the pci transport only, "
           "not ccw",
           {"chardev", "c0"}, {"socket", "/run/b.sock"}, {"transport", "ccw"});
    REJECT("vhost-user-scsi",
           "vhost-user-scsi: field 'transport': QEMU has vhost-user-scsi on the pci transport "
           "only, not mmio",
           {"chardev", "c0"}, {"socket", "/run/s.sock"}, {"transport", "mmio"});
    REJECT("vhost-user-blk", "vhost-user-blk: field 'queue_size': 100 is not a power of two",
           {"chardev", "c0"}, {"socket", "/run/b.sock"}, {"queue_size", "100"});
    REJECT("vhost-user-blk", "vhost-user-blk: field 'num_queues': 0 is out of range (1 to 1024)",
           {"num_queues", "0"});
    REJECT("vhost-user-blk", "vhost-user-blk: field 'socket': holds a control character (0x0a)",
           {"socket", "/run/b\n.sock"});
    REJECT("vhost-user-fs", "vhost-user-fs: field 'tag': is required", {"chardev", "c0"},
           {"socket", "/run/fs.sock"});
    REJECT("vhost-user-fs",
           "vhost-user-fs: field 'tag': \"0123456789012345678901234567890123456\" must be 1 to 36 "
           "bytes",
           {"chardev", "c0"}, {"socket", "/run/fs.sock"},
           {"tag", "0123456789012345678901234567890123456"});
    REJECT("vhost-user-fs", "vhost-user-fs: field 'queue_size': 2048 is out of range (1 to 1024)",
           {"queue_size", "2048"});
    REJECT("vhost-user-fs", "vhost-user-fs: field 'queue_size': 768 is not a power of two",
           {"chardev", "c0"}, {"socket", "/run/fs.sock"}, {"tag", "t"}, {"queue_size", "768"});
    REJECT("vfio-pci",
           "vfio-pci: field 'host': \"0000:01:20.0\" is not a PCI address [dddd:]bb:dd.f "
           "(0000:01:00.0)",
           {"host", "0000:01:20.0"});
    REJECT("vfio-pci", "vfio-pci: set one of host and sysfsdev", {"romfile", ""});
    REJECT("vfio-pci", "vfio-pci: field 'sysfsdev': excludes 'host': set only one",
           {"host", "01:00.0"}, {"sysfsdev", "/sys/bus/pci/devices/0000:01:00.0"});
    REJECT("vfio-pci",
           "vfio-pci: field 'host': \"01:00.8\" is not a PCI address [dddd:]bb:dd.f (0000:01:00.0)",
           {"host", "01:00.8"});
    REJECT("vfio-pci",
           "vfio-pci: field 'host': \"1:00.0\" is not a PCI address [dddd:]bb:dd.f (0000:01:00.0)",
           {"host", "1:00.0"});
    REJECT("vfio-pci",
           "vfio-pci: field 'host': \"000g:01:00.0\" is not a PCI address [dddd:]bb:dd.f "
           "(0000:01:00.0)",
           {"host", "000g:01:00.0"});
    REJECT("vfio-pci", "vfio-pci 'hostdev0': set one of host and sysfsdev", {"id", "hostdev0"},
           {"bus", "rp1"});
    REJECT("vfio-pci", "vfio-pci: field 'x_pci_vendor_id': 65536 is out of range (0 to 65535)",
           {"x_pci_vendor_id", "0x10000"});
    REJECT("vfio-ccw", "vfio-ccw: field 'sysfsdev': is required", {"devno", "fe.0.0001"});
    REJECT("vfio-ap", "vfio-ap 'ap0': field 'sysfsdev': is required", {"id", "ap0"});
    REJECT("virtio-blk",
           "virtio-blk 'd0': field 'iommu_platform': applies to the ccw transport only",
           {"id", "d0"}, {"file", "/d"}, {"format", "raw"}, {"iommu_platform", "on"});
}

/* ---- real QEMU ---- */

static char line[65536];
static char dir[] = "/tmp/vc-test-io-XXXXXX";
static char tap_name[IFNAMSIZ];

static int dir_made;
static pid_t qemu_pid; /* the QEMU running now, for the exit handler */

/* On every exit path (VC_FAIL exits at once): nothing may stay behind. The
 * QEMU still running holds the tap, so it goes first; then TUNSETPERSIST 0
 * on the persistent tap deletes it as the last fd closes; then the temp
 * dir. The daemons die with this process (parent-death signal). */
static void cleanup(void)
{
    if (qemu_pid > 0) {
        kill(-qemu_pid, SIGKILL);
        waitpid(qemu_pid, NULL, 0);
        qemu_pid = 0;
    }
    if (tap_name[0]) {
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", tap_name);
        if (fd >= 0 && ioctl(fd, TUNSETIFF, &ifr) == 0) ioctl(fd, TUNSETPERSIST, 0);
        if (fd >= 0) close(fd);
        tap_name[0] = '\0';
    }
    if (dir_made) {
        const char *files[] = {"hd,1.raw", "cd.raw",  "vub.raw", "ccw.raw",
                               "blk.sock", "fs.sock", "qmp.sock"};
        char path[200];
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            unlink(path);
        }
        snprintf(path, sizeof path, "%s/share", dir);
        rmdir(path);
        rmdir(dir);
    }
}

static int iface_exists(const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/sys/class/net/%s", name);
    return access(path, F_OK) == 0;
}

static void write_file(const char *path, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT(fd >= 0);
    ASSERT_INT_EQ(ftruncate(fd, size), 0);
    close(fd);
}

#define QOM(vm, path, prop) vc_test_qom_get((vm)->qmp, path, prop, line, sizeof line)

/* virtio-net-user, virtio-net-tap (ifname and fds), scsi-hd, scsi-cd. */
static void test_qemu_net_scsi(void)
{
    vc_test_qemu();
    char hd[100], cd[100];
    snprintf(hd, sizeof hd, "%s/hd,1.raw", dir); /* a comma, escaped */
    snprintf(cd, sizeof cd, "%s/cd.raw", dir);
    write_file(hd, 1 << 20);
    write_file(cd, 2 << 20);

    uv_loop_t loop;
    uv_loop_init(&loop);

    /* A tap by name, created as the host's administrator would. The suite
     * runs as root on a host with /dev/net/tun (setup.sh): no tap is a
     * failure. */
    snprintf(tap_name, sizeof tap_name, "vctap%d", (int)getpid() % 1000000);
    const char *add[] = {"ip", "tuntap", "add", "dev", tap_name, "mode", "tap", NULL};
    if (vc_test_run_cmd(&loop, add, 30) != 0) {
        tap_name[0] = '\0';
        VC_FAIL("cannot create a tap (`ip tuntap add` failed; needs root and /dev/net/tun)");
    }
    /* A tap opened here and handed over by fd, as for macvtap/ipvtap. Not
     * persistent: it vanishes when the last fd closes. */
    char fd_name[IFNAMSIZ];
    snprintf(fd_name, sizeof fd_name, "vcfd%d", (int)getpid() % 1000000);
    int tapfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    ASSERT(tapfd >= 0);
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", fd_name);
    ASSERT_INT_EQ(ioctl(tapfd, TUNSETIFF, &ifr), 0);
    ASSERT(iface_exists(fd_name));
    printf("vhost=on: golden only: no /dev/vhost-net on this host\n");

    vc_test_dev_t devs[] = {
        {"machine", {{"type", "q35"}, {"accel", "tcg"}}},
        {"memory", {{"size", "256M"}}},
        {"virtio-net-user",
         {{"id", "user0"},
          {"restrict", "on"},
          {"net", "10.0.3.0/24"},
          {"hostname", "guest"},
          {"hostfwd", "tcp:127.0.0.1:0-:22"},
          {"mac", "52:54:00:00:00:02"},
          {"device_id", "net1"}}},
        {"virtio-scsi", {{"id", "scsi0"}}},
        {"scsi-hd",
         {{"id", "d0"},
          {"file", hd},
          {"format", "raw"},
          {"aio", "threads"},
          {"bus", "scsi0.0"},
          {"channel", "0"},
          {"scsi_id", "1"},
          {"lun", "0"},
          {"serial", "hd-serial"},
          {"drive_discard", "unmap"},
          {"device_id", "sd0"}}},
        {"scsi-cd",
         {{"id", "d1"},
          {"file", cd},
          {"format", "raw"},
          {"readonly", "on"},
          {"bus", "scsi0.0"},
          {"scsi_id", "2"},
          {"lun", "3"},
          {"device_id", "cd0"}}},
        {"virtio-net-tap",
         {{"id", "tap0"},
          {"ifname", tap_name},
          {"script", "no"},
          {"downscript", "no"},
          {"vhost", "off"},
          {"mac", "52:54:00:12:34:56"},
          {"device_id", "net0"}}},
        /* fd 4: the QMP listener is 3 */
        {"virtio-net-tap",
         {{"id", "tap1"}, {"fds", "4"}, {"mac", "52:54:00:12:34:57"}, {"device_id", "net2"}}},
        /* multicast, as in govmm's expected strings: QEMU takes it */
        {"virtio-net-user", {{"id", "user1"}, {"mac", "01:02:de:ad:be:ef"}, {"device_id", "net3"}}},
    };
    size_t ndevs = sizeof devs / sizeof devs[0];
    vc_test_vm_t vm;
    vc_test_warn_begin();
    vc_test_vm_start(&vm, &loop, dir, NULL, devs, ndevs, &tapfd, 1);
    ASSERT_STR_CONTAINS(vc_test_warnings(), "virtio-net-user 'user1': field 'mac': "
                                            "01:02:de:ad:be:ef is a multicast address");
    vc_test_warn_end();
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net3", "mac"),
                  "{\"return\": \"01:02:de:ad:be:ef\"}");
    qemu_pid = vc_proc_pid(vm.proc);
    if (tapfd >= 0) close(tapfd); /* QEMU holds its own copy */

    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net1", "type"), "{\"return\": \"virtio-net-pci\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net1", "mac"),
                  "{\"return\": \"52:54:00:00:00:02\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net1", "netdev"), "{\"return\": \"user0\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/sd0", "type"), "{\"return\": \"scsi-hd\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/sd0", "scsi-id"), "{\"return\": 1}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/sd0", "serial"), "{\"return\": \"hd-serial\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/cd0", "type"), "{\"return\": \"scsi-cd\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/cd0", "lun"), "{\"return\": 3}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/cd0", "parent_bus"),
                  "{\"return\": \"/machine/peripheral/scsi0/virtio-backend/scsi0.0\"}");

    vc_test_qmp(vm.qmp, "{\"execute\":\"query-pci\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"net1\"");
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"scsi0\"");

    vc_test_qmp(vm.qmp, "{\"execute\":\"query-block\"}\n", line, sizeof line);
    char want[256];
    snprintf(want, sizeof want, "\"file\": \"%s\"", hd);
    ASSERT_STR_CONTAINS(line, want);
    snprintf(want, sizeof want, "\"file\": \"%s\"", cd);
    ASSERT_STR_CONTAINS(line, want);
    ASSERT_STR_CONTAINS(line, "\"device\": \"d0\"");
    ASSERT_STR_CONTAINS(line, "\"device\": \"d1\"");
    ASSERT_STR_CONTAINS(line, "\"qdev\": \"sd0\"");
    ASSERT_STR_CONTAINS(line, "\"qdev\": \"cd0\"");
    ASSERT_STR_CONTAINS(line, "\"virtual-size\": 1048576");
    ASSERT_STR_CONTAINS(line, "\"virtual-size\": 2097152");
    ASSERT_STR_CONTAINS(line, "\"ro\": true");  /* cd */
    ASSERT_STR_CONTAINS(line, "\"ro\": false"); /* hd */

    /* the user netdev with its options, as QEMU reports it */
    vc_test_qmp(vm.qmp,
                "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info "
                "network\"}}\n",
                line, sizeof line);
    ASSERT_STR_CONTAINS(line,
                        "net1: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:00:00:02");
    ASSERT_STR_CONTAINS(line, "user0: index=0,type=user,net=10.0.3.0,restrict=on");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net0", "mac"),
                  "{\"return\": \"52:54:00:12:34:56\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net2", "mac"),
                  "{\"return\": \"52:54:00:12:34:57\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net2", "netdev"), "{\"return\": \"tap1\"}");
    vc_test_qmp(vm.qmp,
                "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
                "\"info network\"}}\n",
                line, sizeof line);
    snprintf(want, sizeof want, "tap0: index=0,type=tap,ifname=%s,script=no,downscript=no",
             tap_name);
    ASSERT_STR_CONTAINS(line, want);
    ASSERT_STR_CONTAINS(line, "tap1: index=0,type=tap,fd=4");
    ASSERT(iface_exists(fd_name)); /* held open by QEMU alone now */

    vc_test_vm_quit(&vm);
    qemu_pid = 0;
    ASSERT(!iface_exists(fd_name)); /* its last fd closed with QEMU */
    const char *del[] = {"ip", "link", "delete", tap_name, NULL};
    ASSERT_INT_EQ(vc_test_run_cmd(&loop, del, 30), 0);
    ASSERT(!iface_exists(tap_name));
    tap_name[0] = '\0';
    vc_test_loop_teardown(&loop);
    ASSERT_INT_EQ(unlink(hd), 0);
    ASSERT_INT_EQ(unlink(cd), 0);
}

static const char *find_virtiofsd(void)
{
    static const char *paths[] = {"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd", NULL};
    for (int i = 0; paths[i]; i++)
        if (access(paths[i], X_OK) == 0) return paths[i];
    return NULL;
}

/* vhost-user-blk on qemu-storage-daemon and vhost-user-fs on virtiofsd. */
static void test_qemu_vhost_user(void)
{
    vc_test_qemu();
    printf("vhost-user-net, vhost-user-scsi: golden only: no vhost-user net or SCSI backend on "
           "this host that is simple to run\n");
    printf("vfio-pci, vfio-ccw, vfio-ap: golden only: no VFIO device on this host\n");
    const char *qsd = "/usr/bin/qemu-storage-daemon";
    const char *vfsd = find_virtiofsd();
    if (access(qsd, X_OK) != 0 || !vfsd) {
        VC_FAIL("%s (setup.sh installs qemu-system-common)",
                !vfsd ? "no virtiofsd" : "no qemu-storage-daemon");
    }
    char img[100], blk_sock[108], fs_sock[108], share[100], blockdev[300], export[300],
        sockopt[150], srcopt[150];
    snprintf(img, sizeof img, "%s/vub.raw", dir);
    snprintf(blk_sock, sizeof blk_sock, "%s/blk.sock", dir);
    snprintf(fs_sock, sizeof fs_sock, "%s/fs.sock", dir);
    snprintf(share, sizeof share, "%s/share", dir);
    write_file(img, 4 << 20);
    ASSERT_INT_EQ(mkdir(share, 0700), 0);
    snprintf(blockdev, sizeof blockdev, "driver=file,node-name=f,filename=%s", img);
    snprintf(export, sizeof export,
             "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=%s,writable=on",
             blk_sock);
    snprintf(sockopt, sizeof sockopt, "--socket-path=%s", fs_sock);
    snprintf(srcopt, sizeof srcopt, "source=%s", share);

    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_error_t err = {0};
    const char *qsd_argv[] = {qsd, "--blockdev", blockdev, "--export", export, NULL};
    const char *vfsd_argv[] = {vfsd, sockopt, "-o", srcopt, "-o", "cache=none", NULL};
    vc_test_exit_t qsd_ex = {0}, vfsd_ex = {0};
    vc_proc_t *qsd_p, *vfsd_p;
    vc_proc_options_t o1 = {.argv = qsd_argv}, o2 = {.argv = vfsd_argv};
    if (vc_proc_spawn(&loop, &o1, NULL, vc_test_on_exit, &qsd_ex, &qsd_p, &err))
        VC_FAIL("%s", err.msg);
    if (vc_proc_spawn(&loop, &o2, NULL, vc_test_on_exit, &vfsd_ex, &vfsd_p, &err))
        VC_FAIL("%s", err.msg);
    /* Neither daemon signals readiness other than by its listening socket
     * (qemu-storage-daemon prints nothing): the socket path is polled with
     * a deadline, and a daemon that dies ends the wait at once. */
    vc_test_await_socket(&loop, blk_sock, &qsd_ex.done, 30, "qemu-storage-daemon");
    vc_test_await_socket(&loop, fs_sock, &vfsd_ex.done, 30, "virtiofsd");

    /* vhost-user backends map guest memory: it must be shared */
    const char *raw[] = {"-object", "memory-backend-memfd,id=mem,size=256M,share=on", NULL};
    vc_test_dev_t devs[] = {
        {"machine", {{"type", "q35"}, {"accel", "tcg"}, {"memory_backend", "mem"}}},
        {"memory", {{"size", "256M"}}},
        {"vhost-user-blk",
         {{"chardev", "vubc"},
          {"socket", blk_sock},
          {"num_queues", "1"},
          {"queue_size", "256"},
          {"device_id", "vub0"}}},
        {"vhost-user-fs",
         {{"chardev", "vufc"},
          {"socket", fs_sock},
          {"tag", "myfs"},
          {"num_request_queues", "1"},
          {"device_id", "vuf0"}}},
    };
    vc_test_vm_t vm;
    vc_test_vm_start(&vm, &loop, dir, raw, devs, sizeof devs / sizeof devs[0], NULL, 0);
    qemu_pid = vc_proc_pid(vm.proc);

    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/vub0", "type"),
                  "{\"return\": \"vhost-user-blk-pci\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/vub0/virtio-backend", "num-queues"),
                  "{\"return\": 1}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/vub0/virtio-backend", "queue-size"),
                  "{\"return\": 256}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/vub0/virtio-backend", "chardev"),
                  "{\"return\": \"vubc\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/vuf0", "type"),
                  "{\"return\": \"vhost-user-fs-pci\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/vuf0/virtio-backend", "tag"),
                  "{\"return\": \"myfs\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/vuf0/virtio-backend", "queue-size"),
                  "{\"return\": 1024}");
    vc_test_qmp(vm.qmp, "{\"execute\":\"query-pci\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"vub0\"");
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"vuf0\"");
    /* vhost-user-blk read the disk's size from the daemon at realize */
    vc_test_qmp(
        vm.qmp,
        "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral/vub0\"}}\n", line,
        sizeof line);
    ASSERT_STR_CONTAINS(line, "child<vhost-user-blk>");

    vc_test_vm_quit(&vm);
    qemu_pid = 0;
    /* virtiofsd ends with its one connection; the storage daemon serves
     * until told to stop */
    vc_test_run_until(&loop, &vfsd_ex.done, 30, "virtiofsd exit after QEMU quit");
    ASSERT_INT_EQ(vc_proc_terminate(qsd_p, 10), 0);
    vc_test_run_until(&loop, &qsd_ex.done, 30, "qemu-storage-daemon exit");
    ASSERT(qsd_ex.sig == SIGTERM || qsd_ex.status == 0);
    vc_proc_close(qsd_p);
    vc_proc_close(vfsd_p);
    vc_test_loop_teardown(&loop);
    ASSERT_INT_EQ(rmdir(share), 0);
    ASSERT_INT_EQ(unlink(img), 0);
}

/* The ccw transport and iommu_platform on a real s390x machine. */
static void test_qemu_ccw(void)
{
    const char *qemu = "/usr/bin/qemu-system-s390x";
    if (access(qemu, X_OK) != 0) {
        VC_FAIL("qemu-system-s390x is not installed (setup.sh installs qemu-system-misc)");
    }
    char img[100];
    snprintf(img, sizeof img, "%s/ccw.raw", dir);
    write_file(img, 1 << 20);
    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_test_dev_t devs[] = {
        {"machine", {{"type", "s390-ccw-virtio"}, {"accel", "tcg"}}},
        {"memory", {{"size", "256M"}}},
        {"virtio-net-user",
         {{"id", "user0"},
          {"transport", "ccw"},
          {"mac", "02:00:00:00:00:01"},
          {"devno", "fe.0.0001"},
          {"iommu_platform", "on"},
          {"device_id", "net0"}}},
        {"virtio-blk",
         {{"id", "d0"},
          {"file", img},
          {"format", "raw"},
          {"transport", "ccw"},
          {"devno", "fe.0.0002"},
          {"iommu_platform", "on"},
          {"device_id", "vd0"}}},
        {"virtio-scsi",
         {{"id", "scsi0"},
          {"transport", "ccw"},
          {"devno", "fe.0.0003"},
          {"iommu_platform", "off"}}},
    };
    vc_test_vm_t vm;
    vc_test_vm_start_bin(&vm, &loop, qemu, dir, NULL, devs, sizeof devs / sizeof devs[0], NULL, 0);
    qemu_pid = vc_proc_pid(vm.proc);
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net0", "type"), "{\"return\": \"virtio-net-ccw\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net0", "devno"), "{\"return\": \"fe.0.0001\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net0", "mac"),
                  "{\"return\": \"02:00:00:00:00:01\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/net0/virtio-backend", "iommu_platform"),
                  "{\"return\": true}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/vd0", "devno"), "{\"return\": \"fe.0.0002\"}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/vd0/virtio-backend", "iommu_platform"),
                  "{\"return\": true}");
    ASSERT_STR_EQ(QOM(&vm, "/machine/peripheral/scsi0/virtio-backend", "iommu_platform"),
                  "{\"return\": false}");
    vc_test_vm_quit(&vm);
    qemu_pid = 0;
    vc_test_loop_teardown(&loop);
    ASSERT_INT_EQ(unlink(img), 0);
}

int main(void)
{
    atexit(cleanup);
    RUN(test_registered);
    RUN(test_golden_net);
    RUN(test_golden_block);
    RUN(test_golden_vfio);
    RUN(test_rejects);
    ASSERT(mkdtemp(dir));
    dir_made = 1;
    RUN(test_qemu_net_scsi);
    RUN(test_qemu_vhost_user);
    RUN(test_qemu_ccw);
    vc_error_t err = {0};
    if (vc_rundir_remove(dir, &err)) VC_FAIL("%s", err.msg); /* the sockets left */
    dir_made = 0;
    return 0;
}
