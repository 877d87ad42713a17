/* backend_cpu_rows.c — the cpu backend's own arithmetic loops, written so the
 * compiler vectorises them and built once per x86-64 vector width (AVX-512,
 * AVX2, the SSE2 baseline; the loader picks the widest the machine has): the
 * gelu_new activation, one LayerNorm row, and attention for one (batch, head)
 * of a short sequence.
 *
 * Every clone computes the same bits: elementwise work is the same IEEE
 * operations in the same order (ISO C mode contracts nothing into FMAs), and
 * each sum is kept in a fixed number of lanes combined in a fixed order, not in
 * however many lanes the vector width gives.
 *
 * Owns: the exp used by gelu_new, the lane layout of the sums, the clone list.
 * Does not own: threading (backend_cpu.c splits the work and calls these on
 * each thread's share) or the BLAS paths. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend_cpu_internal.h"

/* GCC's clones (clang 14 accepts the attribute but does not emit the dispatched
 * symbol for these functions: the fuzz build, with clang, gets the baseline). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef CPU_CLONES
#define CPU_CLONES
#endif

/* The lanes a sum is kept in: the same on every clone, so the same bits. A
 * vector of them is lowered to the clone's registers (one zmm, two ymm, four
 * xmm for floats). */
#define SUM_LANES 16
typedef float lanes_f __attribute__((vector_size(SUM_LANES * sizeof(float))));
typedef double lanes_d __attribute__((vector_size(SUM_LANES * sizeof(double))));

/* Vectors go by pointer between functions: passing them by value would depend
 * on the clone's ABI. */
#define LOAD_LANES(p) (*(const lanes_f_unaligned *)(const void *)(p))
typedef float lanes_f_unaligned __attribute__((vector_size(SUM_LANES * sizeof(float)), aligned(4), may_alias));

/* Lane l holds the terms l, l + SUM_LANES, ...; the tail adds into lanes 0..;
 * then halves are added pairwise. */
static inline float sum_lanes_f(const lanes_f *acc, const float *tail, int64_t n_tail)
{
    float l[SUM_LANES];
    memcpy(l, acc, sizeof l);
    for (int64_t j = 0; j < n_tail; j++) l[j] += tail[j];
    for (int w = SUM_LANES / 2; w > 0; w /= 2)
        for (int i = 0; i < w; i++) l[i] += l[i + w];
    return l[0];
}

static inline double sum_lanes_d(const lanes_d *acc, const double *tail, int64_t n_tail)
{
    double l[SUM_LANES];
    memcpy(l, acc, sizeof l);
    for (int64_t j = 0; j < n_tail; j++) l[j] += tail[j];
    for (int w = SUM_LANES / 2; w > 0; w /= 2)
        for (int i = 0; i < w; i++) l[i] += l[i + w];
    return l[0];
}

static inline float dot_f(const float *a, const float *b, int64_t n)
{
    lanes_f acc = {0};
    int64_t j = 0;
    float tail[SUM_LANES];
    for (; j + SUM_LANES <= n; j += SUM_LANES) acc += LOAD_LANES(a + j) * LOAD_LANES(b + j);
    for (int64_t t = 0; j + t < n; t++) tail[t] = a[j + t] * b[j + t];
    return sum_lanes_f(&acc, tail, n - j);
}

static inline uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* e^x for float32 with a relative error of about one unit in the last place:
 * x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so n ln2 is exact), e^r by
 * its Taylor series to r^7 (truncation < 6e-9 relative), times 2^n built in the
 * exponent bits. Branch-free so a loop of it vectorises. x is clamped to
 * [-87, 88], where e^x and 2^n are normal floats: below, e^x is < 1.7e-38 and
 * gelu_new's use of it has already saturated; above, e^x overflows. NaN stays NaN. */
static inline float exp_f(float x)
{
    const float round_magic = 12582912.0f;   /* 1.5 * 2^23: adding it rounds to an integer */
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float shifted = x * 1.44269504088896341f + round_magic;
    float n = shifted - round_magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* n's integer value sits in the low bits of shifted (|n| <= 127) */
    uint32_t scale = (bits_of(shifted) - bits_of(round_magic) + 127u) << 23;
    return p * float_of(scale);
}

/* gelu_new(x) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the tanh written
 * as 1 - 2 / (e^(2u) + 1): saturates cleanly at both ends (e^(2u) -> 0 gives
 * exactly 0, -> huge gives x). */
CPU_CLONES void lens_cpu_gelu_new(float *out, const float *x, int64_t n)
{
    const float c = 0.7978845608028654f; /* sqrt(2/pi) */
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float e = exp_f(2.0f * c * (v + 0.044715f * v * v * v));
        out[i] = 0.5f * v * (2.0f - 2.0f / (e + 1.0f));
    }
}

