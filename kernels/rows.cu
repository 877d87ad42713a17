/* rows.cu — the CUDA backend's row-wise kernels: LayerNorm and its input
 * gradient (one block per row), the causal attention softmax, its gradient, and
 * general row softmax / log-softmax (one warp per row).
 *
 * Owns: these kernels and their launchers. Does not own: the matrix products
 * around them (cuda_blas.c). Numerics follow the CPU backend: two-pass LayerNorm
 * variance accumulated in double; softmax subtracting the row maximum and summing
 * in double. */
#include "cuda_internal.h"
#include "launch.cuh"

/* Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread
 * gets the total. shared holds 32 doubles. */
static __device__ double block_sum(double v, double *shared)
{
    v = lens_warp_sum(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();   /* the previous call's readers are done with shared */
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    double total = 0;
    for (int i = 0; i < (int)(blockDim.x / 32); i++) total += shared[i];
    return total;
}

static __global__ void layernorm_kernel(float *normalized, float *scale, const float *x, const float *w,
                                        const float *b, int64_t M, int64_t d, float eps)
{
    __shared__ double shared[32];
    for (int64_t row = blockIdx.x; row < M; row += gridDim.x) {
        const float *r = x + row * d;
        float *o = normalized + row * d;
        double acc = 0;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) acc += r[j];
        double mean = block_sum(acc, shared) / (double)d;
        acc = 0;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
            double c = r[j] - mean;
            acc += c * c;
        }
        double var = block_sum(acc, shared) / (double)d;
        float s = (float)sqrt(var + (double)eps);
        if (threadIdx.x == 0) scale[row] = s;
        float mu = (float)mean;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
            float v = (r[j] - mu) / s;
            o[j] = w ? v * w[j] + b[j] : v;
        }
    }
}

static unsigned row_grid(int64_t M)
{
    return (unsigned)(M < 65536 ? M : 65536);
}

extern "C" cudaError_t lens_cu_layernorm(cudaStream_t s, float *normalized, float *scale, const float *x,
                                         const float *w, const float *b, int64_t M, int64_t d, float eps)
{
    if (M == 0) return cudaSuccess;
    layernorm_kernel<<<row_grid(M), LENS_CU_THREADS, 0, s>>>(normalized, scale, x, w, b, M, d, eps);
    return cudaGetLastError();
}

static __global__ void layernorm_dx_kernel(float *dx, float *dscale, const float *dnorm, const float *x,
                                           const float *scale, const float *w, int64_t M, int64_t d)
{
    __shared__ double shared[32];
    for (int64_t row = blockIdx.x; row < M; row += gridDim.x) {
        const float *xr = x + row * d, *gr = dnorm + row * d;
        float *out = dx + row * d;
        double acc = 0;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) acc += xr[j];
        double mean = block_sum(acc, shared) / (double)d;
        double s = scale[row];
        acc = 0;   /* sum_j g_j * xc_j */
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
            acc += (double)gr[j] * (w ? w[j] : 1.0f) * ((double)xr[j] - mean);
        double ds = -block_sum(acc, shared) / (s * s);
        if (dscale && threadIdx.x == 0) dscale[row] = (float)ds;
        /* dxc_j = g_j / s + ds * xc_j / (d s); the centring subtracts their mean */
        acc = 0;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
            double g = (double)gr[j] * (w ? w[j] : 1.0f);
            acc += g / s + ds * ((double)xr[j] - mean) / ((double)d * s);
        }
        double mdx = block_sum(acc, shared) / (double)d;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
            double g = (double)gr[j] * (w ? w[j] : 1.0f);
            out[j] += (float)(g / s + ds * ((double)xr[j] - mean) / ((double)d * s) - mdx);
        }
    }
}

extern "C" cudaError_t lens_cu_layernorm_dx(cudaStream_t s, float *dx, float *dscale, const float *dnorm,
                                            const float *x, const float *scale, const float *w, int64_t M,
                                            int64_t d)
{
    if (M == 0) return cudaSuccess;
    layernorm_dx_kernel<<<row_grid(M), LENS_CU_THREADS, 0, s>>>(dx, dscale, dnorm, x, scale, w, M, d);
    return cudaGetLastError();
}

