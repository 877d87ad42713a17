/* tests/lang/test_params_model.c — the argument specs of the model, cache,
 * analysis, patching, figure, display and module builtins: keyword calls as
 * TransformerLens, plotly and IPython code writes them, the binder's messages
 * for calls that do not fit, and signatures spelled as upstream spells them. */
#include <stdio.h>
#include <string.h>

#include "builtins.h"
#include "builtins_analysis.h"
#include "builtins_grad.h"
#include "cell_cases.h"
#include "namespaces.h"
#include "progress_iter.h"
#include "user_hooks.h"

static lang_session *S;

/* GPT-2's ids: "Hello" 15496, " there" 612, BOS 50256 */
static void test_model_methods_take_transformerlens_keywords(void)
{
    static const cell_case cases[] = {
        {"model.to_tokens('Hello there', prepend_bos=False).tolist()", "[[15496, 612]]"},
        {"model.to_tokens(input='Hello there').tolist()", "[[50256, 15496, 612]]"},
        {"model.to_tokens('Hello there', None, truncate=False).tolist()", "[[50256, 15496, 612]]"},
        {"model.to_tokens('Hello', padding_side='left')",
         "ERROR TypeError: to_tokens() got an unexpected keyword argument 'padding_side'"},
        {"model.to_tokens()", "ERROR TypeError: to_tokens() missing required argument 'input'"},
        {"model.to_tokens('a', True, True)", "ERROR TypeError: to_tokens() takes at most 2 positional arguments (3 given)"},
        {"model.to_str_tokens(['Hello there', 'Hello'], prepend_bos=False)", "[['Hello', ' there'], ['Hello']]"},
        {"model.to_string(tokens=[15496, 612])", "'Hello there'"},
        {"model.to_single_token(string=' there')", "612"},
        {"model.get_token_position(' there', 'Hello there there', mode='last', prepend_bos=False)", "2"},
        /* forward, run_with_hooks and run_with_cache: forward's arguments by keyword */
        {"tokens = model.to_tokens('Hello there')\nmodel(input=tokens, return_type='logits').shape", "torch.Size([1, 3, 50257])"},
        {"model(tokens, stop_at_layer=1).shape", "torch.Size([1, 3, 64])"},
        {"model('Hello there', prepend_bos=False).shape", "torch.Size([1, 2, 50257])"},
        {"model(tokens, fwd_hooks=[])", "ERROR TypeError: forward() got an unexpected keyword argument 'fwd_hooks'"},
        {"model()", "ERROR TypeError: forward() missing required argument 'input'"},
        {"model.run_with_hooks(tokens, 'logits', fwd_hooks=[]).shape", "torch.Size([1, 3, 50257])"},
        {"model.run_with_hooks(tokens, names_filter=None)",
         "ERROR TypeError: run_with_hooks() got an unexpected keyword argument 'names_filter'"},
        {"logits, cache = model.run_with_cache(tokens, names_filter=lambda name: name.endswith('resid_pre'))\nlen(cache.keys())", "2"},
        {"model.run_with_cache(tokens, remove_batch_dim=True)",
         "ERROR TypeError: run_with_cache() got an unexpected keyword argument 'remove_batch_dim'"},
        /* hooks: upstream's add_hook(name, hook, dir, is_permanent) order; prepend keyword-only */
        {"model.add_hook(name='blocks.0.hook_resid_pre', hook=lambda act, hook: act * 0, dir='fwd', is_permanent=True)\n"
         "model.reset_hooks()\n(model(tokens) - logits).abs().max().item() > 0", "True"},
        {"model.reset_hooks(clear_contexts=True, direction='fwd', including_permanent=True)\n"
         "(model(tokens) - logits).abs().max().item()", "0.0"},
        {"model.reset_hooks(direction='sideways')", "ERROR ValueError: direction must be 'fwd', 'bwd' or 'both', not 'sideways'"},
        {"model.add_hook('blocks.0.hook_resid_pre', print, 'fwd', False, True)",
         "ERROR TypeError: add_hook() takes at most 4 positional arguments (5 given)"},
        {"model.add_hook('blocks.0.hook_resid_pre', print, level=1)",
         "ERROR TypeError: add_hook() got an unexpected keyword argument 'level'"},
        {"model.add_hook('blocks.0.hook_resid_pre')", "ERROR TypeError: add_hook() missing required argument 'hook'"},
        {"model.to('cpu') is model, model.cuda() is model, model.cpu() is model", "(True, True, True)"},
        {"model.eval(True)", "ERROR TypeError: eval() takes at most 0 positional arguments (1 given)"},
        {"model.weight(name='embed.W_E').shape", "torch.Size([50257, 64])"},
        /* ActivationCache methods, upstream's positions and keywords */
        {"logits, cache = model.run_with_cache(tokens)\ncache.accumulated_resid(1, True, return_labels=True)[1]", "['0_pre', '0_mid', '1_pre']"},
        {"cache.decompose_resid(layer=1, mode='attn', return_labels=True)[1]", "['embed', 'pos_embed', '0_attn_out']"},
        {"cache.stack_head_results(-1, True)[1][:2]", "['L0H0', 'L0H1']"},
        {"cache.stack_neuron_results(1, None, True)",
         "ERROR TypeError: stack_neuron_results() takes at most 2 positional arguments (3 given)"},
        {"cache.logit_attrs(cache.stack_head_results(), tokens=612, has_batch_dim=True)",
         "ERROR TypeError: logit_attrs() got an unexpected keyword argument 'has_batch_dim'"},
        {"cache.keys(1)", "ERROR TypeError: keys() takes at most 0 positional arguments (1 given)"},
        {NULL, NULL}};
    run_cases_in(S, cases);
}

