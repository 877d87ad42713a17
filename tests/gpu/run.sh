#!/usr/bin/env bash
# tests/gpu/run.sh — the CUDA backend's verification on a machine with one NVIDIA
# GPU: build, the engine's tests on the GPU, every hook of the seed batch against
# the CPU, compute-sanitizer, and the GPU benchmarks against the targets.
#
# Usage: tests/gpu/run.sh [--dry-run] [--out DIR]
#   --dry-run  on any machine: the same pipeline on the CPU with the tiny model
#              shape (cpu against cpu, no sanitizer, no benchmarks), which checks
#              the script and its helpers; also refuses nothing for want of a GPU.
#   --out DIR  where logs and dumps go (default build/gpu-run).
# Environment: RUNS (bench repetitions, default 10), JOBS (make -j, default nproc),
#   LENS_GPU_DEPS=force (build against tests/gpu/deps even where the system has the libraries).
#
# Steps (each prints one "== step: ok|FAILED|skipped (why)" line; a table ends the run):
#   1. the build: `make gpu-programs` (no ZeroMQ needed). Without the engine's
#      -dev packages it uses tests/gpu/deps/*.deb (tests/gpu/fetch-deps.sh
#      downloads them where apt works), unpacked into a private folder.
#   2. test_cuda_loader: the backend opens, its table is complete, memory round-trips.
#   3. every engine test program with LENS_DEVICE=cuda (fixture tolerances as on
#      the CPU; test_backend compares every operation of every backend with cpu).
#   4. GPT-2-small-shaped random weights, the seed batch (100 x 11): every cached
#      hook and the logits, cuda against cpu, 1e-4 relative; then tf32, reported.
#   5. compute-sanitizer memcheck and racecheck on the tiny shape.
#   6. lens-bench with LENS_DEVICE=cuda: seed (forward, run_with_cache,
#      seed-pipeline), the resid_pre patching sweep, long, seed in tf32; the peak
#      device memory of the long run; TransformerLens on the same card when it
#      imports, else the numbers measured for it on one H200 (2026-11-26), said to be quoted.
# Budget: under 8 minutes on an H100/H200.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

dry=0
out=build/gpu-run
while [ $# -gt 0 ]; do
    case "$1" in
    --dry-run) dry=1 ;;
    --out) out=$2; shift ;;
    *) echo "usage: $0 [--dry-run] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$out"
# SANITIZE=1 (as `make test SANITIZE=1` sets it): the ASan build under build/san, for the dry run.
BUILD=build
sanitize=()
if [ "${SANITIZE:-0}" = 1 ]; then BUILD=build/san; sanitize=(SANITIZE=1); fi
jobs=${JOBS:-$(nproc)}
runs=${RUNS:-10}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
# processed-weights cache entries of the tests go to this run's folder, as in make test
export LENS_CACHE_DIR=${LENS_CACHE_DIR:-$out/weights-cache}
mkdir -p "$LENS_CACHE_DIR"
summary=()
failures=0
started=$(date +%s)
note() { summary+=("$1"); echo "== $1"; }
step_ok() { note "$1: ok${2:+ ($2)}"; }
step_fail() { note "$1: FAILED${2:+ ($2)}"; failures=$((failures + 1)); }
step_skip() { note "$1: skipped ($2)"; }

if [ $dry -eq 1 ]; then dev=cpu; shape=tiny; else dev=cuda; shape=gpt2-small; fi
echo "tests/gpu/run.sh: device $dev, model shape $shape, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader
fi
command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ] || echo "(no nvcc: the build has no CUDA backend)"

