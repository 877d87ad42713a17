/* test_analysis.c — the seed notebook's analyses (logit difference, residual
 * directions, apply_ln_to_stack, logit lens, per-layer and per-head attribution,
 * test_prompt) against TransformerLens's numbers for tests/fixtures/tiny-gpt2 in
 * three processings and for the trained models/lens-tinystories-16m, plus the
 * decomposition invariants. */
#include <stdlib.h>
#include <string.h>

#include "analysis_fixture.h"

static lens_safetensors *ref;
static cJSON *meta;

typedef struct variant { const char *prefix; lens_processing proc; } variant;

static lens_processing refactor_processing(void)
{
    lens_processing p = lens_processing_default();
    p.refactor_factored_attn_matrices = true;
    return p;
}

static lens_model *load(const char *dir, lens_processing p)
{
    lens_error err;
    lens_model *m = lens_model_load(dir, &p, &err);
    if (!m) fprintf(stderr, "load: %s\n", err.msg);
    return m;
}

static void check_against(const lens_safetensors *st, const char *name, const lens_tensor *got, double tol)
{
    lens_tensor *want = fixture_tensor(st, name);
    double rel = INFINITY;
    if (want && got) {
        /* a 0-d result compares with a [1] fixture */
        lens_tensor *g = lens_tensor_reshape(got, want->ndim, want->shape, NULL);
        rel = g ? tensor_rel_err(g, want) : INFINITY;
        lens_tensor_free(g);
    }
    CHECK(rel <= tol, "%s: relative error %.3g", name, rel);
    lens_tensor_free(want);
}

