#!/bin/sh
# Build the vclaunch test guest: a Debian kernel (tests/guest OUTDIR/vmlinuz)
# and a busybox initramfs (OUTDIR/initrd.img), from Debian packages only.
# The steps shared with build-arm64.sh are in common.sh.
# Usage: build.sh OUTDIR
set -eu

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

MODULES="virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio_rng
virtio_balloon virtio_mem virtio_scsi sd_mod sr_mod 9p 9pnet 9pnet_virtio virtiofs fuse
netfs fscache vsock vmw_vsock_virtio_transport button evdev pvpanic_mmio"

guest_args "$@"

arch=$(dpkg --print-architecture)
guest_kernel_pkg "$arch" "linux-image-$arch" die
KPKG_VER=$(guest_candidate "$KPKG")

STAMP="kernel=$KPKG $KPKG_VER
hash=$(guest_hash "$MODULES")"
guest_begin "$STAMP" "guest: $KPKG $KPKG_VER"

# --- kernel -----------------------------------------------------------------
KDEB=$(guest_fetch "$KPKG" "" die)
guest_unpack_kernel "$KDEB"

# --- busybox ----------------------------------------------------------------
is_static() {
    # A static busybox has no program interpreter.
    [ -x "$1" ] || return 1
    if command -v file >/dev/null 2>&1; then
        file -L "$1" | grep -q 'statically linked'
    elif grep -q 'ld-linux' "$1"; then
        return 1
    fi
}
BB=
for c in /bin/busybox /usr/bin/busybox; do
    if is_static "$c"; then BB=$c; break; fi
done
if [ -z "$BB" ] && is_root && ! [ -e /bin/busybox ]; then
    log "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2 || true
    if is_static /bin/busybox; then BB=/bin/busybox; fi
fi
if [ -z "$BB" ]; then
    BDEB=$(guest_fetch busybox-static "" die)
    dpkg -x "$BDEB" "$WORK/busybox"
    for c in "$WORK/busybox/bin/busybox" "$WORK/busybox/usr/bin/busybox"; do
        if [ -x "$c" ]; then BB=$c; break; fi
    done
    [ -n "$BB" ] || die "no busybox in $BDEB"
fi

# This guest's busybox runs here too: it is the fallback for depmod, xz and
# cpio, and lists its own applets.
guest_depmod "$BB"

# --- initramfs --------------------------------------------------------------
guest_tree "$BB" "$("$BB" --list-full)"
guest_modules "$MODULES" "$BB"
guest_pack "$KIMAGE" "$BB" "$STAMP" "$KREL"