/* plotly.express: the data first, the rest by keyword; Figure methods as plotly's */
static void test_figure_and_attention_builtins_take_library_keywords(void)
{
    static const cell_case cases[] = {
        {"import plotly.express as px\nfig = px.line([1, 2], x=[3, 4], title='t', show=False)\nfig", "Figure: line, 2 points 't'"},
        {"px.line([1, 2], [3, 4])", "ERROR TypeError: line() takes at most 1 positional argument (2 given)"},
        {"px.bar([1, 2], x=['a', 'b'], labels={'x': 'pos'}, show=False)", "Figure: bar, 2 bars"},
        {"px.bar([1, 2], width=3)", "ERROR TypeError: bar() got an unexpected keyword argument 'width'"},
        {"fig.update_layout({'title': 'from a dict'}, height=300)", "Figure: line, 2 points 'from a dict'"},
        {"fig.update_layout(title='kw')", "Figure: line, 2 points 'kw'"},
        {"fig.show('notebook')", ""},
        {"fig.show(renderer='notebook', width=3)", "ERROR TypeError: show() got an unexpected keyword argument 'width'"},
        {"fig.write_html(path='x.html')", "ERROR TypeError: write_html() got an unexpected keyword argument 'path'"},
        {"fig.write_html()", "ERROR TypeError: write_html() missing required argument 'file'"},
        /* pysvelte takes attention first, circuitsvis's attention_patterns tokens first */
        {"import pysvelte\nimport circuitsvis as cv\npysvelte.AttentionMulti(torch.ones(2, 2, 1), ['a', 'b'], head_labels=['x'])",
         "Attention patterns: 1 head \u00d7 2 tokens (x)"},
        {"cv.attention.attention_patterns(['a', 'b'], torch.ones(1, 2, 2), attention_head_names=['h'])",
         "Attention patterns: 1 head \u00d7 2 tokens (h)"},
        {"cv.attention.attention_patterns(['a', 'b'], torch.ones(1, 2, 2), head_labels=['h'])",
         "ERROR TypeError: attention_patterns() got an unexpected keyword argument 'head_labels'"},
        {"attention_patterns(cache, [0], None)", "ERROR TypeError: attention_patterns() takes at most 2 positional arguments (3 given)"},
        {NULL, NULL}};
    run_cases_in(S, cases);
}

