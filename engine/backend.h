/* backend.h — a compute device: its memory and the operations the engine is
 * built from.
 *
 * Owns: the interface every backend implements (backend_cpu.c, the simulated
 * device backend_sim.c, the CUDA backend in kernels/) and the registry that
 * chooses one (lens_backend_select, LENS_DEVICE). Does not own: what is computed
 * with the operations (forward.c, backward.c, tensor_ops_*.c) or where tensors
 * live (lens/tensor.h: a storage carries the device tag of its backend).
 *
 * Rules every caller keeps:
 * - Pointers passed to a backend's operations are in that backend's memory (from
 *   its alloc, or a view into such a block). Host code never reads or writes
 *   them unless the backend says host_addressable; data reaches the host only
 *   through download and leaves it only through upload.
 * - Operations are queued in order on the backend's one stream and may run
 *   asynchronously. Compute operations return nothing; the first failure of any
 *   queued operation is kept and reported by the next synchronize (or download,
 *   which synchronizes). Memory operations report their own failures at once.
 * - Shapes are given per function; matrices are row-major and contiguous unless
 *   strides say otherwise; strides are in elements.
 * - Every operation of the table is implemented by every backend (the registry
 *   refuses a table with a missing operation and names it).
 */
#ifndef LENS_BACKEND_H
#define LENS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lens/error.h"
#include "lens/tensor.h"
#include "lens/tensor_ops.h"

typedef enum { LENS_ACT_GELU_NEW, LENS_ACT_GELU, LENS_ACT_RELU } lens_activation;

