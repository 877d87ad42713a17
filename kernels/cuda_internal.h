/* cuda_internal.h — what the CUDA backend's host part (the cuda_ C files) and its
 * kernels (the .cu files) share: the kernel launchers and the backend context.
 *
 * Owns: the launcher declarations (C linkage, callable from both languages) and
 * the context accessors. Does not own: the backend table (cuda_backend.c), the
 * kernels' bodies (*.cu) or the engine-facing contract (engine/backend_cuda.h).
 *
 * Every launcher queues its kernel(s) on `stream`, never synchronizes, launches
 * nothing for an empty size, and returns cudaGetLastError() (the launch error;
 * faults inside a kernel surface at the next synchronize).
 */
#ifndef LENS_CUDA_INTERNAL_H
#define LENS_CUDA_INTERNAL_H

#include <cuda_runtime.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A device error beside out of memory: one place to name its kind. */
#define LENS_CUDA_DEVICE_ERROR_KIND LENS_ERR_DEVICE

/* Shape and strides of a strided walk, passed to kernels by value. */
typedef struct {
    int ndim;
    int64_t shape[LENS_MAX_DIMS];
    int64_t a_strides[LENS_MAX_DIMS];   /* copy: destination; binary: a */
    int64_t b_strides[LENS_MAX_DIMS];   /* copy: source;      binary: b */
} lens_cu_walk;

/* ---- pointwise.cu ---- */
cudaError_t lens_cu_bias_rows(cudaStream_t stream, float *out, const float *bias, int64_t M, int64_t N);
cudaError_t lens_cu_activation(cudaStream_t stream, float *out, const float *x, int64_t n, lens_activation act);
cudaError_t lens_cu_activation_dx(cudaStream_t stream, float *dx, const float *dy, const float *x, int64_t n,
                                  lens_activation act);
cudaError_t lens_cu_add(cudaStream_t stream, float *out, const float *a, const float *b, int64_t n);
cudaError_t lens_cu_unary(cudaStream_t stream, lens_unop op, float *out, const float *x, int64_t n);
cudaError_t lens_cu_fill(cudaStream_t stream, float *out, float v, int64_t n);
cudaError_t lens_cu_compare_rows(cudaStream_t stream, float *differ, const float *x, const int64_t *rows_a,
                                const int64_t *rows_b, int64_t n, int64_t width);
cudaError_t lens_cu_gather_rows(cudaStream_t stream, float *dst, const float *src, const int64_t *rows, int64_t n,
                               int64_t width);
cudaError_t lens_cu_embed(cudaStream_t stream, float *embed, float *pos, const int64_t *tokens, const float *W_E,
                          const float *W_pos, int64_t B, int64_t P, int64_t d);

/* arrays holds 3 * outer * inner pointers: A's, then B's, then C's, for
 * cublasSgemmBatched; entry o * inner + i is base + o * s?o + i * s?i. */
cudaError_t lens_cu_gemm_pointers(cudaStream_t stream, void **arrays, const float *A, const float *B, float *C,
                                  int64_t outer, int64_t inner, int64_t sAo, int64_t sAi, int64_t sBo, int64_t sBi,
                                  int64_t sCo, int64_t sCi);

/* ---- strided.cu: numel is the product of walk.shape ---- */
cudaError_t lens_cu_copy_strided(cudaStream_t stream, void *dst, const void *src, const lens_cu_walk *walk,
                                 int64_t numel, size_t elem_size);
cudaError_t lens_cu_binary(cudaStream_t stream, lens_binop op, float *out, const float *a, const float *b,
                           const lens_cu_walk *walk, int64_t numel);

/* ---- rows.cu ---- */
cudaError_t lens_cu_layernorm(cudaStream_t stream, float *normalized, float *scale, const float *x, const float *w,
                              const float *b, int64_t M, int64_t d, float eps);
cudaError_t lens_cu_layernorm_dx(cudaStream_t stream, float *dx, float *dscale, const float *dnorm, const float *x,
                                 const float *scale, const float *w, int64_t M, int64_t d);
/* Rows of BH square [P,P] matrices. mask: scores above the diagonal become -inf
 * (in place); pattern (may be NULL) = the softmax of each row of scores. */
cudaError_t lens_cu_attn_softmax(cudaStream_t stream, float *scores, float *pattern, int64_t BH, int64_t P,
                                 bool mask);
/* Softmax of already-masked scores into pattern, scores untouched. */
cudaError_t lens_cu_attn_softmax_of(cudaStream_t stream, float *pattern, const float *scores, int64_t BH,
                                    int64_t P);
/* dscores = pattern * (dpattern - rowsum(pattern * dpattern)) on and below the diagonal, 0 above. */
cudaError_t lens_cu_attn_softmax_dx(cudaStream_t stream, float *dscores, const float *dpattern,
                                    const float *pattern, int64_t BH, int64_t P);
cudaError_t lens_cu_softmax_rows(cudaStream_t stream, float *out, const float *x, int64_t rows, int64_t n,
                                 bool log);

/* ---- reduce.cu: SUM, MEAN, MAX, MIN, PROD (others: cudaErrorInvalidValue) ---- */
cudaError_t lens_cu_reduce(cudaStream_t stream, lens_reduce_op op, float *out, const float *x, int64_t outer,
                           int64_t n, int64_t inner);

/* ---- cuda_context.c: the one stream, the cuBLAS handle, the first failure ---- */
cudaStream_t lens_cu_stream(void);
/* True once a queued operation failed (later compute operations are skipped
 * until synchronize reports it). */
bool lens_cu_failed(void);
/* Keep the first failure: a message and its kind. */
void lens_cu_fail(lens_error_kind kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* true when e is cudaSuccess; else the failure is kept, naming what, and the
 * runtime's last error is cleared. With LENS_CUDA_SYNC=1 it first waits for the
 * stream, so a kernel's fault is named after its operation. */
bool lens_cu_ok(cudaError_t e, const char *what);
/* Formats err directly (the memory operations report at once). Returns -1. */
int lens_cu_error(lens_error *err, lens_error_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The kind a runtime error maps to (LENS_ERR_MEMORY for allocation failures). */
lens_error_kind lens_cu_kind(cudaError_t e);
/* Moves the kept failure into err and clears it: -1, or 0 when there was none. */
int lens_cu_take_failure(lens_error *err);

#ifdef __cplusplus
}
#endif

#endif