/* Every seed analysis of one model against fixture entries "<prefix>...". */
static void check_seed(const lens_safetensors *st, const cJSON *labels, lens_model *m, const char *prefix,
                       const lens_tensor *tokens, const lens_tensor *answers)
{
    lens_error err;
    char name[128];
    lens_run_options o = lens_run_options_default();
    lens_tensor *logits = NULL;
    lens_cache *c = NULL;
    if (lens_model_run(m, tokens, &o, &logits, &c, &err)) { CHECK(0, "run: %s", err.msg); return; }

    lens_tensor *ld = lens_logit_diff(m, logits, answers, tokens, true, &err);
    CHECK(ld, "logit_diff: %s", err.msg);
    snprintf(name, sizeof name, "%slogit_diff_per_prompt", prefix);
    check_against(st, name, ld, 1e-4);

    lens_tensor *dirs = lens_tokens_to_residual_directions(m, answers, &err);   /* [B, 2, d] */
    lens_tensor *d0 = lens_tensor_select(dirs, 1, 0), *d1 = lens_tensor_select(dirs, 1, 1);
    lens_tensor *ldd = lens_binary(LENS_OP_SUB, d0, d1, &err);
    snprintf(name, sizeof name, "%slogit_diff_directions", prefix);
    if (lens_safetensors_find(st, name)) check_against(st, name, ldd, 1e-4);

    /* scaled = apply_ln_to_stack(cache["resid_post", -1][:, -1, :], layer=-1, pos_slice=-1) */
    char post[64];
    snprintf(post, sizeof post, "blocks.%d.hook_resid_post", lens_model_config(m)->n_layers - 1);
    lens_tensor *final_last = lens_tensor_select(lens_cache_get(c, post), 1, -1 + lens_cache_get(c, post)->shape[1]);
    lens_slice last = lens_slice_index(-1);
    lens_tensor *scaled = lens_apply_ln_to_stack(m, c, final_last, -1, false, &last, NULL, &err);
    CHECK(scaled, "apply_ln_to_stack: %s", err.msg);
    snprintf(name, sizeof name, "%sscaled_final_resid", prefix);
    if (lens_safetensors_find(st, name)) check_against(st, name, scaled, 1e-4);
    snprintf(name, sizeof name, "%sdla_check", prefix);
    if (lens_safetensors_find(st, name) && scaled) {
        const lens_tensor *ops[2] = {scaled, ldd};
        lens_tensor *e = lens_einsum("batch d_model, batch d_model -> ", 2, ops, &err);
        lens_tensor *dla = e ? lens_binary_scalar(LENS_OP_DIV, e, (double)tokens->shape[0], true, false, &err) : NULL;
        check_against(st, name, dla, 1e-4);
        lens_tensor_free(e);
        lens_tensor_free(dla);
    }

    char **lab = NULL;
    lens_tensor *acc = lens_accumulated_resid(m, c, -1, true, false, false, &last, &lab, &err);
    CHECK(acc, "accumulated_resid: %s", err.msg);
    lens_tensor *lens_diffs = mean_attrs(m, c, acc, answers, &err);
    snprintf(name, sizeof name, "%slogit_lens", prefix);
    check_against(st, name, lens_diffs, 1e-4);
    CHECK(labels_equal(lab, cJSON_GetObjectItem(labels, "logit_lens")), "logit lens labels");
    lens_labels_free(lab);

    lens_tensor *per_layer = lens_decompose_resid(m, c, -1, false, "all", true, false, &last, &lab, &err);
    CHECK(per_layer, "decompose_resid: %s", err.msg);
    lens_tensor *layer_diffs = mean_attrs(m, c, per_layer, answers, &err);
    snprintf(name, sizeof name, "%sper_layer", prefix);
    check_against(st, name, layer_diffs, 1e-4);
    CHECK(labels_equal(lab, cJSON_GetObjectItem(labels, "per_layer")), "per-layer labels");
    lens_labels_free(lab);

    lens_tensor *per_head = lens_stack_head_results(m, c, -1, &last, false, false, &lab, &err);
    CHECK(per_head, "stack_head_results: %s", err.msg);
    lens_tensor *head_diffs = mean_attrs(m, c, per_head, answers, &err);
    const lens_config *cfg = lens_model_config(m);
    int64_t hs[2] = {cfg->n_layers, cfg->n_heads};
    lens_tensor *hd = head_diffs ? lens_tensor_reshape(head_diffs, 2, hs, &err) : NULL;
    snprintf(name, sizeof name, "%sper_head", prefix);
    check_against(st, name, hd, 1e-4);
    CHECK(labels_equal(lab, cJSON_GetObjectItem(labels, "per_head")), "per-head labels");
    lens_labels_free(lab);

    lens_tensor *all[] = {logits, ld, dirs, d0, d1, ldd, final_last, scaled, acc, lens_diffs, per_layer,
                          layer_diffs, per_head, head_diffs, hd};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) lens_tensor_free(all[i]);
    lens_cache_free(c);
}

static void test_seed_analyses_match_transformerlens_on_the_tiny_model(void)
{
    variant vs[] = {{"raw.", lens_processing_none()}, {"default.", lens_processing_default()},
                    {"refactor.", refactor_processing()}};
    lens_tensor *tokens = fixture_tensor(ref, "tokens");
    for (size_t i = 0; i < 3; i++) {
        lens_model *m = load(TINY_DIR, vs[i].proc);
        if (!m) { CHECK(0); continue; }
        lens_tensor *answers = answers_from_meta(m, meta);
        char key[64];
        snprintf(key, sizeof key, "%slabels", vs[i].prefix);
        check_seed(ref, cJSON_GetObjectItem(meta, key), m, vs[i].prefix, tokens, answers);
        lens_tensor_free(answers);
        lens_model_free(m);
    }
    lens_tensor_free(tokens);
}

