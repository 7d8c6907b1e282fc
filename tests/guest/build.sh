#!/bin/sh
# Build the vclaunch test guest: a Debian kernel (tests/guest OUTDIR/vmlinuz)
# and a busybox initramfs (OUTDIR/initrd.img), from Debian packages only.
# Usage: build.sh OUTDIR
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUTDIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
INIT=$HERE/init

MODULES="virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio_rng
virtio_balloon virtio_scsi sd_mod sr_mod 9p 9pnet 9pnet_virtio virtiofs fuse
netfs fscache vsock vmw_vsock_virtio_transport button evdev"

log() { echo "guest/build.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

APT_OPTS=
is_root && APT_OPTS="-o APT::Sandbox::User=root"

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

arch=$(dpkg --print-architecture)
meta=linux-image-$arch

# Newest installable generic kernel: what the linux-image-<arch> metapackage
# depends on.
kernel_pkg() {
    apt-cache depends "$meta" 2>/dev/null |
        sed -n "s/^ *Depends: \(linux-image-[0-9][^ ]*-$arch\)\$/\1/p" |
        sort -V | tail -n 1
}
KPKG=$(kernel_pkg || true)
if [ -z "$KPKG" ] && is_root; then
    log "apt lists look empty, running apt-get update"
    apt-get update -qq >&2 || true
    KPKG=$(kernel_pkg || true)
fi
[ -n "$KPKG" ] || die "cannot find a kernel package via 'apt-cache depends $meta'"
KPKG_VER=$(apt-cache policy "$KPKG" | sed -n 's/^ *Candidate: //p')
KVER=${KPKG#linux-image-}

HASH=$( (cat "$0" "$INIT"; echo "$MODULES") | sha256sum | cut -d' ' -f1)
STAMP="kernel=$KPKG $KPKG_VER
hash=$HASH"

if [ -f "$OUTDIR/vmlinuz" ] && [ -f "$OUTDIR/initrd.img" ] &&
   [ -f "$OUTDIR/stamp" ] && [ "$(cat "$OUTDIR/stamp")" = "$STAMP" ]; then
    exit 0
fi

log "building guest: $KPKG $KPKG_VER into $OUTDIR"
CACHE=$OUTDIR/cache
WORK=$OUTDIR/work
mkdir -p "$CACHE"
rm -rf "$WORK"
mkdir -p "$WORK"
# apt-get download drops privileges to _apt when root: give it a directory
# it may write to (and also tell it not to bother).
is_root && chmod 0777 "$CACHE" 2>/dev/null || true

# Download PKG into the cache (unless a .deb for it is there) and print the
# .deb's path.
fetch() {
    pkg=$1
    ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no candidate for $pkg"
    # Epochs appear as %3a in file names.
    fver=$(printf '%s' "$ver" | sed 's/:/%3a/')
    deb=$(ls "$CACHE/${pkg}_${fver}_"*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
        (cd "$CACHE" && apt-get $APT_OPTS -q download "$pkg=$ver" >&2) ||
            die "apt-get download $pkg failed"
        deb=$(ls "$CACHE/${pkg}_${fver}_"*.deb 2>/dev/null | head -n 1 || true)
        [ -n "$deb" ] || die "downloaded $pkg but cannot find its .deb"
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
# Debian generates modules.dep at install time (postinst): make it here.
if ! [ -f "$MODDIR/modules.dep" ]; then
    if command -v depmod >/dev/null 2>&1 && depmod -V 2>/dev/null | grep -q kmod; then
        depmod -b "$WORK/kernel" "$KREL" >&2
    elif command -v /sbin/depmod >/dev/null 2>&1; then
        /sbin/depmod -b "$WORK/kernel" "$KREL" >&2
    else
        DEPMOD_BB=1
    fi
fi

# --- busybox ----------------------------------------------------------------
is_static() {
    # A static busybox has no program interpreter.
    [ -x "$1" ] || return 1
    if command -v file >/dev/null 2>&1; then
        file -L "$1" | grep -q 'statically linked'
    else
        ! grep -q 'ld-linux' "$1"
    fi
}
BB=
for c in /bin/busybox /usr/bin/busybox; do
    if is_static "$c"; then BB=$c; break; fi
done
if [ -z "$BB" ] && is_root && ! [ -e /bin/busybox ]; then
    log "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2 || true
    is_static /bin/busybox && BB=/bin/busybox
fi
if [ -z "$BB" ]; then
    BDEB=$(fetch busybox-static)
    dpkg -x "$BDEB" "$WORK/busybox"
    for c in "$WORK/busybox/bin/busybox" "$WORK/busybox/usr/bin/busybox"; do
        [ -x "$c" ] && { BB=$c; break; }
    done
    [ -n "$BB" ] || die "no busybox in $BDEB"
fi

if [ "${DEPMOD_BB:-0}" = 1 ]; then
    "$BB" depmod -b "$WORK/kernel" "$KREL" >&2
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
"$BB" --list-full | while read -r app; do
    case "$app" in bin/busybox|'') continue ;; esac
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

# Power button: busybox acpid maps KEY_POWER to PWRF/00000080 and runs that
# file from its config directory.
cat >"$ROOT/etc/acpi/PWRF/00000080" <<'EOS'
#!/bin/sh
echo "VCLAUNCH-GUEST-POWEROFF" >/dev/console
sync
poweroff -f
EOS
chmod 0755 "$ROOT/etc/acpi/PWRF/00000080"

# --- kernel modules ---------------------------------------------------------
# Normalised module name of a modules.dep path: basename, no .ko*, - -> _.
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

: >"$ROOT/etc/vc-modules"
sed -n 's/^B //p' "$WORK/modlist" | while read -r m; do log "module $m: built in"; done
sed -n 's/^X //p' "$WORK/modlist" | while read -r m; do log "module $m: not in this kernel, skipped"; done
# Load order for /init: every needed module after its dependencies.
sed -n 's/^M //p' "$WORK/modlist" | sed 's/\.ko\.[a-z]*$/.ko/' >"$ROOT/etc/vc-modules"

strip_ext() { printf '%s\n' "$1" | sed 's/\.ko\.[a-z]*$/.ko/'; }
sed -n 's/^M //p' "$WORK/modlist" | while read -r p; do
    dst=$ROOT/lib/modules/$KREL/$(strip_ext "$p")
    mkdir -p "$(dirname "$dst")"
    case "$p" in
        *.ko.xz)  xz -dc "$MODDIR/$p" >"$dst" 2>/dev/null || "$BB" xzcat "$MODDIR/$p" >"$dst" ;;
        *.ko.zst) zstd -qdc "$MODDIR/$p" >"$dst" ;;
        *.ko.gz)  gzip -dc "$MODDIR/$p" >"$dst" ;;
        *)        cp "$MODDIR/$p" "$dst" ;;
    esac
