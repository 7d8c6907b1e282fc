#!/usr/bin/env bash
# Launch benchmark: vclaunch against bench_reference, N = 1 and N = 16.
#
#   bench/run.sh [BUILD_DIR]        (default: build, next to this bench/)
#   RUNS=21 bench/run.sh build      (runs per side and per N; default 11, at least 5)
#
# Builds nothing: BUILD_DIR must hold vclaunch and bench_reference. Each run
# is one whole process, timed from fork to exit by bash's $EPOCHREALTIME.
# The two sides alternate, and which side goes first alternates every round,
# so that a slow patch of the machine falls on both. Prints every run, then
# the medians, the ratio vclaunch / reference and the peak RSS of each
# process itself (QEMU not counted; see bench/README.md for why /usr/bin/time
# cannot give this).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
runs=${RUNS:-11}
vclaunch=$build/vclaunch
reference=$build/bench_reference
recipe=$here/launch.lua

for exe in "$vclaunch" "$reference"; do
  [[ -x $exe ]] || { echo "run.sh: $exe not found; build first (make -C $build)" >&2; exit 2; }
done
((runs >= 5)) || { echo "run.sh: RUNS must be at least 5" >&2; exit 2; }

# The reference hard-codes the QEMU argv; stop if the recipe's has drifted.
if ! diff <("$reference" --argv) <("$vclaunch" --dry-run "$recipe" 1 pod) >/dev/null; then
  echo "run.sh: bench_reference's argv differs from vclaunch's; update reference.c:" >&2
  diff <("$reference" --argv) <("$vclaunch" --dry-run "$recipe" 1 pod) >&2 || true
  exit 1
fi

# Both sides put their sockets and pidfiles under the same private directory.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/vc" "$work/ref"

declare -A times rss cpu

# run SIDE N: one timed run; appends its wall time (ms) and peak RSS (KiB).
run() {
  local side=$1 n=$2 t0 t1 kib ms own
  if [[ $side == vclaunch ]]; then
    t0=$EPOCHREALTIME
    "$vclaunch" --accel tcg --runtime-dir "$work/vc" "$recipe" "$n" rss 2>"$work/err" ||
      { cat "$work/err" >&2; echo "run.sh: vclaunch failed (N=$n)" >&2; exit 1; }
    t1=$EPOCHREALTIME
  else
    t0=$EPOCHREALTIME
    TMPDIR=$work/ref "$reference" -r "$n" 2>"$work/err" ||
      { cat "$work/err" >&2; echo "run.sh: bench_reference failed (N=$n)" >&2; exit 1; }
    t1=$EPOCHREALTIME
  fi
  kib=$(sed -n 's/^peak_rss_kib \([0-9]*\)$/\1/p' "$work/err")
  own=$(sed -n 's/^cpu_ms \([0-9.]*\)$/\1/p' "$work/err")
  grep -v '^peak_rss_kib \|^cpu_ms ' "$work/err" >&2 || true
  [[ -n $kib && -n $own ]] || { echo "run.sh: $side printed no peak_rss_kib or cpu_ms" >&2; exit 1; }
  ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
  times[$side,$n]+="$ms "
  rss[$side,$n]+="$kib "
  cpu[$side,$n]+="$own "
  printf '%-9s N=%-2s run %2d  %8s ms wall  %6s ms own CPU  %5s KiB\n' "$side" "$n" "$3" "$ms" \
    "$own" "$kib"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { tr ' ' '\n' | grep . | sort -g | tail -n 1; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $("$vclaunch" --version), $(qemu-system-x86_64 --version | head -n 1), $runs runs per side and N"
for ((r = 1; r <= runs; r++)); do
  for n in 1 16; do
    if ((r % 2)); then run vclaunch "$n" "$r"; run reference "$n" "$r"
    else run reference "$n" "$r"; run vclaunch "$n" "$r"; fi
  done
done

echo
printf '%-4s %9s %9s %7s   %9s %9s   %9s %9s\n' N "wall vc" "wall ref" ratio "cpu vc" \
  "cpu ref" "KiB vc" "KiB ref"
for n in 1 16; do
  mv=$(median <<<"${times[vclaunch,$n]}")
  mr=$(median <<<"${times[reference,$n]}")
  ratio=$(awk -v a="$mv" -v b="$mr" 'BEGIN { printf "%.3f", a / b }')
  printf '%-4s %9s %9s %7s   %9s %9s   %9s %9s\n' "$n" "$mv" "$mr" "$ratio" \
    "$(median <<<"${cpu[vclaunch,$n]}")" "$(median <<<"${cpu[reference,$n]}")" \
    "$(maximum <<<"${rss[vclaunch,$n]}")" "$(maximum <<<"${rss[reference,$n]}")"
done
echo "# wall: median whole-process wall time (ms); ratio: wall vc / wall ref (goal <= 1.05);"
echo "# cpu: median CPU time (ms) of the launcher process itself, QEMU not counted;"
echo "# KiB: the largest peak RSS of the launcher process itself (goal: vclaunch <= 4096)."
