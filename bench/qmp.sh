#!/usr/bin/env bash
# QMP throughput benchmark: vclaunch's vm:execute against bench_qmp_bare.
#
#   bench/qmp.sh BUILD_DIR                      (default: build, next to bench/)
#   RUNS=7 COUNTS="5000 50000" bench/qmp.sh build
#   CALLGRIND=0 bench/qmp.sh build              (skip the instruction counts)
#
# For each series (RUNS, default 5, at least 3), each N in COUNTS (default
# 5000 50000) and each mode (serial: one command in flight; pipelined: all N
# in flight), runs both sides, each against a QEMU of its own started for
# that run (-S, q35, 128 MiB, TCG):
#   bare      qemu-system-x86_64 -S -display none -machine q35,accel=tcg
#             -m 128 -qmp unix:SOCK,server=on,wait=off, then
#             bench_qmp_bare SOCK N MODE
#   vclaunch  vclaunch --accel tcg bench/qmp.lua N MODE: the pod is started
#             by vclaunch itself, then N vm:execute("query-status")
#   govmm     only when BUILD_DIR/bench_qmp_govmm exists (bench/govmm.sh
#             builds it): Kata's govmm against a QEMU started as for bare
# The sides alternate, and which goes first alternates every series. Prints
# every run, then per mode and N the medians of commands/s, the ratio
# vclaunch / bare of those medians (goal >= 0.95), the range of the
# per-series ratios, and each side's own CPU per command (getrusage /
# os.clock: user + system of the client process, QEMU not counted); with
# govmm, its median and govmm / bare too.
#
# Then, unless CALLGRIND=0, user-space instructions per command of each
# client under valgrind --tool=callgrind: (I(N2) - I(N1)) / (N2 - N1) with
# N1 = 1000 and N2 = 3000, so start-up cancels out. vclaunch's side runs
# bench/qmp.lua in its socket mode there (valgrind 3.19 cannot run
# vclaunch's own start: it lacks pidfd_open), against a QEMU started as for
# the bare client. These counts do not depend on the machine's load.
#
# Builds nothing: BUILD_DIR must hold vclaunch and bench_qmp_bare.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
runs=${RUNS:-5}
counts=${COUNTS:-5000 50000}
vclaunch=$build/vclaunch
bare=$build/bench_qmp_bare
govmm=$build/bench_qmp_govmm
[[ -x $govmm ]] || govmm=
recipe=$here/qmp.lua

for exe in "$vclaunch" "$bare"; do
  [[ -x $exe ]] || { echo "qmp.sh: $exe not found; build first (make -C $build)" >&2; exit 2; }
done
((runs >= 3)) || { echo "qmp.sh: RUNS must be at least 3" >&2; exit 2; }

