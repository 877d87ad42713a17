/* tests/engine/test_cpu_rows.c — the cpu backend's vectorised loops
 * (engine/backend_cpu_rows.c) against double-precision references: gelu_new
 * over a sweep of inputs and at its edges (0, saturation, infinities, NaN),
 * LayerNorm rows of lengths that are and are not multiples of the sum lanes,
 * with and without weights, and short-sequence attention (scores, the causal
 * mask, the softmax pattern and z) for several head sizes, where the fused
 * one-(batch, head) path must give the same bits as the three separate steps
 * the hooked forward pass runs. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../engine/backend_cpu_internal.h"
#include "../harness.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static double gelu_ref(double x)
{
    return 0.5 * x * (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
}

/* Within a few float roundings of the exact value, scaled as float32 gelu_new
 * computes it (x/2 times 1 + tanh, whose rounding is relative to 1). */
static void test_gelu_new_matches_double(void)
{
    enum { N = 200003 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++) x[i] = (float)(-12.0 + 24.0 * i / (N - 1));
    lens_cpu_gelu_new(y, x, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double err = fabs((double)y[i] - gelu_ref(x[i])) / fmax(fabs((double)x[i]), 1e-30);
        if (!(err <= worst)) worst = err;
    }
    CHECK(worst <= 4 * FLT_EPSILON, "max error %.3g of |x| (bound %.3g)", worst, 4 * FLT_EPSILON);
    /* relative accuracy where the output is not a cancellation: x > 0 */
    double worst_rel = 0;
    for (int i = 0; i < N; i++)
        if (x[i] > 0.05f) {
            double ref = gelu_ref(x[i]), rel = fabs((double)y[i] - ref) / ref;
            if (!(rel <= worst_rel)) worst_rel = rel;
        }
    CHECK(worst_rel <= 3 * FLT_EPSILON, "max relative error %.3g for x > 0", worst_rel);
    free(x);
    free(y);
}

static void test_gelu_new_edges(void)
{
    const float in[] = {0.0f, -0.0f, 30.0f, -30.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-40f, 88.0f, -88.0f};
    enum { N = sizeof in / sizeof *in };
    float out[N];
    lens_cpu_gelu_new(out, in, N);
    CHECK(out[0] == 0.0f && out[1] == 0.0f, "gelu(+-0) = %g, %g", out[0], out[1]);
    CHECK(out[2] == 30.0f, "gelu(30) = %.9g, saturates to 30", out[2]);
    CHECK(out[3] == 0.0f, "gelu(-30) = %g, saturates to 0", out[3]);
    CHECK(out[4] == 1e30f && out[5] == 0.0f, "gelu(+-1e30) = %g, %g", out[4], out[5]);
    CHECK(out[6] == INFINITY, "gelu(inf) = %g", out[6]);
    /* as torch: -inf / 2 * (1 + tanh(-inf)) = -inf * 0 */
    CHECK(isnan(out[7]), "gelu(-inf) = %g, NaN as in torch", out[7]);
    CHECK(isnan(out[8]), "gelu(NaN) = %g", out[8]);
    CHECK(fabsf(out[9] - 0.5e-40f) <= 1e-45f && fabsf(out[10] + 0.5e-40f) <= 1e-45f, "subnormal inputs: %g, %g", out[9], out[10]);
    CHECK(out[11] == 88.0f && out[12] == 0.0f, "gelu(+-88) = %g, %g", out[11], out[12]);
}

/* Odd lengths and offsets reach every tail; any split of a span gives the same values. */
static void test_gelu_new_spans_and_tails(void)
{
    enum { N = 1000 };
    float x[N], whole[N], parts[N];
    for (int i = 0; i < N; i++) x[i] = (float)(uniform() * 10 - 5);
    lens_cpu_gelu_new(whole, x, N);
    for (int at = 0, len = 1; at < N; at += len, len = len % 37 + 1)
        lens_cpu_gelu_new(parts + at, x + at, at + len <= N ? len : N - at);
    CHECK(!memcmp(whole, parts, sizeof whole), "a span split in pieces gives other bits");
}

static void layernorm_ref(double *out, double *scale, const float *x, const float *w, const float *b, int d, double eps)
{
    double mean = 0, var = 0;
    for (int j = 0; j < d; j++) mean += x[j];
    mean /= d;
    for (int j = 0; j < d; j++) var += (x[j] - mean) * (x[j] - mean);
    var /= d;
    *scale = sqrt(var + eps);
    for (int j = 0; j < d; j++) out[j] = (x[j] - mean) / *scale * (w ? w[j] : 1.0) + (w ? b[j] : 0.0);
}

