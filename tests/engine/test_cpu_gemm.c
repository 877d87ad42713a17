/* tests/engine/test_cpu_gemm.c — the cpu backend's tiled matrix products
 * (engine/backend_cpu_gemm.c): every transpose combination, alpha and beta,
 * padded leading dimensions and batches against double-precision sums; the
 * same bits at 1, 2, 3 and 4 threads, for the products alone and for a whole
 * forward pass of the tiny model (every cache entry and the logits, with
 * sequences long enough for the BLAS attention path). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/backend_cpu_internal.h"
#include "../harness.h"
#include "model_fixture.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *random_floats(size_t n)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; p && i < n; i++) p[i] = uniform();
    return p;
}

/* A product with padded leading dimensions and its operands; shapes as lens_sgemm. */
typedef struct {
    lens_sgemm g;
    float *a, *b, *c0;   /* c0: c before the product (read when beta != 0) */
    size_t a_n, b_n, c_n;
} product;

static product make_product(int64_t M, int64_t N, int64_t K, bool a_trans, bool b_trans, float alpha, float beta)
{
    product p = {.g = {.a_trans = a_trans, .b_trans = b_trans, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta}};
    int64_t a_rows = a_trans ? K : M, a_cols = a_trans ? M : K, b_rows = b_trans ? N : K, b_cols = b_trans ? K : N;
    p.g.lda = a_cols + 3;
    p.g.ldb = b_cols + 5;
    p.g.ldc = N + 2;
    p.a_n = (size_t)(a_rows * p.g.lda);
    p.b_n = (size_t)(b_rows * p.g.ldb);
    p.c_n = (size_t)(M * p.g.ldc);
    p.a = random_floats(p.a_n);
    p.b = random_floats(p.b_n);
    p.c0 = random_floats(p.c_n);
    p.g.a = p.a;
    p.g.b = p.b;
    return p;
}

static void free_product(product *p)
{
    free(p->a);
    free(p->b);
    free(p->c0);
}

/* c = the product computed at this thread count, from c0. */
static float *run_product(product *p, int threads)
{
    float *c = malloc(p->c_n * sizeof *c);
    if (!c) return NULL;
    memcpy(c, p->c0, p->c_n * sizeof *c);
    int was = lens_num_threads();
    lens_set_num_threads(threads);
    p->g.c = c;
    lens_cpu_sgemm(&p->g);
    lens_set_num_threads(was);
    return c;
}

static double a_at(const product *p, int64_t i, int64_t k)
{
    return p->g.a_trans ? p->a[k * p->g.lda + i] : p->a[i * p->g.lda + k];
}

static double b_at(const product *p, int64_t k, int64_t j)
{
    return p->g.b_trans ? p->b[j * p->g.ldb + k] : p->b[k * p->g.ldb + j];
}

/* Each output within the float32 rounding bound of its double sum,
 * gamma_(K+2) (|alpha| sum_k |a_ik b_kj| + |beta c_ij|), and the padding untouched. */
static void check_against_double(const product *p, const float *c, const char *what)
{
    const lens_sgemm *g = &p->g;
    double u = ldexp(1.0, -24), gamma = (double)(g->K + 2) * u / (1 - (double)(g->K + 2) * u);
    int64_t bad = 0, pad_changed = 0;
    for (int64_t i = 0; i < g->M; i++) {
        for (int64_t j = 0; j < g->N; j++) {
            double sum = 0, mag = 0;
            for (int64_t k = 0; k < g->K; k++) {
                sum += a_at(p, i, k) * b_at(p, k, j);
                mag += fabs(a_at(p, i, k) * b_at(p, k, j));
            }
            double c0 = p->c0[i * g->ldc + j], want = g->alpha * sum + g->beta * c0;
            double bound = gamma * (fabs(g->alpha) * mag + fabs(g->beta * c0));
            if (!(fabs(c[i * g->ldc + j] - want) <= bound)) bad++;
        }
        for (int64_t j = g->N; j < g->ldc; j++) pad_changed += c[i * g->ldc + j] != p->c0[i * g->ldc + j];
    }
    CHECK(bad == 0, "%s: %lld outputs outside the rounding bound", what, (long long)bad);
    CHECK(pad_changed == 0, "%s: %lld padding floats written", what, (long long)pad_changed);
}

/* Shapes under, at and over the 256 x 256 tiles, one of them K = 1. */
static const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {256, 256, 16}, {300, 520, 33}, {513, 257, 1}, {70, 1000, 65}};

static void test_products_match_double_sums(void)
{
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int form = 0; form < 8; form++) {
            bool ta = form & 1, tb = form & 2;
            float beta = form & 4 ? 0.75f : 0.0f;
            product p = make_product(shapes[s][0], shapes[s][1], shapes[s][2], ta, tb, -1.5f, beta);
            float *c = run_product(&p, 2);
            char what[96];
            snprintf(what, sizeof what, "%lldx%lldx%lld a_trans %d b_trans %d beta %g", (long long)shapes[s][0],
                     (long long)shapes[s][1], (long long)shapes[s][2], ta, tb, beta);
            CHECK(c != NULL);
            if (c) check_against_double(&p, c, what);
            free(c);
            free_product(&p);
        }
}