done
# modules.dep for busybox modprobe: only the copied modules, uncompressed names.
sed -n 's/^M //p' "$WORK/modlist" | sort >"$WORK/modpaths"
awk 'NR == FNR { keep[$1] = 1; next }
     { p = $1; sub(/:$/, "", p); if (p in keep) print }' \
    "$WORK/modpaths" "$MODDIR/modules.dep" |
    sed 's/\.ko\.[a-z]*\(:\| \|$\)/.ko\1/g' >"$ROOT/lib/modules/$KREL/modules.dep"
for f in modules.builtin modules.builtin.modinfo modules.order modules.alias modules.softdep; do
    [ -f "$MODDIR/$f" ] && sed 's/\.ko\.[a-z]*\(:\| \|$\)/.ko\1/g' "$MODDIR/$f" \
        >"$ROOT/lib/modules/$KREL/$f"
done
log "modules: $(wc -l <"$WORK/modpaths") files for: $(echo $(sed -n 's/^L //p' "$WORK/modlist"))"

# --- pack -------------------------------------------------------------------
log "packing initramfs"
if command -v cpio >/dev/null 2>&1; then
    (cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
        >"$WORK/initrd.cpio"
else
    (cd "$ROOT" && find . | LC_ALL=C sort | "$BB" cpio -o -H newc) >"$WORK/initrd.cpio"
fi
gzip -n -6 <"$WORK/initrd.cpio" >"$OUTDIR/initrd.img.tmp"
cp "$vmlinuz" "$OUTDIR/vmlinuz.tmp"
mv "$OUTDIR/vmlinuz.tmp" "$OUTDIR/vmlinuz"
mv "$OUTDIR/initrd.img.tmp" "$OUTDIR/initrd.img"
printf '%s\n' "$STAMP" >"$OUTDIR/stamp"
rm -rf "$WORK"
log "done: $OUTDIR/vmlinuz ($KREL), $OUTDIR/initrd.img ($(wc -c <"$OUTDIR/initrd.img") bytes)"
