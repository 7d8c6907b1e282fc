/* Device kinds: io (network, SCSI disks, vhost-user, VFIO). See core/kinds.c
 * for how a kind is declared. Every QEMU key below was checked against
 * QEMU 7.2's own `-device <name>,help`, `-netdev help` and `-help` output. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "kinds_def.h"

/* ---- checks shared by several kinds ---- */

/* "52:54:00:12:34:56": six hex pairs separated by ':'. A multicast address
 * (first octet odd) is QEMU's to take, and it takes it: a warning, as
 * govmm's expected strings use one (01:02:de:ad:be:ef). */
static int check_mac(const vc_dev_t *d, vc_error_t *err)
{
    const char *mac = vc_dev_get(d, "mac");
    if (!mac) return 0;
    int ok = strlen(mac) == 17;
    for (int i = 0; ok && i < 6; i++)
        ok = hex_digits(mac + 3 * i, 2) && (i == 5 || mac[3 * i + 2] == ':');
    if (!ok)
        return vc_dev_error(d, "mac", err, "\"%s\" is not a MAC address like 52:54:00:12:34:56",
                            mac);
    if (strtol(mac, NULL, 16) & 1)
        vc_dev_warn(d, "mac",
                    "%s is a multicast address (first octet is odd): QEMU takes it, "
                    "but a NIC's own address is normally unicast (52:54:00:...)",
                    mac);
    return 0;
}

/* A list of fds "3:4:5" (QEMU's fds=/vhostfds= syntax): each a number
 * (3 or more) or the name of an fd passed before with getfd (a letter,
 * then letters, digits, '.', '_', '-'). Returns how many, or -1 when
 * malformed. */
