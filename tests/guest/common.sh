# shellcheck shell=sh
# Steps shared by the test guest builders build.sh (amd64) and build-arm64.sh:
# fetching Debian packages into OUTDIR/cache, unpacking the kernel,
# modules.dep, the initramfs tree, the kernel modules with their
# dependencies, packing and the stamp. Sourced by those scripts (never run),
# after `set -eu`; each keeps only what differs per architecture.
#
# Sets HERE (this directory), INIT (the guest's /init) and GUEST_LIB (this
# file). The functions set OUTDIR, CACHE, WORK, KREL, MODDIR, KIMAGE (the
# unpacked kernel's boot/vmlinuz-*) and ROOT (the initramfs tree).

HERE=$(cd "$(dirname "$0")" && pwd)
INIT=$HERE/init
GUEST_LIB=$HERE/common.sh

log() { echo "guest/${0##*/}: $*" >&2; }
die() { log "error: $*"; exit 1; }
skip() { log "skipped: $*"; exit 77; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# guest_args "$@": the command line is OUTDIR; create it, set OUTDIR to its
# absolute path.
guest_args() {
    [ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
    mkdir -p "$1"
    OUTDIR=$(cd "$1" && pwd)
}

# guest_candidate PKG: the version apt would install of PKG (or PKG:ARCH).
guest_candidate() {
    apt-cache policy "$1" | sed -n 's/^ *Candidate: //p'
}

# guest_hash MODULES: hash of the calling script, /init, this file and the
# module list, for the stamp: editing any of them rebuilds the guest.
guest_hash() {
    (cat "$0" "$INIT" "$GUEST_LIB"; echo "$1") | sha256sum | cut -d' ' -f1
}

# guest_kernel_dep ARCH META: the newest generic ARCH kernel package META
# (the linux-image-ARCH metapackage) depends on.
guest_kernel_dep() {
    apt-cache depends "$2" 2>/dev/null |
        sed -n "s/^ *Depends: \(linux-image-[0-9][^ :]*-$1\)\(:$1\)\?\$/\1/p" |
        sort -V | tail -n 1
}

# guest_kernel_pkg ARCH META ONFAIL: set KPKG to the newest installable
# generic ARCH kernel: what META depends on. When there is none and we are
# root, add ARCH to dpkg (if foreign and missing), update the package lists
# and look again. ONFAIL (die or skip) when there is still none.
guest_kernel_pkg() {
    KPKG=$(guest_kernel_dep "$1" "$2" || true)
    if [ -z "$KPKG" ] && is_root; then
        if [ "$1" != "$(dpkg --print-architecture)" ] &&
           ! dpkg --print-foreign-architectures | grep -qx "$1"; then
            log "adding the $1 architecture to dpkg"
            dpkg --add-architecture "$1" || "$3" "dpkg --add-architecture $1 failed"
        fi
        log "no $1 package lists, running apt-get update"
        apt-get update -qq >&2 || true
        KPKG=$(guest_kernel_dep "$1" "$2" || true)
    fi
    [ -n "$KPKG" ] || "$3" "no $1 kernel package via 'apt-cache depends $2'"
}

# guest_begin STAMP WHAT: exit at once when OUTDIR holds a guest built with
# STAMP; else say we build WHAT and make the download cache OUTDIR/cache and
# an empty OUTDIR/work.
guest_begin() {
    if [ -f "$OUTDIR/vmlinuz" ] && [ -f "$OUTDIR/initrd.img" ] &&
       [ -f "$OUTDIR/stamp" ] && [ "$(cat "$OUTDIR/stamp")" = "$1" ]; then
        exit 0
    fi
    log "building $2 into $OUTDIR"
    CACHE=$OUTDIR/cache
    WORK=$OUTDIR/work
    mkdir -p "$CACHE"
    rm -rf "$WORK"
    mkdir -p "$WORK"
    # apt-get download drops privileges to _apt when root: give it a
    # directory it may write to (and also tell it not to bother).
    if is_root; then chmod 0777 "$CACHE" 2>/dev/null || true; fi
}

# guest_cached PKG FVER ARCH: print the cached .deb of PKG version FVER (as
# in file names) for ARCH (empty: any), if there is one.
guest_cached() {
    if [ -n "$3" ]; then
        set -- "$CACHE/${1}_${2}_$3.deb"
    else
        set -- "$CACHE/${1}_${2}_"*.deb
    fi
    if [ -f "$1" ]; then echo "$1"; fi
}

# guest_fetch PKG ARCH ONFAIL: download PKG (PKG:ARCH when ARCH is not empty)
# into the cache unless its .deb is there, and print the .deb's path. When
# there is no candidate or the download fails, run ONFAIL (die or skip) with
# the reason.
guest_fetch() {
    pkg=$1
    spec=$pkg${2:+:$2}
    ver=$(guest_candidate "$spec")
    if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then "$3" "no candidate for $spec"; fi
    # Epochs appear as %3a in file names.
    fver=$(printf '%s' "$ver" | sed 's/:/%3a/')
    deb=$(guest_cached "$pkg" "$fver" "$2")
    if [ -z "$deb" ]; then
        if is_root; then
            (cd "$CACHE" && apt-get -o APT::Sandbox::User=root -q download "$spec=$ver" >&2) ||
                "$3" "apt-get download $spec failed"
        else
            (cd "$CACHE" && apt-get -q download "$spec=$ver" >&2) ||
                "$3" "apt-get download $spec failed"
        fi
        deb=$(guest_cached "$pkg" "$fver" "$2")
        [ -n "$deb" ] || die "downloaded $spec but cannot find its .deb"
    fi
    echo "$deb"
}

# guest_unpack_kernel DEB: unpack the kernel package into WORK/kernel; set
# KIMAGE, KREL and MODDIR.
guest_unpack_kernel() {
    log "unpacking $1"
    dpkg -x "$1" "$WORK/kernel"
    KIMAGE=
    for f in "$WORK/kernel/boot/vmlinuz-"*; do
        if [ -f "$f" ]; then KIMAGE=$f; break; fi
    done
    [ -n "$KIMAGE" ] || die "no boot/vmlinuz-* in $1"
    KREL=${KIMAGE##*/vmlinuz-}
    MODDIR=$WORK/kernel/lib/modules/$KREL
}

# guest_depmod BUSYBOX: Debian generates modules.dep at install time
# (postinst): make it here with kmod's depmod, else with BUSYBOX (a busybox
# that runs on this host; may be empty).
guest_depmod() {
    if ! [ -f "$MODDIR/modules.dep" ]; then
        if command -v depmod >/dev/null 2>&1 && depmod -V 2>/dev/null | grep -q kmod; then
            depmod -b "$WORK/kernel" "$KREL" >&2
        elif command -v /sbin/depmod >/dev/null 2>&1; then
            /sbin/depmod -b "$WORK/kernel" "$KREL" >&2
        elif [ -n "$1" ]; then
            "$1" depmod -b "$WORK/kernel" "$KREL" >&2
        fi
    fi
    [ -f "$MODDIR/modules.dep" ] || die "could not generate modules.dep for $KREL"
}

# guest_tree BUSYBOX APPLETS: the initramfs tree in ROOT: BUSYBOX (the
# guest's) with a link for each of APPLETS (paths such as bin/sh, as
# `busybox --list-full` prints them), /init, a few device nodes, passwd and
# the power button script.
guest_tree() {
    ROOT=$WORK/root
    mkdir -p "$ROOT/bin" "$ROOT/sbin" "$ROOT/usr/bin" "$ROOT/usr/sbin" \
             "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp" "$ROOT/mnt" \
             "$ROOT/root" "$ROOT/etc/acpi/PWRF" "$ROOT/var/log" \
             "$ROOT/lib/modules/$KREL"
    cp "$1" "$ROOT/bin/busybox"
    chmod 0755 "$ROOT/bin/busybox"
    printf '%s\n' "$2" | tr ' ' '\n' | while read -r app; do
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

    # Power button: busybox acpid maps KEY_POWER (the ACPI button on amd64,
    # gpio-keys on arm64 virt) to PWRF/00000080 and runs that file from its
    # config directory.
    cat >"$ROOT/etc/acpi/PWRF/00000080" <<'EOS'
#!/bin/sh
echo "VCLAUNCH-GUEST-POWEROFF" >/dev/console
sync
poweroff -f
EOS
    chmod 0755 "$ROOT/etc/acpi/PWRF/00000080"
}

# guest_modules MODULES BUSYBOX: copy the modules named in MODULES (those not
# built in) and their dependencies into ROOT, uncompressed, with
# /etc/vc-modules (the load order for /init) and a modules.dep for busybox
# modprobe. BUSYBOX (host busybox, may be empty) is the xz fallback.
guest_modules() {
    wanted=$(printf '%s\n' "$1" | tr '\n' ' ')
    awk -v wanted="$wanted" -v builtin="$MODDIR/modules.builtin" '
# Normalised module name of a modules.dep path: basename, no .ko*, - -> _.
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
    # Load order for /init: every needed module after its dependencies.
    sed -n 's/^M //p' "$WORK/modlist" | sed 's/\.ko\.[a-z]*$/.ko/' >"$ROOT/etc/vc-modules"

    sed -n 's/^M //p' "$WORK/modlist" | while read -r p; do
        dst=$ROOT/lib/modules/$KREL/$(printf '%s\n' "$p" | sed 's/\.ko\.[a-z]*$/.ko/')
        mkdir -p "$(dirname "$dst")"
        case "$p" in
            *.ko.xz)
                if [ -n "$2" ]; then
                    xz -dc "$MODDIR/$p" >"$dst" 2>/dev/null || "$2" xzcat "$MODDIR/$p" >"$dst"
                else
                    xz -dc "$MODDIR/$p" >"$dst"
                fi ;;
            *.ko.zst) zstd -qdc "$MODDIR/$p" >"$dst" ;;
            *.ko.gz)  gzip -dc "$MODDIR/$p" >"$dst" ;;
            *)        cp "$MODDIR/$p" "$dst" ;;
        esac
    done
    # modules.dep for busybox modprobe: only the copied modules, uncompressed
    # names.
    sed -n 's/^M //p' "$WORK/modlist" | sort >"$WORK/modpaths"
    awk 'NR == FNR { keep[$1] = 1; next }
         { p = $1; sub(/:$/, "", p); if (p in keep) print }' \
        "$WORK/modpaths" "$MODDIR/modules.dep" |
        sed 's/\.ko\.[a-z]*\(:\| \|$\)/.ko\1/g' >"$ROOT/lib/modules/$KREL/modules.dep"
    for f in modules.builtin modules.builtin.modinfo modules.order modules.alias \
             modules.softdep; do
        if [ -f "$MODDIR/$f" ]; then
            sed 's/\.ko\.[a-z]*\(:\| \|$\)/.ko\1/g' "$MODDIR/$f" \
                >"$ROOT/lib/modules/$KREL/$f"
        fi
    done
    loaded=$(sed -n 's/^L //p' "$WORK/modlist" | tr '\n' ' ')
    log "modules: $(wc -l <"$WORK/modpaths") files for: ${loaded% }"
}