static void test_seed_analyses_match_transformerlens_on_the_trained_model(void)
{
    if (harness_small("the trained model")) return;
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(STORIES_REF, &err);
    CHECK(st, "%s", err.msg);
    if (!st) return;
    cJSON *sm = fixture_meta(st);
    lens_model *m = load(STORIES_DIR, refactor_processing());
    if (m && sm) {
        lens_tensor *tokens = fixture_tensor(st, "tokens");
        lens_tensor *answers = fixture_tensor(st, "answer_tokens");
        check_seed(st, cJSON_GetObjectItem(sm, "labels"), m, "", tokens, answers);
        lens_tensor_free(tokens);
        lens_tensor_free(answers);
    } else CHECK(0, "model or metadata missing");
    lens_model_free(m);
    cJSON_Delete(sm);
    lens_safetensors_close(st);
}

static void check_test_prompt(const lens_safetensors *st, lens_model *m, const char *prompt, const char *answer,
                              bool check_rank)
{
    lens_error err;
    lens_prompt_report *r = lens_test_prompt(m, prompt, &answer, 1, true, true, 10, &err);
    CHECK(r, "test_prompt: %s", err.msg);
    if (!r) return;
    lens_tensor *ids = fixture_tensor(st, "test_prompt.top_ids");
    bool same = ids && r->top_k == 10;
    for (int i = 0; same && i < 10; i++) same = r->top_ids[i] == lens_tensor_i64(ids)[i];
    CHECK(same, "top ids");
    lens_tensor *lg = fixture_tensor(st, "test_prompt.top_logits"), *pr = fixture_tensor(st, "test_prompt.top_probs");
    CHECK_CLOSE(r->top_logits, lens_tensor_f32(lg), 10, 1e-4, "top logits");
    CHECK_CLOSE(r->top_probs, lens_tensor_f32(pr), 10, 1e-4, "top probs");
    if (check_rank) {
        lens_tensor *rank = fixture_tensor(st, "test_prompt.answer_rank"), *prob = fixture_tensor(st, "test_prompt.answer_prob");
        CHECK(r->ranks[0] == lens_tensor_i64(rank)[0], "rank %lld, want %lld", (long long)r->ranks[0],
              (long long)lens_tensor_i64(rank)[0]);
        CHECK_CLOSE(r->answer_probs, lens_tensor_f32(prob), 1, 1e-4, "answer prob");
        lens_tensor_free(rank);
        lens_tensor_free(prob);
    }
    CHECK(strstr(r->text, "Tokenized answer: [' he']\nPerformance on answer token:\nRank: ") != NULL, "%s", r->text);
    CHECK(strstr(r->text, "Top 9th token. Logit: ") != NULL, "%s", r->text);
    lens_tensor_free(ids);
    lens_tensor_free(lg);
    lens_tensor_free(pr);
    lens_prompt_report_free(r);
}

static void test_test_prompt_matches_transformerlens(void)
{
    lens_model *m = load(TINY_DIR, lens_processing_default());
    if (!m) { CHECK(0); return; }
    check_test_prompt(ref, m, "So John is a really great friend, isn't", " he", true);
    lens_model_free(m);
    if (harness_small("the trained model")) return;
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(STORIES_REF, &err);
    m = load(STORIES_DIR, refactor_processing());
    if (st && m) check_test_prompt(st, m, "John is such a great friend, isn't", " he", false);
    lens_model_free(m);
    lens_safetensors_close(st);
}