/* lens's own hooks, files and the module functions (functools, utils, torch) */
static void test_hook_io_and_module_builtins_bind_by_name(void)
{
    static const cell_case cases[] = {
        {"zero_ablate('z', 1, 0, -1)", "zero_ablate('z', layer=1, head=0, pos=-1)"},
        {"zero_ablate(layer=1)", "ERROR TypeError: zero_ablate() missing required argument 'name'"},
        {"scale_hook('z', 2.0, 1, head=0)", "scale_hook('z', 2, layer=1, head=0)"},
        {"scale_hook('z')", "ERROR TypeError: scale_hook() missing required argument 'factor'"},
        {"patch_hook('z', cache, 1, pos=2)", "patch_hook('z', layer=1, pos=2, <cache>)"},
        {"mean_ablate('z', 1, None, None, cache)", "mean_ablate('z', layer=1, <cache>)"},
        {"mean_ablate('z', over=cache, heads=1)", "ERROR TypeError: mean_ablate() got an unexpected keyword argument 'heads'"},
        {"m = normalized_logit_diff(tensor([[612, 15496]]), logits, corrupted=model('Hi there'))\nm(logits=logits)", "1.0"},
        {"m(logits, None, 3)", "ERROR TypeError: metric() takes at most 2 positional arguments (3 given)"},
        {"m()", "ERROR TypeError: metric() missing required argument 'logits'"},
        {"normalized_logit_diff(tensor([[612, 15496]]), logits)",
         "ERROR TypeError: normalized_logit_diff() missing required argument 'corrupted'"},
        /* save(path, /, **values): a value may be called path */
        {"save('params_model_test.safetensors', path=tensor([1.0]), note='n')\n"
         "d = load_tensors(path='params_model_test.safetensors')\nd['path'].tolist(), d['note']", "([1.0], 'n')"},
        {"save(path='x.safetensors')", "ERROR TypeError: save() missing required argument 'path'"},
        /* functools.partial(func, /, *args, **keywords) */
        {"import functools\nf = functools.partial(lambda a, b, func=0: (a, b, func), 1, func=5)\nf(2)", "(1, 2, 5)"},
        {"functools.partial()", "ERROR TypeError: partial() missing required argument 'func'"},
        {"utils.to_numpy(tensor=[1, 2]).tolist()", "[1, 2]"},
        {"torch.no_grad(True)", "ERROR TypeError: no_grad() takes at most 0 positional arguments (1 given)"},
        {NULL, NULL}};
    run_cases_in(S, cases);
    remove("params_model_test.safetensors");
}

static void check_signature(const char *name, const char *want)
{
    char buf[512];
    const lang_builtin *b = lang_builtin_find(name);
    if (!b) {
        const char *dot = strchr(name, '.');
        char type[64];
        snprintf(type, sizeof type, "%.*s", dot ? (int)(dot - name) : 0, name);
        b = dot ? lang_method_find(type, dot + 1) : NULL;
    }
    CHECK(b && b->params, "%s has a spec", name);
    if (b) CHECK(!strcmp(lang_builtin_signature(b, buf, sizeof buf), want), "%s\n    got  %s\n    want %s", name, buf, want);
}

static void test_signatures_are_spelled_as_upstream(void)
{
    check_signature("load", "load(name_or_path, fold_ln=True, center_writing_weights=True, center_unembed=True, "
                            "refactor_factored_attn_matrices=False, *, device=None, fold_value_biases=True, processing=None)");
    check_signature("HookedTransformer.to_tokens", "HookedTransformer.to_tokens(input, prepend_bos=None, *, truncate=True)");
    check_signature("HookedTransformer.add_hook",
                    "HookedTransformer.add_hook(name, hook, dir='fwd', is_permanent=False, *, prepend=False)");
    check_signature("HookedTransformer.reset_hooks",
                    "HookedTransformer.reset_hooks(clear_contexts=True, direction='both', including_permanent=False)");
    check_signature("functools.partial", "functools.partial(func, /, *args, **keywords)");
    check_signature("save", "save(path, /, **values)");
    check_signature("line", "line(y, *, x=None, hover_name=None, title=None, labels=None, names=None, xaxis=None, "
                            "yaxis=None, show=True)");
    check_signature("Figure.write_html", "Figure.write_html(file)");
    check_signature("Figure.update_layout", "Figure.update_layout(dict1=None, **kwargs)");
    check_signature("circuitsvis.attention.attention_patterns",
                    "circuitsvis.attention.attention_patterns(tokens, attention, attention_head_names=None)");
    check_signature("ActivationCache.stack_head_results",
                    "ActivationCache.stack_head_results(layer=-1, return_labels=False, incl_remainder=False, pos_slice=None, apply_ln=False)");
}

int main(void)
{
    S = lang_session_new();
    capture c;
    lang_error err = {0};
    const char *r = cell(S, "model = load('tests/fixtures/tiny-gpt2')", &c, &err);
    CHECK(!strcmp(r, ""), "%s", r);
    lang_error_clear(&err);
    RUN(test_model_methods_take_transformerlens_keywords);
    RUN(test_figure_and_attention_builtins_take_library_keywords);
    RUN(test_hook_io_and_module_builtins_bind_by_name);
    RUN(test_signatures_are_spelled_as_upstream);
    lang_session_free(S);
    return harness_summary();
}
