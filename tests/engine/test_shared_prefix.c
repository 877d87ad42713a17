/* tests/engine/test_shared_prefix.c — prompts that share a prefix computed once
 * (engine/shared_prefix.c, forward.c).
 *
 * The plan against a brute-force search (each row's first prompt with the same
 * tokens up to it) on hand-made and random batches; then whole runs of the
 * seed's 100 templated prompts on the tiny model: with the prefixes shared,
 * every row a shared prefix repeats is bit-identical to the row it repeats in
 * every cache entry and the logits, and every value is within float rounding
 * of a run that computes each row. Hooked runs share too: a hook that changes
 * nothing leaves the plain run's bits, and hooks that make one prompt's rows
 * differ from the rows they shared (before attention, mid-block, in attention's
 * pattern, the row every prompt copies) give what computing every row gives. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/shared_prefix.h"
#include "../harness.h"
#include "model_fixture.h"

/* ---- the plan ------------------------------------------------------------- */

/* The plan against the definition: row (b, t) is computed when no lower prompt
 * has b's tokens 0..t, and it equals the computed row of the lowest one that has. */
static void check_plan(const int64_t *ids, int64_t B, int64_t P, const char *what)
{
    lens_prefix_plan plan;
    lens_error err;
    CHECK(lens_prefix_plan_make(ids, B, P, &plan, &err) == 0, "%s: %s", what, err.msg);
    if (!plan.expand) return;
    int64_t computed = 0, wrong = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < P; t++) {
            int64_t first = b;
            for (int64_t o = 0; o < b && first == b; o++)
                if (!memcmp(ids + o * P, ids + b * P, (size_t)(t + 1) * sizeof *ids)) first = o;
            if (first == b) {
                wrong += plan.compact[computed] != b * P + t || plan.expand[b * P + t] != computed;
                computed++;
            } else
                wrong += plan.compact[plan.expand[b * P + t]] != first * P + t;
        }
    CHECK(plan.rows == B * P && plan.computed == computed && wrong == 0, "%s: %lld computed (want %lld), %lld wrong",
          what, (long long)plan.computed, (long long)computed, (long long)wrong);
    lens_prefix_plan_free(&plan);
}

static void test_plan_matches_the_definition(void)
{
    /* rows 1-3 repeat row 0 for 2, 1 and 3 positions; row 4 shares with row 2 */
    static const int64_t ids[] = {1, 2, 3, 1, 2, 4, 1, 5, 6, 1, 2, 3, 1, 5, 7, 9, 9, 9};
    check_plan(ids, 6, 3, "hand-made");
    lens_prefix_plan plan;
    lens_error err;
    CHECK(lens_prefix_plan_make(ids, 6, 3, &plan, &err) == 0);
    /* row0: 3, row1: 1, row2: 2, row3: 0, row4: 1, row5: 3 */
    CHECK(plan.computed == 10, "%lld", (long long)plan.computed);
    lens_prefix_plan_free(&plan);

    uint64_t s = 12345;
    for (int trial = 0; trial < 40; trial++) {
        int64_t B = 1 + trial % 13, P = 1 + trial % 7, ids_r[13 * 7];
        for (int64_t i = 0; i < B * P; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            ids_r[i] = (int64_t)((s >> 33) % (trial % 3 + 2));   /* few distinct tokens: many shared prefixes */
        }
        check_plan(ids_r, B, P, "random");
    }
}

/* ---- whole runs -------------------------------------------------------- */

static const char *const templates[] = {"So %s is a really great friend, isn't", "So %s is such a good cook, isn't",
                                        "So %s is a very good athlete, isn't", "So %s is a really nice person, isn't",
                                        "So %s is such a funny person, isn't"};
static const char *const names[] = {"John", "David", "Mark", "Paul", "Ryan", "Gary", "Jack", "Sean", "Carl", "Joe",
                                    "Mary", "Lisa", "Anna", "Sarah", "Amy", "Carol", "Karen", "Susan", "Julie", "Judy"};

