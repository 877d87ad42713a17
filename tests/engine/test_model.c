/* test_model.c — the forward pass, cache and weight processing against
 * TransformerLens and Hugging Face outputs for tests/fixtures/tiny-gpt2, plus the
 * invariants that hold for any model. */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "lens/patching.h"
#include "model_fixture.h"

static lens_safetensors *ref;
static lens_tensor *ref_tokens;

static lens_model *load(lens_processing p)
{
    lens_error err;
    lens_model *m = lens_model_load(TINY_DIR, &p, &err);
    if (!m) fprintf(stderr, "load: %s\n", err.msg);
    return m;
}

static lens_processing refactor_processing(void)
{
    lens_processing p = lens_processing_default();
    p.refactor_factored_attn_matrices = true;
    return p;
}

static int run_full(lens_model *m, lens_tensor **logits, lens_cache **cache)
{
    lens_error err;
    lens_run_options o = lens_run_options_default();
    o.include_attn_result = true;
    int rc = lens_model_run(m, ref_tokens, &o, logits, cache, &err);
    if (rc) fprintf(stderr, "run: %s\n", err.msg);
    return rc;
}

/* Compares every fixture entry "<prefix><hook>" with the cache; returns how many. */
static int compare_cache(const lens_cache *cache, const char *prefix, double tol)
{
    int n = 0;
    size_t pl = strlen(prefix);
    for (int i = 0; i < lens_safetensors_count(ref); i++) {
        const lens_st_entry *e = lens_safetensors_entry(ref, i);
        if (strncmp(e->name, prefix, pl)) continue;
        const char *hook = e->name + pl;
        lens_tensor *want = fixture_tensor(ref, e->name);
        const lens_tensor *got = lens_cache_get(cache, hook);
        CHECK(got != NULL, "cache has no %s", hook);
        if (got) {
            double rel = tensor_rel_err(got, want);
            CHECK(rel <= tol, "%s: relative error %.3g", e->name, rel);
        }
        lens_tensor_free(want);
        n++;
    }
    return n;
}

static void test_to_tokens_matches_the_reference_tokens(void)
{
    lens_model *m = load(lens_processing_none());
    CHECK(m);
    if (!m) return;
    const char *prompts[] = {"So John is a really great friend, isn't", "So John is such a good cook, isn't",
                             "So Mary is a really great friend, isn't", "So Mary is such a good cook, isn't"};
    lens_error err;
    lens_tensor *t = lens_model_to_tokens(m, prompts, 4, true, &err);
    CHECK(t && lens_tensor_same_shape(t, ref_tokens), "shape");
    if (t && lens_tensor_same_shape(t, ref_tokens))
        CHECK(!memcmp(lens_tensor_i64(t), lens_tensor_i64(ref_tokens), 44 * sizeof(int64_t)));
    lens_tensor_free(t);
    lens_model_free(m);
}

static void test_to_tokens_pads_on_the_right_and_finds_last_real_tokens(void)
{
    lens_model *m = load(lens_processing_none());
    if (!m) { CHECK(0); return; }
    const char *prompts[] = {"Hello", "Hello world and more"};
    lens_error err;
    lens_tensor *t = lens_model_to_tokens(m, prompts, 2, true, &err);
    CHECK(t && t->shape[0] == 2 && t->shape[1] == 5);
    if (t) {
        const int64_t *ids = lens_tensor_i64(t);
        CHECK(ids[0] == 50256 && ids[1] == 15496 && ids[2] == 50256 && ids[4] == 50256);
        CHECK(ids[5] == 50256 && ids[6] == 15496);
        int64_t last[2];
        CHECK(lens_tokens_last_positions(m, t, last, &err) == 0);
        CHECK(last[0] == 1 && last[1] == 4, "last %lld %lld", (long long)last[0], (long long)last[1]);
    }
    lens_tensor_free(t);
    lens_model_free(m);
}

