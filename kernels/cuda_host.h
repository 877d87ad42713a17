/* cuda_host.h — the CUDA backend's host-side functions, one per table entry,
 * shared by the files that implement them and cuda_backend.c, which puts them in
 * the table.
 *
 * Owns: these declarations. Does not own: their semantics (engine/backend.h
 * states them for every backend). */
#ifndef LENS_CUDA_HOST_H
#define LENS_CUDA_HOST_H

#include <cublas_v2.h>

#include "cuda_internal.h"

/* cuda_context.c */
void lens_cu_set_stream(cudaStream_t s);
/* Wait after every operation (LENS_CUDA_SYNC=1). */
void lens_cu_set_sync_each(bool on);
/* The dims are non-negative and their product fits in int64 (the kernels index
 * with it); else false with the failure kept. LENS_CU_DIMS_OK(what, a, b, ...). */
bool lens_cu_dims_ok(const char *what, int n, const int64_t *dims);
#define LENS_CU_DIMS_OK(what, ...)                                                                      \
    lens_cu_dims_ok(what, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* cuda_memory.c */
void *lens_cu_alloc(size_t nbytes, lens_error *err);
void lens_cu_free(void *p, size_t nbytes);
int lens_cu_upload(void *dst, const void *host_src, size_t nbytes, lens_error *err);
int lens_cu_download(void *host_dst, const void *src, size_t nbytes, lens_error *err);
int lens_cu_copy(void *dst, const void *src, size_t nbytes, lens_error *err);
int lens_cu_memset_zero(void *dst, size_t nbytes, lens_error *err);
int lens_cu_synchronize(lens_error *err);
int lens_cu_memory_info(size_t *free_bytes, size_t *total_bytes, lens_error *err);

/* cuda_blas.c: the cuBLAS handle and every operation built on matrix products */
void lens_cu_set_blas(cublasHandle_t handle);
/* "float32" (CUBLAS_DEFAULT_MATH: no TF32) or "tf32" (CUBLAS_TF32_TENSOR_OP_MATH). */
int lens_cu_set_precision(const char *precision, lens_error *err);
void lens_cu_matmul(float *out, const float *a, const float *b, const float *bias, int64_t M, int64_t K, int64_t N,
                    bool b_trans);
void lens_cu_attention(float *scores, float *pattern, float *z, const float *q, const float *k, const float *v,
                       int64_t B, int64_t P, int64_t H, int64_t dh);
void lens_cu_attn_scores(float *scores, const float *q, const float *k, int64_t B, int64_t P, int64_t H, int64_t dh);
void lens_cu_attn_z(float *z, const float *pattern, const float *v, int64_t B, int64_t P, int64_t H, int64_t dh);
void lens_cu_head_results(float *result, const float *z, const float *W_O, int64_t BP, int64_t H, int64_t dh,
                          int64_t d);
void lens_cu_matmul_dx(float *dx, const float *dy, const float *W, int64_t M, int64_t K, int64_t N, bool accumulate);
void lens_cu_attention_dx(float *dq, float *dk, float *dv, float *dpattern, float *dscores, const float *dz,
                          const float *q, const float *k, const float *v, const float *pattern, int64_t B, int64_t P,
                          int64_t H, int64_t dh);
void lens_cu_matmul_batched(float *out, const float *a, const float *b, int64_t batch, int64_t M, int64_t K,
                            int64_t N, bool a_trans, bool b_trans, int64_t stride_a, int64_t stride_b,
                            int64_t stride_out);

/* cuda_ops.c: the kernels of the .cu files behind the table's signatures */
void lens_cu_op_layernorm(float *normalized, float *scale, const float *x, const float *w, const float *b, int64_t M,
                          int64_t d, float eps);
void lens_cu_op_attn_softmax(float *pattern, const float *scores, int64_t B, int64_t P, int64_t H);
void lens_cu_op_activation(float *out, const float *x, int64_t n, lens_activation act);
void lens_cu_op_add(float *out, const float *a, const float *b, int64_t n);
void lens_cu_op_embed(float *embed, float *pos, const int64_t *tokens, const float *W_E, const float *W_pos,
                      int64_t B, int64_t P, int64_t d);
void lens_cu_op_layernorm_dx(float *dx, float *dscale, const float *dnorm, const float *x, const float *scale,
                             const float *w, int64_t M, int64_t d);
void lens_cu_op_activation_dx(float *dx, const float *dy, const float *x, int64_t n, lens_activation act);
void lens_cu_op_copy_strided(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                             int ndim, const int64_t *shape, size_t elem_size);
void lens_cu_op_binary(lens_binop op, float *out, const float *a, const int64_t *a_strides, const float *b,
                       const int64_t *b_strides, int ndim, const int64_t *shape);
void lens_cu_op_unary(lens_unop op, float *out, const float *x, int64_t n);
void lens_cu_op_reduce(lens_reduce_op op, float *out, const float *x, int64_t outer, int64_t n, int64_t inner);
void lens_cu_op_softmax_rows(float *out, const float *x, int64_t rows, int64_t n, bool log);
void lens_cu_op_fill(float *out, float v, int64_t n);
void lens_cu_op_compare_rows(float *differ, const float *x, const int64_t *rows_a, const int64_t *rows_b, int64_t n,
                             int64_t width);
void lens_cu_op_gather_rows(float *dst, const float *src, const int64_t *rows, int64_t n, int64_t width);

#endif
