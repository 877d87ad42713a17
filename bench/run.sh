#!/usr/bin/env bash
# bench/run.sh — `make bench`: the engine workloads (load, seed, long, ...) on a
# random-weight GPT-2-small-shaped model made once with `lens random-model`
# (speed does not depend on the values), then the kernel round trip and start-up
# against ipykernel when the test venv exists. RUNS sets the repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
model="$BUILD/bench-model/gpt2-small"
# a fresh processed-weights cache for this run: the first load writes the entry
weights_cache=$(mktemp -d)
trap 'rm -rf "$weights_cache"' EXIT
export LENS_CACHE_DIR="$weights_cache"
if [ ! -f "$model/model.safetensors" ]; then
    mkdir -p "$BUILD/bench-model"
    "$BUILD/lens" random-model --like gpt2-small "$model"
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(date -u +%Y-%m-%d)"
"$BUILD/lens-bench" "$model" "${RUNS:-10}"
if [ -x .venv/bin/python ]; then
    echo
    LENS_BUILD="$BUILD" .venv/bin/python bench/kernel_bench.py --iterations "${RTT_ITERATIONS:-1000}"
else
    echo "(kernel benchmarks skipped: no .venv; run make deps)"
fi
