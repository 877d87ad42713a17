/* tests/lang/test_analysis_lang.c — the analysis, intervention and patching
 * builtins in the language: tests/lang/seed_tiny.lens (the seed notebook's
 * analyses and the upstream notebook's patching, ablation and induction
 * sections, each checked against TransformerLens inside the script) runs end to
 * end; test_prompt prints TransformerLens's report; bad calls raise clear errors
 * and leave the session usable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "lang_internal.h"
#include "lang_test_util.h"

typedef struct displays { int n; char last_plain[256]; bool had_html; } displays;

static void cap_display(void *ctx, const cJSON *b, const char *id, bool update)
{
    (void)id; (void)update;
    displays *d = ctx;
    d->n++;
    const cJSON *t = cJSON_GetObjectItem(b, "text/plain");
    if (cJSON_IsString(t)) snprintf(d->last_plain, sizeof d->last_plain, "%s", t->valuestring);
    if (cJSON_GetObjectItem(b, "text/html")) d->had_html = true;
}

static capture program_out;


static void test_the_seed_script_runs_end_to_end_and_matches_transformerlens(void)
{
    lang_error err = {0};
    int rc = run_script("tests/lang/seed_tiny.lens", &program_out, &err);
    CHECK(rc == 0, "%s: %s", err.ename, err.evalue);
    CHECK(strstr(program_out.out, "seed notebook: all checks passed") != NULL, "%s", program_out.out);
    lang_error_clear(&err);
}

static void test_test_prompt_prints_the_report_and_shows_a_table(void)
{
    lang_session *s = lang_session_new();
    capture c = {0};
    displays d = {0};
    lang_error err = {0};
    CHECK(!strcmp(cell(s, "model = load('tests/fixtures/tiny-gpt2')", &c, &err), ""));
    /* with a display callback: an HTML table besides the printed report */
    lang_output o2 = {&d, NULL, cap_display, NULL, NULL, NULL};
    cJSON *result = NULL;
    CHECK(!lang_execute(s, "test_prompt('So John is a really great friend, isn\\'t', ' he', model)", &o2, &result, &err));
    CHECK(d.n == 1 && d.had_html && strstr(d.last_plain, "rank 7408"), "%d %s", d.n, d.last_plain);
    cJSON_Delete(result);
    const char *r = cell(s, "test_prompt('So John is a really great friend, isn\\'t', 'he', model, top_k=2)", &c, &err);
    CHECK(!strcmp(r, ""), "%s", r);
    const char *want =
        "Tokenized prompt: ['<|endoftext|>', 'So', ' John', ' is', ' a', ' really', ' great', ' friend', ',', ' isn', \"'t\"]\n"
        "Tokenized answer: [' he']\n"
        "Performance on answer token:\n"
        "Rank: 7408     Logit:  1.64 Prob:  0.00% Token: | he|\n"
        "Top 0th token. Logit:  6.49 Prob:  0.38% Token: |endale|\n"
        "Top 1th token. Logit:  6.48 Prob:  0.38% Token: |Ang|\n"
        "Ranks of the answer tokens: [(' he', 7408)]\n";
    CHECK(!strcmp(c.out, want), "got:\n%s", c.out);
    cell(s, "test_prompt('So John is', [' a', ' the'], model, top_k=1)", &c, &err);
    CHECK(strstr(c.out, "Tokenized answers: [[' a'], [' the']]\nPerformance on answer tokens:\n") &&
          strstr(c.out, "Ranks of the answer tokens: [[(' a', "), "%s", c.out);
    lang_session_free(s);
}

