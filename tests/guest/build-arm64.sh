#!/bin/sh
# Build the vclaunch arm64 test guest: a Debian arm64 kernel (OUTDIR/vmlinuz,
# an uncompressed Image that qemu-system-aarch64 -kernel boots) and a
# busybox-static:arm64 initramfs (OUTDIR/initrd.img) with the same /init as
# the amd64 guest (tests/guest/init), from Debian packages only. Cached in
# OUTDIR; never committed. The steps shared with build.sh are in common.sh.
# Usage: build-arm64.sh OUTDIR
#
# Needs the arm64 package lists: as root the script runs
# `dpkg --add-architecture arm64 && apt-get update` when they are missing.
# Exits 77 (skip) when the packages cannot be had (no network, not root).
set -eu

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

ARCH=arm64

# virtio over PCI (virt's transport) and MMIO, the disks, consoles and the
# rest the amd64 guest has; gpio_keys + the PL061 GPIO carry virt's power
# button (system_powerdown) to evdev when the kernel boots from a device tree.
MODULES="virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio_rng
virtio_balloon virtio_scsi sd_mod sr_mod 9p 9pnet 9pnet_virtio virtiofs fuse
netfs fscache vsock vmw_vsock_virtio_transport gpio_pl061 gpio_keys evdev"

guest_args "$@"

guest_kernel_pkg "$ARCH" "linux-image-$ARCH:$ARCH" skip
KPKG_VER=$(guest_candidate "$KPKG:$ARCH")
BB_VER=$(guest_candidate "busybox-static:$ARCH")

STAMP="kernel=$KPKG $KPKG_VER
busybox=$BB_VER
hash=$(guest_hash "$MODULES")"
guest_begin "$STAMP" "arm64 guest: $KPKG $KPKG_VER"

# --- kernel -----------------------------------------------------------------
# A failed download is a skip: it means no network here.
KDEB=$(guest_fetch "$KPKG" "$ARCH" skip)
guest_unpack_kernel "$KDEB"

# Debian's arm64 vmlinuz is a gzip-compressed Image: give QEMU the Image.
if [ "$(od -An -tx1 -N2 "$KIMAGE" | tr -d ' ')" = "1f8b" ]; then
    gzip -dc "$KIMAGE" >"$WORK/Image"
else
    cp "$KIMAGE" "$WORK/Image"
fi
# An arm64 Image carries "ARM\x64" at offset 56.
[ "$(od -An -c -j56 -N4 "$WORK/Image" | tr -d ' ')" = 'ARMd' ] ||
    die "$KIMAGE is not an arm64 Image"

# --- busybox ----------------------------------------------------------------
BDEB=$(guest_fetch busybox-static "$ARCH" skip)
dpkg -x "$BDEB" "$WORK/busybox"
BB=
for c in "$WORK/busybox/bin/busybox" "$WORK/busybox/usr/bin/busybox"; do
    if [ -f "$c" ]; then BB=$c; break; fi
done
[ -n "$BB" ] || die "no busybox in $BDEB"

# The arm64 busybox cannot run here. The applet links come from the host's
# busybox of the same Debian version when there is one, else from the
# commands tests/guest/init and its power-off script use. The host busybox
# is also the fallback for depmod, xz and cpio.
HOST_BB=
for c in /bin/busybox /usr/bin/busybox; do
    if [ -x "$c" ]; then HOST_BB=$c; break; fi
done
HOST_BB_VER=$(dpkg-query -W -f '${Version}' busybox-static 2>/dev/null || true)
[ -n "$HOST_BB_VER" ] || HOST_BB_VER=$(dpkg-query -W -f '${Version}' busybox 2>/dev/null || true)
APPLETS="bin/sh bin/mount bin/umount bin/mkdir bin/hostname bin/echo bin/cat bin/ls
bin/sleep bin/kill bin/grep bin/od bin/head bin/sync sbin/insmod sbin/modprobe
sbin/mdev sbin/poweroff sbin/acpid bin/setsid bin/cttyhack bin/uname bin/mknod"
if [ -n "$HOST_BB" ] && [ "$HOST_BB_VER" = "$BB_VER" ]; then
    APPLETS=$("$HOST_BB" --list-full)
else
    log "no host busybox $BB_VER: linking only the applets /init uses"
fi

guest_depmod "$HOST_BB"

# --- initramfs --------------------------------------------------------------
guest_tree "$BB" "$APPLETS"
guest_modules "$MODULES" "$HOST_BB"
guest_pack "$WORK/Image" "$HOST_BB" "$STAMP" "$KREL Image"
