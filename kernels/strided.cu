/* strided.cu — the CUDA backend's kernels that walk an index space through
 * strides: strided copy (1-, 4- or 8-byte elements, up to LENS_MAX_DIMS dims) and
 * broadcasting float32 binary operations.
 *
 * Owns: these kernels and their launchers. Does not own: the shapes (the tensor
 * operations compute them and check their sizes). Binary operations follow
 * tensor_ops_elementwise.c's float32 semantics (Python floor division and
 * modulo, NaN-propagating maximum/minimum, comparisons giving 1.0f / 0.0f). */
#include "cuda_internal.h"
#include "launch.cuh"

/* Offsets of linear index i (row-major over walk.shape) through both stride sets. */
static __device__ __forceinline__ void walk_offsets(const lens_cu_walk &w, int64_t i, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, b = 0;
    for (int d = w.ndim - 1; d >= 0; d--) {
        int64_t n = w.shape[d];
        int64_t c = i % n;
        i /= n;
        a += c * w.a_strides[d];
        b += c * w.b_strides[d];
    }
    *oa = a;
    *ob = b;
}

template <typename T>
static __global__ void copy_strided_kernel(T *dst, const T *src, lens_cu_walk w, int64_t numel)
{
    LENS_CU_GRID_STRIDE(i, numel)
    {
        int64_t od, os;
        walk_offsets(w, i, &od, &os);
        dst[od] = src[os];
    }
}

extern "C" cudaError_t lens_cu_copy_strided(cudaStream_t s, void *dst, const void *src, const lens_cu_walk *walk,
                                            int64_t numel, size_t elem_size)
{
    if (numel == 0) return cudaSuccess;
    if (elem_size == 1)   /* bool */
        copy_strided_kernel<uint8_t><<<lens_cu_blocks(numel), LENS_CU_THREADS, 0, s>>>(
            (uint8_t *)dst, (const uint8_t *)src, *walk, numel);
    else if (elem_size == 4)
        copy_strided_kernel<uint32_t><<<lens_cu_blocks(numel), LENS_CU_THREADS, 0, s>>>(
            (uint32_t *)dst, (const uint32_t *)src, *walk, numel);
    else if (elem_size == 8)
        copy_strided_kernel<uint64_t><<<lens_cu_blocks(numel), LENS_CU_THREADS, 0, s>>>(
            (uint64_t *)dst, (const uint64_t *)src, *walk, numel);
    else
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}

static __device__ float float_op(lens_binop op, float x, float y)
{
    switch (op) {
    case LENS_OP_ADD: return x + y;
    case LENS_OP_SUB: return x - y;
    case LENS_OP_MUL: return x * y;
    case LENS_OP_DIV: return x / y;
    case LENS_OP_FLOORDIV:
    case LENS_OP_MOD: {
        /* Python's float divmod */
        if (y == 0) return op == LENS_OP_MOD ? NAN : x / y;
        float m = fmodf(x, y);
        float q = (x - m) / y;
        if (m != 0) {
            if ((y < 0) != (m < 0)) {
                m += y;
                q -= 1;
            }
        } else
            m = copysignf(0, y);
        if (op == LENS_OP_MOD) return m;
        float fq = floorf(q);
        if (q - fq > 0.5f) fq += 1;
        return q == 0 ? copysignf(0, x / y) : fq;
    }
    case LENS_OP_POW: return powf(x, y);
    case LENS_OP_MAXIMUM: return (isnan(x) || isnan(y)) ? NAN : (x > y ? x : y);
    case LENS_OP_MINIMUM: return (isnan(x) || isnan(y)) ? NAN : (x < y ? x : y);
    case LENS_OP_EQ: return (double)x == (double)y;
    case LENS_OP_NE: return (double)x != (double)y;
    case LENS_OP_LT: return (double)x < (double)y;
    case LENS_OP_LE: return (double)x <= (double)y;
    case LENS_OP_GT: return (double)x > (double)y;
    case LENS_OP_GE: return (double)x >= (double)y;
    case LENS_OP_AND: return x != 0 && y != 0;
    case LENS_OP_OR: return x != 0 || y != 0;
    }
    return NAN;
}

static __global__ void binary_kernel(lens_binop op, float *out, const float *a, const float *b, lens_cu_walk w,
                                     int64_t numel)
{
    LENS_CU_GRID_STRIDE(i, numel)
    {
        int64_t oa, ob;
        walk_offsets(w, i, &oa, &ob);
        out[i] = float_op(op, a[oa], b[ob]);
    }
}

extern "C" cudaError_t lens_cu_binary(cudaStream_t s, lens_binop op, float *out, const float *a, const float *b,
                                      const lens_cu_walk *walk, int64_t numel)
{
    if (numel == 0) return cudaSuccess;
    binary_kernel<<<lens_cu_blocks(numel), LENS_CU_THREADS, 0, s>>>(op, out, a, b, *walk, numel);
    return cudaGetLastError();
}
