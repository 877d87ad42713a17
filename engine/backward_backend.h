/* backward_backend.h — the operations the backward pass is built from: the
 * derivatives of backend.h's forward operations with respect to their inputs
 * (activations only: no weight gradients are ever needed).
 *
 * Owns: the interface of the backward kernels. Does not own: the order they run
 * in (backward.c) or the forward operations (backend.h). A CUDA backend supplies
 * its own table beside the CPU one (backward_cpu.c). All matrices are row-major
 * and contiguous; "accumulate" adds into out instead of overwriting it.
 */
#ifndef LENS_BACKWARD_BACKEND_H
#define LENS_BACKWARD_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

typedef struct lens_backward_backend {
    const char *name;
    /* The input gradient of out = x @ W: dx[M,K] (+)= dy[M,N] @ W[K,N]^T. */
    void (*matmul_dx)(float *dx, const float *dy, const float *W, int64_t M, int64_t K, int64_t N,
                      bool accumulate);
    /* LayerNorm over rows of x[M,d] with the forward's scale[M] (sqrt(var + eps)
     * of the centred row) and weight w (NULL: none, as after fold_ln), given the
     * gradient of its output dnorm[M,d]:
     *   dscale[M] = the gradient of the scale taken as a free variable (may be NULL),
     *   dx[M,d]  += the total gradient of the input (through the centring, the
     *               normalisation and the scale). */
    void (*layernorm_dx)(float *dx, float *dscale, const float *dnorm, const float *x,
                         const float *scale, const float *w, int64_t M, int64_t d);
    /* Causal attention per (batch, head) for q,k,v,z [B,P,H,dh], pattern [B,H,P,P]:
     *   dpattern[B,H,P,P] = dz · v^T (every entry, above the diagonal too),
     *   dscores = pattern * (dpattern - rowsum(pattern * dpattern)) (0 above the diagonal),
     *   dq = dscores · k / sqrt(dh), dk = dscores^T · q / sqrt(dh), dv = pattern^T · dz. */
    void (*attention_dx)(float *dq, float *dk, float *dv, float *dpattern, float *dscores,
                         const float *dz, const float *q, const float *k, const float *v,
                         const float *pattern, int64_t B, int64_t P, int64_t H, int64_t dh);
    /* dx[n] = dy[n] * act'(x[n]). */
    void (*activation_dx)(float *dx, const float *dy, const float *x, int64_t n, lens_activation act);
    /* out[n] = a[n] + b[n] (out may alias a or b). */
    void (*add)(float *out, const float *a, const float *b, int64_t n);
} lens_backward_backend;

const lens_backward_backend *lens_backward_backend_cpu(void);

#endif
