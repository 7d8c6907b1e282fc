#!/usr/bin/env bash
# Launch benchmark: vclaunch against bench_reference, N = 1, 16 and 64 VMs
# started from one process; and Kata's govmm (bench_launch_govmm) when built.
#
#   bench/launch.sh [BUILD_DIR]          (default: build, next to this bench/)
#   RUNS=9 bench/launch.sh build-rel     (series; default 7, at least 5)
#   NS="1 16" bench/launch.sh build      (the N to run; default "1 16 64")
#
# Builds nothing: BUILD_DIR must hold vclaunch and bench_reference. A series
# is one run of each side at each N; each run is one whole process, timed
# from fork to exit by bash's $EPOCHREALTIME. Within a series the two sides
# run back to back and which goes first alternates from series to series, so
# that a slow patch of the machine falls on both. Prints every run with the
# load average, each series' ratio, then the medians, the ratio vclaunch /
# reference and the peak RSS of each launcher process itself (QEMU not
# counted; see bench/README.md for why /usr/bin/time cannot give this).
#
# When BUILD_DIR/bench_launch_govmm exists (bench/govmm.sh builds it), it
# runs as a third side in each series, after the two others, on the same
# argv changed for QEMU's -daemonize (see bench/launch_govmm.go), and a
# second table gives its medians and govmm / reference; the first table and
# its ratios are the same with or without it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
runs=${RUNS:-7}
read -ra ns <<<"${NS:-1 16 64}"
vclaunch=$build/vclaunch
reference=$build/bench_reference
govmm=$build/bench_launch_govmm
[[ -x $govmm ]] || govmm=
recipe=$here/launch.lua

for exe in "$vclaunch" "$reference"; do
  [[ -x $exe ]] || { echo "launch.sh: $exe not found; build first (make -C $build)" >&2; exit 2; }
done
((runs >= 5)) || { echo "launch.sh: RUNS must be at least 5" >&2; exit 2; }

# The reference starts the very argv vclaunch starts for the recipe's first
# pod: --dry-run prints it (shell-quoted, the runtime dir as a placeholder
# the reference replaces; a "#" line follows) and creates nothing. The
# reference renames each VM as the recipe does.
line=$("$vclaunch" --dry-run "$recipe" 1 | grep -m1 -v '^#')
[[ $line == *'<runtime-dir>/bench1-XXXXXX'* ]] ||
  { echo "launch.sh: no runtime dir placeholder in the pod's argv: $line" >&2; exit 2; }
eval "qemu_argv=($line)" # vclaunch's own shell quoting of its own argv

# Both sides put their sockets and pidfiles under the same private directory.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/vc" "$work/ref" "$work/govmm"

declare -A times rss cpu ratios gratios last