static void test_token_position_finds_first_and_last_occurrence(void)
{
    int64_t ids[6] = {50256, 2396, 1757, 318, 1757, 11};
    lens_tensor *t = lens_tensor_from_i64(1, (int64_t[]){6}, ids);
    lens_tensor *row = lens_tensor_unsqueeze(t, 0, NULL);
    lens_error err;
    CHECK(lens_token_position(t, 1757, false, &err) == 2);
    CHECK(lens_token_position(row, 1757, true, &err) == 4);
    CHECK(lens_token_position(t, 5335, false, &err) == -1 && strstr(err.msg, "5335"), "%s", err.msg);
    lens_tensor *two = lens_tensor_new_v(LENS_I64, 2, (int64_t)2, (int64_t)3);
    CHECK(lens_token_position(two, 0, false, &err) == -1 && strstr(err.msg, "one prompt"), "%s", err.msg);
    lens_tensor_free(two);
    lens_tensor_free(row);
    lens_tensor_free(t);
}

static void test_raw_model_matches_hugging_face(void)
{
    lens_model *m = load(lens_processing_none());
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    if (!m || run_full(m, &logits, &cache)) { CHECK(0); lens_model_free(m); return; }
    lens_tensor *last = last_position(logits);
    lens_tensor *hf = fixture_tensor(ref, "hf.logits_last");
    CHECK(tensor_rel_err(last, hf) <= 1e-4, "hf logits %.3g", tensor_rel_err(last, hf));
    const char *hidden[3][2] = {{"hf.hidden_states.0", "blocks.0.hook_resid_pre"},
                                {"hf.hidden_states.1", "blocks.1.hook_resid_pre"},
                                {"hf.hidden_states.2", "ln_final.hook_normalized"}};
    for (int i = 0; i < 3; i++) {
        lens_tensor *want = fixture_tensor(ref, hidden[i][0]);
        double rel = tensor_rel_err(lens_cache_get(cache, hidden[i][1]), want);
        CHECK(rel <= 1e-4, "%s vs %s: %.3g", hidden[i][0], hidden[i][1], rel);
        lens_tensor_free(want);
    }
    lens_tensor *raw = fixture_tensor(ref, "raw.logits_last");
    CHECK(tensor_rel_err(last, raw) <= 1e-4);
    CHECK(compare_cache(cache, "raw.cache.", 1e-4) == 12, "12 raw hooks compared");
    lens_tensor_free(raw);
    lens_tensor_free(hf);
    lens_tensor_free(last);
    lens_tensor_free(logits);
    lens_cache_free(cache);
    lens_model_free(m);
}

static void test_default_processing_matches_every_hook_and_weight(void)
{
    lens_model *m = load(lens_processing_default());
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    if (!m || run_full(m, &logits, &cache)) { CHECK(0); lens_model_free(m); return; }
    int n = compare_cache(cache, "default.cache.", 1e-4);
    CHECK(n == 2 + 2 * 17 + 3, "compared %d default hooks", n);
    lens_tensor *last = last_position(logits);
    lens_tensor *want = fixture_tensor(ref, "default.logits_last");
    CHECK(tensor_rel_err(last, want) <= 1e-4, "logits %.3g", tensor_rel_err(last, want));
    lens_tensor_free(want);
    int weights = 0;
    for (int i = 0; i < lens_safetensors_count(ref); i++) {
        const lens_st_entry *e = lens_safetensors_entry(ref, i);
        if (strncmp(e->name, "default.weights.", 16)) continue;
        lens_error err;
        lens_tensor *got = lens_model_weight(m, e->name + 16, &err);
        CHECK(got, "%s: %s", e->name, err.msg);
        lens_tensor *w = fixture_tensor(ref, e->name);
        double rel = tensor_rel_err(got, w);
        CHECK(rel <= 1e-5, "%s: relative error %.3g", e->name, rel);
        lens_tensor_free(got);
        lens_tensor_free(w);
        weights++;
    }
    CHECK(weights == 26, "compared %d weights", weights);
    lens_tensor_free(last);
    lens_tensor_free(logits);
    lens_cache_free(cache);
    lens_model_free(m);
}

/* Sum over d_head of a[b,p,h,:] * c[b,q,h,:] for all (b,h,p,q): the q.k products
 * that any valid refactoring preserves. */
