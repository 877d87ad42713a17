/* test_patching.c — interventions and activation-patching sweeps against
 * TransformerLens's maps (tests/fixtures/tiny-gpt2/patching.safetensors and
 * models/lens-tinystories-16m/seed-reference.safetensors), zero ablation,
 * induction scores, and the invariants: patching a whole layer's residual
 * stream restores the clean metric exactly, and a batched sweep equals one full
 * forward pass per cell. */
#include <stdlib.h>
#include <string.h>

#include "analysis_fixture.h"

static lens_model *load(const char *dir, bool refactor)
{
    lens_error err;
    lens_processing p = lens_processing_default();
    p.refactor_factored_attn_matrices = refactor;
    lens_model *m = lens_model_load(dir, &p, &err);
    if (!m) fprintf(stderr, "load: %s\n", err.msg);
    return m;
}

typedef struct setup {
    lens_model *m;
    lens_tensor *clean, *corrupted, *answers, *clean_logits, *corrupted_logits;
    lens_cache *clean_cache;
    lens_metric *metric;
} setup;

/* Right padding: the last `n` positions of prompt 0 become the pad token. */
static void pad_prompt0(const lens_model *m, lens_tensor *tokens, int64_t n)
{
    int64_t P = tokens->shape[1], pad = lens_tokenizer_eos(lens_model_tokenizer(m));
    for (int64_t p = P - n; p < P; p++) lens_tensor_i64(tokens)[p] = pad;
}

static bool setup_open_padded(setup *s, const char *dir, bool refactor, const lens_safetensors *st,
                              const char *clean_name, int64_t pad)
{
    lens_error err;
    memset(s, 0, sizeof *s);
    s->m = load(dir, refactor);
    if (!s->m) return false;
    s->clean = fixture_tensor(st, clean_name);
    s->corrupted = fixture_tensor(st, "corrupted_tokens");
    s->answers = fixture_tensor(st, "answer_tokens");
    if (!s->clean || !s->corrupted || !s->answers) return false;
    if (pad) {
        pad_prompt0(s->m, s->clean, pad);
        pad_prompt0(s->m, s->corrupted, pad);
    }
    lens_run_options o = lens_run_options_default();
    lens_cache *cc = NULL;
    if (lens_model_run(s->m, s->clean, &o, &s->clean_logits, &s->clean_cache, &err) ||
        lens_model_run(s->m, s->corrupted, &o, &s->corrupted_logits, &cc, &err)) {
        fprintf(stderr, "run: %s\n", err.msg);
        return false;
    }
    lens_cache_free(cc);
    s->metric = lens_metric_normalized_logit_diff(s->m, s->answers, s->clean_logits, s->clean, s->corrupted_logits,
                                                  s->corrupted, &err);
    if (!s->metric) fprintf(stderr, "metric: %s\n", err.msg);
    return s->metric != NULL;
}

static bool setup_open(setup *s, const char *dir, bool refactor, const lens_safetensors *st, const char *clean_name)
{
    return setup_open_padded(s, dir, refactor, st, clean_name, 0);
}

static void setup_close(setup *s)
{
    lens_metric_free(s->metric);
    lens_cache_free(s->clean_cache);
    lens_tensor *ts[] = {s->clean, s->corrupted, s->answers, s->clean_logits, s->corrupted_logits};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) lens_tensor_free(ts[i]);
    lens_model_free(s->m);
}

static int progress_calls;
static int64_t progress_last;
static void count_progress(void *ctx, int64_t done, int64_t total)
{
    (void)ctx;
    progress_calls++;
    if (done <= total) progress_last = done;
}

static void check_map(const lens_safetensors *st, setup *s, const char *hook, lens_patch_by by, const char *name,
                      int cells_per_pass)
{
    lens_error err;
    lens_patch_options o = lens_patch_options_default();
    o.by = by;
    o.cells_per_pass = cells_per_pass;
    o.progress = count_progress;
    progress_calls = 0;
    lens_tensor *map = lens_patch_sweep(s->m, s->corrupted, s->clean_cache, hook, s->metric, &o, &err);
    CHECK(map, "%s: %s", name, err.msg);
    lens_tensor *want = fixture_tensor(st, name);
    double rel = tensor_rel_err(map, want);
    CHECK(rel <= 1e-4, "%s: relative error %.3g", name, rel);
    CHECK(progress_calls > 0 && progress_last == lens_tensor_numel(want), "%s: progress", name);
    lens_tensor_free(want);
    lens_tensor_free(map);
}