typedef struct lens_backend {
    const char *name;           /* "cpu", "sim", "cuda" */
    lens_device device;         /* the tag its storages carry */
    bool host_addressable;      /* its pointers are ordinary host memory (cpu only) */

    /* ---- memory --------------------------------------------------------- */
    /* nbytes of device memory, zero-filled; NULL with err (LENS_ERR_MEMORY, the size)
     * when it cannot be had. Blocks are at least 256-byte aligned. */
    void *(*alloc)(size_t nbytes, lens_error *err);
    void (*free)(void *p, size_t nbytes);
    int (*upload)(void *dst, const void *host_src, size_t nbytes, lens_error *err);
    int (*download)(void *host_dst, const void *src, size_t nbytes, lens_error *err);
    int (*copy)(void *dst, const void *src, size_t nbytes, lens_error *err);  /* device to device */
    int (*memset_zero)(void *dst, size_t nbytes, lens_error *err);
    /* Waits for every queued operation; -1 with the first failure since the last call. */
    int (*synchronize)(lens_error *err);
    /* Free and total device memory in bytes (the cpu reports what the memory limit allows). */
    int (*memory_info)(size_t *free_bytes, size_t *total_bytes, lens_error *err);

    /* ---- forward operations ---------------------------------------------- */
    /* out[M,N] = a[M,K] @ b[K,N] (b_trans: b is [N,K]) + bias[N] (bias may be NULL). */
    void (*matmul)(float *out, const float *a, const float *b, const float *bias, int64_t M,
                   int64_t K, int64_t N, bool b_trans);
    /* x[M,d] -> scale[M] = sqrt(var + eps) of the centred rows, normalized[M,d] =
     * (x - mean) / scale, then * w + b when w is not NULL. */
    void (*layernorm)(float *normalized, float *scale, const float *x, const float *w,
                      const float *b, int64_t M, int64_t d, float eps);
    /* Causal attention for q,k,v [B,P,H,dh]: scores [B,H,P,P] (scaled, -inf above
     * the diagonal), pattern = softmax(scores), z [B,P,H,dh] = pattern @ v. */
    void (*attention)(float *scores, float *pattern, float *z, const float *q, const float *k,
                      const float *v, int64_t B, int64_t P, int64_t H, int64_t dh);
    /* The same in three steps, so hooks can read or change scores and pattern in
     * between: scores from q,k; pattern = softmax(scores); z = pattern @ v. */
    void (*attn_scores)(float *scores, const float *q, const float *k, int64_t B, int64_t P,
                        int64_t H, int64_t dh);
    void (*attn_softmax)(float *pattern, const float *scores, int64_t B, int64_t P, int64_t H);
    void (*attn_z)(float *z, const float *pattern, const float *v, int64_t B, int64_t P,
                   int64_t H, int64_t dh);
    /* Per-head outputs result[B*P, H, d] = z[B*P, H, dh] @ W_O[H, dh, d] (no bias). */
    void (*head_results)(float *result, const float *z, const float *W_O, int64_t BP, int64_t H,
                         int64_t dh, int64_t d);
    void (*activation)(float *out, const float *x, int64_t n, lens_activation act);
    /* out = a + b, n elements (out may alias a or b). */
    void (*add)(float *out, const float *a, const float *b, int64_t n);
    /* embed[B,P,d] = W_E[tokens], pos[B,P,d] = W_pos[0..P-1]; tokens [B,P] in device memory. */
    void (*embed)(float *embed, float *pos, const int64_t *tokens, const float *W_E,
                  const float *W_pos, int64_t B, int64_t P, int64_t d);

    /* ---- backward operations (activations only: no weight gradients) ---- */
    /* dx[M,K] (+)= dy[M,N] @ W[K,N]^T; accumulate adds into dx instead of overwriting. */
    void (*matmul_dx)(float *dx, const float *dy, const float *W, int64_t M, int64_t K, int64_t N,
                      bool accumulate);
    /* LayerNorm over rows of x[M,d] with the forward's scale[M] and weight w (NULL:
     * none), given dnorm[M,d]: dscale[M] = the gradient of the scale as a free
     * variable (may be NULL); dx[M,d] += the total gradient of the input. */
    void (*layernorm_dx)(float *dx, float *dscale, const float *dnorm, const float *x,
                         const float *scale, const float *w, int64_t M, int64_t d);
    /* Causal attention per (batch, head) for q,k,v,z [B,P,H,dh], pattern [B,H,P,P]:
     *   dpattern = dz · v^T (every entry), dscores = pattern * (dpattern -
     *   rowsum(pattern * dpattern)) (0 above the diagonal), dq = dscores · k / sqrt(dh),
     *   dk = dscores^T · q / sqrt(dh), dv = pattern^T · dz. */
    void (*attention_dx)(float *dq, float *dk, float *dv, float *dpattern, float *dscores,
                         const float *dz, const float *q, const float *k, const float *v,
                         const float *pattern, int64_t B, int64_t P, int64_t H, int64_t dh);
    /* dx[n] = dy[n] * act'(x[n]). */
    void (*activation_dx)(float *dx, const float *dy, const float *x, int64_t n, lens_activation act);

    /* ---- general tensor operations (what tensor_ops_*.c runs on a device) ---
     * ndim <= LENS_MAX_DIMS; an index space `shape` is walked in row-major order. */
    /* dst[at dst_strides] = src[at src_strides] over shape; elem_size 1, 4 or 8 bytes.
     * Makes views contiguous, assigns into views, gathers rows. */
    void (*copy_strided)(void *dst, const int64_t *dst_strides, const void *src,
                         const int64_t *src_strides, int ndim, const int64_t *shape,
                         size_t elem_size);
    /* out (contiguous over shape) = a op b read through strides (0 = broadcast), float32.
     * Comparisons and logical ops give 1.0f / 0.0f. */
    void (*binary_f32)(lens_binop op, float *out, const float *a, const int64_t *a_strides,
                       const float *b, const int64_t *b_strides, int ndim, const int64_t *shape);
    /* out[n] = op(x[n]) (out may alias x). */
    void (*unary_f32)(lens_unop op, float *out, const float *x, int64_t n);
    /* x contiguous as [outer, n, inner] -> out[outer, inner]; SUM, MEAN, MAX, MIN, PROD
     * (other ops run on the host). */
    void (*reduce_f32)(lens_reduce_op op, float *out, const float *x, int64_t outer, int64_t n,
                       int64_t inner);
    /* Rows of x [rows, n] -> softmax (or log_softmax) of each row. */
    void (*softmax_rows)(float *out, const float *x, int64_t rows, int64_t n, bool log);
    /* out[b] = op(a[b]) @ op(b[b]) for b < batch: a [M,K] (a_trans: stored [K,M]), b [K,N]
     * (b_trans: stored [N,K]), out [M,N]; consecutive batches stride_a / stride_b /
     * stride_out elements apart (0: the same matrix for every batch). */
    void (*matmul_batched)(float *out, const float *a, const float *b, int64_t batch, int64_t M,
                           int64_t K, int64_t N, bool a_trans, bool b_trans, int64_t stride_a,
                           int64_t stride_b, int64_t stride_out);
    /* out[n] = v. */
    void (*fill_f32)(float *out, float v, int64_t n);
    /* dst[i, :] = src[rows[i], :] for i < n, rows of width floats; rows[n] in device
     * memory (the forward pass's shared prompt prefixes, shared_prefix.h). */
    void (*gather_rows)(float *dst, const float *src, const int64_t *rows, int64_t n, int64_t width);
    /* differ[i] = 1 when rows rows_a[i] and rows_b[i] of x (width floats each)
     * differ in any bit, else 0, for i < n (did a hook make shared rows differ). */
    void (*compare_rows)(float *differ, const float *x, const int64_t *rows_a, const int64_t *rows_b, int64_t n,
                         int64_t width);
} lens_backend;

/* The backends compiled into this build, in registry order (cpu first). */
const lens_backend *lens_backend_cpu(void);
const lens_backend *lens_backend_sim(void);
/* The CUDA backend when this build has it and a device is usable, else NULL with
 * err saying why (no driver, no device, the library missing). */
const lens_backend *lens_backend_cuda(lens_error *err);

/* By name ("cpu", "sim", "cuda"): NULL with err naming the choices, or saying why
 * a compiled backend cannot run here (e.g. "cuda was asked for but no CUDA device
 * is present"). */
const lens_backend *lens_backend_by_name(const char *name, lens_error *err);
/* The process default: $LENS_DEVICE when set, else cuda when usable, else cpu.
 * lens_backend_select(name) replaces it (NULL: back to that rule). */
const lens_backend *lens_backend_default(void);
int lens_backend_select(const char *name, lens_error *err);
/* The backend that owns a storage's device tag. */
const lens_backend *lens_backend_of_device(lens_device dev);
/* 0 when every operation of be's table is set; else -1 with err naming the first
 * missing one (the registry runs this on every backend it hands out). */
int lens_backend_check_complete(const lens_backend *be, lens_error *err);

#endif
