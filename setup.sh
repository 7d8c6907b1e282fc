#!/bin/sh
# vclaunch setup: installs the Debian packages vclaunch needs (when missing;
# needs root for apt-get), then configures and builds.
#   ./setup.sh                      build into ./build
#   ./setup.sh --sanitize           AddressSanitizer + UBSan build into ./build-asan
#   ./setup.sh --build-dir DIR      build into DIR
set -eu
cd "$(dirname "$0")"

build_dir=build
sanitize=OFF
while [ $# -gt 0 ]; do
    case "$1" in
    --sanitize) sanitize=ON; build_dir=build-asan ;;
    --build-dir) shift; build_dir="$1" ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

packages="build-essential cmake pkg-config liblua5.4-dev lua5.4 libuv1-dev libcjson-dev
qemu-system-x86 qemu-system-arm qemu-system-ppc qemu-system-misc qemu-system-common qemu-utils
busybox-static cpio kmod iproute2 lua-luv clang libclang-rt-14-dev tmux help2man"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup.sh: missing packages:$missing (run as root, or install them)" >&2
        exit 1
    fi
    echo "setup.sh: installing$missing"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
fi

cmake -S . -B "$build_dir" -DVC_SANITIZE="$sanitize" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
# The guest the example boots: a Debian kernel and a busybox initramfs.
tests/guest/build.sh "$build_dir/guest"