/* Row `row` of BH stacked [P,P] matrices (query i = row % P). With masked_out,
 * entries after the query are written -inf there and read as -inf. pattern (may
 * be NULL) gets the row's softmax: exp(s - max) over the finite entries, the sum
 * in double, then times 1/sum (0 when the sum is 0), as the CPU backend. */
static __global__ void attn_softmax_kernel(float *masked_out, float *pattern, const float *in, int64_t rows,
                                           int64_t P)
{
    int lane = threadIdx.x & 31;
    LENS_CU_WARP_ROWS(row, rows)
    {
        int64_t i = row % P;
        const float *src = in + row * P;
        float *dst = masked_out ? masked_out + row * P : NULL;
        float *pat = pattern ? pattern + row * P : NULL;
        float mx = -INFINITY;
        for (int64_t j = lane; j < P; j += 32) {
            float v = dst && j > i ? -INFINITY : src[j];
            if (dst && j > i) dst[j] = -INFINITY;
            mx = v > mx ? v : mx;
        }
        if (!pat) continue;
        for (int off = 16; off > 0; off /= 2) {
            float o = __shfl_xor_sync(0xffffffffu, mx, off);
            mx = o > mx ? o : mx;
        }
        double sum = 0;
        for (int64_t j = lane; j < P; j += 32) {
            float v = dst && j > i ? -INFINITY : src[j];
            sum += v == -INFINITY ? 0.0f : expf(v - mx);
        }
        sum = lens_warp_sum(sum);
        float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
        for (int64_t j = lane; j < P; j += 32) {
            float v = dst && j > i ? -INFINITY : src[j];
            pat[j] = (v == -INFINITY ? 0.0f : expf(v - mx)) * inv;
        }
    }
}

/* The same for rows of at most 32 * C entries, each read once: lane l keeps
 * entries l, l + 32, ... in registers (C unrolled), and each exp is computed once.
 * The arithmetic is attn_softmax_kernel's, in the same order. */
template <int C>
static __global__ void attn_softmax_short_kernel(float *masked_out, float *pattern, const float *in, int64_t rows,
                                                 int64_t P)
{
    int lane = threadIdx.x & 31;
    LENS_CU_WARP_ROWS(row, rows)
    {
        int64_t i = row % P;
        const float *src = in + row * P;
        float *dst = masked_out ? masked_out + row * P : NULL;
        float v[C];
        float mx = -INFINITY;
#pragma unroll
        for (int c = 0; c < C; c++) {
            int64_t j = lane + 32 * c;
            v[c] = j >= P || (dst && j > i) ? -INFINITY : src[j];
            if (dst && j < P && j > i) dst[j] = -INFINITY;
            mx = v[c] > mx ? v[c] : mx;
        }
        if (!pattern) continue;
        for (int off = 16; off > 0; off /= 2) {
            float o = __shfl_xor_sync(0xffffffffu, mx, off);
            mx = o > mx ? o : mx;
        }
        double sum = 0;
#pragma unroll
        for (int c = 0; c < C; c++) {
            v[c] = v[c] == -INFINITY ? 0.0f : expf(v[c] - mx);
            sum += v[c];
        }
        sum = lens_warp_sum(sum);
        float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
        float *pat = pattern + row * P;
#pragma unroll
        for (int c = 0; c < C; c++) {
            int64_t j = lane + 32 * c;
            if (j < P) pat[j] = v[c] * inv;
        }
    }
}

/* Rows up to 1024 long take the register kernel with the fewest chunks that
 * cover them; longer rows the looping one. */