static void check_all_maps(const lens_safetensors *st, setup *s)
{
    check_map(st, s, "resid_pre", LENS_PATCH_BY_POS, "patch.resid_pre", 0);
    check_map(st, s, "attn_out", LENS_PATCH_BY_POS, "patch.attn_out", 3);
    check_map(st, s, "mlp_out", LENS_PATCH_BY_POS, "patch.mlp_out", 1);
    check_map(st, s, "z", LENS_PATCH_BY_HEAD, "patch.head_z", 0);
    check_map(st, s, "v", LENS_PATCH_BY_HEAD, "patch.head_v", 0);
    check_map(st, s, "pattern", LENS_PATCH_BY_HEAD, "patch.head_pattern", 0);
}

static void test_patching_maps_match_transformerlens_on_the_tiny_model(void)
{
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(TINY_PATCHING, &err);
    setup s;
    if (st && setup_open(&s, TINY_DIR, false, st, "clean_tokens")) {
        lens_tensor *cl = fixture_tensor(st, "clean_logit_diff"), *co = fixture_tensor(st, "corrupted_logit_diff");
        float got[2] = {(float)s.metric->clean, (float)s.metric->corrupted};
        float want[2] = {lens_tensor_f32(cl)[0], lens_tensor_f32(co)[0]};
        CHECK_CLOSE(got, want, 2, 1e-4, "clean and corrupted logit differences");
        lens_tensor_free(cl);
        lens_tensor_free(co);
        check_all_maps(st, &s);
    } else CHECK(0, "setup");
    setup_close(&s);
    lens_safetensors_close(st);
}

static void test_patching_maps_match_transformerlens_on_the_trained_model(void)
{
    if (harness_small("the trained model")) return;
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(STORIES_REF, &err);
    setup s;
    if (st && setup_open(&s, STORIES_DIR, true, st, "tokens")) {
        cJSON *meta = fixture_meta(st);
        float got[2] = {(float)s.metric->clean, (float)s.metric->corrupted};
        float want[2] = {(float)cJSON_GetObjectItem(meta, "clean_logit_diff")->valuedouble,
                         (float)cJSON_GetObjectItem(meta, "corrupted_logit_diff")->valuedouble};
        CHECK_CLOSE(got, want, 2, 1e-4, "clean and corrupted logit differences");
        cJSON_Delete(meta);
        check_all_maps(st, &s);
    } else CHECK(0, "setup");
    setup_close(&s);
    lens_safetensors_close(st);
}

static void test_head_pos_sweep_agrees_with_one_forward_pass_per_cell(void)
{
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(TINY_PATCHING, &err);
    setup s;
    if (!st || !setup_open(&s, TINY_DIR, false, st, "clean_tokens")) { CHECK(0); setup_close(&s); lens_safetensors_close(st); return; }
    lens_patch_options o = lens_patch_options_default();
    o.by = LENS_PATCH_BY_HEAD_POS;
    o.cells_per_pass = 5;
    lens_tensor *map = lens_patch_sweep(s.m, s.corrupted, s.clean_cache, "z", s.metric, &o, &err);
    CHECK(map && map->ndim == 3 && map->shape[0] == 2 && map->shape[1] == 11 && map->shape[2] == 4, "%s", err.msg);
    /* a few cells, each by a plain run with one patch intervention */
    int cells[][3] = {{0, 0, 0}, {1, 10, 3}, {1, 2, 1}, {0, 5, 2}};
    for (size_t i = 0; map && i < sizeof cells / sizeof *cells; i++) {
        int l = cells[i][0], p = cells[i][1], h = cells[i][2];
        char hook[64];
        snprintf(hook, sizeof hook, "blocks.%d.attn.hook_z", l);
        lens_intervention iv = lens_intervention_patch(hook, lens_cache_get(s.clean_cache, hook));
        iv.pos = p;
        iv.head = h;
        double ld;
        CHECK(!lens_run_logit_diff(s.m, s.corrupted, s.answers, &iv, 1, &ld, &err), "%s", err.msg);
        float want = (float)lens_metric_value(s.metric, ld);
        float got = lens_tensor_f32(map)[(l * 11 + p) * 4 + h];
        /* the metric is O(1): compare on that scale (cells with no effect are ~0) */
        CHECK(fabs(got - want) <= 1e-4, "cell %d %d %d: %g vs %g", l, p, h, got, want);
    }
    lens_tensor_free(map);
    setup_close(&s);
    lens_safetensors_close(st);
}

