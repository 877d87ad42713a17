/* tests/lang/test_user_hooks.c — hook functions inside the forward pass:
 * tests/lang/hooks_tiny.lens (the upstream notebook's patching, ablation and
 * induction sections written with run_with_hooks, fwd_hooks and partial, each
 * map checked inside the script against patch() and TransformerLens) runs end
 * to end; errors inside a hook name the hook point and leave nothing attached;
 * bad replacements and names are refused; views a hook keeps stay valid after
 * the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "lang_internal.h"
#include "lang_test_util.h"

static capture program_out;


static void test_the_hooks_script_matches_patch_and_transformerlens(void)
{
    lang_error err = {0};
    int rc = run_script("tests/lang/hooks_tiny.lens", &program_out, &err);
    CHECK(rc == 0, "%s: %s", err.ename, err.evalue);
    CHECK(strstr(program_out.out, "hook functions: all checks passed") != NULL, "%s", program_out.out);
    lang_error_clear(&err);
}

static lang_session *S;
static capture C;
static lang_error E;

static const char *run(const char *code) { return cell(S, code, &C, &E); }

static void test_an_error_in_a_hook_names_the_hook_point_and_detaches_it(void)
{
    const char *r = run("model.run_with_hooks(tokens, fwd_hooks=[('blocks.1.attn.hook_z', lambda act, hook: act.no_such)])");
    CHECK(!strcmp(r, "ERROR AttributeError: 'Tensor' object has no attribute 'no_such' (in the hook function at blocks.1.attn.hook_z)"), "%s", r);
    CHECK(E.traceback && E.n_traceback > 0, "a traceback with the line");
    r = run("(model(tokens) - clean).abs().max().item()");
    CHECK(!strcmp(r, "0.0"), "nothing stays attached after the failed run: %s", r);
    r = run("model.run_with_hooks(tokens, fwd_hooks=[('blocks.0.hook_resid_pre', lambda act, hook: 1 / 0)])");
    CHECK(!strncmp(r, "ERROR ZeroDivisionError", 23) && strstr(r, "(in the hook function at blocks.0.hook_resid_pre)"), "%s", r);
    /* a name filter that raises stops the call before the run */
    r = run("model.run_with_hooks(tokens, fwd_hooks=[(lambda name: name.nope, lambda act, hook: None)])");
    CHECK(!strncmp(r, "ERROR AttributeError: 'str' object has no attribute 'nope'", 56), "%s", r);
    /* an attached hook that fails fails every pass until reset_hooks (one cell: a lambda
     * lives as long as its cell until functions outlive cells) */
    r = run("model.add_hook('hook_embed', lambda act, hook: hook.layer())\nmodel(tokens)");
    CHECK(!strcmp(r, "ERROR ValueError: hook_embed is not in a block: it has no layer (in the hook function at hook_embed)"), "%s", r);
    CHECK(!strcmp(run("model.reset_hooks()\n(model(tokens) - clean).abs().max().item()"), "0.0"), "%s", E.evalue);
}