static int fd_list(const char *s)
{
    int n = 0;
    for (const char *p = s;; p++) {
        const char *start = p;
        if (isalpha((unsigned char)*p)) {
            while (isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-')
                p++;
            if (p - start > 127) return -1;
        } else {
            while (isdigit((unsigned char)*p))
                p++;
            if (p == start || p - start > 9 || atoi(start) < 3) return -1;
        }
        n++;
        if (*p == '\0') return n;
        if (*p != ':') return -1;
    }
}

static int check_fd_list(const vc_dev_t *d, const char *field, vc_error_t *err)
{
    const char *s = vc_dev_get(d, field);
    int n = s ? fd_list(s) : 0;
    if (n < 0)
        return vc_dev_error(d, field, err,
                            "\"%s\" is not a list of fds (numbers from 3, or getfd names) "
                            "like 3:4",
                            s);
    return n;
}

static int power_of_two(long long v)
{
    return v > 0 && (v & (v - 1)) == 0;
}

static int check_pow2(const vc_dev_t *d, const char *field, vc_error_t *err)
{
    const char *s = vc_dev_get(d, field);
    if (s && !power_of_two(atoll(s)))
        return vc_dev_error(d, field, err, "%s is not a power of two", s);
    return 0;
}

/* ---- virtio-net: one device, three backends ---- */

/* The chardev of a vhost-user device: its id lands as chardev= in option
 * 1 (the -netdev vhost-user or the device). */
#define VHOST_USER_CHARDEV                                                                         \
    ID_LINK("chardev", .key2 = "chardev", .opt2 = 1,                                               \
            .doc = "id of the socket chardev that connects to the backend"),                       \
        FIELD("socket", VC_T_PATH, .key = "path", .flags = VC_F_REQUIRED,                          \
              .doc = "the backend's vhost-user socket")

/* The virtio-net device fields every network kind shares; the backend's id
 * field (key "id" in option 0, key2 "netdev" in option NET_DEV) comes first. */
#define NET_DEVICE_FIELDS(opt_, mac_flags_)                                                        \
    FIELD("mac", VC_T_STR, .key = "mac", .opt = opt_, .flags = mac_flags_,                         \
          .doc = "guest MAC address (52:54:00:12:34:56)"),                                         \
        FIELD("mq", VC_T_BOOL, .key = "mq", .opt = opt_, .doc = "multiqueue"),                     \
        VIRTIO_PLACEMENT(opt_),                                                                    \
        FIELD("vectors", VC_T_INT, .key = "vectors", .opt = opt_, .flags = VC_F_PCI, .min = 0,     \
              .max = 2048, .doc = "MSI-X vectors (2 * queues + 2 with mq)"),                       \
        DISABLE_MODERN(opt_), ROMFILE(opt_), DEVICE_ID(opt_)

static const vc_opt_t virtio_net_tap_opts[] = {{"-netdev", VC_OPT_KV, "tap"},
                                               {"-device", VC_OPT_KV, "virtio-net-%t"}};
static const vc_field_t virtio_net_tap_fields[] = {
    ID_LINK("id", .key2 = "netdev", .opt2 = 1, .doc = "id of the tap netdev the device uses"),
    FIELD("ifname", VC_T_STR, .key = "ifname",
          .doc = "host tap interface QEMU opens by name (one of ifname and fds)"),
    FIELD("script", VC_T_STR, .key = "script",
          .doc = "with ifname: script run on start, \"no\" for none (required with ifname)"),
    FIELD("downscript", VC_T_STR, .key = "downscript",
          .doc = "with ifname: script run on stop, \"no\" for none (required with ifname)"),
    FIELD("fds", VC_T_STR, .key = "fds",
          .doc = "open tap/macvtap/ipvtap queue fds handed to QEMU, \"3:4\" "
                 "(one of ifname and fds)"),
    FIELD("vhost", VC_T_BOOL, .key = "vhost", .doc = "in-kernel vhost-net data path"),
    FIELD("vhostfds", VC_T_STR, .key = "vhostfds",
          .doc = "open /dev/vhost-net fds, one per fd in fds (needs vhost on)"),
    FIELD("queues", VC_T_INT, .key = "queues", .min = 1, .max = 1024,
          .doc = "with ifname: queue pairs QEMU opens (with fds their count says it)"),
    NET_DEVICE_FIELDS(1, 0),
};

static int check_virtio_net_tap(const vc_dev_t *d, vc_error_t *err)
{
    static const char *const ifname_fds[] = {"ifname", "fds"};
    int nset = count_set(d, ifname_fds, N(ifname_fds), NULL, NULL);
    if (nset != 1)
        return vc_dev_error(d, NULL, err, "exactly one of 'ifname' and 'fds' must be set (%s)",
                            nset ? "both are" : "neither is");
    if (has(d, "ifname")) {
        const char *name = vc_dev_get(d, "ifname");
        size_t len = strlen(name);
        if (len == 0 || len > 15 || strpbrk(name, "/: ") || !strcmp(name, ".") ||
            !strcmp(name, ".."))
            return vc_dev_error(d, "ifname", err,
                                "\"%s\" is not an interface name (1 to 15 characters, no '/', "
                                "':' or space)",
                                name);
        /* QEMU runs /etc/qemu-ifup and /etc/qemu-ifdown when these are
         * absent: vclaunch never lets that happen silently. */
        if (!has(d, "script")) return vc_dev_error(d, "script", err, "is required with ifname");
        if (!has(d, "downscript"))
            return vc_dev_error(d, "downscript", err, "is required with ifname");
        if (has(d, "vhostfds"))
            return vc_dev_error(d, "vhostfds", err, "needs fds (QEMU refuses it with ifname)");
    } else {
        /* QEMU: "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=,
         * fd= and vhostfd= are invalid with fds=" */
        const char *only_ifname[] = {"script", "downscript", "queues"};
        for (size_t i = 0; i < N(only_ifname); i++)
            if (has(d, only_ifname[i]))
                return vc_dev_error(d, only_ifname[i], err, "applies with ifname only, not fds");
    }
    int nfds = check_fd_list(d, "fds", err);
    if (nfds < 0) return nfds;
    int nvhost = check_fd_list(d, "vhostfds", err);
    if (nvhost < 0) return nvhost;
    if (nvhost) {
        const char *vhost = vc_dev_get(d, "vhost");
        if (!vhost || strcmp(vhost, "on") != 0)
            return vc_dev_error(d, "vhostfds", err, "needs vhost on");
        if (nvhost != nfds)
            return vc_dev_error(d, "vhostfds", err, "has %d fds, fds has %d: one per queue", nvhost,
                                nfds);
    }
    return check_mac(d, err);
}
KIND_CHECK("virtio-net-tap",
           "-netdev tap + virtio-net: a host tap (or macvtap/ipvtap, by fds) as the guest's NIC",
           virtio_net_tap_opts, virtio_net_tap_fields, check_virtio_net_tap);

static const vc_opt_t virtio_net_user_opts[] = {{"-netdev", VC_OPT_KV, "user"},
                                                {"-device", VC_OPT_KV, "virtio-net-%t"}};
static const vc_field_t virtio_net_user_fields[] = {
    ID_LINK("id", .key2 = "netdev", .opt2 = 1, .doc = "id of the user netdev the device uses"),
    FIELD("restrict", VC_T_BOOL, .key = "restrict",
          .doc = "isolate the guest from the host and the outside"),
    FIELD("net", VC_T_STR, .key = "net", .doc = "guest network, addr[/mask] (10.0.2.0/24)"),
    FIELD("hostname", VC_T_STR, .key = "hostname", .doc = "hostname the DHCP server gives"),
    FIELD("hostfwd", VC_T_STR, .key = "hostfwd", .flags = VC_F_LIST,
          .doc = "forwarding rules, each [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport "
                 "(a list, or one rule)"),
    NET_DEVICE_FIELDS(1, 0),
};
KIND_CHECK("virtio-net-user", "-netdev user + virtio-net: QEMU's user-mode (slirp) network",
           virtio_net_user_opts, virtio_net_user_fields, check_mac);

static const vc_opt_t vhost_user_net_opts[] = {{"-chardev", VC_OPT_KV, "socket"},
                                               {"-netdev", VC_OPT_KV, "vhost-user"},
                                               {"-device", VC_OPT_KV, "virtio-net-%t"}};
static const vc_field_t vhost_user_net_fields[] = {
    ID_LINK("id", .opt = 1, .key2 = "netdev", .opt2 = 2,
            .doc = "id of the vhost-user netdev the device uses"),
    VHOST_USER_CHARDEV,
    FIELD("vhostforce", VC_T_BOOL, .key = "vhostforce", .opt = 1, .def = "on",
          .doc = "use vhost even for a guest without MSI-X"),
    FIELD("queues", VC_T_INT, .key = "queues", .opt = 1, .min = 1, .max = 1024,
          .doc = "queue pairs"),
    NET_DEVICE_FIELDS(2, VC_F_REQUIRED),
};
KIND_CHECK("vhost-user-net",
           "-netdev vhost-user + virtio-net: a NIC served by a vhost-user backend",
           vhost_user_net_opts, vhost_user_net_fields, check_mac);

/* ---- SCSI disks on a virtio-scsi controller ---- */

static const vc_field_t scsi_disk_fields[] = {
    DRIVE_FIELDS("open the image read-only"),
    FIELD("bus", VC_T_ID, .key = "bus", .opt = 1, .flags = VC_F_REQUIRED,
          .doc = "the controller's SCSI bus, <virtio-scsi id>.0"),
    FIELD("channel", VC_T_INT, .key = "channel", .opt = 1,
          .doc = "SCSI channel (0 on virtio-scsi)"),
    FIELD("scsi_id", VC_T_INT, .key = "scsi-id", .opt = 1, .min = 0, .max = 255,
          .doc = "SCSI target"),
    FIELD("lun", VC_T_INT, .key = "lun", .opt = 1, .min = 0, .max = 16383, .doc = "logical unit"),
    FIELD("serial", VC_T_STR, .key = "serial", .opt = 1, .doc = "serial number seen by the guest"),
    DEVICE_ID(1),
};
static const vc_opt_t scsi_hd_opts[] = {{"-drive", VC_OPT_KV, "if=none"},
                                        {"-device", VC_OPT_KV, "scsi-hd"}};
KIND_NAMED(kind_scsi_hd, "scsi-hd", "-drive + scsi-hd: a disk image as a SCSI disk", scsi_hd_opts,
           scsi_disk_fields, NULL);
static const vc_opt_t scsi_cd_opts[] = {{"-drive", VC_OPT_KV, "if=none"},
                                        {"-device", VC_OPT_KV, "scsi-cd"}};
KIND_NAMED(kind_scsi_cd, "scsi-cd", "-drive + scsi-cd: an image as a SCSI CD-ROM", scsi_cd_opts,
           scsi_disk_fields, NULL);

/* ---- vhost-user devices: a socket chardev + the device ---- */

/* QEMU 7.2 has vhost-user-blk-pci and vhost-user-scsi-pci only: there is no
 * -ccw variant, and the mmio device is named without the "-device" suffix
 * that the %t transport gives. */
static int check_pci_only(const vc_dev_t *d, vc_error_t *err)
{
    const char *t = vc_dev_get(d, "transport");
    if (t && strcmp(t, "pci") != 0)
        return vc_dev_error(d, "transport", err, "QEMU has %s on the pci transport only, not %s",
                            d->kind->name, t);
    return 0;
}

/* The device fields vhost-user-blk and vhost-user-scsi share (option 1). */
#define VHOST_USER_PCI_DEVICE                                                                      \
    TRANSPORT, BUS(1), ADDR(1), DISABLE_MODERN(1), ROMFILE(1), DEVICE_ID(1)

static const vc_opt_t vhost_user_blk_opts[] = {{"-chardev", VC_OPT_KV, "socket"},
                                               {"-device", VC_OPT_KV, "vhost-user-blk-%t"}};
static const vc_field_t vhost_user_blk_fields[] = {
    VHOST_USER_CHARDEV,
    FIELD("num_queues", VC_T_INT, .key = "num-queues", .opt = 1, .min = 1, .max = 1024,
          .doc = "request queues"),
    FIELD("queue_size", VC_T_INT, .key = "queue-size", .opt = 1, .min = 1, .max = 1024,
          .doc = "entries per queue, a power of two"),
    VHOST_USER_PCI_DEVICE,
};
static int check_vhost_user_blk(const vc_dev_t *d, vc_error_t *err)
{
    int rc = check_pci_only(d, err);
    return rc ? rc : check_pow2(d, "queue_size", err);
}
KIND_CHECK("vhost-user-blk", "vhost-user-blk: a disk served by a vhost-user backend (pci only)",
           vhost_user_blk_opts, vhost_user_blk_fields, check_vhost_user_blk);

static const vc_opt_t vhost_user_scsi_opts[] = {{"-chardev", VC_OPT_KV, "socket"},
                                                {"-device", VC_OPT_KV, "vhost-user-scsi-%t"}};
static const vc_field_t vhost_user_scsi_fields[] = {
    VHOST_USER_CHARDEV,
    FIELD("num_queues", VC_T_INT, .key = "num_queues", .opt = 1, .min = 1, .max = 1024,
          .doc = "request queues"),
    VHOST_USER_PCI_DEVICE,
};
KIND_CHECK("vhost-user-scsi",
           "vhost-user-scsi: a SCSI controller served by a vhost-user backend (pci only)",
           vhost_user_scsi_opts, vhost_user_scsi_fields, check_pci_only);

/* QEMU 7.2's vhost-user-fs has no cache-size (the DAX window never went
 * upstream): it is not declared, so a recipe asking for it gets the
 * unknown-field error instead of a QEMU that refuses to start. It has no
 * disable-modern either: the device is modern only. */
static const vc_opt_t vhost_user_fs_opts[] = {{"-chardev", VC_OPT_KV, "socket"},
                                              {"-device", VC_OPT_KV, "vhost-user-fs-%t"}};
static const vc_field_t vhost_user_fs_fields[] = {
    VHOST_USER_CHARDEV,
    FIELD("tag", VC_T_STR, .key = "tag", .opt = 1, .flags = VC_F_REQUIRED,
          .doc = "tag the guest mounts (at most 36 bytes)"),
    FIELD("queue_size", VC_T_INT, .key = "queue-size", .opt = 1, .def = "1024", .min = 1,
          .max = 1024, .doc = "entries per request queue, a power of two"),
    FIELD("num_request_queues", VC_T_INT, .key = "num-request-queues", .opt = 1, .min = 1,
          .max = 1022, .doc = "request queues"),
    VIRTIO_PLACEMENT(1),
    ROMFILE(1),
    DEVICE_ID(1),
};
static int check_vhost_user_fs(const vc_dev_t *d, vc_error_t *err)
{
    const char *tag = vc_dev_get(d, "tag");
    if (tag && (!*tag || strlen(tag) > 36))
        return vc_dev_error(d, "tag", err, "\"%s\" must be 1 to 36 bytes", tag);
    return check_pow2(d, "queue_size", err);
}
KIND_CHECK("vhost-user-fs", "vhost-user-fs: a host directory shared by virtiofsd (virtio-fs)",
           vhost_user_fs_opts, vhost_user_fs_fields, check_vhost_user_fs);

/* ---- VFIO passthrough ---- */

static const vc_opt_t vfio_pci_opts[] = {{"-device", VC_OPT_KV, "vfio-pci"}};
static const vc_field_t vfio_pci_fields[] = {
    FIELD("host", VC_T_STR, .key = "host",
          .doc = "host PCI address, [dddd:]bb:dd.f (one of host and sysfsdev)"),
    FIELD("sysfsdev", VC_T_PATH, .key = "sysfsdev",
          .doc = "the device in sysfs: a mediated device (/sys/bus/mdev/devices/<uuid>) or "
                 "/sys/bus/pci/devices/<address> (one of host and sysfsdev)"),
    FIELD("x_pci_vendor_id", VC_T_INT, .key = "x-pci-vendor-id", .min = 0, .max = 0xffff,
          .doc = "vendor id the guest sees"),
    FIELD("x_pci_device_id", VC_T_INT, .key = "x-pci-device-id", .min = 0, .max = 0xffff,
          .doc = "device id the guest sees"),
    FIELD("romfile", VC_T_STR, .key = "romfile", .doc = "option ROM image; empty for none"),
    FIELD("bus", VC_T_ID, .key = "bus", .doc = "parent PCI bus (a root port)"),
    PCI_ADDR,
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID, .doc = "id of the device itself"),
};
/* [dddd:]bb:dd.f in hex, device at most 0x1f, function at most 7. */
static int check_vfio_pci(const vc_dev_t *d, vc_error_t *err)
{
    static const char *const sources[] = {"host", "sysfsdev"};
    const char *second;
    int nset = count_set(d, sources, 2, NULL, &second);
    if (nset == 0) return vc_dev_error(d, NULL, err, "set one of host and sysfsdev");
    if (nset == 2) return vc_dev_error(d, second, err, "excludes 'host': set only one");
    const char *h = vc_dev_get(d, "host");
    if (!h) return 0;
    size_t len = strlen(h);
    const char *p = len == 12 ? h + 5 : h; /* bb:dd.f */
    int ok = (len == 7 || (len == 12 && hex_digits(h, 4) && h[4] == ':')) && hex_digits(p, 2) &&
             p[2] == ':' && hex_digits(p + 3, 2) && p[5] == '.' && p[6] >= '0' && p[6] <= '7';
    /* the device number has 5 bits: 00 to 1f */
    if (ok) ok = p[3] == '0' || p[3] == '1';
    if (!ok)
        return vc_dev_error(d, "host", err,
                            "\"%s\" is not a PCI address [dddd:]bb:dd.f (0000:01:00.0)", h);
    return 0;
}
KIND_CHECK("vfio-pci", "vfio-pci: a host PCI device passed through to the guest", vfio_pci_opts,
           vfio_pci_fields, check_vfio_pci);

