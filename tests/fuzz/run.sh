#!/bin/sh
# Builds the libFuzzer tree into DIR and runs each target for SECONDS on its
# seed corpus; exits 1 when a target finds a crash, a leak or a hang.
#   tests/fuzz/run.sh DIR SECONDS
# The seeds are copied into DIR/fuzz-<target>/corpus, which the run grows
# and later runs start from; tests/fuzz/corpus is never written. A finding
# lands in DIR/fuzz-<target>/artifacts, the whole output in .../log.
set -eu
if [ $# -ne 2 ]; then
    sed -n '2,7p' "$0" >&2
    exit 2
fi
dir=$1
seconds=$2
src=$(cd "$(dirname "$0")/../.." && pwd)

CC=clang cmake -S "$src" -B "$dir" -DVC_FUZZ=ON >/dev/null
cmake --build "$dir" -j 2 >/dev/null

status=0
for target in qmp kind; do
    work=$(cd "$dir" && pwd)/fuzz-$target
    mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
    cp "$src/tests/fuzz/corpus/$target/"* "$work/corpus/"
    # -timeout: a run takes milliseconds, so 10 s means the target hangs.
    # Sanitizer reports abort, and libFuzzer counts an abort as a crash.
    # TMPDIR: fuzz_qmp's socket directory, left behind when it stops on a
    # finding, stays inside DIR.
    if UBSAN_OPTIONS=print_stacktrace=1 TMPDIR="$work/tmp" \
        "$dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$work/corpus" >"$work/log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
        units=$(ls "$work/corpus" | wc -l)
        echo "fuzz_$target: ok, $runs runs in ${seconds}s ($rate/s), corpus $units inputs"
    else
        echo "fuzz_$target: FAILED; log $work/log, input in $work/artifacts/" >&2
        grep -E '==[0-9]+== ?ERROR|^SUMMARY|check failed|runtime error|leaked' "$work/log" | head -5 >&2 || true
        status=1
    fi
done
exit $status