static lens_tensor *qk_products(const lens_tensor *q, const lens_tensor *k)
{
    int64_t B = q->shape[0], P = q->shape[1], H = q->shape[2], D = q->shape[3];
    lens_tensor *out = lens_tensor_new_v(LENS_F32, 4, B, H, P, P);
    lens_tensor *cq = host_copy(q), *ck = host_copy(k);
    const float *a = lens_tensor_f32(cq), *c = lens_tensor_f32(ck);
    float *o = lens_tensor_f32(out);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t p = 0; p < P; p++)
                for (int64_t r = 0; r < P; r++) {
                    double s = 0;
                    for (int64_t j = 0; j < D; j++)
                        s += (double)a[((b * P + p) * H + h) * D + j] * c[((b * P + r) * H + h) * D + j];
                    o[((b * H + h) * P + p) * P + r] = (float)s;
                }
    lens_tensor_free(cq);
    lens_tensor_free(ck);
    return out;
}

/* z [B,P,H,dh] @ W_O [H,dh,d] per head -> [B,P,H,d]. */
static lens_tensor *z_times_WO(const lens_tensor *z, const lens_tensor *W_O)
{
    int64_t B = z->shape[0], P = z->shape[1], H = z->shape[2], D = z->shape[3], d = W_O->shape[2];
    lens_tensor *out = lens_tensor_new_v(LENS_F32, 4, B, P, H, d);
    lens_tensor *cz = host_copy(z), *cw = host_copy(W_O);
    const float *a = lens_tensor_f32(cz), *w = lens_tensor_f32(cw);
    float *o = lens_tensor_f32(out);
    for (int64_t bp = 0; bp < B * P; bp++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < d; i++) {
                double s = 0;
                for (int64_t j = 0; j < D; j++) s += (double)a[(bp * H + h) * D + j] * w[(h * D + j) * d + i];
                o[(bp * H + h) * d + i] = (float)s;
            }
    lens_tensor_free(cz);
    lens_tensor_free(cw);
    return out;
}

static void test_refactored_model_preserves_the_invariant_quantities(void)
{
    lens_model *m = load(refactor_processing());
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    if (!m || run_full(m, &logits, &cache)) { CHECK(0); lens_model_free(m); return; }
    lens_tensor *last = last_position(logits);
    lens_tensor *want = fixture_tensor(ref, "refactor.logits_last");
    CHECK(tensor_rel_err(last, want) <= 1e-4, "logits %.3g", tensor_rel_err(last, want));
    lens_tensor_free(want);
    for (int l = 0; l < 2; l++) {
        char name[128], fx[160], fx2[160];
        const char *same[] = {"attn.hook_pattern", "hook_resid_post"};
        for (int i = 0; i < 2; i++) {
            snprintf(name, sizeof name, "blocks.%d.%s", l, same[i]);
            snprintf(fx, sizeof fx, "refactor.cache.%s", name);
            lens_tensor *w = fixture_tensor(ref, fx);
            double rel = tensor_rel_err(lens_cache_get(cache, name), w);
            CHECK(rel <= 1e-4, "%s %.3g", fx, rel);
            lens_tensor_free(w);
        }
        /* q.k products and z.W_O are invariant under the SVD's freedom. */
        snprintf(fx, sizeof fx, "refactor.cache.blocks.%d.attn.hook_q", l);
        snprintf(fx2, sizeof fx2, "refactor.cache.blocks.%d.attn.hook_k", l);
        lens_tensor *fq = fixture_tensor(ref, fx), *fk = fixture_tensor(ref, fx2);
        snprintf(name, sizeof name, "blocks.%d.attn.hook_q", l);
        snprintf(fx, sizeof fx, "blocks.%d.attn.hook_k", l);
        lens_tensor *a = qk_products(lens_cache_get(cache, name), lens_cache_get(cache, fx));
        lens_tensor *b = qk_products(fq, fk);
        CHECK(tensor_rel_err(a, b) <= 1e-3, "layer %d q.k %.3g", l, tensor_rel_err(a, b));
        lens_tensor_free(a); lens_tensor_free(b); lens_tensor_free(fq); lens_tensor_free(fk);

        snprintf(fx, sizeof fx, "refactor.cache.blocks.%d.attn.hook_z", l);
        snprintf(fx2, sizeof fx2, "refactor.weights.blocks.%d.attn.W_O", l);
        lens_tensor *fz = fixture_tensor(ref, fx), *fwo = fixture_tensor(ref, fx2);
        snprintf(name, sizeof name, "blocks.%d.attn.hook_z", l);
        snprintf(fx, sizeof fx, "blocks.%d.attn.W_O", l);
        lens_error err;
        lens_tensor *wo = lens_model_weight(m, fx, &err);
        a = z_times_WO(lens_cache_get(cache, name), wo);
        b = z_times_WO(fz, fwo);
        CHECK(tensor_rel_err(a, b) <= 1e-3, "layer %d z.W_O %.3g", l, tensor_rel_err(a, b));
        lens_tensor_free(a); lens_tensor_free(b); lens_tensor_free(fz); lens_tensor_free(fwo);
        lens_tensor_free(wo);
        /* Weights the refactor leaves alone equal the fixture's. */
        const char *kept[] = {"attn.b_O", "mlp.W_in", "mlp.b_in", "mlp.W_out", "mlp.b_out", "attn.b_V"};
        for (int i = 0; i < 6; i++) {
            snprintf(name, sizeof name, "blocks.%d.%s", l, kept[i]);
            snprintf(fx, sizeof fx, "refactor.weights.%s", name);
            lens_tensor *got = lens_model_weight(m, name, &err), *w = fixture_tensor(ref, fx);
            CHECK(tensor_rel_err(got, w) <= 1e-4, "%s %.3g", fx, tensor_rel_err(got, w));
            lens_tensor_free(got);
            lens_tensor_free(w);
        }
    }
    lens_tensor_free(last);
    lens_tensor_free(logits);
    lens_cache_free(cache);
    lens_model_free(m);
}