/* Every cell of a sweep against a plain forward pass with one patch
 * intervention (no prefix reuse, no replicas): the maps must agree to 1e-5. */
static void check_sweep_against_per_cell_runs(setup *s, const char *hook, lens_patch_by by, int cells_per_pass)
{
    lens_error err;
    const lens_config *cfg = lens_model_config(s->m);
    lens_patch_options o = lens_patch_options_default();
    o.by = by;
    o.cells_per_pass = cells_per_pass;
    lens_tensor *map = lens_patch_sweep(s->m, s->corrupted, s->clean_cache, hook, s->metric, &o, &err);
    CHECK(map, "%s: %s", hook, err.msg);
    if (!map) return;
    int64_t P = s->corrupted->shape[1], cells = by == LENS_PATCH_BY_POS ? P : cfg->n_heads;
    double worst = 0;
    int checked = 0;
    for (int l = 0; l < cfg->n_layers; l++)
        for (int64_t c = 0; c < cells; c++) {
            char name[128];
            CHECK(!lens_act_name(cfg, hook, l, NULL, name, sizeof name, &err), "%s", err.msg);
            lens_intervention iv = lens_intervention_patch(name, lens_cache_get(s->clean_cache, name));
            if (by == LENS_PATCH_BY_POS) iv.pos = c; else iv.head = c;
            double ld;
            if (lens_run_logit_diff(s->m, s->corrupted, s->answers, &iv, 1, &ld, &err)) {
                CHECK(0, "%s: %s", name, err.msg);
                continue;
            }
            double d = fabs(lens_tensor_f32(map)[l * cells + c] - lens_metric_value(s->metric, ld));
            if (d > worst) worst = d;
            checked++;
        }
    CHECK(checked == cfg->n_layers * cells && worst <= 1e-5, "%s: %d cells, worst difference %.3g", hook, checked, worst);
    lens_tensor_free(map);
}

static void test_sweeps_skipping_unchanged_positions_equal_one_forward_pass_per_cell(void)
{
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(TINY_PATCHING, &err);
    /* unpadded, and with prompt 0's last real token at position 7 (patches after
     * it leave that prompt's score at the corrupted value) */
    for (int64_t pad = 0; pad <= 3; pad += 3) {
        setup s;
        if (st && setup_open_padded(&s, TINY_DIR, false, st, "clean_tokens", pad)) {
            check_sweep_against_per_cell_runs(&s, "resid_pre", LENS_PATCH_BY_POS, 0);
            check_sweep_against_per_cell_runs(&s, "attn_out", LENS_PATCH_BY_POS, 4);
            check_sweep_against_per_cell_runs(&s, "mlp_out", LENS_PATCH_BY_POS, 1);
            check_sweep_against_per_cell_runs(&s, "k", LENS_PATCH_BY_POS, 0);
            check_sweep_against_per_cell_runs(&s, "pattern", LENS_PATCH_BY_POS, 5);
            check_sweep_against_per_cell_runs(&s, "z", LENS_PATCH_BY_HEAD, 0);
            /* the last layer computes queries and everything after attention
             * only at the rows the metric reads */
            check_sweep_against_per_cell_runs(&s, "q", LENS_PATCH_BY_POS, 0);
            check_sweep_against_per_cell_runs(&s, "q", LENS_PATCH_BY_HEAD, 3);
            check_sweep_against_per_cell_runs(&s, "post", LENS_PATCH_BY_POS, 2);
            check_sweep_against_per_cell_runs(&s, "resid_post", LENS_PATCH_BY_POS, 0);
        } else CHECK(0, "setup");
        setup_close(&s);
    }
    lens_safetensors_close(st);
}