static void test_thread_count_does_not_change_a_bit(void)
{
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int form = 0; form < 4; form++) {
            product p = make_product(shapes[s][0], shapes[s][1], shapes[s][2], form & 1, form & 2, 1.0f, 1.0f);
            float *one = run_product(&p, 1);
            for (int threads = 2; threads <= 4; threads++) {
                float *c = run_product(&p, threads);
                CHECK(one && c && !memcmp(one, c, p.c_n * sizeof *c), "%lldx%lldx%lld form %d: %d threads",
                      (long long)shapes[s][0], (long long)shapes[s][1], (long long)shapes[s][2], form, threads);
                free(c);
            }
            free(one);
            free_product(&p);
        }
}

/* Three products 9 floats apart in a, b and c's rows (heads sharing a row, as attention's do). */
static void test_batched_products_match_one_at_a_time(void)
{
    int64_t M = 270, N = 9, K = 300, H = 3;
    float *a = random_floats((size_t)(M * K * H)), *b = random_floats((size_t)(K * N * H));
    float *batched = calloc((size_t)(M * N * H), sizeof *batched), *single = calloc((size_t)(M * N * H), sizeof *single);
    lens_sgemm g = {.M = M, .N = N, .K = K, .alpha = 1.0f, .a = a, .b = b, .lda = K * H, .ldb = N * H, .ldc = N * H};
    g.c = batched;
    lens_cpu_sgemm_batched(&g, H, K, N, N);
    for (int64_t h = 0; h < H; h++) {
        lens_sgemm one = g;
        one.a = a + h * K;
        one.b = b + h * N;
        one.c = single + h * N;
        lens_cpu_sgemm(&one);
    }
    CHECK(a && b && batched && single && !memcmp(batched, single, (size_t)(M * N * H) * sizeof *single));
    double worst = 0;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < M; i += 37)
            for (int64_t j = 0; j < N; j++) {
                double sum = 0;
                for (int64_t k = 0; k < K; k++) sum += (double)a[i * K * H + h * K + k] * b[k * N * H + h * N + j];
                worst = fmax(worst, fabs(batched[i * N * H + h * N + j] - sum));
            }
    CHECK(worst < 1e-4, "batched against double: %.3g", worst);
    free(a); free(b); free(batched); free(single);
}

/* Logits and every cache entry of a run, as host copies (caller frees each). */
static int run_at(lens_model *m, const lens_tensor *tokens, int threads, lens_tensor **logits, lens_cache **cache)
{
    lens_error err;
    lens_run_options o = lens_run_options_default();
    o.include_attn_result = true;
    int was = lens_num_threads();
    lens_set_num_threads(threads);
    int rc = lens_model_run(m, tokens, &o, logits, cache, &err);
    lens_set_num_threads(was);
    if (rc) fprintf(stderr, "run: %s\n", err.msg);
    return rc;
}

static bool same_bits(const lens_tensor *a, const lens_tensor *b)
{
    lens_tensor *ca = host_copy(a), *cb = host_copy(b);
    bool same = ca && cb && lens_tensor_same_shape(ca, cb) &&
                !memcmp(lens_tensor_f32(ca), lens_tensor_f32(cb), (size_t)lens_tensor_numel(ca) * sizeof(float));
    lens_tensor_free(ca);
    lens_tensor_free(cb);
    return same;
}

static void test_a_whole_run_is_the_same_at_any_thread_count(void)
{
    lens_error err;
    lens_processing proc = lens_processing_default();
    lens_model *m = lens_model_load(TINY_DIR, &proc, &err);
    CHECK(m != NULL, "load: %s", m ? "" : err.msg);
    if (!m) return;
    /* 3 x 100 tokens: two tiles of rows, and attention past the loops' 64 positions. */
    lens_tensor *tokens = lens_tensor_new_v(LENS_I64, 2, (int64_t)3, (int64_t)100);
    for (int64_t i = 0; i < 300; i++) lens_tensor_i64(tokens)[i] = (i * 7919 + 5) % 50257;
    lens_tensor *base_logits = NULL;
    lens_cache *base = NULL;
    CHECK(run_at(m, tokens, 1, &base_logits, &base) == 0);
    for (int threads = 2; threads <= 3 && base; threads++) {
        lens_tensor *logits = NULL;
        lens_cache *cache = NULL;
        CHECK(run_at(m, tokens, threads, &logits, &cache) == 0);
        CHECK(same_bits(base_logits, logits), "logits at %d threads", threads);
        int differ = 0, n = lens_cache_count(base);
        for (int i = 0; cache && i < n; i++) {
            const char *name = lens_cache_name(base, i);
            bool same = same_bits(lens_cache_at(base, i), lens_cache_get(cache, name));
            CHECK(same, "%s at %d threads", name, threads);
            differ += !same;
        }
        CHECK(n > 30 && differ == 0, "%d of %d cache entries differ", differ, n);
        lens_tensor_free(logits);
        lens_cache_free(cache);
    }
    lens_tensor_free(base_logits);
    lens_cache_free(base);
    lens_tensor_free(tokens);
    lens_model_free(m);
}

int main(void)
{
    RUN(test_products_match_double_sums);
    RUN(test_thread_count_does_not_change_a_bit);
    RUN(test_batched_products_match_one_at_a_time);
    RUN(test_a_whole_run_is_the_same_at_any_thread_count);
    return harness_summary();
}
