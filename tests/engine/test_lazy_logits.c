/* test_lazy_logits.c — the logits of a run are computed where they are read
 * (engine/lazy_logits.c): every way of reading them (one position per prompt,
 * single elements, position ranges, scattered rows, the whole tensor,
 * logit_diff) gives the numbers of the full product, each row is computed
 * once and only when read, and the logits outlive their model.
 *
 * "The numbers of the full product" is exact with some BLAS kernels and not
 * with others: OpenBLAS's AVX-512 sgemm gives a row the same bits whatever
 * other rows share the product, its Haswell (AVX2) kernels do not (the sum
 * over d_model is ordered by how the rows are blocked: measured 2e-7..6e-7 on
 * logits of magnitude 1). So rows computed in different products are held
 * to the float32 rounding bound of two orderings of the same d_model-term
 * dot product, 2 * gamma_d * sum_k |x_k| |W_U[k, v]| with gamma_d = d u / (1 - d u),
 * u = 2^-24, bounded above with the largest |W_U| and the largest row sum of
 * |ln_final.hook_normalized| of the run (rounding_bound). Rows read twice
 * from one tensor, and logits of the same product, stay exactly equal. */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "lens/analysis.h"
#include "lens/tensor_ops.h"
#include "model_fixture.h"

static lens_safetensors *ref;
static lens_tensor *tokens;
static lens_model *model;
static double rounding_bound;   /* see the header */

static lens_tensor *run_logits(const lens_model *m)
{
    lens_error err;
    lens_run_options o = lens_run_options_default();
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    if (lens_model_run(m, tokens, &o, &logits, &cache, &err)) fprintf(stderr, "run: %s\n", err.msg);
    lens_cache_free(cache);
    return logits;
}

/* max |a - b| over two same-shaped tensors (0 means identical). */
static double max_diff(const lens_tensor *a, const lens_tensor *b)
{
    if (!a || !b || !lens_tensor_same_shape(a, b)) return INFINITY;
    lens_tensor *ca = host_copy(a), *cb = host_copy(b);
    double m = ca && cb ? 0 : INFINITY;
    for (int64_t i = 0; ca && cb && i < lens_tensor_numel(ca); i++) {
        double d = fabs((double)lens_tensor_f32(ca)[i] - (double)lens_tensor_f32(cb)[i]);
        if (!(d <= m)) m = d;
    }
    lens_tensor_free(ca);
    lens_tensor_free(cb);
    return m;
}

/* 2 gamma_d max|W_U| max_row sum|x| over the final normalized residual of the tokens' run. */
static double product_rounding_bound(void)
{
    lens_error err;
    lens_run_options o = lens_run_options_default();
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    if (lens_model_run(model, tokens, &o, &logits, &cache, &err)) return INFINITY;
    lens_tensor *x = host_copy(lens_cache_get(cache, "ln_final.hook_normalized"));
    lens_tensor *weight = lens_model_weight(model, "unembed.W_U", &err), *w = host_copy(weight);
    lens_tensor_free(weight);
    double bound = INFINITY;
    if (x && w) {
        int64_t d = x->shape[x->ndim - 1], rows = lens_tensor_numel(x) / d;
        double row_max = 0, w_max = 0;
        for (int64_t r = 0; r < rows; r++) {
            double sum = 0;
            for (int64_t k = 0; k < d; k++) sum += fabs(lens_tensor_f32(x)[r * d + k]);
            if (sum > row_max) row_max = sum;
        }
        for (int64_t i = 0; i < lens_tensor_numel(w); i++) w_max = fmax(w_max, fabs(lens_tensor_f32(w)[i]));
        double u = ldexp(1.0, -24), gamma = (double)d * u / (1 - (double)d * u);
        bound = 2 * gamma * w_max * row_max;
    }
    lens_tensor_free(x);
    lens_tensor_free(w);
    lens_tensor_free(logits);
    lens_cache_free(cache);
    return bound;
}

/* The same numbers up to the order of the d_model-term sums (see the header). */
static bool same_product(const lens_tensor *a, const lens_tensor *b)
{
    return max_diff(a, b) <= rounding_bound;
}

/* row[i] = 42 through a copy into the view (on a device: an upload). */
static void write_42(const lens_tensor *row, int64_t i)
{
    lens_error err;
    float v = 42.0f;
    int64_t one = 1;
    lens_tensor *dst = lens_tensor_narrow(row, 0, i, 1), *src = lens_tensor_from_f32(1, &one, &v);
    CHECK(dst && src && !lens_tensor_copy_into(dst, src, &err), "write");
    lens_tensor_free(dst);
    lens_tensor_free(src);
}

