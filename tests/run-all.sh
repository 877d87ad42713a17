#!/usr/bin/env bash
# tests/run-all.sh — runs every test suite and prints one closing line
# "N passed, N failed". Arguments: the C test programs. Then the Python suites
# (tests/python, pytest in the venv) with LENS_BUILD pointing at the build.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
VENV=${VENV:-.venv}
passed=0
failed=0
export LENS_BUILD="$BUILD"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
# Processed-weights cache entries the suites write go to a folder of this run.
weights_cache=$(mktemp -d)
export LENS_CACHE_DIR=${LENS_CACHE_DIR:-$weights_cache}

count_of() { # count_of WORD LINE: the number before WORD in a summary line, or 0
    local n
    n=$(echo "$2" | grep -oE "[0-9]+ $1" | head -n 1 | grep -oE '^[0-9]+')
    echo "${n:-0}"
}

log=$(mktemp)
# The programs, then those in SIM_TESTS again with LENS_DEVICE=sim.
runs=("$@")
for t in ${SIM_TESTS:-}; do runs+=("sim:$t"); done
for t in "${runs[@]}"; do
    device=cpu
    case $t in sim:*) device=sim; t=${t#sim:} ;; esac
    name=${t#build/}
    [ "$device" = sim ] && name="$name (LENS_DEVICE=sim)"
    if [ "$device" = sim ]; then LENS_DEVICE=sim "$t" >"$log" 2>&1; else "$t" >"$log" 2>&1; fi
    rc=$?
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(count_of passed "$summary"); f=$(count_of failed "$summary")
    # A crash or a non-zero exit with no failure counted is one failure.
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ $rc -ne 0 ]; then echo "== $name: FAILED (exit $rc)"; tail -n 60 "$log"; else echo "== $name: $summary"; fi
done

# The fuzz targets (make test with FUZZ_SECONDS > 0): each target's run is one test.
if [ -n "${FUZZ_BINS:-}" ]; then
    # shellcheck disable=SC2086
    FUZZ_SECONDS=$FUZZ_SECONDS FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz} tests/fuzz/run.sh $FUZZ_BINS >"$log" 2>&1
    cat "$log"
    p=$(grep -c ': ok,' "$log"); f=$(grep -c ': FAILED' "$log")
    passed=$((passed + p)); failed=$((failed + f))
fi

if [ -d tests/python ] && ls tests/python/test_*.py >/dev/null 2>&1; then
    if [ -x "$VENV/bin/python" ]; then
        "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python >"$log" 2>&1
        rc=$?
        tail -n 40 "$log"
        line=$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -n 1)
        p=$(count_of passed "$line")
        f=$(( $(count_of failed "$line") + $(count_of error "$line") + $(count_of errors "$line") ))
        if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        passed=$((passed + p)); failed=$((failed + f))
    else
        echo "== python suites: no venv at $VENV (run 'make deps')"
        failed=$((failed + 1))
    fi
fi
rm -f "$log"
rm -rf "$weights_cache"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
