#!/bin/sh
# Build the vclaunch arm64 test guest: a Debian arm64 kernel (OUTDIR/vmlinuz,
# an uncompressed Image that qemu-system-aarch64 -kernel boots) and a
# busybox-static:arm64 initramfs (OUTDIR/initrd.img) with the same /init as
# the amd64 guest (tests/guest/init), from Debian packages only. Cached in
# OUTDIR; never committed.
# Usage: build-arm64.sh OUTDIR
#
# Needs the arm64 package lists: as root the script runs
# `dpkg --add-architecture arm64 && apt-get update` when they are missing.
# Exits 77 (skip) when the packages cannot be had (no network, not root).
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUTDIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
INIT=$HERE/init
ARCH=arm64

# virtio over PCI (virt's transport) and MMIO, the disks, consoles and the
# rest the amd64 guest has; gpio_keys + the PL061 GPIO carry virt's power
# button (system_powerdown) to evdev when the kernel boots from a device tree.
MODULES="virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio_rng
virtio_balloon virtio_scsi sd_mod sr_mod 9p 9pnet 9pnet_virtio virtiofs fuse
netfs fscache vsock vmw_vsock_virtio_transport gpio_pl061 gpio_keys evdev"

log() { echo "guest/build-arm64.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
skip() { log "skipped: $*"; exit 77; }

is_root() { [ "$(id -u)" -eq 0 ]; }

APT_OPTS=
is_root && APT_OPTS="-o APT::Sandbox::User=root"

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

meta=linux-image-$ARCH:$ARCH

# Newest installable generic arm64 kernel: what linux-image-arm64 depends on.
kernel_pkg() {
    apt-cache depends "$meta" 2>/dev/null |
        sed -n "s/^ *Depends: \(linux-image-[0-9][^ :]*-$ARCH\)\(:$ARCH\)\?\$/\1/p" |
        sort -V | tail -n 1
}
KPKG=$(kernel_pkg || true)
if [ -z "$KPKG" ] && is_root; then
    if ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
        log "adding the $ARCH architecture to dpkg"
        dpkg --add-architecture "$ARCH" || skip "dpkg --add-architecture $ARCH failed"
    fi
    log "no $ARCH package lists, running apt-get update"
    apt-get update -qq >&2 || true
    KPKG=$(kernel_pkg || true)
fi
[ -n "$KPKG" ] || skip "no $ARCH kernel package via 'apt-cache depends $meta' (no arm64 lists)"
KPKG_VER=$(apt-cache policy "$KPKG:$ARCH" | sed -n 's/^ *Candidate: //p')
BB_VER=$(apt-cache policy "busybox-static:$ARCH" | sed -n 's/^ *Candidate: //p')

HASH=$( (cat "$0" "$INIT"; echo "$MODULES") | sha256sum | cut -d' ' -f1)
STAMP="kernel=$KPKG $KPKG_VER
busybox=$BB_VER
hash=$HASH"

if [ -f "$OUTDIR/vmlinuz" ] && [ -f "$OUTDIR/initrd.img" ] &&
   [ -f "$OUTDIR/stamp" ] && [ "$(cat "$OUTDIR/stamp")" = "$STAMP" ]; then
    exit 0
fi

log "building arm64 guest: $KPKG $KPKG_VER into $OUTDIR"
CACHE=$OUTDIR/cache
WORK=$OUTDIR/work
mkdir -p "$CACHE"
rm -rf "$WORK"
mkdir -p "$WORK"
is_root && chmod 0777 "$CACHE" 2>/dev/null || true

# Download PKG:arm64 into the cache (unless its .deb is there) and print the
# .deb's path. A failed download is a skip: it means no network here.
fetch() {
    pkg=$1
    ver=$(apt-cache policy "$pkg:$ARCH" | sed -n 's/^ *Candidate: //p')
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || skip "no candidate for $pkg:$ARCH"
    fver=$(printf '%s' "$ver" | sed 's/:/%3a/')
    deb=$(ls "$CACHE/${pkg}_${fver}_$ARCH.deb" 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
        (cd "$CACHE" && apt-get $APT_OPTS -q download "$pkg:$ARCH=$ver" >&2) ||
            skip "apt-get download $pkg:$ARCH failed"
        deb=$(ls "$CACHE/${pkg}_${fver}_$ARCH.deb" 2>/dev/null | head -n 1 || true)
        [ -n "$deb" ] || die "downloaded $pkg:$ARCH but cannot find its .deb"
    fi
    echo "$deb"
}

# --- kernel -----------------------------------------------------------------
KDEB=$(fetch "$KPKG")
log "unpacking $KDEB"
dpkg -x "$KDEB" "$WORK/kernel"
vmlinuz=$(ls "$WORK/kernel/boot/vmlinuz-"* 2>/dev/null | head -n 1 || true)
[ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $KDEB"
KREL=${vmlinuz##*/vmlinuz-}
MODDIR=$WORK/kernel/lib/modules/$KREL

# Debian's arm64 vmlinuz is a gzip-compressed Image: give QEMU the Image.
if [ "$(od -An -tx1 -N2 "$vmlinuz" | tr -d ' ')" = "1f8b" ]; then
    gzip -dc "$vmlinuz" >"$WORK/Image"
else
    cp "$vmlinuz" "$WORK/Image"
fi
# An arm64 Image carries "ARM\x64" at offset 56.
[ "$(od -An -c -j56 -N4 "$WORK/Image" | tr -d ' ')" = 'ARMd' ] ||
    die "$vmlinuz is not an arm64 Image"

# --- busybox ----------------------------------------------------------------
BDEB=$(fetch busybox-static)
dpkg -x "$BDEB" "$WORK/busybox"
BB=
for c in "$WORK/busybox/bin/busybox" "$WORK/busybox/usr/bin/busybox"; do
    [ -f "$c" ] && { BB=$c; break; }
done
[ -n "$BB" ] || die "no busybox in $BDEB"

# The arm64 busybox cannot run here. The applet links come from the host's
# busybox of the same Debian version when there is one, else from the
# commands tests/guest/init and its power-off script use.
HOST_BB=
for c in /bin/busybox /usr/bin/busybox; do
    [ -x "$c" ] && { HOST_BB=$c; break; }
done
HOST_BB_VER=$(dpkg-query -W -f '${Version}' busybox-static 2>/dev/null || true)
[ -n "$HOST_BB_VER" ] || HOST_BB_VER=$(dpkg-query -W -f '${Version}' busybox 2>/dev/null || true)
APPLETS="bin/sh bin/mount bin/umount bin/mkdir bin/hostname bin/echo bin/cat bin/ls
bin/sleep bin/kill bin/grep bin/od bin/head bin/sync sbin/insmod sbin/modprobe
sbin/mdev sbin/poweroff sbin/acpid bin/setsid bin/cttyhack bin/uname bin/mknod"

# Modules: depmod from the host (kmod) or from the host busybox.
if ! [ -f "$MODDIR/modules.dep" ]; then
    if command -v depmod >/dev/null 2>&1 && depmod -V 2>/dev/null | grep -q kmod; then
        depmod -b "$WORK/kernel" "$KREL" >&2
    elif command -v /sbin/depmod >/dev/null 2>&1; then
        /sbin/depmod -b "$WORK/kernel" "$KREL" >&2
    elif [ -n "$HOST_BB" ]; then
        "$HOST_BB" depmod -b "$WORK/kernel" "$KREL" >&2
    fi
fi
[ -f "$MODDIR/modules.dep" ] || die "could not generate modules.dep for $KREL"

# --- initramfs tree ---------------------------------------------------------
ROOT=$WORK/root
mkdir -p "$ROOT/bin" "$ROOT/sbin" "$ROOT/usr/bin" "$ROOT/usr/sbin" \
         "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp" "$ROOT/mnt" \
         "$ROOT/root" "$ROOT/etc/acpi/PWRF" "$ROOT/var/log" \
         "$ROOT/lib/modules/$KREL"
cp "$BB" "$ROOT/bin/busybox"
chmod 0755 "$ROOT/bin/busybox"
if [ -n "$HOST_BB" ] && [ "$HOST_BB_VER" = "$BB_VER" ]; then
    APPLETS=$("$HOST_BB" --list-full)
else
    log "no host busybox $BB_VER: linking only the applets /init uses"
fi
for app in $APPLETS; do
    case "$app" in bin/busybox|'') continue ;; esac
    mkdir -p "$ROOT/$(dirname "$app")"
    [ -e "$ROOT/$app" ] || [ -L "$ROOT/$app" ] || ln -s /bin/busybox "$ROOT/$app"
done
[ -e "$ROOT/bin/sh" ] || ln -s /bin/busybox "$ROOT/bin/sh"
cp "$INIT" "$ROOT/init"
chmod 0755 "$ROOT/init"
if is_root; then
    mknod -m 0600 "$ROOT/dev/console" c 5 1 2>/dev/null || true
    mknod -m 0666 "$ROOT/dev/null" c 1 3 2>/dev/null || true
fi
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
echo 'root:x:0:' >"$ROOT/etc/group"

# Power button: busybox acpid maps KEY_POWER (gpio-keys on virt) to
# PWRF/00000080 and runs that file from its config directory.
cat >"$ROOT/etc/acpi/PWRF/00000080" <<'EOS'
#!/bin/sh
echo "VCLAUNCH-GUEST-POWEROFF" >/dev/console
sync
poweroff -f
EOS
chmod 0755 "$ROOT/etc/acpi/PWRF/00000080"

# --- kernel modules ---------------------------------------------------------
wanted=$(echo $MODULES)
awk -v wanted="$wanted" -v builtin="$MODDIR/modules.builtin" '
function norm(p,   n) { n = p; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n)
                        gsub(/-/, "_", n); return n }
BEGIN {
    while ((getline line < builtin) > 0) isbuiltin[norm(line)] = 1
}
{
    path = $1; sub(/:$/, "", path)
    name = norm(path); pathof[name] = path
    deps[path] = ""
    for (i = 2; i <= NF; i++) deps[path] = deps[path] " " $i
}
function add(p,   n, i, d) {
    if (p in seen) return
    seen[p] = 1
    n = split(deps[p], d, " ")
    for (i = 1; i <= n; i++) add(d[i])
    print "M " p
}
END {
    n = split(wanted, w, " ")
    for (i = 1; i <= n; i++) {
        m = w[i]; gsub(/-/, "_", m)
        if (m in pathof) { print "L " m; add(pathof[m]) }
        else if (m in isbuiltin) print "B " m
        else print "X " m
    }
}' "$MODDIR/modules.dep" >"$WORK/modlist"

sed -n 's/^B //p' "$WORK/modlist" | while read -r m; do log "module $m: built in"; done
sed -n 's/^X //p' "$WORK/modlist" | while read -r m; do
    log "module $m: not in this kernel, skipped"
done
sed -n 's/^M //p' "$WORK/modlist" | sed 's/\.ko\.[a-z]*$/.ko/' >"$ROOT/etc/vc-modules"

strip_ext() { printf '%s\n' "$1" | sed 's/\.ko\.[a-z]*$/.ko/'; }
sed -n 's/^M //p' "$WORK/modlist" | while read -r p; do
    dst=$ROOT/lib/modules/$KREL/$(strip_ext "$p")
    mkdir -p "$(dirname "$dst")"
    case "$p" in
        *.ko.xz)  xz -dc "$MODDIR/$p" >"$dst" ;;
        *.ko.zst) zstd -qdc "$MODDIR/$p" >"$dst" ;;
        *.ko.gz)  gzip -dc "$MODDIR/$p" >"$dst" ;;
        *)        cp "$MODDIR/$p" "$dst" ;;
    esac