/* The whole tensor read at once: every row in one product (as before logits were lazy). */
static lens_tensor *full_logits(void)
{
    lens_tensor *lazy = run_logits(model);
    lens_tensor *full = lazy ? lens_tensor_clone(lazy) : NULL;
    CHECK(lens_logits_rows_computed(lazy) == lens_tensor_numel(tokens));
    lens_tensor_free(lazy);
    return full;
}

static void test_the_last_position_computes_one_row_per_prompt(void)
{
    lens_tensor *full = full_logits();
    CHECK(lens_logits_rows_computed(full) == -1, "a clone is an ordinary tensor");
    int64_t B = tokens->shape[0], P = tokens->shape[1];
    lens_tensor *lazy = run_logits(model);
    CHECK(lens_logits_rows_computed(lazy) == 0, "nothing computed before a read");
    lens_tensor *last = lens_tensor_select(lazy, 1, -1 + P);
    lens_tensor *want = lens_tensor_select(full, 1, P - 1);
    CHECK(same_product(last, want), "logits[:, -1] differ by %g (bound %g)", max_diff(last, want), rounding_bound);
    CHECK(lens_logits_rows_computed(lazy) == B, "%lld rows computed", (long long)lens_logits_rows_computed(lazy));
    CHECK(same_product(last, want));
    CHECK(lens_logits_rows_computed(lazy) == B, "read again: nothing recomputed");
    lens_tensor *tl = fixture_tensor(ref, "default.logits_last");
    double rel = tensor_rel_err(last, tl);
    CHECK(rel <= 1e-4, "against TransformerLens: %.3g", rel);
    lens_tensor_free(tl);
    lens_tensor_free(last);
    lens_tensor_free(want);
    CHECK(same_product(lazy, full), "the whole tensor");
    CHECK(lens_logits_rows_computed(lazy) == B * P);
    lens_tensor_free(lazy);
    lens_tensor_free(full);
}

static void test_scattered_reads_compute_exactly_the_rows_read(void)
{
    lens_tensor *full = full_logits();
    int64_t B = tokens->shape[0], P = tokens->shape[1], V = full->shape[2];
    lens_tensor *lazy = run_logits(model);
    int64_t idx[3] = {2, 3, 17};
    CHECK(lens_tensor_get_f64(lazy, idx) == lens_tensor_get_f64(full, idx));
    /* an element read through the full tensor reads the full tensor: every row */
    CHECK(lens_logits_rows_computed(lazy) == B * P);
    lens_tensor_free(lazy);

    lazy = run_logits(model);
    lens_tensor *p2 = lens_tensor_select(lazy, 0, 2), *r23 = lens_tensor_select(p2, 0, 3);
    int64_t v = 17;
    /* a row unembedded alone: the whole product's row to its rounding (OpenBLAS
     * rounds a row by its place in the product) */
    CHECK(fabs(lens_tensor_get_f64(r23, &v) - lens_tensor_get_f64(full, idx)) <= rounding_bound);
    CHECK(lens_logits_rows_computed(lazy) == 1, "one element: one row");
    lens_tensor *mid = lens_tensor_narrow(lazy, 1, 2, 5), *want_mid = lens_tensor_narrow(full, 1, 2, 5);
    CHECK(same_product(mid, want_mid), "positions 2..6");
    CHECK(lens_logits_rows_computed(lazy) == B * 5, "%lld rows", (long long)lens_logits_rows_computed(lazy));
    /* every other prompt, the first position, a vocabulary slice (strided, scattered rows) */
    lens_error err;
    lens_tensor *every = lens_tensor_slice(lazy, 0, 0, B, 2, &err), *e0 = every ? lens_tensor_select(every, 1, 0) : NULL;
    lens_tensor *cols = e0 ? lens_tensor_narrow(e0, 1, V - 100, 100) : NULL;
    lens_tensor *fe = lens_tensor_slice(full, 0, 0, B, 2, &err), *fe0 = lens_tensor_select(fe, 1, 0);
    lens_tensor *fcols = lens_tensor_narrow(fe0, 1, V - 100, 100);
    CHECK(same_product(cols, fcols), "strided rows");
    CHECK(lens_logits_rows_computed(lazy) == B * 5 + (B + 1) / 2);
    /* a row written before the rest is read keeps what was written */
    lens_tensor *r0 = lens_tensor_select(lazy, 1, 0), *r00 = lens_tensor_select(r0, 0, 1);
    write_42(r00, 5);
    CHECK(lens_logits_rows_computed(lazy) == B * 5 + (B + 1) / 2 + 1, "the written row was computed first");
    lens_tensor *whole = lens_tensor_clone(lazy);
    CHECK(lens_logits_rows_computed(lazy) == B * P);
    CHECK(host_f32(whole)[(1 * P + 0) * V + 5] == 42.0f, "the write stays");
    lens_tensor_free(whole);
    lens_tensor *fr = lens_tensor_select(full, 1, 0), *fr00 = lens_tensor_select(fr, 0, 1);
    write_42(fr00, 5);
    CHECK(same_product(lazy, full), "every row after the rest was read");
    lens_tensor *parts[] = {p2, r23, mid, want_mid, every, e0, cols, fe, fe0, fcols, r0, r00, fr, fr00, lazy, full};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) lens_tensor_free(parts[i]);
}