static cudaError_t launch_attn_softmax(cudaStream_t s, float *masked_out, float *pattern, const float *in,
                                       int64_t rows, int64_t P)
{
    unsigned blocks = lens_cu_row_blocks(rows);
    int64_t chunks = (P + 31) / 32;
    if (chunks <= 1)
        attn_softmax_short_kernel<1><<<blocks, LENS_CU_THREADS, 0, s>>>(masked_out, pattern, in, rows, P);
    else if (chunks <= 2)
        attn_softmax_short_kernel<2><<<blocks, LENS_CU_THREADS, 0, s>>>(masked_out, pattern, in, rows, P);
    else if (chunks <= 4)
        attn_softmax_short_kernel<4><<<blocks, LENS_CU_THREADS, 0, s>>>(masked_out, pattern, in, rows, P);
    else if (chunks <= 8)
        attn_softmax_short_kernel<8><<<blocks, LENS_CU_THREADS, 0, s>>>(masked_out, pattern, in, rows, P);
    else if (chunks <= 16)
        attn_softmax_short_kernel<16><<<blocks, LENS_CU_THREADS, 0, s>>>(masked_out, pattern, in, rows, P);
    else if (chunks <= 32)
        attn_softmax_short_kernel<32><<<blocks, LENS_CU_THREADS, 0, s>>>(masked_out, pattern, in, rows, P);
    else
        attn_softmax_kernel<<<blocks, LENS_CU_THREADS, 0, s>>>(masked_out, pattern, in, rows, P);
    return cudaGetLastError();
}

extern "C" cudaError_t lens_cu_attn_softmax(cudaStream_t s, float *scores, float *pattern, int64_t BH, int64_t P,
                                            bool mask)
{
    if (BH * P == 0) return cudaSuccess;
    return launch_attn_softmax(s, mask ? scores : NULL, pattern, scores, BH * P, P);
}

extern "C" cudaError_t lens_cu_attn_softmax_of(cudaStream_t s, float *pattern, const float *scores, int64_t BH,
                                               int64_t P)
{
    if (BH * P == 0) return cudaSuccess;
    return launch_attn_softmax(s, NULL, pattern, scores, BH * P, P);
}

static __global__ void attn_softmax_dx_kernel(float *dS, const float *dP, const float *pat, int64_t rows,
                                              int64_t P)
{
    int lane = threadIdx.x & 31;
    LENS_CU_WARP_ROWS(row, rows)
    {
        int64_t i = row % P, base = row * P;
        double dot = 0;
        for (int64_t j = lane; j <= i; j += 32) dot += (double)pat[base + j] * dP[base + j];
        dot = lens_warp_sum(dot);
        for (int64_t j = lane; j < P; j += 32)
            dS[base + j] = j <= i ? (float)((double)pat[base + j] * ((double)dP[base + j] - dot)) : 0.0f;
    }
}

extern "C" cudaError_t lens_cu_attn_softmax_dx(cudaStream_t s, float *dscores, const float *dpattern,
                                               const float *pattern, int64_t BH, int64_t P)
{
    if (BH * P == 0) return cudaSuccess;
    attn_softmax_dx_kernel<<<lens_cu_row_blocks(BH * P), LENS_CU_THREADS, 0, s>>>(dscores, dpattern, pattern,
                                                                                  BH * P, P);
    return cudaGetLastError();
}

/* tensor_ops_reduce.c's row softmax: the maximum (NaN if any entry is), 0 in place
 * of -inf, exp and the sum in double. */
static __global__ void softmax_rows_kernel(float *out, const float *x, int64_t rows, int64_t n, bool log_out)
{
    int lane = threadIdx.x & 31;
    LENS_CU_WARP_ROWS(row, rows)
    {
        const float *r = x + row * n;
        float *o = out + row * n;
        float m = -INFINITY;
        for (int64_t j = lane; j < n; j += 32) m = lens_nan_extreme(m, r[j], true);
        m = lens_warp_extreme(m, true);
        if (isinf(m) && m < 0) m = 0;
        double sum = 0;
        for (int64_t j = lane; j < n; j += 32) sum += exp((double)r[j] - m);
        sum = lens_warp_sum(sum);
        double lse = m + log(sum);
        for (int64_t j = lane; j < n; j += 32)
            o[j] = log_out ? (float)((double)r[j] - lse) : (float)(exp((double)r[j] - m) / sum);
    }
}

extern "C" cudaError_t lens_cu_softmax_rows(cudaStream_t s, float *out, const float *x, int64_t rows, int64_t n,
                                            bool log_out)
{
    if (rows * n == 0) return cudaSuccess;
    softmax_rows_kernel<<<lens_cu_row_blocks(rows), LENS_CU_THREADS, 0, s>>>(out, x, rows, n, log_out);
    return cudaGetLastError();
}