/* The seed notebook's 100 prompts, tokenized with <bos>. */
static lens_tensor *seed_tokens(const lens_model *m)
{
    char text[100][64];
    const char *prompts[100];
    for (int n = 0; n < 20; n++)
        for (int t = 0; t < 5; t++) {
            snprintf(text[n * 5 + t], sizeof text[0], templates[t], names[n]);
            prompts[n * 5 + t] = text[n * 5 + t];
        }
    lens_error err;
    lens_tensor *tokens = lens_model_to_tokens(m, prompts, 100, true, &err);
    CHECK(tokens != NULL, "%s", tokens ? "" : err.msg);
    return tokens;
}

static int run(const lens_model *m, const lens_tensor *tokens, bool share, lens_run_options *o, lens_tensor **logits,
               lens_cache **cache)
{
    lens_error err;
    o->include_attn_result = true;
    o->no_shared_prefixes = !share;
    int rc = lens_model_run(m, tokens, o, logits, cache, &err);
    CHECK(rc == 0, "run: %s", rc ? err.msg : "");
    return rc;
}

/* For a tensor [B, P, ...] (or [B, H, P, P]: pos_dim 2): the rows a shared prefix
 * repeats that differ in any bit from the row they repeat. */
static int64_t repeats_that_differ(const lens_tensor *t, const lens_prefix_plan *plan, int64_t B, int64_t P,
                                   int pos_dim)
{
    lens_tensor *h = host_copy(t);
    if (!h) return -1;
    const float *x = lens_tensor_f32(h);
    int64_t outer = 1, inner = 1, differ = 0;
    for (int d = 1; d < pos_dim; d++) outer *= h->shape[d];
    for (int d = pos_dim + 1; d < h->ndim; d++) inner *= h->shape[d];
    for (int64_t b = 0; b < B; b++)
        for (int64_t p = 0; p < P; p++) {
            int64_t src = plan->compact[plan->expand[b * P + p]], sb = src / P;
            if (sb == b) continue;
            for (int64_t o = 0; o < outer; o++)
                differ += memcmp(x + ((b * outer + o) * P + p) * inner, x + ((sb * outer + o) * P + p) * inner,
                                 (size_t)inner * sizeof *x) != 0;
        }
    lens_tensor_free(h);
    return differ;
}

/* The largest |a - b| / (1 + |b|) over two tensors of the same shape. */
static double worst_difference(const lens_tensor *a, const lens_tensor *b)
{
    lens_tensor *ha = host_copy(a), *hb = host_copy(b);
    double worst = ha && hb && lens_tensor_same_shape(ha, hb) ? 0 : INFINITY;
    for (int64_t i = 0; worst < INFINITY && i < lens_tensor_numel(ha); i++) {
        double x = lens_tensor_f32(ha)[i], y = lens_tensor_f32(hb)[i];
        if (x == y) continue;   /* also the masked scores' -inf */
        double e = fabs(x - y) / (1 + fabs(y));
        if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
    }
    lens_tensor_free(ha);
    lens_tensor_free(hb);
    return worst;
}