done
sed -n 's/^M //p' "$WORK/modlist" | sort >"$WORK/modpaths"
awk 'NR == FNR { keep[$1] = 1; next }
     { p = $1; sub(/:$/, "", p); if (p in keep) print }' \
    "$WORK/modpaths" "$MODDIR/modules.dep" |
    sed 's/\.ko\.[a-z]*\(:\| \|$\)/.ko\1/g' >"$ROOT/lib/modules/$KREL/modules.dep"
for f in modules.builtin modules.builtin.modinfo modules.order modules.alias modules.softdep; do
    [ -f "$MODDIR/$f" ] && sed 's/\.ko\.[a-z]*\(:\| \|$\)/.ko\1/g' "$MODDIR/$f" \
        >"$ROOT/lib/modules/$KREL/$f"
done
loaded=$(sed -n 's/^L //p' "$WORK/modlist" | tr '\n' ' ')
log "modules: $(wc -l <"$WORK/modpaths") files for: $loaded"

# --- pack -------------------------------------------------------------------
log "packing initramfs"
if command -v cpio >/dev/null 2>&1; then
    (cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
        >"$WORK/initrd.cpio"
elif [ -n "$HOST_BB" ]; then
    (cd "$ROOT" && find . | LC_ALL=C sort | "$HOST_BB" cpio -o -H newc) >"$WORK/initrd.cpio"
else
    die "no cpio to pack the initramfs"
fi
gzip -n -6 <"$WORK/initrd.cpio" >"$OUTDIR/initrd.img.tmp"
cp "$WORK/Image" "$OUTDIR/vmlinuz.tmp"
mv "$OUTDIR/vmlinuz.tmp" "$OUTDIR/vmlinuz"
mv "$OUTDIR/initrd.img.tmp" "$OUTDIR/initrd.img"
printf '%s\n' "$STAMP" >"$OUTDIR/stamp"
rm -rf "$WORK"
log "done: $OUTDIR/vmlinuz ($KREL Image), $OUTDIR/initrd.img ($(wc -c <"$OUTDIR/initrd.img") bytes)"
