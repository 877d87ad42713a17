/* pointwise.cu — the CUDA backend's elementwise kernels: bias rows, activations
 * and their derivatives, add, unary ops, fill, embedding lookup, row gathers and comparisons.
 *
 * Owns: these kernels and their launchers (declared in cuda_internal.h). Does not
 * own: when they run (cuda_ops.c, cuda_blas.c). The arithmetic follows
 * engine/backend_cpu.c, backward_cpu.c and tensor_ops_elementwise.c expression by
 * expression, so the two backends agree to float32 rounding. */
#include "cuda_internal.h"
#include "launch.cuh"

static __global__ void bias_rows_kernel(float *out, const float *bias, int64_t M, int64_t N)
{
    LENS_CU_GRID_STRIDE(i, M * N) out[i] = bias[i % N];
}

extern "C" cudaError_t lens_cu_bias_rows(cudaStream_t s, float *out, const float *bias, int64_t M, int64_t N)
{
    if (M * N == 0) return cudaSuccess;
    bias_rows_kernel<<<lens_cu_blocks(M * N), LENS_CU_THREADS, 0, s>>>(out, bias, M, N);
    return cudaGetLastError();
}

#define SQRT_2_OVER_PI 0.7978845608028654f

static __global__ void activation_kernel(float *out, const float *x, int64_t n, lens_activation act)
{
    LENS_CU_GRID_STRIDE(i, n)
    {
        float v = x[i];
        switch (act) {
        case LENS_ACT_GELU_NEW: {
            /* tanh(u) as 1 - 2 / (exp(2u) + 1), the CPU backend's form */
            float e = expf(2.0f * SQRT_2_OVER_PI * (v + 0.044715f * v * v * v));
            out[i] = 0.5f * v * (2.0f - 2.0f / (e + 1.0f));
            break;
        }
        case LENS_ACT_GELU: out[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); break;
        case LENS_ACT_RELU: out[i] = v > 0 ? v : 0; break;
        }
    }
}

extern "C" cudaError_t lens_cu_activation(cudaStream_t s, float *out, const float *x, int64_t n, lens_activation act)
{
    if (n == 0) return cudaSuccess;
    activation_kernel<<<lens_cu_blocks(n), LENS_CU_THREADS, 0, s>>>(out, x, n, act);
    return cudaGetLastError();
}

static __global__ void activation_dx_kernel(float *dx, const float *dy, const float *x, int64_t n,
                                            lens_activation act)
{
    LENS_CU_GRID_STRIDE(i, n)
    {
        switch (act) {
        case LENS_ACT_GELU_NEW: {
            float v = x[i];
            float t = 1.0f - 2.0f / (expf(2.0f * SQRT_2_OVER_PI * (v + 0.044715f * v * v * v)) + 1.0f);
            float sech2 = 1 - t * t;   /* 0 once the tanh saturates: no 0 * inf */
            float dydx = 0.5f * (1 + t) +
                         (sech2 == 0.0f ? 0.0f : 0.5f * v * sech2 * SQRT_2_OVER_PI * (1 + 3 * 0.044715f * v * v));
            dx[i] = dy[i] * dydx;
            break;
        }
        case LENS_ACT_GELU: {
            double v = x[i];
            double dydx = 0.5 * (1 + erf(v * 0.70710678118654752)) + v * 0.3989422804014327 * exp(-0.5 * v * v);
            dx[i] = (float)(dy[i] * dydx);
            break;
        }
        case LENS_ACT_RELU: dx[i] = x[i] > 0 ? dy[i] : 0.0f; break;
        }
    }
}

extern "C" cudaError_t lens_cu_activation_dx(cudaStream_t s, float *dx, const float *dy, const float *x, int64_t n,
                                             lens_activation act)
{
    if (n == 0) return cudaSuccess;
    activation_dx_kernel<<<lens_cu_blocks(n), LENS_CU_THREADS, 0, s>>>(dx, dy, x, n, act);
    return cudaGetLastError();
}

