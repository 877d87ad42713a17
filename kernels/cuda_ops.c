/* cuda_ops.c — the CUDA backend's table entries that are single kernels: each
 * checks its sizes, queues the launcher of a .cu file on the backend's stream and
 * keeps a launch failure as the sticky error.
 *
 * Owns: argument checks (negative sizes and element counts over int64 never
 * reach a kernel) and the shape-to-walk packing of the general operations.
 * Does not own: the kernels (pointwise.cu, strided.cu, rows.cu, reduce.cu). */
#include <string.h>

#include "cuda_host.h"

void lens_cu_op_layernorm(float *normalized, float *scale, const float *x, const float *w, const float *b, int64_t M,
                          int64_t d, float eps)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("layernorm", M, d)) return;
    lens_cu_ok(lens_cu_layernorm(lens_cu_stream(), normalized, scale, x, w, b, M, d, eps), "layernorm");
}

void lens_cu_op_attn_softmax(float *pattern, const float *scores, int64_t B, int64_t P, int64_t H)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("attention softmax", B, H, P, P)) return;
    lens_cu_ok(lens_cu_attn_softmax_of(lens_cu_stream(), pattern, scores, B * H, P), "attention softmax");
}

void lens_cu_op_activation(float *out, const float *x, int64_t n, lens_activation act)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("activation", n)) return;
    lens_cu_ok(lens_cu_activation(lens_cu_stream(), out, x, n, act), "activation");
}

void lens_cu_op_add(float *out, const float *a, const float *b, int64_t n)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("add", n)) return;
    lens_cu_ok(lens_cu_add(lens_cu_stream(), out, a, b, n), "add");
}

void lens_cu_op_embed(float *embed, float *pos, const int64_t *tokens, const float *W_E, const float *W_pos,
                      int64_t B, int64_t P, int64_t d)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("embed", B, P, d)) return;
    lens_cu_ok(lens_cu_embed(lens_cu_stream(), embed, pos, tokens, W_E, W_pos, B, P, d), "embed");
}

void lens_cu_op_gather_rows(float *dst, const float *src, const int64_t *rows, int64_t n, int64_t width)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("gather_rows", n, width)) return;
    lens_cu_ok(lens_cu_gather_rows(lens_cu_stream(), dst, src, rows, n, width), "gather_rows");
}

void lens_cu_op_compare_rows(float *differ, const float *x, const int64_t *rows_a, const int64_t *rows_b, int64_t n,
                             int64_t width)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("compare_rows", n, width)) return;
    lens_cu_ok(lens_cu_compare_rows(lens_cu_stream(), differ, x, rows_a, rows_b, n, width), "compare_rows");
}

void lens_cu_op_layernorm_dx(float *dx, float *dscale, const float *dnorm, const float *x, const float *scale,
                             const float *w, int64_t M, int64_t d)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("layernorm gradient", M, d)) return;
    lens_cu_ok(lens_cu_layernorm_dx(lens_cu_stream(), dx, dscale, dnorm, x, scale, w, M, d), "layernorm gradient");
}

void lens_cu_op_activation_dx(float *dx, const float *dy, const float *x, int64_t n, lens_activation act)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("activation gradient", n)) return;
    lens_cu_ok(lens_cu_activation_dx(lens_cu_stream(), dx, dy, x, n, act), "activation gradient");
}

/* Packs shape and two stride sets; the element count into *numel. false (and
 * the failure kept) for a bad ndim, a negative dim or a count over int64. */
static bool make_walk(const char *what, lens_cu_walk *w, int ndim, const int64_t *shape, const int64_t *a_strides,
                      const int64_t *b_strides, int64_t *numel)
{
    if (ndim < 0 || ndim > LENS_MAX_DIMS) {
        lens_cu_fail(LENS_ERR_INVALID, "%s: %d dims (at most %d)", what, ndim, LENS_MAX_DIMS);
        return false;
    }
    memset(w, 0, sizeof *w);
    w->ndim = ndim;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && n > INT64_MAX / shape[i])) {
            lens_cu_fail(LENS_ERR_TOO_LARGE, "%s: shape dim %d = %lld makes the element count overflow", what, i,
                         (long long)shape[i]);
            return false;
        }
        n *= shape[i];
        w->shape[i] = shape[i];
        w->a_strides[i] = a_strides[i];
        w->b_strides[i] = b_strides[i];
    }
    *numel = n;
    return true;
}

void lens_cu_op_copy_strided(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                             int ndim, const int64_t *shape, size_t elem_size)
{
    if (lens_cu_failed()) return;
    lens_cu_walk w;
    int64_t numel;
    if (!make_walk("strided copy", &w, ndim, shape, dst_strides, src_strides, &numel)) return;
    if (elem_size != 4 && elem_size != 8) {
        lens_cu_fail(LENS_ERR_INVALID, "strided copy: element size %zu (4 or 8 bytes)", elem_size);
        return;
    }
    lens_cu_ok(lens_cu_copy_strided(lens_cu_stream(), dst, src, &w, numel, elem_size), "strided copy");
}

void lens_cu_op_binary(lens_binop op, float *out, const float *a, const int64_t *a_strides, const float *b,
                       const int64_t *b_strides, int ndim, const int64_t *shape)
{
    if (lens_cu_failed()) return;
    if ((unsigned)op > LENS_OP_OR) {
        lens_cu_fail(LENS_ERR_INVALID, "unknown binary operation %d", (int)op);
        return;
    }
    lens_cu_walk w;
    int64_t numel;
    if (!make_walk("binary operation", &w, ndim, shape, a_strides, b_strides, &numel)) return;
    lens_cu_ok(lens_cu_binary(lens_cu_stream(), op, out, a, b, &w, numel), "binary operation");
}

void lens_cu_op_unary(lens_unop op, float *out, const float *x, int64_t n)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("unary operation", n)) return;
    if ((unsigned)op > LENS_OP_NOT) {
        lens_cu_fail(LENS_ERR_INVALID, "unknown unary operation %d", (int)op);
        return;
    }
    lens_cu_ok(lens_cu_unary(lens_cu_stream(), op, out, x, n), "unary operation");
}

void lens_cu_op_reduce(lens_reduce_op op, float *out, const float *x, int64_t outer, int64_t n, int64_t inner)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("reduction", outer, n, inner)) return;
    if (op != LENS_RED_SUM && op != LENS_RED_MEAN && op != LENS_RED_MAX && op != LENS_RED_MIN && op != LENS_RED_PROD) {
        lens_cu_fail(LENS_ERR_INVALID, "reduction %d is not a device reduction (sum, mean, max, min, prod)", (int)op);
        return;
    }
    lens_cu_ok(lens_cu_reduce(lens_cu_stream(), op, out, x, outer, n, inner), "reduction");
}

void lens_cu_op_softmax_rows(float *out, const float *x, int64_t rows, int64_t n, bool log)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("softmax", rows, n)) return;
    lens_cu_ok(lens_cu_softmax_rows(lens_cu_stream(), out, x, rows, n, log), log ? "log_softmax" : "softmax");
}

void lens_cu_op_fill(float *out, float v, int64_t n)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("fill", n)) return;
    lens_cu_ok(lens_cu_fill(lens_cu_stream(), out, v, n), "fill");
}