# guest_pack KERNEL BUSYBOX STAMP WHAT: pack ROOT into OUTDIR/initrd.img (with
# cpio, else BUSYBOX cpio: a host busybox, may be empty), install KERNEL as
# OUTDIR/vmlinuz, write STAMP to OUTDIR/stamp and drop WORK. WHAT describes
# the kernel in the last log line.
guest_pack() {
    log "packing initramfs"
    if command -v cpio >/dev/null 2>&1; then
        (cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
            >"$WORK/initrd.cpio"
    elif [ -n "$2" ]; then
        (cd "$ROOT" && find . | LC_ALL=C sort | "$2" cpio -o -H newc) >"$WORK/initrd.cpio"
    else
        die "no cpio to pack the initramfs"
    fi
    gzip -n -6 <"$WORK/initrd.cpio" >"$OUTDIR/initrd.img.tmp"
    cp "$1" "$OUTDIR/vmlinuz.tmp"
    mv "$OUTDIR/vmlinuz.tmp" "$OUTDIR/vmlinuz"
    mv "$OUTDIR/initrd.img.tmp" "$OUTDIR/initrd.img"
    printf '%s\n' "$3" >"$OUTDIR/stamp"
    rm -rf "$WORK"
    log "done: $OUTDIR/vmlinuz ($4), $OUTDIR/initrd.img ($(wc -c <"$OUTDIR/initrd.img") bytes)"
}
