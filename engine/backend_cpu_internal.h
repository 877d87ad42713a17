/* backend_cpu_internal.h — internal to the engine: the cpu implementations that
 * live outside backend_cpu.c (the backward kernels of backward_cpu.c, the general
 * tensor operations of backend_cpu_general.c, the vectorised loops of
 * backend_cpu_rows.c) and the tiled matrix product every one of them uses
 * (backend_cpu_gemm.c), so the cpu table can point at them.
 * Signatures are those of the lens_backend members of the same name (backend.h). */
#ifndef LENS_BACKEND_CPU_INTERNAL_H
#define LENS_BACKEND_CPU_INTERNAL_H

#include "backend.h"

void lens_cpu_matmul_dx(float *dx, const float *dy, const float *W, int64_t M, int64_t K, int64_t N,
                        bool accumulate);
void lens_cpu_layernorm_dx(float *dx, float *dscale, const float *dnorm, const float *x, const float *scale,
                           const float *w, int64_t M, int64_t d);
void lens_cpu_attention_dx(float *dq, float *dk, float *dv, float *dpattern, float *dscores, const float *dz,
                           const float *q, const float *k, const float *v, const float *pattern, int64_t B,
                           int64_t P, int64_t H, int64_t dh);
void lens_cpu_activation_dx(float *dx, const float *dy, const float *x, int64_t n, lens_activation act);

void lens_cpu_copy_strided(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                           int ndim, const int64_t *shape, size_t elem_size);
void lens_cpu_binary_f32(lens_binop op, float *out, const float *a, const int64_t *a_strides, const float *b,
                         const int64_t *b_strides, int ndim, const int64_t *shape);
void lens_cpu_unary_f32(lens_unop op, float *out, const float *x, int64_t n);
void lens_cpu_reduce_f32(lens_reduce_op op, float *out, const float *x, int64_t outer, int64_t n, int64_t inner);
void lens_cpu_softmax_rows(float *out, const float *x, int64_t rows, int64_t n, bool log);
void lens_cpu_matmul_batched(float *out, const float *a, const float *b, int64_t batch, int64_t M, int64_t K,
                             int64_t N, bool a_trans, bool b_trans, int64_t stride_a, int64_t stride_b,
                             int64_t stride_out);
void lens_cpu_fill_f32(float *out, float v, int64_t n);

/* One row-major single-precision product c = alpha * op(a) @ op(b) + beta * c,
 * c [M, N], op(a) [M, K], op(b) [K, N]; a transposed operand is stored [K, M]
 * (a) or [N, K] (b). Leading dimensions and K fit in an int. */
typedef struct {
    bool a_trans, b_trans;
    int64_t M, N, K;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int64_t lda, ldb, ldc;
} lens_sgemm;

/* The products, in tiles over the threads (backend_cpu_gemm.c): the same bits
 * whatever the thread count. The batched form runs batch products whose
 * matrices are stride_a, stride_b, stride_c floats apart. */
void lens_cpu_sgemm(const lens_sgemm *g);
void lens_cpu_sgemm_batched(const lens_sgemm *g, int64_t batch, int64_t stride_a, int64_t stride_b,
                            int64_t stride_c);

/* The vectorised loops (backend_cpu_rows.c), one thread's share each. */
void lens_cpu_gelu_new(float *out, const float *x, int64_t n);
void lens_cpu_layernorm_row(float *normalized, float *scale_out, const float *x, const float *w, const float *b,
                            int64_t d, float eps);
void lens_cpu_attn_scores_one(float *scores, const float *q, const float *k, int64_t P, int64_t ld, int64_t dh,
                              float inv_scale);
void lens_cpu_attn_softmax_one(float *pattern, const float *scores, int64_t P);
void lens_cpu_attn_z_one(float *z, const float *pattern, const float *v, int64_t P, int64_t ld, int64_t dh);
void lens_cpu_attention_one(float *scores, float *pattern, float *z, const float *q, const float *k,
                            const float *v, int64_t P, int64_t ld, int64_t dh, float inv_scale);

#endif