static void test_cache_methods_and_hooks_follow_transformerlens_names(void)
{
    lang_session *s = lang_session_new();
    capture c = {0};
    lang_error err = {0};
    cell(s, "model = load('tests/fixtures/tiny-gpt2')\ntokens = model.to_tokens(['So John is a', 'So Mary is such a'])\n"
            "logits, cache = model.run_with_cache(tokens)", &c, &err);
    static const struct { const char *code, *want; } cases[] = {
        {"cache.accumulated_resid(return_labels=True)[1]", "['0_pre', '1_pre', 'final_post']"},
        {"cache.accumulated_resid(1, True, mlp_input=True, return_labels=True)[1]", "['0_pre', '0_mid', '1_pre', '1_mid']"},
        {"cache.decompose_resid(mode='attn', return_labels=True)[1]", "['embed', 'pos_embed', '0_attn_out', '1_attn_out']"},
        {"cache.decompose_resid(pos_slice=(1, 3)).shape", "torch.Size([6, 2, 2, 64])"},
        {"cache.decompose_resid(pos_slice=[0, -1]).shape", "torch.Size([6, 2, 2, 64])"},
        {"cache.stack_head_results(layer=1, pos_slice=-1, incl_remainder=True, return_labels=True)[1]",
         "['L0H0', 'L0H1', 'L0H2', 'L0H3', 'remainder']"},
        {"cache.get_full_resid_decomposition(expand_neurons=False, pos_slice=-1, return_labels=True)[1][-5:]",
         "['0_mlp_out', '1_mlp_out', 'embed', 'pos_embed', 'bias']"},
        {"cache.get_full_resid_decomposition(pos_slice=-1).shape", "torch.Size([523, 2, 64])"},
        {"cache.logit_attrs(cache.decompose_resid(pos_slice=-1), ' he', ' she', pos_slice=-1).shape", "torch.Size([6, 2])"},
        {"allclose(cache.decompose_resid().sum(0), cache['resid_post', -1], atol=1e-4)", "True"},
        {"cache.compute_head_results()\n'blocks.0.attn.hook_result' in cache", "True"},
        {"head_labels(model, [0, (1, 2), 'L1H3'])", "['L0H0', 'L1H2', 'L1H3']"},
        {"head_labels(model, 5)", "'L1H1'"},
        {"len(head_labels(model))", "8"},
        {"zero_ablate('z', head='L1H2', pos=-1)", "zero_ablate('z', layer=1, head=2, pos=-1)"},
        {"zero_ablate('z', head=['L1H2', (1, 0)], pos=[-1, 3])", "zero_ablate('z', layer=1, head=[2, 0], pos=[-1, 3])"},
        {"many = model(tokens, hooks=[zero_ablate('z', layer=1, head=[0, 2], pos=[-1, 3])])\n"
         "one_by_one = model(tokens, hooks=[zero_ablate('z', layer=1, head=h, pos=p) for h in [0, 2] for p in [-1, 3]])\n"
         "(many - one_by_one).abs().max().item() == 0.0 and (many - logits).abs().max().item() > 0.01", "True"},
        {"_, pc = model.run_with_cache(tokens[[1, 0]], hooks=[patch_hook('resid_pre', cache, layer=1, pos=[0, 2])])\n"
         "d = (pc['resid_pre', 1] - cache['resid_pre', 1]).abs().max(-1).values\n"
         "[d[:, 0].max().item(), d[:, 2].max().item(), d[:, 3].min().item() > 0.01]", "[0.0, 0.0, True]"},
        {"clean = logit_diff(logits, tensor([[383, 339], [339, 383]]), per_prompt=True)\n"
         "hooked, _ = model.run_with_cache(tokens, hooks=[])\n"
         "allclose(logit_diff(hooked, tensor([[383, 339], [339, 383]]), per_prompt=True), clean)", "True"},
        {"zeroed = model.run_with_hooks(tokens, hooks=zero_ablate('resid_pre', layer=0))\n"
         "_, zc = model.run_with_cache(tokens, hooks=[zero_ablate('resid_pre', layer=0)])\n"
         "zc['resid_pre', 0].abs().max().item()", "0.0"},
        {"padded = model.to_tokens(['So John is a really great friend', 'Hi'])\nlp = model(padded)\n"
         "logit_diff(lp, tensor([[383, 339], [339, 383]]), per_prompt=True, tokens=padded)[1].item() == "
         "(lp[1, 1, 339] - lp[1, 1, 383]).item()", "True"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *r = cell(s, cases[i].code, &c, &err);
        CHECK(!strcmp(r, cases[i].want), "%s\n  got  %s\n  want %s", cases[i].code, r, cases[i].want);
    }
    static const struct { const char *code, *want; } errors[] = {
        {"cache.decompose_resid(mode='heads')", "mode must be"},
        {"cache.accumulated_resid(layer=9)", "out of range"},
        {"model.run_with_hooks(tokens, hooks=[zero_ablate('resid_pre', layer=0, head=1)])", "no head"},
        {"model.run_with_hooks(tokens, hooks=[zero_ablate('z', head='L7H0')])", "layer 7 is out of range"},
        {"model.run_with_hooks(tokens, hooks=[zero_ablate('z', layer=0, pos=30)])", "out of range"},
        {"model.run_with_hooks(tokens, hooks=[3])", "not a hook"},
        {"zero_ablate('z', head='head nine')", "L9H9"},
        {"patch_hook('z', 5)", "ActivationCache"},
        {"patch(model, tokens, cache, 'resid_pre', 1.0)", "normalized_logit_diff"},
        {"m = normalized_logit_diff(tensor([[383, 339], [339, 383]]), clean=logits, corrupted=logits)", "undefined"},
        {"test_prompt('x', ' a', 3)", "model"},
    };
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        const char *r = cell(s, errors[i].code, &c, &err);
        CHECK(!strncmp(r, "ERROR", 5) && strstr(r, errors[i].want), "%s\n  got %s", errors[i].code, r);
    }
    CHECK(!strcmp(cell(s, "cache['resid_pre', 0].shape", &c, &err), "torch.Size([2, 6, 64])"), "state survives errors");
    lang_session_free(s);
}

int main(void)
{
    RUN(test_the_seed_script_runs_end_to_end_and_matches_transformerlens);
    RUN(test_test_prompt_prints_the_report_and_shows_a_table);
    RUN(test_cache_methods_and_hooks_follow_transformerlens_names);
    return harness_summary();
}