static const float *hook(const lens_cache *c, const char *name)
{
    const lens_tensor *t = lens_cache_get(c, name);
    return host_f32(t);
}

static void test_residual_stream_invariants_hold(void)
{
    lens_model *m = load(lens_processing_default());
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    if (!m || run_full(m, &logits, &cache)) { CHECK(0); lens_model_free(m); return; }
    int64_t n = 4 * 11 * 64;
    for (int l = 0; l < 2; l++) {
        char a[64], b[64], c[64], d[64], e[64], f[64], g[64];
        snprintf(a, 64, "blocks.%d.hook_resid_pre", l);
        snprintf(b, 64, "blocks.%d.hook_attn_out", l);
        snprintf(c, 64, "blocks.%d.hook_resid_mid", l);
        snprintf(d, 64, "blocks.%d.hook_mlp_out", l);
        snprintf(e, 64, "blocks.%d.hook_resid_post", l);
        snprintf(f, 64, "blocks.%d.attn.hook_result", l);
        snprintf(g, 64, "blocks.%d.attn.b_O", l);
        const float *pre = hook(cache, a), *attn = hook(cache, b), *mid = hook(cache, c),
                    *mlp = hook(cache, d), *post = hook(cache, e), *res = hook(cache, f);
        CHECK(pre && attn && mid && mlp && post && res);
        if (!(pre && attn && mid && mlp && post && res)) continue;
        lens_error err;
        lens_tensor *bO = lens_model_weight(m, g, &err);
        double worst_mid = 0, worst_post = 0, worst_heads = 0;
        const float *bo = host_f32(bO);
        for (int64_t i = 0; bo && i < n; i++) {
            worst_mid = fmax(worst_mid, fabs(mid[i] - (pre[i] + attn[i])));
            worst_post = fmax(worst_post, fabs(post[i] - (mid[i] + mlp[i])));
            int64_t bp = i / 64, j = i % 64;
            double s = bo[j];
            for (int h = 0; h < 4; h++) s += res[(bp * 4 + h) * 64 + j];
            worst_heads = fmax(worst_heads, fabs(s - attn[i]));
        }
        CHECK(worst_mid <= 1e-5 && worst_post <= 1e-5, "layer %d: %.3g %.3g", l, worst_mid, worst_post);
        CHECK(worst_heads <= 1e-4, "layer %d: heads + b_O vs attn_out %.3g", l, worst_heads);
        if (l == 0) {
            const float *nxt = hook(cache, "blocks.1.hook_resid_pre");
            CHECK(nxt && !memcmp(nxt, post, (size_t)n * sizeof(float)), "resid_post[0] == resid_pre[1]");
        }
        lens_tensor_free(bO);
    }
    lens_tensor_free(logits);
    lens_cache_free(cache);
    lens_model_free(m);
}

static int no_op_hook(void *ctx, const char *name, lens_tensor *activation, lens_error *err)
{
    (void)ctx; (void)name; (void)activation; (void)err;
    return 0;
}

