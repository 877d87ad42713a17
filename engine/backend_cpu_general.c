/* backend_cpu_general.c — the cpu backend's general tensor operations: strided
 * copies, broadcast binary and unary float32 math, reductions over one axis,
 * row softmax, batched matrix products, fill.
 *
 * Owns: those operations on host memory, with the scalar semantics of
 * f32_math.h and the accumulation rules of the host tensor ops (float sums in
 * double, NaN winning max/min, softmax through exp in double), so the cpu table
 * and tensor_ops_*.c give the same values. Does not own: shapes, dtypes or
 * broadcasting rules (tensor_ops_*.c work those out and call these). */
#include <math.h>
#include <string.h>

#include "backend_cpu_internal.h"
#include "f32_math.h"

/* Walks a shape in row-major order, keeping the element offsets of two stride sets. */
typedef struct {
    int ndim;
    const int64_t *shape, *s0, *s1;
    int64_t idx[LENS_MAX_DIMS];
    int64_t o0, o1;
} walk2;

static void walk2_next(walk2 *w)
{
    for (int d = w->ndim - 1; d >= 0; d--) {
        if (++w->idx[d] < w->shape[d]) {
            w->o0 += w->s0[d];
            w->o1 += w->s1[d];
            return;
        }
        w->o0 -= w->s0[d] * (w->shape[d] - 1);
        w->o1 -= w->s1[d] * (w->shape[d] - 1);
        w->idx[d] = 0;
    }
}

static int64_t shape_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

void lens_cpu_copy_strided(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                           int ndim, const int64_t *shape, size_t elem_size)
{
    int64_t n = shape_numel(ndim, shape);
    if (n <= 0) return;
    walk2 w = {.ndim = ndim, .shape = shape, .s0 = dst_strides, .s1 = src_strides};
    char *d = dst;
    const char *s = src;
    for (int64_t i = 0; i < n; i++, walk2_next(&w))
        memcpy(d + w.o0 * (int64_t)elem_size, s + w.o1 * (int64_t)elem_size, elem_size);
}

void lens_cpu_binary_f32(lens_binop op, float *out, const float *a, const int64_t *a_strides, const float *b,
                         const int64_t *b_strides, int ndim, const int64_t *shape)
{
    int64_t n = shape_numel(ndim, shape);
    if (n <= 0) return;
    walk2 w = {.ndim = ndim, .shape = shape, .s0 = a_strides, .s1 = b_strides};
    for (int64_t i = 0; i < n; i++, walk2_next(&w)) out[i] = lens_f32_binop(op, a[w.o0], b[w.o1]);
}

void lens_cpu_unary_f32(lens_unop op, float *out, const float *x, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) out[i] = lens_f32_unop(op, x[i]);
}

/* One output element: the n values x[0], x[inner], ... */
static float reduce_one(lens_reduce_op op, const float *x, int64_t n, int64_t inner)
{
    switch (op) {
    case LENS_RED_SUM:
    case LENS_RED_MEAN:
    case LENS_RED_PROD: {
        double acc = op == LENS_RED_PROD ? 1 : 0;
        for (int64_t j = 0; j < n; j++) acc = op == LENS_RED_PROD ? acc * x[j * inner] : acc + x[j * inner];
        if (op == LENS_RED_MEAN) acc = n ? acc / (double)n : NAN;
        return (float)acc;
    }
    case LENS_RED_MAX:
    case LENS_RED_MIN: {
        /* NaN wins (torch propagates it); an empty axis gives NaN (callers refuse it). */
        if (n == 0) return NAN;
        float best = x[0];
        for (int64_t j = 0; j < n; j++) {
            float v = x[j * inner];
            if (isnan(v)) return v;
            if (op == LENS_RED_MAX ? v > best : v < best) best = v;
        }
        return best;
    }
    default:
        return NAN;   /* the other reductions run on the host */
    }
}

void lens_cpu_reduce_f32(lens_reduce_op op, float *out, const float *x, int64_t outer, int64_t n, int64_t inner)
{
#pragma omp parallel for schedule(static) if (outer * inner > 4096)
    for (int64_t o = 0; o < outer * inner; o++) {
        int64_t i = o / inner, k = o % inner;
        out[o] = reduce_one(op, x + i * n * inner + k, n, inner);
    }
}

void lens_cpu_softmax_rows(float *out, const float *x, int64_t rows, int64_t n, bool log_of)
{
#pragma omp parallel for schedule(static) if (rows * n > 65536)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *o = out + r * n;
        float m = -INFINITY;
        for (int64_t j = 0; j < n; j++)
            if (xr[j] > m || isnan(xr[j])) m = isnan(m) ? m : xr[j];
        if (isinf(m) && m < 0) m = 0;   /* all -inf: exp gives 0s, the sum 0 -> NaN, like torch */
        double sum = 0;
        for (int64_t j = 0; j < n; j++) sum += exp((double)xr[j] - m);
        if (!log_of) {
            for (int64_t j = 0; j < n; j++) o[j] = (float)(exp((double)xr[j] - m) / sum);
        } else {
            double lse = m + log(sum);
            for (int64_t j = 0; j < n; j++) o[j] = (float)((double)xr[j] - lse);
        }
    }
}

void lens_cpu_matmul_batched(float *out, const float *a, const float *b, int64_t batch, int64_t M, int64_t K,
                             int64_t N, bool a_trans, bool b_trans, int64_t stride_a, int64_t stride_b,
                             int64_t stride_out)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int64_t i = 0; i < batch; i++) memset(out + i * stride_out, 0, (size_t)(M * N) * sizeof *out);
        return;
    }
    lens_cpu_sgemm_batched(&(lens_sgemm){.a_trans = a_trans, .b_trans = b_trans, .M = M, .N = N, .K = K,
                                         .alpha = 1.0f, .a = a, .b = b, .c = out, .lda = a_trans ? M : K,
                                         .ldb = b_trans ? K : N, .ldc = N},
                           batch, stride_a, stride_b, stride_out);
}

void lens_cpu_fill_f32(float *out, float v, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) out[i] = v;
}