static void test_seed_run_shares_prefixes_and_matches_computing_every_row(void)
{
    lens_error err;
    lens_processing proc = lens_processing_default();
    lens_model *m = lens_model_load(TINY_DIR, &proc, &err);
    CHECK(m != NULL, "load: %s", m ? "" : err.msg);
    lens_tensor *tokens = m ? seed_tokens(m) : NULL;
    if (!tokens) { lens_model_free(m); return; }
    int64_t B = tokens->shape[0], P = tokens->shape[1];
    lens_prefix_plan plan;
    CHECK(lens_prefix_plan_make(lens_tensor_i64(tokens), B, P, &plan, &err) == 0);
    /* <bos> and "So" once, 20 names, 20 " is", then the templates part */
    CHECK(B == 100 && P == 11 && plan.computed == 642, "%lldx%lld, %lld rows computed", (long long)B, (long long)P,
          (long long)plan.computed);

    lens_run_options o = lens_run_options_default();
    lens_tensor *shared_logits = NULL, *every_logits = NULL;
    lens_cache *shared = NULL, *every = NULL;
    if (run(m, tokens, true, &o, &shared_logits, &shared) || run(m, tokens, false, &o, &every_logits, &every)) goto done;
    int n = lens_cache_count(every), mismatched = 0;
    CHECK(n == lens_cache_count(shared) && n > 40, "%d entries, %d shared", n, lens_cache_count(shared));
    for (int i = 0; i < n; i++) {
        const char *name = lens_cache_name(every, i);
        const lens_tensor *a = lens_cache_get(shared, name), *b = lens_cache_at(every, i);
        int pos_dim = strstr(name, "attn_scores") || strstr(name, "pattern") ? 2 : 1;
        int64_t differ = a ? repeats_that_differ(a, &plan, B, P, pos_dim) : -1;
        double worst = a ? worst_difference(a, b) : INFINITY;
        CHECK(differ == 0, "%s: %lld repeated rows differ from the row they repeat", name, (long long)differ);
        CHECK(worst < 2e-5, "%s: %.3g from computing every row", name, worst);
        mismatched += differ != 0 || !(worst < 2e-5);
    }
    CHECK(mismatched == 0, "%d of %d entries", mismatched, n);
    /* the logits: every position, read whole (each row unembedded where it is
     * read: rows at different places of the product may differ in the last
     * bits, so the bound) */
    CHECK(worst_difference(shared_logits, every_logits) < 2e-5, "logits %.3g", worst_difference(shared_logits, every_logits));
    int64_t unshared_differ = repeats_that_differ(lens_cache_get(every, "blocks.1.hook_resid_post"), &plan, B, P, 1);
    fprintf(stderr, "  (computing every row: %lld repeated rows of blocks.1.hook_resid_post differ in the last bits)\n",
            (long long)unshared_differ);
done:
    lens_prefix_plan_free(&plan);
    lens_tensor_free(shared_logits);
    lens_tensor_free(every_logits);
    lens_cache_free(shared);
    lens_cache_free(every);
    lens_tensor_free(tokens);
    lens_model_free(m);
}

/* A hook that adds 0, 1, .., 6, 0, .. (not a constant, which LayerNorm would
 * remove) to one prompt's activation at `name`: at position pos, or all of it
 * (pos -1). */
typedef struct { const char *name; int64_t prompt, pos; } nudge;

static int nudge_hook(void *ctx, const char *name, lens_tensor *act, lens_error *err)
{
    const nudge *n = ctx;
    if (strcmp(name, n->name)) return 0;
    lens_tensor *row = lens_tensor_select(act, 0, n->prompt);
    lens_tensor *at = row && n->pos >= 0 ? lens_tensor_select(row, 0, n->pos) : row ? lens_tensor_ref(row) : NULL;
    lens_tensor *h = at ? lens_tensor_host(at, err) : NULL;
    lens_tensor *c = h ? lens_tensor_contiguous(h) : NULL;
    int rc = c ? 0 : -1;
    for (int64_t i = 0; c && i < lens_tensor_numel(c); i++) lens_tensor_f32(c)[i] += (float)(i % 7) * 0.25f;
    if (c && lens_tensor_copy_into(at, c, err)) rc = -1;
    lens_tensor_free(c);
    lens_tensor_free(h);
    lens_tensor_free(at);
    lens_tensor_free(row);
    return rc;
}

static int read_only_hook(void *ctx, const char *name, lens_tensor *act, lens_error *err)
{
    (void)ctx;
    (void)name;
    lens_tensor *h = lens_tensor_host(act, err);   /* reads every activation */
    lens_tensor_free(h);
    return h ? 0 : -1;
}