# ---- 1. build ---------------------------------------------------------------
make_args=()
if [ "${LENS_GPU_DEPS:-}" = force ] || ! pkg-config --exists libcjson libpcre2-8 2>/dev/null ||
    ! [ -f /usr/include/pcre2.h ]; then
    if ls tests/gpu/deps/*.deb >/dev/null 2>&1; then
        root=$(pwd)/build/gpu-deps-root
        rm -rf "$root" && mkdir -p "$root"
        for f in tests/gpu/deps/*.deb; do dpkg-deb -x "$f" "$root"; done
        lib=$root/usr/lib/$(gcc -print-multiarch)
        make_args=(
            "ENGINE_CFLAGS=-I$root/usr/include/cjson -I$root/usr/include -I$root/usr/include/$(gcc -print-multiarch)/openblas-openmp"
            "ENGINE_LIBS=-L$lib -L$lib/openblas-openmp -Wl,-rpath,$lib -Wl,-rpath,$lib/openblas-openmp -lcjson -lpcre2-8 -lopenblas -lm -lpthread"
        )
        export LD_LIBRARY_PATH=$lib:$lib/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        echo "(engine libraries from tests/gpu/deps, unpacked in $root)"
    else
        echo "(the engine's -dev packages are missing and tests/gpu/deps has none: run tests/gpu/fetch-deps.sh where apt works)"
    fi
fi
t0=$(date +%s)
if make -j"$jobs" "${sanitize[@]}" "${make_args[@]}" gpu-programs >"$out/build.log" 2>&1; then
    step_ok "build" "$(( $(date +%s) - t0 )) s"
else
    tail -n 30 "$out/build.log"
    step_fail "build" "see $out/build.log"
    printf '%s\n' "${summary[@]}"
    exit 1
fi
if [ $dry -eq 0 ] && [ ! -f "$BUILD/liblens-cuda.so" ]; then
    step_fail "CUDA library" "$BUILD/liblens-cuda.so was not built (nvcc missing?)"
fi

# ---- 2-3. the engine's tests on the device ----------------------------------
run_test() { # run_test NAME PROGRAM: one line per program, from its "N passed, N failed"
    local name=$1 prog=$2 log
    log="$out/$(basename "$2").log"
    LENS_DEVICE=$dev timeout 120 "$prog" >"$log" 2>&1
    local rc=$? line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then step_ok "$name" "$line"; else tail -n 20 "$log"; step_fail "$name" "exit $rc, ${line:-no summary}"; fi
}
run_test "test_cuda_loader" "$BUILD/tests/test_cuda_loader"
if [ $dry -eq 0 ] && grep -q "no device here" "$out/test_cuda_loader.log"; then
    step_fail "cuda device" "$(grep -o 'no device here: .*' "$out/test_cuda_loader.log")"
fi
if [ $dry -eq 1 ]; then
    step_skip "engine tests on the device" "dry run: make test runs them on the cpu"
else
    for t in "$BUILD"/tests/test_*; do
        case "$t" in *test_cuda_loader) continue ;; esac
        [ -x "$t" ] && run_test "$(basename "$t") on $dev" "$t"
    done
fi

# ---- 4. every hook of the seed batch against the cpu -------------------------
model="$BUILD/gpu-model/$shape"
tiny="$BUILD/gpu-model/tiny"
[ -f "$model/model.safetensors" ] || "$BUILD/gpu/random_model" --like "$shape" "$model" >/dev/null
[ -f "$tiny/model.safetensors" ] || "$BUILD/gpu/random_model" --like tiny "$tiny" >/dev/null
export LENS_CACHE_DIR=none   # every load processes the weights itself: no cache entry shared between devices
rm -f "$out"/hooks-*.safetensors
compare() { # compare LABEL ENV TOL (the cpu dump is made once)
    local label=$1 env=$2 tol=$3
    : >"$out/compare-$label.log"
    if { [ ! -f "$out/hooks-cpu.safetensors" ] &&
        ! LENS_DEVICE=cpu "$BUILD/gpu/compare_devices" dump "$model" "$out/hooks-cpu.safetensors" >>"$out/compare-$label.log" 2>&1; } ||
        ! env "$env" LENS_DEVICE="$dev" "$BUILD/gpu/compare_devices" dump "$model" "$out/hooks-$label.safetensors" >>"$out/compare-$label.log" 2>&1; then
        tail -n 5 "$out/compare-$label.log"
        step_fail "hooks $label" "a dump failed, see $out/compare-$label.log"
        return
    fi
    "$BUILD/gpu/compare_devices" diff "$out/hooks-cpu.safetensors" "$out/hooks-$label.safetensors" "$tol" \
        >>"$out/compare-$label.log" 2>&1
    local rc=$? last
    last=$(tail -n 1 "$out/compare-$label.log")
    if [ $rc -eq 0 ]; then step_ok "hooks $label against cpu" "$last"; else
        grep FAIL "$out/compare-$label.log" | head -n 10
        step_fail "hooks $label against cpu" "$last"
        if [ "$dev" = cuda ]; then   # name the operation of a fault, if it was one
            env "$env" LENS_CUDA_SYNC=1 LENS_DEVICE=cuda "$BUILD/gpu/compare_devices" dump "$model" \
                "$out/hooks-$label-sync.safetensors" 2>&1 | tail -n 3
        fi
    fi
}
compare "$dev-float32" "LENS_CUDA_PRECISION=float32" 1e-4
if [ $dry -eq 0 ]; then compare "$dev-tf32" "LENS_CUDA_PRECISION=tf32" 2e-2; fi

# ---- 5. compute-sanitizer ---------------------------------------------------
if [ $dry -eq 1 ]; then
    step_skip "compute-sanitizer" "dry run"
elif ! command -v compute-sanitizer >/dev/null 2>&1; then
    step_skip "compute-sanitizer" "not on PATH"
else
    for tool in memcheck racecheck; do
        log="$out/sanitizer-$tool.log"
        LENS_DEVICE=cuda timeout 120 compute-sanitizer --tool "$tool" --error-exitcode 9 \
            "$BUILD/gpu/compare_devices" dump "$tiny" "$out/sanitizer-$tool.safetensors" >"$log" 2>&1
        rc=$?
        if grep -q "Device not supported" "$log"; then step_skip "compute-sanitizer $tool" "device not supported here"
        elif [ $rc -eq 0 ]; then step_ok "compute-sanitizer $tool" "$(grep -m1 'ERROR SUMMARY' "$log")"
        else grep -m5 -E "Invalid|Race|ERROR" "$log"; step_fail "compute-sanitizer $tool" "exit $rc, see $log"; fi
    done
fi

# ---- 6. benchmarks ------------------------------------------------------------
if [ $dry -eq 1 ]; then
    step_skip "benchmarks" "dry run"
else
    bench() { # bench LABEL ONLY ENV...
        local label=$1 only=$2
        shift 2
        env "$@" LENS_DEVICE=cuda LENS_BENCH_ONLY="$only" timeout 300 "$BUILD/lens-bench" "$model" "$runs" \
            >"$out/bench-$label.log" 2>&1 || step_fail "bench $label" "see $out/bench-$label.log"
        grep -E '^\| (seed|long|patch)' "$out/bench-$label.log" | sed "s/^/[$label] /"
    }
    bench seed-float32 seed LENS_CUDA_PRECISION=float32
    bench seed-tf32 "seed run_with_cache" LENS_CUDA_PRECISION=tf32
    bench patch patch LENS_CUDA_PRECISION=float32
    # peak device memory of the long run, sampled every 50 ms
    peak_file="$out/long-peak-mib"
    echo 0 >"$peak_file"
    (while :; do
        used=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -n 1)
        [ -n "$used" ] && [ "$used" -gt "$(cat "$peak_file")" ] && echo "$used" >"$peak_file"
        sleep 0.05
    done) &
    sampler=$!
    bench long-float32 long LENS_CUDA_PRECISION=float32
    bench long-tf32 long LENS_CUDA_PRECISION=tf32
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null
    note "long run_with_cache peak device memory (whole card, both precisions): $(cat "$peak_file") MiB (target <= 12288)"
    if python3 -c "import torch, transformer_lens" 2>/dev/null; then
        if python3 tests/gpu/transformerlens_gpu.py --runs "$runs" >"$out/transformerlens.log" 2>&1; then
            cat "$out/transformerlens.log"
        else
            step_fail "TransformerLens" "see $out/transformerlens.log"
        fi
    else
        note "TransformerLens does not import here: quoted, as measured on one H200 on 2026-11-26 with CUDA events: run_with_cache seed 38.7 ms, long 85.7 ms (float32); 39.7 / 46.1 ms with TF32"
    fi
fi

echo
echo "GPU targets: seed run_with_cache <= 10 ms float32, <= 3.5 ms tf32; seed-pipeline <= 12 ms; long <= 50 ms float32, <= 15 ms tf32, <= 12 GiB"
printf '%s\n' "${summary[@]}"
echo "tests/gpu/run.sh: $failures failed, $(( $(date +%s) - started )) s (budget 480 s)"
[ $failures -eq 0 ]
