#!/bin/sh
# tests/valgrind.sh — runs each C test program given under valgrind's memcheck
# (`make valgrind`), one after another, and prints one line per program and a
# closing "N passed, N failed" over programs. A program fails when one of its
# tests fails or valgrind reports anything: an invalid read or write, a use of
# uninitialised memory, an invalid free, or a leak (definite, indirect or
# possible). Settings that keep the run to minutes without hiding lens's code:
# OpenMP and OpenBLAS on one thread (valgrind serialises threads anyway), the
# tests' small workload (LENS_TEST_SMALL=1: the trained model left out, the
# tiny fixture model runs the same code), and suppressions for third-party
# libraries only (tests/valgrind.supp, each with its reason). Each program's
# report is in $VALGRIND_LOGS/<program>.log (default build/valgrind).
set -u
LOGS=${VALGRIND_LOGS:-build/valgrind}
mkdir -p "$LOGS"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 LENS_TEST_SMALL=1
cache=$(mktemp -d)
export LENS_CACHE_DIR="$cache"
passed=0
failed=0
for t in "$@"; do
    name=$(basename "$t")
    log=$LOGS/$name.log
    start=$(date +%s)
    valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --num-callers=40 \
        --suppressions=tests/valgrind.supp "$t" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    reports=$(grep -cE '^==[0-9]+== ' "$log")
    if [ $rc -eq 0 ] && [ "$reports" -eq 0 ] && [ -n "$summary" ]; then
        passed=$((passed + 1))
        echo "== $name: clean, $summary (${secs}s)"
    else
        failed=$((failed + 1))
        echo "== $name: FAILED (exit $rc, $reports valgrind lines, ${summary:-no summary}; ${secs}s), see $log"
        grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|[0-9,]+ bytes in|Syscall)' "$log" | head -n 8
    fi
done
rm -rf "$cache"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