static void test_patching_a_whole_layer_restores_the_clean_metric(void)
{
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(TINY_PATCHING, &err);
    setup s;
    if (!st || !setup_open(&s, TINY_DIR, false, st, "clean_tokens")) { CHECK(0); setup_close(&s); lens_safetensors_close(st); return; }
    for (int l = 0; l < 2; l++) {
        char hook[64];
        snprintf(hook, sizeof hook, "blocks.%d.hook_resid_pre", l);
        lens_intervention iv = lens_intervention_patch(hook, lens_cache_get(s.clean_cache, hook));
        double ld;
        CHECK(!lens_run_logit_diff(s.m, s.corrupted, s.answers, &iv, 1, &ld, &err), "%s", err.msg);
        CHECK(fabs(lens_metric_value(s.metric, ld) - 1.0) < 1e-5, "layer %d: %g", l, lens_metric_value(s.metric, ld));
    }
    /* with no patch at all the metric is 0 */
    double ld;
    CHECK(!lens_run_logit_diff(s.m, s.corrupted, s.answers, NULL, 0, &ld, &err));
    CHECK(fabs(lens_metric_value(s.metric, ld)) < 1e-5);
    setup_close(&s);
    lens_safetensors_close(st);
}

static void test_zero_ablation_matches_transformerlens(void)
{
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(TINY_PATCHING, &err);
    lens_model *m = load(TINY_DIR, false);
    if (!st || !m) { CHECK(0); lens_model_free(m); lens_safetensors_close(st); return; }
    lens_tensor *tokens = fixture_tensor(st, "clean_tokens"), *answers = fixture_tensor(st, "answer_tokens");
    lens_tensor *want = fixture_tensor(st, "ablate.zero_z_last_logit_diff");
    float got[8];
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 4; h++) {
            char hook[64];
            snprintf(hook, sizeof hook, "blocks.%d.attn.hook_z", l);
            lens_intervention iv = lens_intervention_zero(hook);
            iv.pos = -1;
            iv.head = h;
            double ld = 0;
            CHECK(!lens_run_logit_diff(m, tokens, answers, &iv, 1, &ld, &err), "%s", err.msg);
            got[l * 4 + h] = (float)ld;
        }
    CHECK_CLOSE(got, lens_tensor_f32(want), 8, 1e-4, "zero-ablated logit differences");
    lens_tensor_free(tokens); lens_tensor_free(answers); lens_tensor_free(want);
    lens_model_free(m);
    lens_safetensors_close(st);
}

static void test_mean_ablation_and_scaling_change_what_they_should(void)
{
    lens_error err;
    lens_model *m = load(TINY_DIR, false);
    lens_safetensors *st = lens_safetensors_open(TINY_PATCHING, &err);
    lens_tensor *tokens = fixture_tensor(st, "clean_tokens");
    lens_run_options o = lens_run_options_default();
    lens_tensor *logits;
    lens_cache *plain, *ablated;
    CHECK(!lens_model_run(m, tokens, &o, &logits, &plain, &err));
    lens_tensor_free(logits);
    lens_intervention ivs[2] = {lens_intervention_mean("blocks.0.attn.hook_z", NULL),
                                lens_intervention_scale("blocks.1.hook_mlp_out", 0.5)};
    ivs[0].head = 2;
    ivs[0].pos = 3;
    lens_intervention_set set = {ivs, 2};
    o.hook_fn = lens_interventions_hook;
    o.hook_ctx = &set;
    CHECK(!lens_model_run(m, tokens, &o, &logits, &ablated, &err), "%s", err.msg);
    const lens_tensor *z0 = lens_cache_get(plain, "blocks.0.attn.hook_z"), *z1 = lens_cache_get(ablated, "blocks.0.attn.hook_z");
    for (int b = 0; b < 4; b++)
        for (int j = 0; j < 16; j += 5) {
            double mean = 0;
            for (int bb = 0; bb < 4; bb++) mean += lens_tensor_get_f64(z0, (int64_t[]){bb, 3, 2, j}) / 4;
            CHECK(fabs(lens_tensor_get_f64(z1, (int64_t[]){b, 3, 2, j}) - mean) < 1e-6);
            CHECK(lens_tensor_get_f64(z1, (int64_t[]){b, 4, 2, j}) == lens_tensor_get_f64(z0, (int64_t[]){b, 4, 2, j}));
            CHECK(lens_tensor_get_f64(z1, (int64_t[]){b, 3, 1, j}) == lens_tensor_get_f64(z0, (int64_t[]){b, 3, 1, j}));
        }
    /* mlp_out of layer 1 is halved: resid_post - resid_mid is half the unscaled mlp output */
    const lens_tensor *mo = lens_cache_get(ablated, "blocks.1.hook_mlp_out");
    lens_tensor *diff = lens_binary(LENS_OP_SUB, lens_cache_get(ablated, "blocks.1.hook_resid_post"),
                                    lens_cache_get(ablated, "blocks.1.hook_resid_mid"), &err);
    CHECK(tensor_rel_err(diff, mo) < 1e-5);
    lens_tensor_free(diff);
    /* bad interventions are refused with a message */
    lens_intervention bad = lens_intervention_zero("blocks.0.hook_resid_pre");
    bad.head = 1;
    CHECK(lens_interventions_check(m, &bad, 1, &err) && strstr(err.msg, "no head"));
    bad = lens_intervention_zero("blocks.9.attn.hook_z");
    CHECK(lens_interventions_check(m, &bad, 1, &err) && strstr(err.msg, "not a hook point"));
    bad = lens_intervention_zero("blocks.0.attn.hook_z");
    bad.pos = 40;
    double ld;
    lens_tensor *answers = fixture_tensor(st, "answer_tokens");
    CHECK(lens_run_logit_diff(m, tokens, answers, &bad, 1, &ld, &err) && strstr(err.msg, "out of range"), "%s", err.msg);
    lens_tensor_free(answers);
    lens_tensor_free(logits);
    lens_cache_free(plain);
    lens_cache_free(ablated);
    lens_tensor_free(tokens);
    lens_safetensors_close(st);
    lens_model_free(m);
}