/* As in TransformerLens (its cache stores the block's output tensor, which is
 * the next block's input), blocks.1.hook_resid_pre is the same storage as
 * blocks.0.hook_resid_post in a plain run; with a hook that writes one of them
 * they are independent copies. */
static void test_resid_pre_shares_the_previous_resid_post_unless_hooked(void)
{
    lens_model *m = load(lens_processing_default());
    lens_tensor *logits = NULL;
    lens_cache *plain = NULL, *hooked = NULL;
    lens_error err;
    lens_run_options o = lens_run_options_default();
    if (!m || lens_model_run(m, ref_tokens, &o, &logits, &plain, &err)) { CHECK(0); lens_model_free(m); return; }
    lens_tensor_free(logits);
    int64_t n = 4 * 11 * 64;
    const lens_tensor *pre1 = lens_cache_get(plain, "blocks.1.hook_resid_pre");
    const lens_tensor *post0 = lens_cache_get(plain, "blocks.0.hook_resid_post");
    CHECK(pre1 && post0 && pre1->storage == post0->storage && pre1->offset == post0->offset, "one storage");
    CHECK(pre1 && lens_tensor_same_shape(pre1, post0) && lens_cache_get(plain, "blocks.0.hook_resid_pre") != pre1);
    /* the shared entry is not counted twice in what a run needs */
    lens_run_options with_hook = o;
    with_hook.hook_fn = no_op_hook;
    size_t shared = lens_run_estimate_bytes(m, 4, 11, &o), separate = lens_run_estimate_bytes(m, 4, 11, &with_hook);
    CHECK(separate - shared == (size_t)n * sizeof(float), "estimates %zu and %zu", shared, separate);

    lens_intervention iv = lens_intervention_zero("blocks.1.hook_resid_pre");
    lens_intervention_set set = {&iv, 1};
    o.hook_fn = lens_interventions_hook;
    o.hook_ctx = &set;
    if (lens_model_run(m, ref_tokens, &o, &logits, &hooked, &err)) { CHECK(0, "%s", err.msg); goto done; }
    lens_tensor_free(logits);
    const lens_tensor *hpre1 = lens_cache_get(hooked, "blocks.1.hook_resid_pre");
    const lens_tensor *hpost0 = lens_cache_get(hooked, "blocks.0.hook_resid_post");
    CHECK(hpre1 && hpost0 && (hpre1->storage != hpost0->storage || hpre1->offset != hpost0->offset), "two buffers");
    const float *zeroed = hook(hooked, "blocks.1.hook_resid_pre"), *kept = hook(hooked, "blocks.0.hook_resid_post");
    const float *want = hook(plain, "blocks.0.hook_resid_post");
    bool all_zero = zeroed != NULL;
    for (int64_t i = 0; zeroed && i < n; i++) all_zero = all_zero && zeroed[i] == 0.0f;
    CHECK(all_zero, "the hook's write is in resid_pre");
    CHECK(kept && want && !memcmp(kept, want, (size_t)n * sizeof(float)), "resid_post keeps the block's output");
done:
    lens_cache_free(plain);
    lens_cache_free(hooked);
    lens_model_free(m);
}

/* log_softmax over the vocabulary of the last position, for each prompt. */
static void log_probs(const lens_tensor *logits, double *out)
{
    int64_t B = logits->shape[0], P = logits->shape[1], V = logits->shape[2];
    const float *x = host_f32(logits);
    for (int64_t b = 0; b < B; b++) {
        const float *r = x + ((b * P) + P - 1) * V;
        double mx = -INFINITY, s = 0;
        for (int64_t v = 0; v < V; v++) mx = fmax(mx, r[v]);
        for (int64_t v = 0; v < V; v++) s += exp(r[v] - mx);
        for (int64_t v = 0; v < V; v++) out[b * V + v] = r[v] - mx - log(s);
    }
}

