/* backward_cpu.c — the CPU backend's backward operations (backend.h): the
 * tiled sgemm (backend_cpu_gemm.c) for the input gradients of the matrix
 * products (and of attention on long sequences), OpenMP-parallel C loops for
 * the rest.
 *
 * Owns: the derivative kernels (lens_cpu_*_dx, also the cpu backend table's
 * backward operations: backend_cpu_internal.h). Does not own: which gradients
 * are computed or kept (backward.c). */
#include <math.h>
#include <string.h>

#include "backend_cpu_internal.h"
#include "backend.h"

void lens_cpu_matmul_dx(float *dx, const float *dy, const float *W, int64_t M, int64_t K, int64_t N,
                          bool accumulate)
{
    lens_cpu_sgemm(&(lens_sgemm){.b_trans = true, .M = M, .N = K, .K = N, .alpha = 1.0f,
                                 .beta = accumulate ? 1.0f : 0.0f, .a = dy, .b = W, .c = dx, .lda = N, .ldb = N,
                                 .ldc = K});
}

void lens_cpu_layernorm_dx(float *dx, float *dscale, const float *dnorm, const float *x, const float *scale,
                             const float *w, int64_t M, int64_t d)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < M; i++) {
        const float *xr = x + i * d, *gr = dnorm + i * d;
        float *out = dx + i * d;
        double mean = 0;
        for (int64_t j = 0; j < d; j++) mean += xr[j];
        mean /= (double)d;
        double s = scale[i], gx = 0;   /* gx = sum_j g_j * xc_j */
        for (int64_t j = 0; j < d; j++) gx += (double)gr[j] * (w ? w[j] : 1.0f) * ((double)xr[j] - mean);
        double ds = -gx / (s * s);
        if (dscale) dscale[i] = (float)ds;
        /* dxc_j = g_j / s + ds * xc_j / (d s); the centring subtracts their mean */
        double sum = 0;
        for (int64_t j = 0; j < d; j++) {
            double g = (double)gr[j] * (w ? w[j] : 1.0f);
            sum += g / s + ds * ((double)xr[j] - mean) / ((double)d * s);
        }
        double mdx = sum / (double)d;
        for (int64_t j = 0; j < d; j++) {
            double g = (double)gr[j] * (w ? w[j] : 1.0f);
            out[j] += (float)(g / s + ds * ((double)xr[j] - mean) / ((double)d * s) - mdx);
        }
    }
}

/* dscores from dpattern, row by row through the pattern (never the -inf scores):
 * keys after the query are masked constants, so their gradient is 0. */
static void softmax_dx_one(float *dS, const float *dP, const float *pat, int64_t P)
{
    for (int64_t i = 0; i < P; i++) {
        double dot = 0;
        for (int64_t j = 0; j <= i; j++) dot += (double)pat[i * P + j] * dP[i * P + j];
        for (int64_t j = 0; j < P; j++)
            dS[i * P + j] = j <= i ? (float)((double)pat[i * P + j] * ((double)dP[i * P + j] - dot)) : 0.0f;
    }
}

/* One (batch, head): q,k,v,z and their gradients are rows strided by ld. */
static void attention_dx_loops(float *dq, float *dk, float *dv, float *dP, float *dS, const float *dz,
                               const float *q, const float *k, const float *v, const float *pat, int64_t P,
                               int64_t ld, int64_t dh, float inv_scale)
{
    for (int64_t i = 0; i < P; i++)
        for (int64_t j = 0; j < P; j++) {
            float s = 0;
            for (int64_t t = 0; t < dh; t++) s += dz[i * ld + t] * v[j * ld + t];
            dP[i * P + j] = s;
        }
    for (int64_t j = 0; j < P; j++)
        for (int64_t t = 0; t < dh; t++) {
            float s = 0;
            for (int64_t i = 0; i < P; i++) s += pat[i * P + j] * dz[i * ld + t];
            dv[j * ld + t] = s;
        }
    softmax_dx_one(dS, dP, pat, P);
    for (int64_t i = 0; i < P; i++)
        for (int64_t t = 0; t < dh; t++) {
            float s = 0;
            for (int64_t j = 0; j <= i; j++) s += dS[i * P + j] * k[j * ld + t];
            dq[i * ld + t] = s * inv_scale;
        }
    for (int64_t j = 0; j < P; j++)
        for (int64_t t = 0; t < dh; t++) {
            float s = 0;
            for (int64_t i = j; i < P; i++) s += dS[i * P + j] * q[i * ld + t];
            dk[j * ld + t] = s * inv_scale;
        }
}