static void test_test_prompt_prints_the_transformerlens_report(void)
{
    lens_model *m = load(TINY_DIR, lens_processing_default());
    if (!m) { CHECK(0); return; }
    lens_error err;
    const char *answers[] = {" he", "she"};
    lens_prompt_report *r = lens_test_prompt(m, "So John is a really great friend, isn't", answers, 2, true, true, 3, &err);
    CHECK(r, "%s", err.msg);
    if (r) {
        const char *want_head =
            "Tokenized prompt: ['<|endoftext|>', 'So', ' John', ' is', ' a', ' really', ' great', ' friend', ',', "
            "' isn', \"'t\"]\nTokenized answers: [[' he'], [' she']]\nPerformance on answer tokens:\nRank: ";
        CHECK(!strncmp(r->text, want_head, strlen(want_head)), "%s", r->text);
        char line[128];
        snprintf(line, sizeof line, "Ranks of the answer tokens: [[(' he', %lld), (' she', %lld)]]\n",
                 (long long)r->ranks[0], (long long)r->ranks[1]);
        CHECK(strstr(r->text, line) != NULL, "%s", r->text);
        CHECK(r->answer_len == 1 && r->n_answers == 2);
    }
    lens_prompt_report_free(r);
    /* a multi-token answer reports each of its tokens */
    const char *longer = " really great";
    r = lens_test_prompt(m, "So John is a", &longer, 1, true, true, 2, &err);
    CHECK(r && r->answer_len == 2, "%s", err.msg);
    if (r) CHECK(strstr(r->text, "Ranks of the answer tokens: [(' really', ") && strstr(r->text, "), (' great', "), "%s", r->text);
    lens_prompt_report_free(r);
    char *rep = lens_py_str_repr("it's \"x\"\n");
    CHECK(rep && !strcmp(rep, "'it\\'s \"x\"\\n'"), "%s", rep);
    free(rep);
    lens_model_free(m);
}

static void test_decompositions_sum_to_the_residual_stream(void)
{
    lens_model *m = load(TINY_DIR, lens_processing_default());
    if (!m) { CHECK(0); return; }
    lens_error err;
    lens_tensor *tokens = fixture_tensor(ref, "tokens");
    lens_run_options o = lens_run_options_default();
    o.include_attn_result = true;
    lens_tensor *logits;
    lens_cache *c;
    CHECK(!lens_model_run(m, tokens, &o, &logits, &c, &err));
    const lens_config *cfg = lens_model_config(m);
    for (int layer = 0; layer <= cfg->n_layers; layer++) {
        char want[64];
        if (layer < cfg->n_layers) snprintf(want, sizeof want, "blocks.%d.hook_resid_pre", layer);
        else snprintf(want, sizeof want, "blocks.%d.hook_resid_post", layer - 1);
        lens_tensor *parts = lens_decompose_resid(m, c, layer, false, "all", true, false, NULL, NULL, &err);
        lens_tensor *sum = parts ? lens_reduce(LENS_RED_SUM, parts, 0, false, &err) : NULL;
        CHECK(tensor_rel_err(sum, lens_cache_get(c, want)) < 1e-5, "decompose_resid(%d)", layer);
        lens_tensor_free(parts); lens_tensor_free(sum);
        for (int expand = 0; expand < 2; expand++) {
            char **lab = NULL;
            parts = lens_full_resid_decomposition(m, c, layer, false, expand, false, NULL, &lab, &err);
            sum = parts ? lens_reduce(LENS_RED_SUM, parts, 0, false, &err) : NULL;
            CHECK(tensor_rel_err(sum, lens_cache_get(c, want)) < 1e-4, "full decomposition(%d, expand %d): %s", layer, expand, err.msg);
            CHECK(parts && lens_labels_count(lab) == parts->shape[0] && !strcmp(lab[lens_labels_count(lab) - 1], "bias"));
            lens_tensor_free(parts); lens_tensor_free(sum);
            lens_labels_free(lab);
        }
    }
    /* per-head results + b_O = attn_out, and the cached hook_result agrees with z . W_O */
    for (int l = 0; l < cfg->n_layers; l++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%d.attn.hook_result", l);
        lens_tensor *heads = lens_stack_head_results(m, c, l + 1, NULL, false, false, NULL, &err);
        lens_tensor *mine = heads ? lens_tensor_narrow(heads, 0, (int64_t)l * cfg->n_heads, cfg->n_heads) : NULL;
        lens_tensor *sum = mine ? lens_reduce(LENS_RED_SUM, mine, 0, false, &err) : NULL;
        snprintf(name, sizeof name, "blocks.%d.attn.b_O", l);
        lens_tensor *bO = lens_model_weight(m, name, &err);
        lens_tensor *tot = sum ? lens_binary(LENS_OP_ADD, sum, bO, &err) : NULL;
        snprintf(name, sizeof name, "blocks.%d.hook_attn_out", l);
        CHECK(tensor_rel_err(tot, lens_cache_get(c, name)) < 1e-5, "heads + b_O = attn_out at layer %d", l);
        lens_tensor_free(heads); lens_tensor_free(mine); lens_tensor_free(sum); lens_tensor_free(bO); lens_tensor_free(tot);
    }
    /* the remainder makes the head stack sum to the stream */
    char **lab = NULL;
    lens_tensor *withrem = lens_stack_head_results(m, c, -1, NULL, true, false, &lab, &err);
    lens_tensor *sum = withrem ? lens_reduce(LENS_RED_SUM, withrem, 0, false, &err) : NULL;
    char post[64];
    snprintf(post, sizeof post, "blocks.%d.hook_resid_post", cfg->n_layers - 1);
    CHECK(tensor_rel_err(sum, lens_cache_get(c, post)) < 1e-5);
    CHECK(lab && !strcmp(lab[lens_labels_count(lab) - 1], "remainder"));
    lens_labels_free(lab);
    lens_tensor_free(withrem); lens_tensor_free(sum);
    lens_tensor_free(logits);
    lens_cache_free(c);
    lens_tensor_free(tokens);
    lens_model_free(m);
}