# run SIDE N SERIES: one timed run; appends its wall time (ms), own CPU (ms)
# and peak RSS (KiB).
run() {
  local side=$1 n=$2 t0 t1 kib ms own
  if [[ $side == vclaunch ]]; then
    t0=$EPOCHREALTIME
    "$vclaunch" --accel tcg --runtime-dir "$work/vc" "$recipe" "$n" rss 2>"$work/err" ||
      { cat "$work/err" >&2; echo "launch.sh: vclaunch failed (N=$n)" >&2; exit 1; }
    t1=$EPOCHREALTIME
  elif [[ $side == govmm ]]; then
    t0=$EPOCHREALTIME
    TMPDIR=$work/govmm "$govmm" -r "$n" "${qemu_argv[@]}" 2>"$work/err" ||
      { cat "$work/err" >&2; echo "launch.sh: bench_launch_govmm failed (N=$n)" >&2; exit 1; }
    t1=$EPOCHREALTIME
  else
    t0=$EPOCHREALTIME
    TMPDIR=$work/ref "$reference" -r "$n" "${qemu_argv[@]}" 2>"$work/err" ||
      { cat "$work/err" >&2; echo "launch.sh: bench_reference failed (N=$n)" >&2; exit 1; }
    t1=$EPOCHREALTIME
  fi
  kib=$(sed -n 's/^peak_rss_kib \([0-9]*\)$/\1/p' "$work/err")
  own=$(sed -n 's/^cpu_ms \([0-9.]*\)$/\1/p' "$work/err")
  grep -v '^peak_rss_kib \|^cpu_ms ' "$work/err" >&2 || true
  [[ -n $kib && -n $own ]] || { echo "launch.sh: $side printed no peak_rss_kib or cpu_ms" >&2; exit 1; }
  ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
  times[$side,$n]+="$ms "
  rss[$side,$n]+="$kib "
  cpu[$side,$n]+="$own "
  last[$side]=$ms
  printf '%-9s N=%-2s series %2d  %8s ms wall  %7s ms own CPU  %5s KiB  load %s\n' "$side" "$n" \
    "$3" "$ms" "$own" "$kib" "$(cut -d' ' -f1 /proc/loadavg)"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { tr ' ' '\n' | grep . | sort -g | tail -n 1; }

# table SIDE SHORT RATIOS LABEL: the summary of SIDE against the reference,
# one line per N; RATIOS names the array of SIDE's series ratios.
table() {
  local side=$1 short=$2 label=$4 n ms mr
  local -n series=$3
  printf '%-4s %9s %9s %7s %7s   %9s %9s   %7s %7s   %s\n' N "wall $short" "wall ref" ratio \
    "med r" "cpu $short" "cpu ref" "KiB $short" "KiB ref" "series ratios ($label / ref)"
  for n in "${ns[@]}"; do
    ms=$(median <<<"${times[$side,$n]}")
    mr=$(median <<<"${times[reference,$n]}")
    printf '%-4s %9s %9s %7s %7s   %9s %9s   %7s %7s   %s\n' "$n" "$ms" "$mr" \
      "$(awk -v a="$ms" -v b="$mr" 'BEGIN { printf "%.3f", a / b }')" \
      "$(median <<<"${series[$n]}")" \
      "$(median <<<"${cpu[$side,$n]}")" "$(median <<<"${cpu[reference,$n]}")" \
      "$(maximum <<<"${rss[$side,$n]}")" "$(maximum <<<"${rss[reference,$n]}")" "${series[$n]}"
  done
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $("$vclaunch" --version), $(qemu-system-x86_64 --version | head -n 1), $runs series, N = ${ns[*]}"
echo "# argv: ${qemu_argv[*]}"
[[ -n $govmm ]] && echo "# govmm: $govmm, the same argv but -chardev null for stdio," \
  "the QMP socket by path= instead of fd=3, and -daemonize"
for ((r = 1; r <= runs; r++)); do
  for n in "${ns[@]}"; do
    if ((r % 2)); then run vclaunch "$n" "$r"; run reference "$n" "$r"
    else run reference "$n" "$r"; run vclaunch "$n" "$r"; fi
    ratios[$n]+="$(awk -v a="${last[vclaunch]}" -v b="${last[reference]}" \
      'BEGIN { printf "%.3f", a / b }') "
    if [[ -n $govmm ]]; then
      run govmm "$n" "$r"
      gratios[$n]+="$(awk -v a="${last[govmm]}" -v b="${last[reference]}" \
        'BEGIN { printf "%.3f", a / b }') "
    fi
  done
done

echo
echo "# load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
table vclaunch vc ratios vc
first=${ns[0]}
for n in "${ns[@]:1}"; do
  awk -v a="$(maximum <<<"${rss[vclaunch,$first]}")" -v b="$(maximum <<<"${rss[vclaunch,$n]}")" \
    -v n0="$first" -v n="$n" 'BEGIN { printf "# vclaunch RSS per VM beyond N = %d, at N = %d: %.1f KiB (goal <= 64)\n",
      n0, n, (b - a) / (n - n0) }'
done
echo "# wall: median whole-process wall time (ms); ratio: median wall vc / median wall ref;"
echo "# med r: median of the series' ratios (goal <= 1.05 for both);"
echo "# cpu: median CPU time (ms) of the launcher process itself, QEMU not counted;"
echo "# KiB: the largest peak RSS of the launcher process itself (goal: vclaunch <= 4096 at N = 1)."
if [[ -n $govmm ]]; then
  echo
  table govmm gv gratios govmm
  echo "# gv: Kata's govmm (bench_launch_govmm: LaunchCustomQemu with -daemonize, QMPStart);"
  echo "# it runs third in every series; ratio and med r: govmm / reference, as above."
fi