static void test_induction_scores_match_transformerlens(void)
{
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(TINY_PATCHING, &err);
    lens_model *m = load(TINY_DIR, false);
    if (!st || !m) { CHECK(0); lens_model_free(m); lens_safetensors_close(st); return; }
    lens_tensor *tokens = fixture_tensor(st, "induction.tokens");
    lens_tensor *prev, *dup, *ind;
    CHECK(!lens_induction_scores(m, tokens, &prev, &dup, &ind, &err), "%s", err.msg);
    const char *names[3] = {"induction.prev_token_score", "induction.duplicate_score", "induction.induction_score"};
    lens_tensor *got[3] = {prev, dup, ind};
    for (int k = 0; k < 3; k++) {
        lens_tensor *want = fixture_tensor(st, names[k]);
        CHECK(tensor_rel_err(got[k], want) <= 1e-4, "%s: %.3g", names[k], tensor_rel_err(got[k], want));
        lens_tensor_free(want);
        lens_tensor_free(got[k]);
    }
    lens_tensor *r = lens_repeated_random_tokens(m, 3, 7, 42, &err);
    CHECK(r && r->shape[1] == 15 && lens_tensor_i64(r)[0] == 50256 && lens_tensor_i64(r)[1] == lens_tensor_i64(r)[8]);
    lens_tensor_free(r);
    lens_tensor_free(tokens);
    lens_model_free(m);
    lens_safetensors_close(st);
}

static void test_sweep_refuses_bad_requests(void)
{
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(TINY_PATCHING, &err);
    setup s;
    if (!st || !setup_open(&s, TINY_DIR, false, st, "clean_tokens")) { CHECK(0); setup_close(&s); lens_safetensors_close(st); return; }
    lens_patch_options o = lens_patch_options_default();
    o.by = LENS_PATCH_BY_HEAD;
    CHECK(!lens_patch_sweep(s.m, s.corrupted, s.clean_cache, "resid_pre", s.metric, &o, &err) && strstr(err.msg, "no heads"));
    o.by = LENS_PATCH_BY_POS;
    CHECK(!lens_patch_sweep(s.m, s.corrupted, s.clean_cache, "embed", s.metric, &o, &err) && strstr(err.msg, "per-layer"), "%s", err.msg);
    volatile int stop = 1;
    o.interrupt = &stop;
    CHECK(!lens_patch_sweep(s.m, s.corrupted, s.clean_cache, "resid_pre", s.metric, &o, &err) && strstr(err.msg, "interrupt"));
    setup_close(&s);
    lens_safetensors_close(st);
}

int main(void)
{
    RUN(test_patching_maps_match_transformerlens_on_the_tiny_model);
    RUN(test_patching_maps_match_transformerlens_on_the_trained_model);
    RUN(test_head_pos_sweep_agrees_with_one_forward_pass_per_cell);
    RUN(test_sweeps_skipping_unchanged_positions_equal_one_forward_pass_per_cell);
    RUN(test_patching_a_whole_layer_restores_the_clean_metric);
    RUN(test_zero_ablation_matches_transformerlens);
    RUN(test_mean_ablation_and_scaling_change_what_they_should);
    RUN(test_induction_scores_match_transformerlens);
    RUN(test_sweep_refuses_bad_requests);
    return harness_summary();
}