static void test_computed_head_results_match_the_forward_pass(void)
{
    lens_model *m = load(TINY_DIR, lens_processing_default());
    if (!m) { CHECK(0); return; }
    lens_error err;
    lens_tensor *tokens = fixture_tensor(ref, "tokens");
    lens_run_options o = lens_run_options_default();
    lens_tensor *logits;
    lens_cache *plain, *with;
    CHECK(!lens_model_run(m, tokens, &o, &logits, &plain, &err));
    lens_tensor_free(logits);
    o.include_attn_result = true;
    CHECK(!lens_model_run(m, tokens, &o, &logits, &with, &err));
    CHECK(lens_cache_get(plain, "blocks.0.attn.hook_result") == NULL);
    CHECK(!lens_cache_compute_head_results(m, plain, &err), "%s", err.msg);
    CHECK(tensor_rel_err(lens_cache_get(plain, "blocks.1.attn.hook_result"),
                         lens_cache_get(with, "blocks.1.attn.hook_result")) < 1e-5);
    lens_tensor_free(logits);
    lens_cache_free(plain);
    lens_cache_free(with);
    lens_tensor_free(tokens);
    lens_model_free(m);
}

static void test_slices_follow_transformerlens(void)
{
    lens_tensor *t = lens_arange(0, 24, 1, LENS_I64, NULL);
    lens_tensor *x = lens_tensor_reshape(t, 2, (int64_t[]){4, 6}, NULL);
    lens_error err;
    lens_slice s = lens_slice_index(-1);
    lens_tensor *a = lens_slice_apply(&s, x, -1, &err);
    CHECK(a && a->ndim == 1 && lens_tensor_i64(a)[0] == 5 && a->shape[0] == 4);
    s = lens_slice_range(1, LENS_SLICE_NONE, 2);
    lens_tensor *b = lens_slice_apply(&s, x, 1, &err);
    CHECK(b && b->shape[1] == 3 && lens_tensor_get_i64(b, (int64_t[]){1, 2}) == 11);
    int64_t idx[2] = {3, 0};
    s = (lens_slice){.kind = LENS_SLICE_LIST, .list = idx, .n = 2};
    lens_tensor *c = lens_slice_apply(&s, x, 0, &err);
    CHECK(c && c->shape[0] == 2 && lens_tensor_get_i64(c, (int64_t[]){0, 0}) == 18);
    s = lens_slice_index(9);
    CHECK(!lens_slice_apply(&s, x, 0, &err) && strstr(err.msg, "out of range"));
    lens_tensor_free(a); lens_tensor_free(b); lens_tensor_free(c); lens_tensor_free(x); lens_tensor_free(t);
}

