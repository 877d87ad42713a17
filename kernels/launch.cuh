/* launch.cuh — the launch geometry every kernel file of the CUDA backend uses.
 *
 * Owns: grid sizing for grid-stride loops and warp-per-row kernels, and the warp
 * reductions. Does not own: any kernel. */
#ifndef LENS_LAUNCH_CUH
#define LENS_LAUNCH_CUH

#include <math.h>
#include <stdint.h>

#define LENS_CU_THREADS 256
#define LENS_CU_WARPS_PER_BLOCK (LENS_CU_THREADS / 32)

/* Blocks for a grid-stride loop over n elements (capped: the loop covers the rest). */
static inline unsigned lens_cu_blocks(int64_t n)
{
    int64_t b = (n + LENS_CU_THREADS - 1) / LENS_CU_THREADS;
    return (unsigned)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

/* Blocks for one warp per row. */
static inline unsigned lens_cu_row_blocks(int64_t rows)
{
    int64_t b = (rows + LENS_CU_WARPS_PER_BLOCK - 1) / LENS_CU_WARPS_PER_BLOCK;
    return (unsigned)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

#define LENS_CU_GRID_STRIDE(i, n)                                                          \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);            \
         i += (int64_t)gridDim.x * blockDim.x)

/* Each warp of the grid takes rows warp, warp + total warps, ...; lane is its thread. */
#define LENS_CU_WARP_ROWS(row, rows)                                                       \
    for (int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32; row < (rows); \
         row += (int64_t)gridDim.x * blockDim.x / 32)

static __device__ __forceinline__ double lens_warp_sum(double v)
{
    for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

static __device__ __forceinline__ double lens_warp_prod(double v)
{
    for (int off = 16; off > 0; off /= 2) v *= __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

/* Maximum (want_max) or minimum; NaN wins, as the CPU reductions propagate it. */
static __device__ __forceinline__ float lens_nan_extreme(float a, float b, bool want_max)
{
    if (isnan(a) || isnan(b)) return NAN;
    return want_max ? (b > a ? b : a) : (b < a ? b : a);
}

static __device__ __forceinline__ float lens_warp_extreme(float v, bool want_max)
{
    for (int off = 16; off > 0; off /= 2) v = lens_nan_extreme(v, __shfl_xor_sync(0xffffffffu, v, off), want_max);
    return v;
}

#endif