/* Every cache entry and the logits of two runs: the worst difference (0: the same bits). */
static double worst_of_runs(lens_tensor *la, lens_cache *a, lens_tensor *lb, lens_cache *b, bool *same_bits)
{
    double worst = worst_difference(la, lb);
    *same_bits = worst == 0;
    for (int i = 0; i < lens_cache_count(b); i++) {
        const lens_tensor *x = lens_cache_get(a, lens_cache_name(b, i));
        double w = x ? worst_difference(x, lens_cache_at(b, i)) : INFINITY;
        if (!(w <= worst)) worst = w;
        *same_bits = *same_bits && w == 0;
    }
    return worst;
}

static void test_hooked_runs_share_until_a_hook_makes_rows_differ(void)
{
    lens_error err;
    lens_processing proc = lens_processing_default();
    lens_model *m = lens_model_load(TINY_DIR, &proc, &err);
    lens_tensor *tokens = m ? seed_tokens(m) : NULL;
    if (!tokens) { lens_model_free(m); return; }
    lens_run_options o = lens_run_options_default();
    lens_tensor *plain_logits = NULL;
    lens_cache *plain = NULL;
    CHECK(run(m, tokens, true, &o, &plain_logits, &plain) == 0);

    /* a hook that changes nothing: the same bits as the plain run */
    lens_run_options ro = o;
    ro.hook_fn = read_only_hook;
    lens_tensor *rl = NULL;
    lens_cache *rc = NULL;
    bool same = false;
    CHECK(run(m, tokens, true, &ro, &rl, &rc) == 0);
    if (rl && plain_logits) worst_of_runs(rl, rc, plain_logits, plain, &same);
    CHECK(same, "a read-only hook changed the run's bits");
    lens_tensor_free(rl);
    lens_cache_free(rc);

    /* hooks that make one prompt's rows differ from the rows they shared: the
     * run follows them, as a run computing every row does */
    static const nudge nudges[] = {
        {"blocks.0.hook_resid_pre", 1, 0},      /* a repeat of prompt 0's <bos> row */
        {"blocks.1.hook_mlp_out", 0, 1},        /* the row every prompt copies ("So") */
        {"blocks.0.ln1.hook_normalized", 7, 3}, /* mid-block, before q, k, v */
        {"blocks.0.attn.hook_pattern", 5, -1},  /* attention's [H, P, P]: seen in z */
        {"ln_final.hook_normalized", 2, 2},
    };
    for (size_t i = 0; i < sizeof nudges / sizeof *nudges; i++) {
        lens_run_options h = o;
        h.hook_fn = nudge_hook;
        h.hook_ctx = (void *)&nudges[i];
        lens_tensor *sl = NULL, *el = NULL;
        lens_cache *sc = NULL, *ec = NULL;
        if (!run(m, tokens, true, &h, &sl, &sc) && !run(m, tokens, false, &h, &el, &ec)) {
            bool bits;
            double w = worst_of_runs(sl, sc, el, ec, &bits);
            CHECK(w < 2e-5, "%s: %.3g from computing every row", nudges[i].name, w);
            double moved = worst_of_runs(sl, sc, plain_logits, plain, &bits);
            CHECK(moved > 1e-4, "%s: the hook changed nothing (%.3g)", nudges[i].name, moved);
        }
        lens_tensor_free(sl);
        lens_tensor_free(el);
        lens_cache_free(sc);
        lens_cache_free(ec);
    }
    lens_tensor_free(plain_logits);
    lens_cache_free(plain);
    lens_tensor_free(tokens);
    lens_model_free(m);
}

int main(void)
{
    RUN(test_plan_matches_the_definition);
    RUN(test_seed_run_shares_prefixes_and_matches_computing_every_row);
    RUN(test_hooked_runs_share_until_a_hook_makes_rows_differ);
    return harness_summary();
}