static void test_head_names_parse_and_reject_nonsense(void)
{
    lens_config cfg = {.n_layers = 12, .n_heads = 12};
    int l, h;
    lens_error err;
    CHECK(!lens_head_parse(&cfg, "L9H9", &l, &h, &err) && l == 9 && h == 9);
    CHECK(!lens_head_parse(&cfg, "l10h3", &l, &h, &err) && l == 10 && h == 3);
    CHECK(lens_head_parse(&cfg, "L12H0", &l, &h, &err) && strstr(err.msg, "does not exist"));
    CHECK(lens_head_parse(&cfg, "head 3", &l, &h, &err) && strstr(err.msg, "L9H9"));
    CHECK(!lens_head_from_index(&cfg, 111, &l, &h, &err) && l == 9 && h == 3);
    CHECK(lens_head_from_index(&cfg, 144, &l, &h, &err));
    char **lab = lens_head_labels(&cfg, 2);
    CHECK(lens_labels_count(lab) == 24 && !strcmp(lab[13], "L1H1"));
    lens_labels_free(lab);
}

static void test_bad_inputs_give_errors(void)
{
    lens_model *m = load(TINY_DIR, lens_processing_default());
    if (!m) { CHECK(0); return; }
    lens_error err;
    lens_tensor *tokens = fixture_tensor(ref, "tokens");
    lens_run_options o = lens_run_options_default();
    o.names_regex = "resid";
    lens_tensor *logits;
    lens_cache *c;
    CHECK(!lens_model_run(m, tokens, &o, &logits, &c, &err));
    CHECK(!lens_decompose_resid(m, c, -1, false, "all", true, false, NULL, NULL, &err) && strstr(err.msg, "hook_embed"));
    CHECK(!lens_accumulated_resid(m, c, 7, false, false, false, NULL, NULL, &err) && strstr(err.msg, "out of range"));
    CHECK(!lens_decompose_resid(m, c, -1, false, "heads", true, false, NULL, NULL, &err) && strstr(err.msg, "mode"));
    lens_tensor *acc = lens_accumulated_resid(m, c, -1, false, false, false, NULL, NULL, &err);
    CHECK(acc && !lens_apply_ln_to_stack(m, c, acc, -1, false, NULL, NULL, &err) && strstr(err.msg, "ln_final.hook_scale"));
    lens_tensor *bad = lens_scalar_i64(60000);
    CHECK(!lens_tokens_to_residual_directions(m, bad, &err) && strstr(err.msg, "vocabulary"));
    lens_tensor *wrong = lens_tensor_new_v(LENS_I64, 2, (int64_t)3, (int64_t)2);
    CHECK(!lens_logit_diff(m, logits, wrong, NULL, false, &err) && strstr(err.msg, "answer_tokens"));
    lens_tensor_free(wrong); lens_tensor_free(bad); lens_tensor_free(acc);
    lens_tensor_free(logits);
    lens_cache_free(c);
    lens_tensor_free(tokens);
    lens_model_free(m);
}

int main(void)
{
    lens_error err;
    ref = lens_safetensors_open(TINY_REF, &err);
    if (!ref) { fprintf(stderr, "%s\n", err.msg); return 1; }
    meta = fixture_meta(ref);
    RUN(test_seed_analyses_match_transformerlens_on_the_tiny_model);
    RUN(test_seed_analyses_match_transformerlens_on_the_trained_model);
    RUN(test_test_prompt_matches_transformerlens);
    RUN(test_test_prompt_prints_the_transformerlens_report);
    RUN(test_decompositions_sum_to_the_residual_stream);
    RUN(test_computed_head_results_match_the_forward_pass);
    RUN(test_slices_follow_transformerlens);
    RUN(test_head_names_parse_and_reject_nonsense);
    RUN(test_bad_inputs_give_errors);
    cJSON_Delete(meta);
    lens_safetensors_close(ref);
    return harness_summary();
}
