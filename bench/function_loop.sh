#!/usr/bin/env bash
# bench/function_loop.sh — the language's call path: a loop of 10^6 iterations
# calling a small user function, in `lens run` and in python3 on the same
# machine in the same run (best of RUNS, user+system CPU seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
prog=$(mktemp --suffix=.py)
trap 'rm -f "$prog"' EXIT
printf 'def f(x):\n    return x + 1\ns = 0\nfor i in range(10**6):\n    s = f(s)\nassert s == 10**6\n' > "$prog"
best() {
    local b=""
    for _ in $(seq "${RUNS:-3}"); do
        local t
        t=$( { TIMEFORMAT="%U %S"; time "$@" > /dev/null 2>&1; } 2>&1 | tail -1 | awk '{print $1 + $2}')
        if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
    done
    echo "$b"
}
lens_s=$(best "$BUILD/lens" run "$prog")
py_s=$(best python3 "$prog")
echo "user-function loop (10^6 calls of def f(x): return x + 1): lens ${lens_s} s, python3 ${py_s} s," \
     "ratio $(awk "BEGIN{printf \"%.2f\", $lens_s / $py_s}")"