static void test_bad_hooks_are_refused_with_clear_errors(void)
{
    static const char *const cases[][2] = {
        {"model.run_with_hooks(tokens, fwd_hooks=[('blocks.0.hook_nothing', lambda a, h: None)])",
         "ERROR ValueError: no hook point named 'blocks.0.hook_nothing' in this model (model.hook_names() lists them)"},
        {"model.run_with_hooks(tokens, fwd_hooks=[('blocks.0.hook_resid_pre', 3)])",
         "ERROR TypeError: a hook function must be callable as fn(activation, hook), not int"},
        {"model.run_with_hooks(tokens, fwd_hooks=('blocks.0.hook_resid_pre', lambda a, h: None))",
         "ERROR TypeError: fwd_hooks[0] must be a (hook name or name filter, function) pair, not str"},
        {"model.run_with_hooks(tokens, fwd_hooks=[('blocks.0.hook_resid_pre', lambda a, h: a[:, 0])])",
         "ERROR ValueError: the hook function returned a tensor of shape [2, 64] for an activation of shape [2, 11, 64] (in the hook function at blocks.0.hook_resid_pre)"},
        {"model.run_with_hooks(tokens, fwd_hooks=[('blocks.0.hook_resid_pre', lambda a, h: 'x')])",
         "ERROR TypeError: a hook function must return None or a tensor, not str (in the hook function at blocks.0.hook_resid_pre)"},
        {"model.run_with_hooks(tokens, return_type='probs')",
         "ERROR ValueError: return_type must be 'logits', 'loss', 'both' or None, not 'probs'"},
        {"model.add_hook('blocks.0.hook_resid_pre', lambda a, h: None, dir='bwd')",
         "ERROR ValueError: lens runs forward hooks only (dir='fwd'), not dir='bwd'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *r = run(cases[i][0]);
        CHECK(!strcmp(r, cases[i][1]), "%s\n    gave %s", cases[i][0], r);
    }
}

static void test_views_kept_by_a_hook_stay_valid_after_the_run(void)
{
    const char *r = run("saved = []\n"
                        "_ = model.run_with_hooks(tokens, fwd_hooks=[(lambda n: n.endswith('hook_resid_post') or n.endswith('hook_z'),"
                        " lambda act, hook: saved.append((hook.name, act, act[:, -1]))), ('blocks.0.hook_resid_pre', lambda a, h: a * 1.0)])\n"
                        "_ = model(tokens[:, :5])\n"
                        "[n for n, a, last in saved]");
    CHECK(!strcmp(r, "['blocks.0.attn.hook_z', 'blocks.0.hook_resid_post', 'blocks.1.attn.hook_z', 'blocks.1.hook_resid_post']"), "%s", r);
    r = run("max([(a - cache[n]).abs().max().item() for n, a, last in saved] + [(last - cache[n][:, -1]).abs().max().item() for n, a, last in saved])");
    CHECK(!strcmp(r, "0.0"), "kept views hold the activations of their run: %s", r);
    /* device spellings return the model itself */
    r = run("model.to('cuda') is model, model.cuda() is model, model.cpu().eval() is model, model.cfg.device");
    CHECK(!strcmp(r, "(True, True, True, 'cpu')"), "%s", r);
    /* run_with_cache caches the activations as the hooks left them */
    r = run("_, zc = model.run_with_cache(tokens, fwd_hooks=[('blocks.1.hook_resid_pre', lambda act, hook: [act.zero_(), None][1])])\n"
            "zc['resid_pre', 1].abs().max().item(), (zc['resid_pre', 0] - cache['resid_pre', 0]).abs().max().item(), "
            "zc['resid_mid', 1].abs().max().item() > 0");
    CHECK(!strcmp(r, "(0.0, 0.0, True)"), "%s", r);
    /* the loss: mean next-token cross-entropy, as TransformerLens computes it */
    r = run("lp = clean.log_softmax(-1)[:, :-1]\n"
            "want = -lp.gather(-1, tokens[:, 1:].unsqueeze(-1)).mean()\n"
            "abs(model(tokens, return_type='loss').item() - want.item()) < 1e-6, model.run_with_hooks(tokens, return_type=None)");
    CHECK(!strcmp(r, "(True, None)"), "%s", r);
}

int main(void)
{
    RUN(test_the_hooks_script_matches_patch_and_transformerlens);
    S = lang_session_new();
    const char *r = cell(S, "model = load('tests/fixtures/tiny-gpt2')\n"
                            "tokens = model.to_tokens(['So John is a really great friend, isn\\'t', 'So Mary is such a good cook, isn\\'t'])\n"
                            "clean, cache = model.run_with_cache(tokens)", &C, &E);
    CHECK(!strcmp(r, ""), "%s", r);
    RUN(test_an_error_in_a_hook_names_the_hook_point_and_detaches_it);
    RUN(test_bad_hooks_are_refused_with_clear_errors);
    RUN(test_views_kept_by_a_hook_stay_valid_after_the_run);
    lang_error_clear(&E);
    lang_session_free(S);
    return harness_summary();
}