static void test_weight_processing_preserves_log_probabilities(void)
{
    lens_processing variants[3] = {lens_processing_none(), lens_processing_default(), refactor_processing()};
    double *lp[3] = {0};
    int64_t V = 50257;
    for (int i = 0; i < 3; i++) {
        lens_model *m = load(variants[i]);
        lens_tensor *logits = NULL;
        lens_error err;
        lens_run_options o = lens_run_options_default();
        o.cache = false;
        if (!m || lens_model_run(m, ref_tokens, &o, &logits, NULL, &err)) { CHECK(0); lens_model_free(m); goto done; }
        lp[i] = malloc(sizeof(double) * 4 * (size_t)V);
        log_probs(logits, lp[i]);
        lens_tensor_free(logits);
        lens_model_free(m);
    }
    for (int i = 1; i < 3; i++) {
        double worst = 0;
        for (int64_t j = 0; j < 4 * V; j++) worst = fmax(worst, fabs(lp[i][j] - lp[0][j]));
        CHECK(worst <= 2e-4, "variant %d: log-probs differ by %.3g", i, worst);
    }
done:
    for (int i = 0; i < 3; i++) free(lp[i]);
}

/* Causality: positions 0..59 of a 100-token run (attention by BLAS, P >= 64)
 * equal a 60-token run of the same prefix (attention by the short-sequence
 * loops), for the logits and for every cached activation. */
static void test_long_and_short_attention_paths_agree_on_a_prefix(void)
{
    lens_model *m = load(lens_processing_default());
    if (!m) { CHECK(0); return; }
    int64_t P = 100, Q = 60;
    lens_tensor *full = lens_tensor_new_v(LENS_I64, 2, (int64_t)2, P);
    for (int64_t i = 0; i < 2 * P; i++) lens_tensor_i64(full)[i] = (i * 7919 + 13) % 50257;
    lens_tensor *pv = lens_tensor_narrow(full, 1, 0, Q), *prefix = lens_tensor_clone(pv);
    lens_run_options o = lens_run_options_default();
    lens_tensor *la = NULL, *lb = NULL;
    lens_cache *ca = NULL, *cb = NULL;
    lens_error err;
    CHECK(lens_model_run(m, full, &o, &la, &ca, &err) == 0, "%s", err.msg);
    CHECK(lens_model_run(m, prefix, &o, &lb, &cb, &err) == 0, "%s", err.msg);
    if (la && lb) {
        lens_tensor *head = lens_tensor_narrow(la, 1, 0, Q);
        CHECK(tensor_rel_err(head, lb) <= 1e-5, "logits %.3g", tensor_rel_err(head, lb));
        lens_tensor_free(head);
        for (int i = 0; i < lens_cache_count(cb); i++) {
            const char *name = lens_cache_name(cb, i);
            const lens_tensor *a = lens_cache_get(ca, name), *b = lens_cache_at(cb, i);
            lens_tensor *v = NULL;
            if (strstr(name, "attn_scores") || strstr(name, "pattern")) {
                lens_tensor *q = lens_tensor_narrow(a, 2, 0, Q);
                v = lens_tensor_narrow(q, 3, 0, Q);
                lens_tensor_free(q);
            } else v = lens_tensor_narrow(a, 1, 0, Q);
            double rel = tensor_rel_err(v, b);
            CHECK(rel <= 1e-5, "%s: %.3g", name, rel);
            lens_tensor_free(v);
        }
    }
    lens_tensor_free(la); lens_tensor_free(lb);
    lens_cache_free(ca); lens_cache_free(cb);
    lens_tensor_free(pv); lens_tensor_free(prefix); lens_tensor_free(full);
    lens_model_free(m);
}

static void test_names_filter_and_stop_at_layer_limit_the_cache(void)
{
    lens_model *m = load(lens_processing_default());
    if (!m) { CHECK(0); return; }
    lens_run_options o = lens_run_options_default();
    o.names_regex = "resid_post$";
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    lens_error err;
    CHECK(lens_model_run(m, ref_tokens, &o, &logits, &cache, &err) == 0);
    CHECK(lens_cache_count(cache) == 2, "count %d", lens_cache_count(cache));
    CHECK(lens_cache_get(cache, "blocks.1.hook_resid_post") != NULL);
    CHECK(logits && logits->shape[2] == 50257);
    lens_tensor_free(logits);
    lens_cache_free(cache);

    o = lens_run_options_default();
    o.stop_at_layer = 1;
    CHECK(lens_model_run(m, ref_tokens, &o, &logits, &cache, &err) == 0);
    CHECK(lens_cache_get(cache, "blocks.0.hook_resid_post") && !lens_cache_get(cache, "blocks.1.hook_resid_pre"));
    CHECK(!lens_cache_get(cache, "ln_final.hook_scale"));
    CHECK(logits && logits->ndim == 3 && logits->shape[2] == 64, "returns the residual stream");
    if (logits)
        CHECK(!memcmp(host_f32(logits), hook(cache, "blocks.0.hook_resid_post"), 4 * 11 * 64 * sizeof(float)));
    lens_tensor_free(logits);
    lens_cache_free(cache);

    o = lens_run_options_default();
    o.names_regex = "([";
    CHECK(lens_model_run(m, ref_tokens, &o, &logits, &cache, &err) == -1);
    CHECK(strstr(err.msg, "regular expression"), "%s", err.msg);
    lens_model_free(m);
}