work=$(mktemp -d)
qemu_pid=
cleanup() {
  [[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/vc"

# start_qemu: a fresh QEMU listening on $work/bare.sock, as the brief of the
# bare client says; sets qemu_pid.
start_qemu() {
  rm -f "$work/bare.sock"
  qemu-system-x86_64 -S -display none -machine q35,accel=tcg -m 128 \
    -qmp "unix:$work/bare.sock,server=on,wait=off" </dev/null >"$work/qemu.log" 2>&1 &
  qemu_pid=$!
}

stop_qemu() {
  kill "$qemu_pid" 2>/dev/null || true
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=
}

declare -A rate cpu pair

# run SIDE N MODE SERIES: one timed run.
run() {
  local side=$1 n=$2 mode=$3 r=$4 out
  if [[ $side == vclaunch ]]; then
    out=$("$vclaunch" --accel tcg --runtime-dir "$work/vc" "$recipe" "$n" "$mode" 2>"$work/err") ||
      { cat "$work/err" >&2; echo "qmp.sh: vclaunch failed (N=$n $mode)" >&2; exit 1; }
  else
    local exe=$bare
    [[ $side == govmm ]] && exe=$govmm
    start_qemu
    out=$("$exe" "$work/bare.sock" "$n" "$mode" 2>"$work/err") ||
      { cat "$work/err" "$work/qemu.log" >&2; echo "qmp.sh: $exe failed (N=$n $mode)" >&2; exit 1; }
    stop_qemu
  fi
  local cps us
  cps=$(sed -n 's/^cmds_per_s \([0-9.]*\)$/\1/p' <<<"$out")
  us=$(sed -n 's/^cpu_us_per_cmd \([0-9.]*\)$/\1/p' <<<"$out")
  [[ -n $cps && -n $us ]] || { echo "qmp.sh: $side printed no figures: $out" >&2; exit 1; }
  rate[$side,$mode,$n]+="$cps "
  cpu[$side,$mode,$n]+="$us "
  eval "last_$side=$cps"
  printf '%-9s %-9s N=%-6s series %2d  %7s cmds/s  %7s us CPU/cmd\n' "$side" "$mode" "$n" "$r" \
    "$cps" "$us"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $("$vclaunch" --version), $(qemu-system-x86_64 --version | head -n 1), $runs series"
for ((r = 1; r <= runs; r++)); do
  for n in $counts; do
    for mode in serial pipelined; do
      if ((r % 2)); then run vclaunch "$n" "$mode" "$r"; run bare "$n" "$mode" "$r"
      else run bare "$n" "$mode" "$r"; run vclaunch "$n" "$mode" "$r"; fi
      [[ -n $govmm ]] && run govmm "$n" "$mode" "$r"
      pair[$mode,$n]+="$(awk -v a="$last_vclaunch" -v b="$last_bare" 'BEGIN { printf "%.3f", a / b }') "
    done
  done
done

echo
printf '%-10s %6s %10s %10s %7s %13s %10s %10s\n' mode N "vc cmd/s" "bare cmd/s" ratio \
  "series ratios" "vc us/cmd" "bare us/cmd"
for n in $counts; do
  for mode in serial pipelined; do
    mv=$(median <<<"${rate[vclaunch,$mode,$n]}")
    mb=$(median <<<"${rate[bare,$mode,$n]}")
    printf '%-10s %6s %10s %10s %7s %13s %10s %10s\n' "$mode" "$n" "$mv" "$mb" \
      "$(awk -v a="$mv" -v b="$mb" 'BEGIN { printf "%.3f", a / b }')" \
      "$(range <<<"${pair[$mode,$n]}")" \
      "$(median <<<"${cpu[vclaunch,$mode,$n]}")" "$(median <<<"${cpu[bare,$mode,$n]}")"
  done
done
echo "# cmd/s: median over the series; ratio: median vc / median bare (goal >= 0.95);"
echo "# series ratios: vc / bare of the runs of each series, lowest-highest;"
echo "# us/cmd: median CPU (user + system) of the client process per command, QEMU not counted."
if [[ -n $govmm ]]; then
  echo
  printf '%-10s %6s %12s %10s %13s\n' mode N "govmm cmd/s" "govmm/bare" "govmm us/cmd"
  for n in $counts; do
    for mode in serial pipelined; do
      mg=$(median <<<"${rate[govmm,$mode,$n]}")
      mb=$(median <<<"${rate[bare,$mode,$n]}")
      printf '%-10s %6s %12s %10s %13s\n' "$mode" "$n" "$mg" \
        "$(awk -v a="$mg" -v b="$mb" 'BEGIN { printf "%.3f", a / b }')" \
        "$(median <<<"${cpu[govmm,$mode,$n]}")"
    done
  done
  echo "# govmm pipelined: N goroutines, one ExecuteQueryStatus each; govmm sends one at a time."
fi

[[ ${CALLGRIND:-1} == 0 ]] && exit 0
command -v valgrind >/dev/null || { echo "# no valgrind: no instruction counts"; exit 0; }

# instructions SIDE MODE N: callgrind's total for one client run.
instructions() {
  local side=$1 mode=$2 n=$3
  start_qemu
  while [[ ! -S $work/bare.sock ]]; do sleep 0.02; done
  if [[ $side == vclaunch ]]; then
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$vclaunch" "$recipe" "$n" "$mode" "$work/bare.sock" >/dev/null 2>"$work/cg"
  else
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$bare" "$work/bare.sock" "$n" "$mode" >/dev/null 2>"$work/cg"
  fi
  stop_qemu
  sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$work/cg"
}

echo
printf '%-10s %12s %12s %7s\n' mode "vc instr/cmd" "bare instr/cmd" ratio
for mode in serial pipelined; do
  declare -A per
  for side in vclaunch bare; do
    a=$(instructions "$side" "$mode" 1000)
    b=$(instructions "$side" "$mode" 3000)
    [[ -n $a && -n $b ]] || { cat "$work/cg" >&2; echo "qmp.sh: callgrind failed ($side)" >&2; exit 1; }
    per[$side]=$(((b - a) / 2000))
  done
  printf '%-10s %12s %12s %7s\n' "$mode" "${per[vclaunch]}" "${per[bare]}" \
    "$(awk -v a="${per[vclaunch]}" -v b="${per[bare]}" 'BEGIN { printf "%.1f", a / b }')"
done
echo "# user-space instructions per command under callgrind, (I(3000) - I(1000)) / 2000;"
echo "# the system calls' kernel work is not counted."
