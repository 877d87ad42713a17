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
echo
BUILD="$BUILD" bench/function_loop.sh
if [ -x .venv/bin/python ]; then
    echo
    LENS_BUILD="$BUILD" .venv/bin/python bench/kernel_bench.py --iterations "${RTT_ITERATIONS:-1000}"
    echo
    LENS_BUILD="$BUILD" .venv/bin/python bench/classroom_bench.py "$model" --kernels "${CLASSROOM_KERNELS:-8}"
else
    echo "(kernel and classroom benchmarks skipped: no .venv; run make deps)"
fi

# TransformerLens in the same run when a Python that imports it is there
# (TL_PYTHON, default .venv-tl/bin/python): the seed workloads alternate between
# lens and TransformerLens for TL_ROUNDS rounds, then the TL/lens ratios.
tl_python=${TL_PYTHON:-.venv-tl/bin/python}
if [ -x "$tl_python" ] && "$tl_python" -c "import torch, transformer_lens" 2>/dev/null; then
    rounds=$(mktemp -d)
    # and lens's attribution patching against TransformerLens's exact patching loop
    # (TL_PATCH_CELLS cells of each map timed, 0: all)
    for r in $(seq 1 "${TL_ROUNDS:-3}"); do
        { LENS_BENCH_ONLY=seed "$BUILD/lens-bench" "$model" 3
          LENS_BENCH_ONLY=attribution "$BUILD/lens-bench" "$model" 3; } >"$rounds/lens.$r"
        { "$tl_python" bench/transformerlens_bench.py --threads "$(nproc)" --runs 3
          "$tl_python" bench/transformerlens_patch_bench.py --threads "$(nproc)" --cells "${TL_PATCH_CELLS:-24}"; } >"$rounds/tl.$r"
    done
    echo
    python3 bench/compare_transformerlens.py "$rounds"
    rm -rf "$rounds"
else
    echo
    echo "(TransformerLens comparison skipped: $tl_python cannot import torch and transformer_lens)"
fi