static void test_run_refuses_a_cache_over_the_memory_limit(void)
{
    lens_model *m = load(lens_processing_default());
    if (!m) { CHECK(0); return; }
    lens_run_options o = lens_run_options_default();
    size_t need = lens_run_estimate_bytes(m, 4, 11, &o);
    CHECK(need > 4 * 11 * 50257 * 4, "estimate %zu includes logits", need);
    o.memory_limit = need - 1;
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    lens_error err;
    CHECK(lens_model_run(m, ref_tokens, &o, &logits, &cache, &err) == -1);
    CHECK(strstr(err.msg, "MiB") && strstr(err.msg, "memory limit"), "%s", err.msg);
    CHECK(!logits && !cache);
    o.memory_limit = need;
    CHECK(lens_model_run(m, ref_tokens, &o, &logits, &cache, &err) == 0, "%s", err.msg);
    lens_tensor_free(logits);
    lens_cache_free(cache);
    lens_model_free(m);
}

static void test_run_rejects_bad_tokens(void)
{
    lens_model *m = load(lens_processing_default());
    if (!m) { CHECK(0); return; }
    lens_error err;
    lens_tensor *logits = NULL;
    lens_tensor *t = lens_tensor_new_v(LENS_I64, 2, (int64_t)1, (int64_t)3);
    lens_tensor_i64(t)[1] = 50257;
    CHECK(lens_model_run(m, t, NULL, &logits, NULL, &err) == -1 && strstr(err.msg, "vocabulary"), "%s", err.msg);
    lens_tensor_free(t);
    t = lens_tensor_new_v(LENS_I64, 2, (int64_t)1, (int64_t)129);
    CHECK(lens_model_run(m, t, NULL, &logits, NULL, &err) == -1 && strstr(err.msg, "context"), "%s", err.msg);
    lens_tensor_free(t);
    t = lens_tensor_new_v(LENS_F32, 2, (int64_t)1, (int64_t)3);
    CHECK(lens_model_run(m, t, NULL, &logits, NULL, &err) == -1 && strstr(err.msg, "int64"), "%s", err.msg);
    lens_tensor_free(t);
    lens_model_free(m);
}

