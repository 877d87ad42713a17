/* tests/lang/test_grad_lang.c — gradients and attribution patching in the
 * language: run_with_cache(..., metric=m, incl_bwd=True) returns (logits, cache,
 * grad_cache) with TransformerLens's <hook name>_grad keys, only for the hooks
 * names_filter keeps, equal to PyTorch autograd's (the fixture
 * tests/fixtures/tiny-gpt2/gradients.safetensors, read in the cell);
 * attribution_patch's maps equal the fixture's; metrics written as functions of
 * the logits (differentiated by lens/tape.h) give the builtin metrics' gradients
 * and maps; grad_cache takes the forward cache's short keys; bad calls and bad
 * metrics raise clear errors. */
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
        /* metrics written as functions: the builtin metrics' gradients, from the rows they read */
        {"def ld(logits):\n    last = logits[:, -1]\n"
         "    return (last.gather(-1, answers[:, :1]) - last.gather(-1, answers[:, 1:])).mean()\n"
         "nld = lambda logits: (ld(logits) - m.corrupted) / (m.clean - m.corrupted)\n"
         "hooks = 'hook_z|hook_resid_pre|hook_pattern|hook_embed|ln_final'\n"
         "_, _, gb = model.run_with_cache(bad, metric=m, incl_bwd=True, names_filter=hooks)\n"
         "_, _, gu = model.run_with_cache(bad, metric=nld, incl_bwd=True, names_filter=hooks)\n"
         "[len(gu), gu.keys() == gb.keys(), max([rel(gu[k], gb[k]) for k in gb.keys()]) < 1e-6]", "[9, True, True]"},
        {REL "_, _, gl = model.run_with_cache(bad, metric=logit_diff_metric(answers), incl_bwd=True, names_filter=hooks)\n"
         "_, _, gu = model.run_with_cache(bad, metric=ld, incl_bwd=True, names_filter=hooks)\n"
         "max([rel(gu[k], gl[k]) for k in gl.keys()]) < 1e-6", "True"},
        {REL "l = lambda lg: (lg[:, -1, :].gather(1, answers[:, 0:1]) - lg[:, -1, :].gather(1, answers[:, 1:2])).sum() / 4\n"
         "_, _, gu = model.run_with_cache(bad, metric=l, incl_bwd=True, names_filter=hooks)\n"
         "max([rel(gu[k], ref['grad.' + k[:-5]] * (m.clean - m.corrupted)) for k in gu.keys()]) < 1e-4", "True"},
        {REL "[rel(attribution_patch(model, bad, clean_cache, h, nld, by=b), attribution_patch(model, bad, clean_cache, h, m, by=b)) "
         "< 1e-6 for h, b in [('resid_pre', 'pos'), ('z', 'head'), ('pattern', 'head_pos')]]", "[True, True, True]"},
        {REL "rel(attribution_patch(model, bad, clean_cache, 'z', logit_diff_metric(answers), by='head') / (m.clean - m.corrupted), "
         "ref['attr.head_z']) < 1e-3", "True"},
        {"a0, b0 = int(answers[0, 0].item()), int(answers[0, 1].item())\n"
         "_, _, g1 = model.run_with_cache(bad[:1], metric=lambda logits: logits[0, -1, a0] - logits[0, -1, b0], "
         "incl_bwd=True, names_filter=hooks)\n"
         "_, _, g2 = model.run_with_cache(bad[:1], metric=logit_diff_metric(answers[:1]), incl_bwd=True, names_filter=hooks)\n"
         "[len(g1), max([rel(g1[k], g2[k]) for k in g2.keys()]) < 1e-6]", "[9, True]"},
        /* grad_cache's short keys, as the forward cache's */
        {"[gu['resid_pre', 0].shape, gu['z', 1].shape, rel(gu['resid_pre', 1], gu['blocks.1.hook_resid_pre_grad']) == 0, "
         "'resid_pre' in gu, ('z', 0) in gu, ('q', 0) in gu]", "[torch.Size([4, 11, 64]), torch.Size([4, 11, 4, 16]), True, False, True, False]"},
        {"gu['q', 0]", "ERROR KeyError: 'blocks.0.attn.hook_q_grad' is not in the cache (cache.keys() lists what is; "
         "names_filter may have left it out)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        r = cell(s, cases[i].code, &c, &err);
        CHECK(!strcmp(r, cases[i].want), "%s\n  got  %s\n  want %s", cases[i].code, r, cases[i].want);
    }
    static const struct { const char *code, *want; } errors[] = {
        {"model.run_with_cache(bad, incl_bwd=True)", "TypeError: run_with_cache: gradients need metric="},
        {"model.run_with_cache(bad, metric=lambda l: logit_diff(l, answers), incl_bwd=True)",
         "TypeError: attribution through a user metric: logit_diff() (logit_diff_metric(answer_tokens) is its "
         "differentiable form) has no gradient; supported: indexing and views"},
        {"model.run_with_cache(bad, metric='logit_diff', incl_bwd=True)",
         "TypeError: run_with_cache: metric must be made by normalized_logit_diff(...) or logit_diff_metric(answer_tokens), "
         "or be a function of the logits; it cannot differentiate a str"},
        /* a user metric: every way it can fail */
        {"model.run_with_cache(bad, metric=lambda l: l[:, -1].max(), incl_bwd=True)",
         "TypeError: attribution through a user metric: max has no gradient; supported: indexing and views"},
        {"model.run_with_cache(bad, metric=lambda l: (l[:, -1] // 2).sum(), incl_bwd=True)",
         "TypeError: attribution through a user metric: floor division (//) has no gradient"},
        {"model.run_with_cache(bad, metric=lambda l: l[:, -1, 5], incl_bwd=True)",
         "ValueError: the metric must return one number (a one-element float tensor), not a float32 tensor of shape [4]"},
        {"model.run_with_cache(bad, metric=lambda l: l[0, -1, 5].item(), incl_bwd=True)",
         "TypeError: the metric must return a tensor with one element computed from the logits (as TransformerLens's "
         "metrics do), not a float"},
        {"model.run_with_cache(bad, metric=lambda l: tensor(1.0), incl_bwd=True)",
         "TypeError: the metric's result does not depend on the logits"},
        {"def bad_metric(logits):\n    x = logits[0, -1, 5]\n    return x + undefined_name\n"
         "model.run_with_cache(bad, metric=bad_metric, incl_bwd=True)",
         "NameError: name 'undefined_name' is not defined"},
        {"def write_metric(logits):\n    x = logits[:, -1, :3] * 1\n    x[0] = 0\n    return x.sum()\n"
         "model.run_with_cache(bad, metric=write_metric, incl_bwd=True)",
         "an in-place assignment (t[...] = x) into a tensor computed from the logits has no gradient"},
        {"attribution_patch(model, bad, clean_cache, 'z', lambda l: l[:, -1].max())", "max has no gradient"},
        {"model(bad, metric=m, incl_bwd=True)", "TypeError: forward() got an unexpected keyword argument 'metric'"},
        {"model.run_with_cache(bad, metric=m, incl_bwd=True, hooks=[zero_ablate('z', layer=0)])", "not supported with gradients"},
        {"model.run_with_cache(bad[:2], metric=m, incl_bwd=True)", "answer tokens must be int64 [2, 2]"},
        {"attribution_patch(model, bad, clean_cache, 'z', 'm')", "TypeError: attribution_patch: metric must be"},
        {"attribution_patch(model, bad, clean_cache, 'mlp_out', m, by='head')", "has no heads"},
        {"attribution_patch(model, bad, clean_cache, 'z', m, by='layer')", "ValueError: by must be"},
        {"logit_diff_metric(tensor([1, 2]))", "ValueError: logit_diff_metric: answer_tokens must be [batch, 2]"},
    };
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        r = cell(s, errors[i].code, &c, &err);
        CHECK(!strncmp(r, "ERROR", 5) && strstr(r, errors[i].want), "%s\n  got %s", errors[i].code, r);
    }
    /* an exception inside the metric propagates with the metric's line */
    r = cell(s, "def raising(logits):\n    x = logits[0, -1, 5]\n    raise ValueError('metric says no')\n"
                "model.run_with_cache(bad, metric=raising, incl_bwd=True)", &c, &err);
    bool has_line = false;
    for (int i = 0; i < err.n_traceback; i++) has_line |= strstr(err.traceback[i], "line 3") && strstr(err.traceback[i], "raising");
    CHECK(!strcmp(r, "ERROR ValueError: metric says no") && has_line, "%s (traceback with line 3 in raising: %d)", r, has_line);
    CHECK(!strcmp(cell(s, "len(grads)", &c, &err), "4"), "state survives errors");
    lang_session_free(s);
}

int main(void)
{
    RUN(test_gradients_and_attribution_in_the_language);
    return harness_summary();
}