/* QEMU 7.2's vfio-ccw takes the mediated device by sysfsdev only (no host
 * property). */
static const vc_opt_t vfio_ccw_opts[] = {{"-device", VC_OPT_KV, "vfio-ccw"}};
static const vc_field_t vfio_ccw_fields[] = {
    FIELD("sysfsdev", VC_T_PATH, .key = "sysfsdev", .flags = VC_F_REQUIRED,
          .doc = "the mediated device, /sys/bus/mdev/devices/<uuid>"),
    FIELD("devno", VC_T_STR, .key = "devno", .doc = "ccw device number (fe.0.0001)"),
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID, .doc = "id of the device itself"),
};
KIND("vfio-ccw", "vfio-ccw: a host channel subsystem device passed through (s390x)", vfio_ccw_opts,
     vfio_ccw_fields);

static const vc_opt_t vfio_ap_opts[] = {{"-device", VC_OPT_KV, "vfio-ap"}};
static const vc_field_t vfio_ap_fields[] = {
    FIELD("sysfsdev", VC_T_PATH, .key = "sysfsdev", .flags = VC_F_REQUIRED,
          .doc = "the mediated matrix device, /sys/devices/vfio_ap/matrix/<uuid>"),
    FIELD("id", VC_T_ID, .key = "id", .flags = VC_F_DEFINES_ID, .doc = "id of the device itself"),
};
KIND("vfio-ap", "vfio-ap: host crypto adapters passed through (s390x)", vfio_ap_opts,
     vfio_ap_fields);

const vc_kind_t *const vc__kinds_io[] = {
    &kind_virtio_net_tap_fields,
    &kind_virtio_net_user_fields,
    &kind_vhost_user_net_fields,
    &kind_scsi_hd,
    &kind_scsi_cd,
    &kind_vhost_user_blk_fields,
    &kind_vhost_user_scsi_fields,
    &kind_vhost_user_fs_fields,
    &kind_vfio_pci_fields,
    &kind_vfio_ccw_fields,
    &kind_vfio_ap_fields,
    NULL,
};
