/* backend.h — the operations the forward pass and analyses are built from.
 *
 * The model code calls these through a lens_backend and never touches BLAS or
 * device memory itself, so a CUDA backend (kernels/) slots in beside the CPU
 * one (backend_cpu.c). Pointers are in the backend's memory space. Shapes are
 * given per function; all matrices are row-major and contiguous unless a
 * leading dimension says otherwise.
 */
#ifndef LENS_BACKEND_H
#define LENS_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { LENS_ACT_GELU_NEW, LENS_ACT_GELU, LENS_ACT_RELU } lens_activation;

typedef struct lens_backend {
    const char *name;
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
    /* embed[B,P,d] = W_E[tokens], pos[B,P,d] = W_pos[0..P-1]. */
    void (*embed)(float *embed, float *pos, const int64_t *tokens, const float *W_E,
                  const float *W_pos, int64_t B, int64_t P, int64_t d);
} lens_backend;

const lens_backend *lens_backend_cpu(void);

#endif
