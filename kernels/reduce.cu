/* reduce.cu — the CUDA backend's reduction of x viewed as [outer, n, inner] over
 * its middle dim: sum, mean, max, min, product.
 *
 * Owns: the reduction kernels and their launcher. Does not own: the other
 * reductions (argmax, var, ...), which the tensor operations run on the host.
 * As tensor_ops_reduce.c: sums and products accumulate in double, the mean of an
 * empty dim is NaN, a NaN anywhere makes max and min NaN. */
#include "cuda_internal.h"
#include "launch.cuh"

static __device__ float finish(lens_reduce_op op, double acc, int64_t n)
{
    if (op == LENS_RED_MEAN) return n ? (float)(acc / (double)n) : NAN;
    return (float)acc;
}

/* inner == 1: each row of n contiguous elements is reduced by one warp. */
static __global__ void reduce_rows_kernel(lens_reduce_op op, float *out, const float *x, int64_t rows, int64_t n)
{
    int lane = threadIdx.x & 31;
    bool extreme = op == LENS_RED_MAX || op == LENS_RED_MIN, want_max = op == LENS_RED_MAX;
    LENS_CU_WARP_ROWS(row, rows)
    {
        const float *r = x + row * n;
        if (extreme) {
            float m = n ? r[0] : NAN;
            for (int64_t j = lane; j < n; j += 32) m = lens_nan_extreme(m, r[j], want_max);
            m = lens_warp_extreme(m, want_max);
            if (lane == 0) out[row] = m;
            continue;
        }
        double acc = op == LENS_RED_PROD ? 1 : 0;
        for (int64_t j = lane; j < n; j += 32) acc = op == LENS_RED_PROD ? acc * r[j] : acc + r[j];
        acc = op == LENS_RED_PROD ? lens_warp_prod(acc) : lens_warp_sum(acc);
        if (lane == 0) out[row] = finish(op, acc, n);
    }
}

/* inner > 1: one thread per output element; neighbouring threads read
 * neighbouring elements, so the loads coalesce. */
static __global__ void reduce_inner_kernel(lens_reduce_op op, float *out, const float *x, int64_t outer, int64_t n,
                                           int64_t inner)
{
    bool extreme = op == LENS_RED_MAX || op == LENS_RED_MIN, want_max = op == LENS_RED_MAX;
    LENS_CU_GRID_STRIDE(idx, outer * inner)
    {
        int64_t o = idx / inner, in = idx % inner;
        const float *p = x + o * n * inner + in;
        if (extreme) {
            float m = n ? p[0] : NAN;
            for (int64_t j = 1; j < n; j++) m = lens_nan_extreme(m, p[j * inner], want_max);
            out[idx] = m;
            continue;
        }
        double acc = op == LENS_RED_PROD ? 1 : 0;
        for (int64_t j = 0; j < n; j++) acc = op == LENS_RED_PROD ? acc * p[j * inner] : acc + p[j * inner];
        out[idx] = finish(op, acc, n);
    }
}

extern "C" cudaError_t lens_cu_reduce(cudaStream_t s, lens_reduce_op op, float *out, const float *x, int64_t outer,
                                      int64_t n, int64_t inner)
{
    if (op != LENS_RED_SUM && op != LENS_RED_MEAN && op != LENS_RED_MAX && op != LENS_RED_MIN &&
        op != LENS_RED_PROD)
        return cudaErrorInvalidValue;
    if (outer * inner == 0) return cudaSuccess;
    if (inner == 1)
        reduce_rows_kernel<<<lens_cu_row_blocks(outer), LENS_CU_THREADS, 0, s>>>(op, out, x, outer, n);
    else
        reduce_inner_kernel<<<lens_cu_blocks(outer * inner), LENS_CU_THREADS, 0, s>>>(op, out, x, outer, n, inner);
    return cudaGetLastError();
}
