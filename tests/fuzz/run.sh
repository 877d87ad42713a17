#!/bin/sh
# tests/fuzz/run.sh — runs each libFuzzer target given for $SECONDS seconds
# (default 60; 0 only builds) from the repository root, one after another, each on a working
# corpus under $FUZZ_BUILD/corpus/<target> seeded from tests/fuzz/corpus/<target>.
# FUZZ_TIMEOUT (default 20) is libFuzzer's wall-clock limit per input, in seconds.
# Leak detection is on for every target. A crash, leak or timeout leaves its input
# in $FUZZ_BUILD/artifacts/ and makes the run fail. Prints one line per target: executions per second and coverage.
set -u
SECONDS_EACH=${FUZZ_SECONDS:-${SECONDS:-60}}
OUT=$(pwd)/${FUZZ_BUILD:-build/fuzz}   # absolute: fuzz_lang runs cells in another directory
[ "$SECONDS_EACH" -gt 0 ] || { echo "fuzz: targets built, not run (SECONDS=0)"; exit 0; }
mkdir -p "$OUT/artifacts"
failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    target=${name#fuzz_}
    mkdir -p "$OUT/corpus/$target"
    seeds=$(pwd)/tests/fuzz/corpus/$target
    dict=
    [ "$target" = lang ] && dict="-dict=$(pwd)/tests/fuzz/lens.dict"
    asan=${ASAN_OPTIONS:-}
    log="$OUT/$target.log"
    # shellcheck disable=SC2086
    ASAN_OPTIONS=$asan "$bin" -max_total_time="$SECONDS_EACH" -timeout="${FUZZ_TIMEOUT:-20}" -rss_limit_mb=2048 -max_len=16384 \
        -seed="${FUZZ_SEED:-1}" -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$target-" $dict \
        "$OUT/corpus/$target" "$seeds" >"$log" 2>&1
    rc=$?
    stats=$(grep -E '^#[0-9]+' "$log" | tail -1)
    eps=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
    if [ $rc -ne 0 ]; then
        failed=1
        echo "fuzz $target: FAILED (exit $rc), see $log"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5
    else
        echo "fuzz $target: ok, ${SECONDS_EACH}s, ${eps:-?} exec/s, ${stats}"
    fi
done
exit $failed