static void test_act_names_follow_get_act_name(void)
{
    lens_config cfg = {.n_layers = 12};
    char out[128];
    lens_error err;
    struct { const char *s; int layer; const char *type; const char *want; } cases[] = {
        {"resid_post", -1, NULL, "blocks.11.hook_resid_post"},
        {"pattern", 3, NULL, "blocks.3.attn.hook_pattern"},
        {"attn", 3, NULL, "blocks.3.attn.hook_pattern"},
        {"attn_logits", 0, NULL, "blocks.0.attn.hook_attn_scores"},
        {"z", 5, "attn", "blocks.5.attn.hook_z"},
        {"scale", 2, "ln2", "blocks.2.ln2.hook_scale"},
        {"scale", LENS_NO_LAYER, NULL, "ln_final.hook_scale"},
        {"embed", LENS_NO_LAYER, NULL, "hook_embed"},
        {"post", 1, NULL, "blocks.1.mlp.hook_post"},
        {"blocks.1.hook_resid_pre", LENS_NO_LAYER, NULL, "blocks.1.hook_resid_pre"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = lens_act_name(&cfg, cases[i].s, cases[i].layer, cases[i].type, out, sizeof out, &err);
        CHECK(rc == 0 && !strcmp(out, cases[i].want), "%s -> %s", cases[i].s, out);
    }
    CHECK(lens_act_name(&cfg, "resid_pre", 12, NULL, out, sizeof out, &err) == -1 && strstr(err.msg, "out of range"));
    char **names = lens_hook_names(&(lens_config){.n_layers = 2});
    int n = 0;
    while (names[n]) free(names[n++]);
    free(names);
    CHECK(n == 2 + 2 * 18 + 3, "hook names %d", n);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

static void test_loading_a_bad_model_directory_gives_clear_errors(void)
{
    lens_error err;
    lens_processing p = lens_processing_default();
    CHECK(!lens_model_load("no-such-model", &p, &err) && strstr(err.msg, "not found"), "%s", err.msg);
    char dir[] = "/tmp/lens-test-model-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[256], cmd[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path, "{not json");
    CHECK(!lens_model_load(dir, &p, &err) && strstr(err.msg, "JSON"), "%s", err.msg);
    write_file(path, "{\"n_layer\": 2, \"n_embd\": 64, \"n_head\": 4, \"n_positions\": 128, \"vocab_size\": 50257}");
    CHECK(!lens_model_load(dir, &p, &err) && strstr(err.msg, "model.safetensors"), "%s", err.msg);
    snprintf(cmd, sizeof cmd, "cp %s/vocab.json %s/merges.txt %s/ && head -c 5000 %s/model.safetensors > %s/model.safetensors",
             TINY_DIR, TINY_DIR, dir, TINY_DIR, dir);
    CHECK(system(cmd) == 0);
    CHECK(!lens_model_load(dir, &p, &err), "truncated weights refused");
    CHECK(strlen(err.msg) > 10, "%s", err.msg);
    write_file(path, "{\"n_layer\": 3, \"n_embd\": 64, \"n_head\": 4, \"n_positions\": 128, \"vocab_size\": 50257}");
    snprintf(cmd, sizeof cmd, "cp %s/model.safetensors %s/", TINY_DIR, dir);
    CHECK(system(cmd) == 0);
    CHECK(!lens_model_load(dir, &p, &err) && strstr(err.msg, "h.2."), "missing layer: %s", err.msg);
    write_file(path, "{\"n_layer\": 2, \"n_embd\": 32, \"n_head\": 4, \"n_positions\": 128, \"vocab_size\": 50257}");
    CHECK(!lens_model_load(dir, &p, &err) && strstr(err.msg, "shape"), "wrong shape: %s", err.msg);
    /* Dims that are not small positive integers never reach a size computation. */
    static const char *const bad_dims[] = {
        "{\"n_layer\": 2.5, \"n_embd\": 64, \"n_head\": 4}",
        "{\"n_layer\": 2, \"n_embd\": 1e300, \"n_head\": 4}",
        "{\"n_layer\": 2, \"n_embd\": 64, \"n_head\": -4}",
        "{\"n_layer\": 2, \"n_embd\": 64, \"n_head\": 4, \"n_positions\": 4294967296}",
    };
    for (size_t i = 0; i < sizeof bad_dims / sizeof *bad_dims; i++) {
        write_file(path, bad_dims[i]);
        CHECK(!lens_model_load(dir, &p, &err) && strstr(err.msg, "must be a positive integer (at most 10^7)"),
              "%s: %s", bad_dims[i], err.msg);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    lens_error err;
    ref = lens_safetensors_open(TINY_REF, &err);
    if (!ref) { fprintf(stderr, "%s\n", err.msg); return 1; }
    ref_tokens = fixture_tensor(ref, "tokens");
    RUN(test_to_tokens_matches_the_reference_tokens);
    RUN(test_to_tokens_pads_on_the_right_and_finds_last_real_tokens);
    RUN(test_token_position_finds_first_and_last_occurrence);
    RUN(test_raw_model_matches_hugging_face);
    RUN(test_default_processing_matches_every_hook_and_weight);
    RUN(test_refactored_model_preserves_the_invariant_quantities);
    RUN(test_residual_stream_invariants_hold);
    RUN(test_resid_pre_shares_the_previous_resid_post_unless_hooked);
    RUN(test_weight_processing_preserves_log_probabilities);
    RUN(test_long_and_short_attention_paths_agree_on_a_prefix);
    RUN(test_names_filter_and_stop_at_layer_limit_the_cache);
    RUN(test_run_refuses_a_cache_over_the_memory_limit);
    RUN(test_run_rejects_bad_tokens);
    RUN(test_act_names_follow_get_act_name);
    RUN(test_loading_a_bad_model_directory_gives_clear_errors);
    lens_tensor_free(ref_tokens);
    lens_safetensors_close(ref);
    return harness_summary();
}
