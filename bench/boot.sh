#!/usr/bin/env bash
# Boot benchmark: the test guest (tests/guest: Debian kernel + busybox
# initramfs) from start to its ready marker, vclaunch's default amd64
# policy against hand-written QEMU command lines for the same kernel and
# initramfs. TCG.
#
#   bench/boot.sh [BUILD_DIR [GUEST_DIR]]    (default: build, BUILD_DIR/guest)
#   RUNS=7 bench/boot.sh build-rel           (series; default 5, at least 5)
#   LINES="vc-q35 hand-q35-min" bench/boot.sh build-rel
#   LINES="hand-q35-min hand-q35-cpu=max,pku=off" bench/boot.sh build-rel
#
# A series boots each line once, in an order that rotates from series to
# series, so a slow patch of the machine falls on all of them. The vclaunch
# lines time pod:start() to the marker inside the recipe (bench/boot.lua);
# the hand-written ones time fork + exec of QEMU to the marker seen on its
# stdout (grep -m1). Each guest is killed once its marker is seen.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
guest=${2:-$build/guest}
runs=${RUNS:-5}
vclaunch=$build/vclaunch
[[ -x $vclaunch ]] || { echo "boot.sh: $vclaunch not found; build first" >&2; exit 2; }
[[ -r $guest/vmlinuz && -r $guest/initrd.img ]] ||
  { echo "boot.sh: no guest in $guest (ctest -R guest.build builds it)" >&2; exit 2; }
((runs >= 5)) || { echo "boot.sh: RUNS must be at least 5" >&2; exit 2; }
MARKER=VCLAUNCH-GUEST-READY
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
LIMIT=${LIMIT:-300} # seconds one boot may take

# The hand-written lines. Common to all: no defaults, no user config, no
# display, the serial port on stdio, the guest's kernel and initramfs.
kernel=(-kernel "$guest/vmlinuz" -initrd "$guest/initrd.img")
common=(-nodefaults -no-user-config -display none -serial stdio "${kernel[@]}")
declare -A hand
# vclaunch's own q35 argv (what --dry-run prints for the pod; no QMP
# monitors, no pidfile) started by hand: the cost of vclaunch itself
policy=$("$vclaunch" --dry-run "$here/boot.lua" "$guest" q35 pod)
hand[hand-q35-policy]=${policy#qemu-system-x86_64 }
# the least: machine, memory, kernel; least MACHINE [ARGS...] prints it
# for that machine, with more arguments
least() {
  local machine=$1
  shift
  echo "-M $machine,accel=tcg $* -m 256M ${common[*]} -append 'console=ttyS0 quiet panic=1'"
}
hand[hand-q35-min]=$(least q35)
# the least line plus one piece of the policy each: -cpu max; the two
# pcie-root-ports q35 pods get for hot-plug (hotplug_ports = 2)
hand[hand-q35-cpumax]=$(least q35 -cpu max)
hand[hand-q35-maxnola57]=$(least q35 -cpu max,la57=off)
hand[hand-q35-ports]=$(least q35 -device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1 \
  -device pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=2)
# QEMU's default CPU model instead of max (fewer features for TCG to emulate)
hand[hand-q35-qemu64]=$(least q35 -cpu qemu64)
# q35 without its SATA controller and SMBus
hand[hand-q35-bare]=$(least q35,sata=off,smbus=off)
# i440fx (pc) instead of q35
hand[hand-pc-min]=$(least pc)
# microvm: the least, and the policy's own microvm argv by hand
hand[hand-microvm-min]=$(least microvm)
policy=$("$vclaunch" --dry-run "$here/boot.lua" "$guest" microvm pod)
hand[hand-microvm-policy]=${policy#qemu-system-x86_64 }

read -ra lines <<<"${LINES:-vc-q35 hand-q35-policy hand-q35-min}"
# hand-q35-cpu=MODEL: the least line with -cpu MODEL (features included:
# hand-q35-cpu=max,pku=off)
for line in "${lines[@]}"; do
  if [[ $line == hand-q35-cpu=* ]]; then hand[$line]=$(least q35 -cpu "${line#hand-q35-cpu=}"); fi
done

# boot LINE: prints the ms from start to the marker.
boot() {
  local line=$1 t0 t1 pid
  if [[ $line == vc-* ]]; then
    timeout "$LIMIT" "$vclaunch" --accel tcg "$here/boot.lua" "$guest" "${line#vc-}" |
      sed -n 's/^boot_ms //p'
    return
  fi
  eval "local argv=(${hand[$line]})"
  rm -f "$work/pid"
  t0=$EPOCHREALTIME
  if timeout "$LIMIT" grep -q -m1 -a "$MARKER" \
      < <(exec qemu-system-x86_64 "${argv[@]}" -pidfile "$work/pid" 2>/dev/null); then
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
  fi
  pid=$(cat "$work/pid" 2>/dev/null) || pid=
  if [[ -n $pid ]]; then
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $("$vclaunch" --version), $(qemu-system-x86_64 --version | head -n 1), $runs series"
for line in "${lines[@]}"; do
  if [[ $line == vc-* ]]; then
    echo "# $line: $("$vclaunch" --dry-run "$here/boot.lua" "$guest" "${line#vc-}" pod)"
  else
    echo "# $line: qemu-system-x86_64 ${hand[$line]}"
  fi
done
declare -A times
n=${#lines[@]}
for ((r = 1; r <= runs; r++)); do
  for ((k = 0; k < n; k++)); do
    line=${lines[(k + r - 1) % n]}
    ms=$(boot "$line") || ms=
    [[ -n $ms ]] || { echo "boot.sh: $line: no $MARKER within ${LIMIT}s" >&2; ms=; }
    times[$line]+="${ms:-x} "
    printf '%-18s series %2d  %9s ms  load %s\n' "$line" "$r" "${ms:-none}" \
      "$(cut -d' ' -f1 /proc/loadavg)"
  done
done

echo
echo "# load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
best=
for line in "${lines[@]}"; do
  m=$(tr ' ' '\n' <<<"${times[$line]}" | grep -v '^x$' | median)
  printf '%-18s median %9s ms   series: %s\n' "$line" "${m:-none}" "${times[$line]}"
done
