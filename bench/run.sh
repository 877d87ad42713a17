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
"$BUILD/lens-bench-memory" "$model"
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
# (TL_PYTHON, default .venv-tl/bin/python), on the same weights (it loads and
# processes the bench model as from_pretrained does): the seed workloads and the
# fresh-process peak memory alternate between lens and TransformerLens for
# TL_ROUNDS rounds (TL_RUNS runs each side per round); TL_SWEEP_ROUNDS (default 1)
# rounds of the resid_pre patching sweep (TransformerLens's one forward per cell
# takes minutes; TL_SWEEP_CELLS=N times its first N cells and scales to the 132);
# then the ratios against the targets.
tl_python=${TL_PYTHON:-.venv-tl/bin/python}
if [ -x "$tl_python" ] && "$tl_python" -c "import torch, transformer_lens" 2>/dev/null; then
    rounds=$(mktemp -d)
    tl_runs=${TL_RUNS:-3}
    # lens's seed rows, peak memory and attribution patching against TransformerLens's
    # seed rows, peak memory and exact patching loop (TL_PATCH_CELLS cells of each map timed, 0: all)
    for r in $(seq 1 "${TL_ROUNDS:-3}"); do
        { LENS_BENCH_ONLY=seed "$BUILD/lens-bench" "$model" "$tl_runs"; "$BUILD/lens-bench-memory" "$model"
          LENS_BENCH_ONLY=attribution "$BUILD/lens-bench" "$model" 3; } >"$rounds/lens.$r"
        # where the environment pins OpenBLAS's kernels (OPENBLAS_CORETYPE), lens's seed
        # rows again with the kernels OpenBLAS picks for this CPU, reported beside (labelled)
        if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
            env -u OPENBLAS_CORETYPE LENS_BENCH_ONLY=seed "$BUILD/lens-bench" "$model" "$tl_runs" >"$rounds/lens-cpu-kernels.$r"
        fi
        { "$tl_python" bench/transformerlens_bench.py --model "$model" --threads "$(nproc)" --runs "$tl_runs";
          "$tl_python" bench/transformerlens_bench.py --model "$model" --peak
          "$tl_python" bench/transformerlens_patch_bench.py --threads "$(nproc)" --cells "${TL_PATCH_CELLS:-24}"; } >"$rounds/tl.$r" 2>/dev/null
    done
    for r in $(seq 1 "${TL_SWEEP_ROUNDS:-1}"); do
        LENS_BENCH_ONLY="patch resid_pre" "$BUILD/lens-bench" "$model" 1 >"$rounds/lens.sweep$r"
        "$tl_python" bench/transformerlens_bench.py --model "$model" --threads "$(nproc)" --only "patch resid_pre" \
            --sweep ${TL_SWEEP_CELLS:+--sweep-cells "$TL_SWEEP_CELLS"} >"$rounds/tl.sweep$r" 2>/dev/null
    done
    echo
    python3 bench/compare_transformerlens.py "$rounds"
    rm -rf "$rounds"
else
    echo
    echo "(TransformerLens comparison skipped: $tl_python cannot import torch and transformer_lens)"
fi
