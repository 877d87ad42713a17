/* tests/lang/test_grad_lang.c — gradients and attribution patching in the
 * language: run_with_cache(..., metric=m, incl_bwd=True) returns (logits, cache,
 * grad_cache) with TransformerLens's <hook name>_grad keys, only for the hooks
 * names_filter keeps, equal to PyTorch autograd's (the fixture
 * tests/fixtures/tiny-gpt2/gradients.safetensors, read in the cell);
 * attribution_patch's maps equal the fixture's; bad calls raise clear errors. */
#include <stdio.h>
#include <string.h>

#include "../harness.h"
#include "lang_internal.h"
#include "lang_test_util.h"

static const char *setup =
    "model = load('tests/fixtures/tiny-gpt2')\n"
    "ref = load_tensors('tests/fixtures/tiny-gpt2/gradients.safetensors')\n"
    "clean, bad, answers = ref['clean_tokens'], ref['corrupted_tokens'], ref['answer_tokens']\n"
    "clean_logits, clean_cache = model.run_with_cache(clean)\n"
    "m = normalized_logit_diff(answers, clean=clean_logits, corrupted=model(bad))\n";

/* The fixture's measure (norm of the difference over the norm of the reference),
 * defined in each cell that uses it. */
#define REL "rel = lambda a, b: ((a - b) ** 2).sum().item() ** 0.5 / (b ** 2).sum().item() ** 0.5\n"

static void test_gradients_and_attribution_in_the_language(void)
{
    lang_session *s = lang_session_new();
    capture c = {0};
    lang_error err = {0};
    const char *r = cell(s, setup, &c, &err);
    CHECK(!strcmp(r, ""), "setup: %s", r);
    static const struct { const char *code, *want; } cases[] = {
        {"logits, cache, grads = model.run_with_cache(bad, metric=m, incl_bwd=True, names_filter='hook_z|hook_resid_pre')\n"
         "[logits.shape, len(cache), grads.keys()]",
         "[torch.Size([4, 11, 50257]), 4, ['blocks.1.attn.hook_z_grad', 'blocks.1.hook_resid_pre_grad', 'blocks.0.attn.hook_z_grad', "
         "'blocks.0.hook_resid_pre_grad']]"},
        {REL "[rel(grads[k + '_grad'], ref['grad.' + k]) < 1e-4 for k in ['blocks.0.hook_resid_pre', 'blocks.1.attn.hook_z']]",
         "[True, True]"},
        {REL "_, _, g = model.run_with_cache(bad, metric=m, incl_bwd=True, names_filter=['blocks.0.attn.hook_pattern', "
         "'ln_final.hook_scale'])\n"
         "[g.keys(), rel(g['blocks.0.attn.hook_pattern_grad'], ref['grad.blocks.0.attn.hook_pattern']) < 1e-4, "
         "rel(g['ln_final.hook_scale_grad'], ref['grad.ln_final.hook_scale']) < 1e-4]",
         "[['ln_final.hook_scale_grad', 'blocks.0.attn.hook_pattern_grad'], True, True]"},
        {REL "_, _, g = model.run_with_cache(bad, metric=logit_diff_metric(answers), incl_bwd=True, names_filter=['hook_embed'])\n"
         "rel(g['hook_embed_grad'] / (m.clean - m.corrupted), ref['grad.hook_embed']) < 1e-4", "True"},
        {"logit_diff_metric(answers)(model(bad)).item() == logit_diff(model(bad), answers).item()", "True"},
        {REL "[rel(attribution_patch(model, bad, clean_cache, h, m, by=b), ref[k]) < 1e-3 for h, b, k in "
         "[('resid_pre', 'pos', 'attr.resid_pre'), ('mlp_out', 'position', 'attr.mlp_out'), ('z', 'head', 'attr.head_z'), "
         "('pattern', 'head', 'attr.head_pattern')]]",
         "[True, True, True, True]"},
        {REL "hp = attribution_patch(model, bad, clean_cache, 'z', m, by='head_pos')\n"
         "[hp.shape, rel(hp.transpose(1, 2), ref['attr.head_z_by_pos']) < 1e-3]", "[torch.Size([2, 11, 4]), True]"},
        {"attribution_patch(model, bad, clean_cache, 'attn_out', m).shape == patch(model, bad, clean_cache, 'attn_out', m).shape",
         "True"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        r = cell(s, cases[i].code, &c, &err);
        CHECK(!strcmp(r, cases[i].want), "%s\n  got  %s\n  want %s", cases[i].code, r, cases[i].want);
    }
    static const struct { const char *code, *want; } errors[] = {
        {"model.run_with_cache(bad, incl_bwd=True)", "TypeError: run_with_cache: gradients need metric="},
        {"model.run_with_cache(bad, metric=lambda l: logit_diff(l, answers), incl_bwd=True)",
         "TypeError: run_with_cache: metric must be made by normalized_logit_diff(...) or logit_diff_metric(answer_tokens)"},
        {"model(bad, metric=m, incl_bwd=True)", "TypeError: model: incl_bwd=True needs run_with_cache"},
        {"model.run_with_cache(bad, metric=m, incl_bwd=True, hooks=[zero_ablate('z', layer=0)])", "not supported with gradients"},
        {"model.run_with_cache(bad[:2], metric=m, incl_bwd=True)", "answer tokens must be int64 [2, 2]"},
        {"attribution_patch(model, bad, clean_cache, 'z', logit_diff_metric(answers))", "TypeError: attribution_patch: metric must be"},
        {"attribution_patch(model, bad, clean_cache, 'mlp_out', m, by='head')", "has no heads"},
        {"attribution_patch(model, bad, clean_cache, 'z', m, by='layer')", "ValueError: by must be"},
        {"logit_diff_metric(tensor([1, 2]))", "ValueError: logit_diff_metric: answer_tokens must be [batch, 2]"},
    };
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        r = cell(s, errors[i].code, &c, &err);
        CHECK(!strncmp(r, "ERROR", 5) && strstr(r, errors[i].want), "%s\n  got %s", errors[i].code, r);
    }
    CHECK(!strcmp(cell(s, "len(grads)", &c, &err), "4"), "state survives errors");
    lang_session_free(s);
}

int main(void)
{
    RUN(test_gradients_and_attribution_in_the_language);
    return harness_summary();
}