static void test_layernorm_rows_match_double(void)
{
    static const int lengths[] = {1, 2, 7, 15, 16, 17, 31, 64, 100, 768, 1023};
    for (size_t t = 0; t < sizeof lengths / sizeof *lengths; t++)
        for (int weighted = 0; weighted < 2; weighted++) {
            int d = lengths[t];
            float *x = malloc((size_t)d * sizeof *x), *w = malloc((size_t)d * sizeof *w),
                  *b = malloc((size_t)d * sizeof *b), *out = malloc((size_t)d * sizeof *out);
            double *ref = malloc((size_t)d * sizeof *ref), ref_scale, max_ref = 1e-6;
            for (int j = 0; j < d; j++) {
                x[j] = (float)(3.0 + 2.0 * (uniform() - 0.5));
                w[j] = (float)(uniform() + 0.5);
                b[j] = (float)(uniform() - 0.5);
            }
            float scale;
            lens_cpu_layernorm_row(out, &scale, x, weighted ? w : NULL, b, d, 1e-5f);
            layernorm_ref(ref, &ref_scale, x, weighted ? w : NULL, b, d, 1e-5);
            double worst = 0;
            for (int j = 0; j < d; j++) {
                double e = fabs(out[j] - ref[j]);
                if (!(e <= worst)) worst = e;
                if (fabs(ref[j]) > max_ref) max_ref = fabs(ref[j]);
            }
            CHECK(fabs(scale - ref_scale) <= FLT_EPSILON * ref_scale, "d %d: scale %.9g vs %.9g", d, scale, ref_scale);
            /* mean and scale rounded to float, then two or three float operations */
            CHECK(worst <= 8 * FLT_EPSILON * (max_ref + 3.0 / ref_scale), "d %d weighted %d: error %.3g", d, weighted,
                  worst);
            free(x); free(w); free(b); free(out); free(ref);
        }
}

/* q, k, v [P, ld] with the head's dh columns at offset 0; checks scores, the
 * mask, the pattern and z against double sums, and the fused path against the steps. */
static void check_attention(int P, int dh, int ld)
{
    size_t n = (size_t)P * (size_t)ld, pp = (size_t)P * (size_t)P;
    float *q = malloc(n * sizeof *q), *k = malloc(n * sizeof *k), *v = malloc(n * sizeof *v);
    float *sc = malloc(pp * sizeof *sc), *pat = malloc(pp * sizeof *pat), *z = calloc(n, sizeof *z);
    float *sc2 = malloc(pp * sizeof *sc2), *pat2 = malloc(pp * sizeof *pat2), *z2 = calloc(n, sizeof *z2);
    for (size_t i = 0; i < n; i++) {
        q[i] = (float)(2 * uniform() - 1);
        k[i] = (float)(2 * uniform() - 1);
        v[i] = (float)(2 * uniform() - 1);
    }
    float inv_scale = 1.0f / sqrtf((float)dh);
    lens_cpu_attention_one(sc, pat, z, q, k, v, P, ld, dh, inv_scale);
    lens_cpu_attn_scores_one(sc2, q, k, P, ld, dh, inv_scale);
    lens_cpu_attn_softmax_one(pat2, sc2, P);
    lens_cpu_attn_z_one(z2, pat2, v, P, ld, dh);
    CHECK(!memcmp(sc, sc2, pp * sizeof *sc) && !memcmp(pat, pat2, pp * sizeof *pat),
          "P %d dh %d: the fused path's scores or pattern differ from the steps'", P, dh);
    bool z_same = true;
    for (int i = 0; i < P; i++) z_same &= !memcmp(z + (size_t)i * ld, z2 + (size_t)i * ld, (size_t)dh * sizeof *z);
    CHECK(z_same, "P %d dh %d: the fused path's z differs from the steps'", P, dh);
    double worst_s = 0, worst_p = 0, worst_z = 0;
    bool masked = true;
    for (int i = 0; i < P; i++) {
        double ref_s[P > 0 ? P : 1], mx = -INFINITY, sum = 0;
        for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int t = 0; t < dh; t++) s += (double)q[(size_t)i * ld + t] * k[(size_t)j * ld + t];
            ref_s[j] = s * inv_scale;
            mx = fmax(mx, ref_s[j]);
            worst_s = fmax(worst_s, fabs(sc[(size_t)i * P + j] - ref_s[j]));
        }
        for (int j = 0; j <= i; j++) sum += exp(ref_s[j] - mx);
        for (int j = 0; j <= i; j++)
            worst_p = fmax(worst_p, fabs(pat[(size_t)i * P + j] - exp(ref_s[j] - mx) / sum));
        for (int j = i + 1; j < P; j++) masked &= sc[(size_t)i * P + j] == -INFINITY && pat[(size_t)i * P + j] == 0.0f;
        for (int t = 0; t < dh; t++) {
            double zr = 0;
            for (int j = 0; j <= i; j++) zr += exp(ref_s[j] - mx) / sum * v[(size_t)j * ld + t];
            worst_z = fmax(worst_z, fabs(z[(size_t)i * ld + t] - zr));
        }
    }
    CHECK(masked, "P %d dh %d: keys after the query are not -inf / 0", P, dh);
    /* a dh-term dot product of values in [-1, 1]: rounding grows at most like dh */
    CHECK(worst_s <= dh * FLT_EPSILON, "P %d dh %d: scores error %.3g", P, dh, worst_s);
    CHECK(worst_p <= 1e-6, "P %d dh %d: pattern error %.3g", P, dh, worst_p);
    CHECK(worst_z <= 1e-6 * dh / 8 + 1e-6, "P %d dh %d: z error %.3g", P, dh, worst_z);
    free(q); free(k); free(v); free(sc); free(pat); free(z); free(sc2); free(pat2); free(z2);
}

static void test_attention_matches_double(void)
{
    static const int P[] = {1, 2, 5, 11, 63};
    static const int dh[] = {1, 7, 16, 17, 64, 80};
    for (size_t a = 0; a < sizeof P / sizeof *P; a++)
        for (size_t b = 0; b < sizeof dh / sizeof *dh; b++) check_attention(P[a], dh[b], 3 * dh[b] + 5);
}

int main(void)
{
    RUN(test_gelu_new_matches_double);
    RUN(test_gelu_new_edges);
    RUN(test_gelu_new_spans_and_tails);
    RUN(test_layernorm_rows_match_double);
    RUN(test_attention_matches_double);
    return harness_summary();
}