static void attention_dx_blas(float *dq, float *dk, float *dv, float *dP, float *dS, const float *dz,
                              const float *q, const float *k, const float *v, const float *pat, int64_t P,
                              int64_t ld, int64_t dh, float inv_scale)
{
    lens_cpu_sgemm(&(lens_sgemm){.b_trans = true, .M = P, .N = P, .K = dh, .alpha = 1.0f, .a = dz, .b = v,
                                 .c = dP, .lda = ld, .ldb = ld, .ldc = P});
    lens_cpu_sgemm(&(lens_sgemm){.a_trans = true, .M = P, .N = dh, .K = P, .alpha = 1.0f, .a = pat, .b = dz,
                                 .c = dv, .lda = P, .ldb = ld, .ldc = ld});
    softmax_dx_one(dS, dP, pat, P);
    lens_cpu_sgemm(&(lens_sgemm){.M = P, .N = dh, .K = P, .alpha = inv_scale, .a = dS, .b = k, .c = dq,
                                 .lda = P, .ldb = ld, .ldc = ld});
    lens_cpu_sgemm(&(lens_sgemm){.a_trans = true, .M = P, .N = dh, .K = P, .alpha = inv_scale, .a = dS, .b = q,
                                 .c = dk, .lda = P, .ldb = ld, .ldc = ld});
}

/* As in the forward: sgemm per (batch, head) from this length on, loops below. */
#define BLAS_ATTENTION_MIN_P 64

void lens_cpu_attention_dx(float *dq, float *dk, float *dv, float *dpattern, float *dscores, const float *dz,
                             const float *q, const float *k, const float *v, const float *pattern, int64_t B,
                             int64_t P, int64_t H, int64_t dh)
{
    int64_t ld = H * dh;
    float inv_scale = 1.0f / sqrtf((float)dh);
    bool blas = P >= BLAS_ATTENTION_MIN_P;
    /* Long sequences: a (batch, head) a task, its products on the task's thread. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t off = (bh / H) * P * ld + (bh % H) * dh, sq = bh * P * P;
        if (blas)
            attention_dx_blas(dq + off, dk + off, dv + off, dpattern + sq, dscores + sq, dz + off, q + off, k + off,
                              v + off, pattern + sq, P, ld, dh, inv_scale);
        else
            attention_dx_loops(dq + off, dk + off, dv + off, dpattern + sq, dscores + sq, dz + off, q + off,
                               k + off, v + off, pattern + sq, P, ld, dh, inv_scale);
    }
}

/* gelu_new's derivative with its tanh written as 1 - 2 / (exp(2u) + 1), as the
 * forward does, so the loop vectorises with glibc's vector expf. */
void lens_cpu_activation_dx(float *dx, const float *dy, const float *x, int64_t n, lens_activation act)
{
    const float c = 0.7978845608028654f;      /* sqrt(2/pi) */
    const double inv_sqrt_2pi = 0.3989422804014327;
    switch (act) {
    case LENS_ACT_GELU_NEW:
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            float t = 1.0f - 2.0f / (expf(2.0f * c * (v + 0.044715f * v * v * v)) + 1.0f);
            float sech2 = 1 - t * t;   /* 0 once the tanh saturates: no 0 * inf for huge v */
            float dydx = 0.5f * (1 + t) + (sech2 == 0.0f ? 0.0f : 0.5f * v * sech2 * c * (1 + 3 * 0.044715f * v * v));
            dx[i] = dy[i] * dydx;
        }
        break;
    case LENS_ACT_GELU:
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            double v = x[i];
            double dydx = 0.5 * (1 + erf(v * 0.70710678118654752)) + v * inv_sqrt_2pi * exp(-0.5 * v * v);
            dx[i] = (float)(dy[i] * dydx);
        }
        break;
    case LENS_ACT_RELU:
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0.0f;
        break;
    }
}