static void test_logit_diff_reads_only_the_last_positions(void)
{
    lens_tensor *full = full_logits();
    int64_t B = tokens->shape[0];
    lens_tensor *answers = lens_tensor_new_v(LENS_I64, 2, B, (int64_t)2);
    for (int64_t b = 0; b < B; b++) {
        lens_tensor_i64(answers)[2 * b] = 262 + b;
        lens_tensor_i64(answers)[2 * b + 1] = 11 * b;
    }
    lens_error err;
    lens_tensor *lazy = run_logits(model);
    lens_tensor *got = lens_logit_diff(model, lazy, answers, tokens, true, &err);
    lens_tensor *want = lens_logit_diff(model, full, answers, tokens, true, &err);
    CHECK(got && want && max_diff(got, want) <= 2 * rounding_bound, "per prompt");
    CHECK(lens_logits_rows_computed(lazy) == B, "%lld rows", (long long)lens_logits_rows_computed(lazy));
    lens_tensor_free(got);
    lens_tensor_free(want);
    lens_tensor_free(lazy);

    /* a tokens row with padding at the end: its last real position is read */
    lens_tensor *padded = lens_tensor_clone(tokens);
    lens_tensor_i64(padded)[tokens->shape[1] - 1] = LENS_GPT2_PAD;
    lens_tensor *lp = run_logits(model);
    got = lens_logit_diff(model, lp, answers, padded, true, &err);
    want = lens_logit_diff(model, full, answers, padded, true, &err);
    CHECK(got && want && max_diff(got, want) <= 2 * rounding_bound, "padded");
    CHECK(lens_logits_rows_computed(lp) == B);
    lens_tensor_free(got);
    lens_tensor_free(want);
    lens_tensor_free(lp);
    lens_tensor_free(padded);
    lens_tensor_free(answers);
    lens_tensor_free(full);
}

static void test_logits_outlive_their_model(void)
{
    lens_tensor *full = full_logits();
    lens_error err;
    lens_processing p = lens_processing_default();
    lens_model *m = lens_model_load(TINY_DIR, &p, &err);
    lens_tensor *lazy = m ? run_logits(m) : NULL;
    lens_model_free(m);
    CHECK(lazy && same_product(lazy, full));
    lens_tensor_free(lazy);
    lens_tensor_free(full);
}

int main(void)
{
    lens_error err;
    ref = lens_safetensors_open(TINY_REF, &err);
    if (!ref) { fprintf(stderr, "%s\n", err.msg); return 1; }
    tokens = fixture_tensor(ref, "tokens");
    lens_processing p = lens_processing_default();
    model = lens_model_load(TINY_DIR, &p, &err);
    if (!model) { fprintf(stderr, "load: %s\n", err.msg); return 1; }
    rounding_bound = product_rounding_bound();
    printf("float32 rounding bound of the unembedding: %g\n", rounding_bound);
    RUN(test_the_last_position_computes_one_row_per_prompt);
    RUN(test_scattered_reads_compute_exactly_the_rows_read);
    RUN(test_logit_diff_reads_only_the_last_positions);
    RUN(test_logits_outlive_their_model);
    lens_model_free(model);
    lens_tensor_free(tokens);
    lens_safetensors_close(ref);
    return harness_summary();
}