/* One LayerNorm row: mean and variance in double (two passes, SUM_LANES lanes
 * each), normalized = (x - mean) / scale, then * w + b when w is given;
 * *scale_out = sqrt(var + eps). */
CPU_CLONES void lens_cpu_layernorm_row(float *normalized, float *scale_out, const float *x, const float *w,
                                       const float *b, int64_t d, float eps)
{
    lanes_d acc = {0};
    double tail[SUM_LANES];
    int64_t j = 0;
    for (; j + SUM_LANES <= d; j += SUM_LANES) acc += __builtin_convertvector(LOAD_LANES(x + j), lanes_d);
    int64_t n_tail = d - j;
    for (int64_t t = 0; t < n_tail; t++) tail[t] = x[j + t];
    double mean = sum_lanes_d(&acc, tail, n_tail) / (double)d;
    lanes_d mean_v = (lanes_d){0} + mean;
    acc = (lanes_d){0};
    for (j = 0; j + SUM_LANES <= d; j += SUM_LANES) {
        lanes_d c = __builtin_convertvector(LOAD_LANES(x + j), lanes_d) - mean_v;
        acc += c * c;
    }
    for (int64_t t = 0; t < n_tail; t++) tail[t] = (x[j + t] - mean) * (x[j + t] - mean);
    double var = sum_lanes_d(&acc, tail, n_tail) / (double)d;
    float s = (float)sqrt(var + (double)eps), mu = (float)mean;
    *scale_out = s;
    if (w) {
#pragma omp simd
        for (j = 0; j < d; j++) normalized[j] = (x[j] - mu) / s * w[j] + b[j];
    } else {
#pragma omp simd
        for (j = 0; j < d; j++) normalized[j] = (x[j] - mu) / s;
    }
}

/* Attention of one (batch, head) in three steps, q/k/v/z rows strided by ld. */

/* Scores of the queries against the keys up to them, * inv_scale; the keys
 * after a query are -inf, as TransformerLens caches them. */
static inline void scores_one(float *scores, const float *q, const float *k, int64_t P, int64_t ld, int64_t dh,
                              float inv_scale)
{
    for (int64_t i = 0; i < P; i++) {
        float *srow = scores + i * P;
        for (int64_t j = 0; j <= i; j++) srow[j] = dot_f(q + i * ld, k + j * ld, dh) * inv_scale;
        for (int64_t j = i + 1; j < P; j++) srow[j] = -INFINITY;
    }
}

/* Each row's softmax (sum in double, in order); -inf scores give exactly 0. */
static inline void softmax_one(float *pattern, const float *scores, int64_t P)
{
    for (int64_t i = 0; i < P; i++) {
        const float *srow = scores + i * P;
        float *prow = pattern + i * P;
        float mx = -INFINITY;
        for (int64_t j = 0; j < P; j++) mx = srow[j] > mx ? srow[j] : mx;
        double sum = 0;
        for (int64_t j = 0; j < P; j++) {
            prow[j] = srow[j] == -INFINITY ? 0.0f : expf(srow[j] - mx);
            sum += prow[j];
        }
        float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
        for (int64_t j = 0; j < P; j++) prow[j] *= inv;
    }
}

/* z = pattern @ v, skipping zero weights. */
static inline void z_one(float *z, const float *pattern, const float *v, int64_t P, int64_t ld, int64_t dh)
{
    for (int64_t i = 0; i < P; i++) {
        float *zr = z + i * ld;
#pragma omp simd
        for (int64_t t = 0; t < dh; t++) zr[t] = 0;
        for (int64_t j = 0; j < P; j++) {
            float p = pattern[i * P + j];
            if (p == 0.0f) continue;
            const float *vr = v + j * ld;
#pragma omp simd
            for (int64_t t = 0; t < dh; t++) zr[t] += p * vr[t];
        }
    }
}

CPU_CLONES void lens_cpu_attn_scores_one(float *scores, const float *q, const float *k, int64_t P, int64_t ld,
                                         int64_t dh, float inv_scale)
{
    scores_one(scores, q, k, P, ld, dh, inv_scale);
}

CPU_CLONES void lens_cpu_attn_softmax_one(float *pattern, const float *scores, int64_t P)
{
    softmax_one(pattern, scores, P);
}

CPU_CLONES void lens_cpu_attn_z_one(float *z, const float *pattern, const float *v, int64_t P, int64_t ld,
                                    int64_t dh)
{
    z_one(z, pattern, v, P, ld, dh);
}

/* The three steps for one (batch, head) while its rows are in cache. */
CPU_CLONES void lens_cpu_attention_one(float *scores, float *pattern, float *z, const float *q, const float *k,
                                       const float *v, int64_t P, int64_t ld, int64_t dh, float inv_scale)
{
    scores_one(scores, q, k, P, ld, dh, inv_scale);
    softmax_one(pattern, scores, P);
    z_one(z, pattern, v, P, ld, dh);
}