static __global__ void add_kernel(float *out, const float *a, const float *b, int64_t n)
{
    LENS_CU_GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

extern "C" cudaError_t lens_cu_add(cudaStream_t s, float *out, const float *a, const float *b, int64_t n)
{
    if (n == 0) return cudaSuccess;
    add_kernel<<<lens_cu_blocks(n), LENS_CU_THREADS, 0, s>>>(out, a, b, n);
    return cudaGetLastError();
}

static __device__ float sigmoid(float x)
{
    return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

static __global__ void unary_kernel(lens_unop op, float *out, const float *x, int64_t n)
{
    LENS_CU_GRID_STRIDE(i, n)
    {
        float v = x[i], y;
        switch (op) {
        case LENS_OP_NEG: y = -v; break;
        case LENS_OP_ABS: y = fabsf(v); break;
        case LENS_OP_EXP: y = expf(v); break;
        case LENS_OP_LOG: y = logf(v); break;
        case LENS_OP_SQRT: y = sqrtf(v); break;
        case LENS_OP_TANH: y = tanhf(v); break;
        case LENS_OP_SIN: y = sinf(v); break;
        case LENS_OP_COS: y = cosf(v); break;
        case LENS_OP_SIGMOID: y = sigmoid(v); break;
        case LENS_OP_RELU: y = isnan(v) ? v : (v > 0 ? v : 0); break;
        case LENS_OP_FLOOR: y = floorf(v); break;
        case LENS_OP_CEIL: y = ceilf(v); break;
        case LENS_OP_ROUND: y = rintf(v); break;   /* half to even */
        case LENS_OP_SIGN: y = isnan(v) ? v : (float)((v > 0) - (v < 0)); break;
        case LENS_OP_NOT: y = v == 0 ? 1.0f : 0.0f; break;
        default: y = v; break;
        }
        out[i] = y;
    }
}

extern "C" cudaError_t lens_cu_unary(cudaStream_t s, lens_unop op, float *out, const float *x, int64_t n)
{
    if (n == 0) return cudaSuccess;
    unary_kernel<<<lens_cu_blocks(n), LENS_CU_THREADS, 0, s>>>(op, out, x, n);
    return cudaGetLastError();
}

static __global__ void fill_kernel(float *out, float v, int64_t n)
{
    LENS_CU_GRID_STRIDE(i, n) out[i] = v;
}

extern "C" cudaError_t lens_cu_fill(cudaStream_t s, float *out, float v, int64_t n)
{
    if (n == 0) return cudaSuccess;
    fill_kernel<<<lens_cu_blocks(n), LENS_CU_THREADS, 0, s>>>(out, v, n);
    return cudaGetLastError();
}

/* One thread per element of embed and pos ([B*P, d] each). */
static __global__ void embed_kernel(float *embed, float *pos, const int64_t *tokens, const float *W_E,
                                    const float *W_pos, int64_t B, int64_t P, int64_t d)
{
    LENS_CU_GRID_STRIDE(i, B * P * d)
    {
        int64_t row = i / d, col = i % d;
        embed[i] = W_E[tokens[row] * d + col];
        pos[i] = W_pos[(row % P) * d + col];
    }
}

extern "C" cudaError_t lens_cu_embed(cudaStream_t s, float *embed, float *pos, const int64_t *tokens,
                                     const float *W_E, const float *W_pos, int64_t B, int64_t P, int64_t d)
{
    if (B * P * d == 0) return cudaSuccess;
    embed_kernel<<<lens_cu_blocks(B * P * d), LENS_CU_THREADS, 0, s>>>(embed, pos, tokens, W_E, W_pos, B, P, d);
    return cudaGetLastError();
}

/* One thread per element of dst ([n, width]). */
static __global__ void gather_rows_kernel(float *dst, const float *src, const int64_t *rows, int64_t n, int64_t width)
{
    LENS_CU_GRID_STRIDE(i, n * width) dst[i] = src[rows[i / width] * width + i % width];
}

extern "C" cudaError_t lens_cu_gather_rows(cudaStream_t s, float *dst, const float *src, const int64_t *rows, int64_t n,
                                           int64_t width)
{
    if (n * width == 0) return cudaSuccess;
    gather_rows_kernel<<<lens_cu_blocks(n * width), LENS_CU_THREADS, 0, s>>>(dst, src, rows, n, width);
    return cudaGetLastError();
}

/* differ[i] = 1 where any float of the two rows differs in its bits: the flags
 * are cleared, then each mismatching element sets its row's (a benign race:
 * every writer writes 1). */
static __global__ void clear_kernel(float *out, int64_t n)
{
    LENS_CU_GRID_STRIDE(i, n) out[i] = 0.0f;
}

static __global__ void compare_rows_kernel(float *differ, const uint32_t *x, const int64_t *rows_a,
                                           const int64_t *rows_b, int64_t n, int64_t width)
{
    LENS_CU_GRID_STRIDE(i, n * width)
    {
        int64_t row = i / width, col = i % width;
        if (x[rows_a[row] * width + col] != x[rows_b[row] * width + col]) differ[row] = 1.0f;
    }
}

extern "C" cudaError_t lens_cu_compare_rows(cudaStream_t s, float *differ, const float *x, const int64_t *rows_a,
                                            const int64_t *rows_b, int64_t n, int64_t width)
{
    if (n == 0) return cudaSuccess;
    clear_kernel<<<lens_cu_blocks(n), LENS_CU_THREADS, 0, s>>>(differ, n);
    if (width > 0)
        compare_rows_kernel<<<lens_cu_blocks(n * width), LENS_CU_THREADS, 0, s>>>(
            differ, (const uint32_t *)x, rows_a, rows_b, n, width);
    return cudaGetLastError();
}

/* Pointer arrays of a two-level batched matrix product: entry o * inner + i of
 * each array is base + o * outer_stride + i * inner_stride (cuda_blas.c). */
static __global__ void gemm_pointers_kernel(const float **pa, const float **pb, float **pc, const float *A,
                                            const float *B, float *C, int64_t inner, int64_t sAo, int64_t sAi,
                                            int64_t sBo, int64_t sBi, int64_t sCo, int64_t sCi, int64_t n)
{
    LENS_CU_GRID_STRIDE(idx, n)
    {
        int64_t o = idx / inner, i = idx % inner;
        pa[idx] = A + o * sAo + i * sAi;
        pb[idx] = B + o * sBo + i * sBi;
        pc[idx] = C + o * sCo + i * sCi;
    }
}

extern "C" cudaError_t lens_cu_gemm_pointers(cudaStream_t s, void **arrays, const float *A, const float *B, float *C,
                                             int64_t outer, int64_t inner, int64_t sAo, int64_t sAi, int64_t sBo,
                                             int64_t sBi, int64_t sCo, int64_t sCi)
{
    int64_t n = outer * inner;
    if (n == 0) return cudaSuccess;
    gemm_pointers_kernel<<<lens_cu_blocks(n), LENS_CU_THREADS, 0, s>>>(
        (const float **)arrays, (const float **)(arrays + n), (float **)(arrays + 2 * n), A, B, C, inner, sAo, sAi,
        sBo, sBi, sCo, sCi, n);
    return cudaGetLastError();
}
