/* tests/lang/test_namespaces.c — the Python modules a session provides: every
 * member of the namespace table resolves to lens's own builtin (the same
 * function, not a copy), the pre-bound aliases, functools.partial,
 * get_act_name's TransformerLens rules, plotly.express figures shown once by
 * .show(), HTML and pysvelte / circuitsvis attention views, placeholders for
 * annotations, and the tensor methods GPU code calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "../harness.h"
#include "builtins.h"
#include "lang.h"
#include "lang_internal.h"
#include "modules.h"
#include "namespaces.h"

typedef struct rec { cJSON *bundles[16]; int n; } rec;

static void rec_display(void *ctx, const cJSON *bundle, const char *id, bool update)
{
    (void)id;
    (void)update;
    rec *r = ctx;
    if (r->n < 16) r->bundles[r->n++] = cJSON_Duplicate(bundle, 1);
}

static void rec_clear(rec *r)
{
    for (int i = 0; i < r->n; i++) cJSON_Delete(r->bundles[i]);
    r->n = 0;
}

static lang_session *S;
static rec R;
static char OUT[8192];
static size_t NOUT;
static cJSON *RESULT;
static lang_error ERR;

static void rec_stream(void *ctx, const char *name, const char *text)
{
    (void)ctx;
    (void)name;
    size_t l = strlen(text);
    if (NOUT + l < sizeof OUT) { memcpy(OUT + NOUT, text, l + 1); NOUT += l; }
}

/* Runs a cell; returns its result's text/plain, its printed text when it has
 * no result, or "ERROR <ename>: <message>". */
static const char *run(const char *code)
{
    static char buf[8192];
    rec_clear(&R);
    NOUT = 0;
    OUT[0] = '\0';
    cJSON_Delete(RESULT);
    RESULT = NULL;
    lang_error_clear(&ERR);
    lang_output out = {&R, rec_stream, rec_display, NULL, NULL, NULL};
    if (lang_execute(S, code, &out, &RESULT, &ERR)) {
        snprintf(buf, sizeof buf, "ERROR %s: %s", ERR.ename, ERR.evalue);
        return buf;
    }
    const cJSON *t = cJSON_GetObjectItem(RESULT, "text/plain");
    snprintf(buf, sizeof buf, "%s", cJSON_IsString(t) ? t->valuestring : OUT);
    return buf;
}

static void test_every_table_member_resolves_to_the_builtin_it_names(void)
{
    int n = 0;
    for (const module_member *e = module_members; e->module; e++) {
        value *mod = lang_dict_get_str(S->I.modules, e->module);
        CHECK(mod && lang_is_module(mod), "module %s", e->module);
        if (!mod || !e->name) continue;
        value *v = lang_module_get(mod, e->name);
        CHECK(v, "%s.%s", e->module, e->name);
        if (!v) continue;
        n++;
        if (!e->target) { CHECK(!strcmp(lang_type_name(v), "placeholder"), "%s.%s is %s", e->module, e->name, lang_type_name(v)); continue; }
        const lang_builtin *b = lang_builtin_find(e->target);
        value *fn = e->bound && lang_is_partial(v) ? lang_partial_func(v) : v;
        if (e->bound) CHECK(lang_is_partial(v), "%s.%s binds %s", e->module, e->name, e->bound);
        if (b && !strncmp(e->target, "Tensor.", 7)) CHECK(lang_method_function_def(fn) == b, "%s.%s calls %s", e->module, e->name, e->target);
        else if (b) CHECK(fn->type == V_BUILTIN && fn->u.builtin.def == b, "%s.%s is builtin %s", e->module, e->name, e->target);
        else CHECK(fn == lang_dict_get_str(S->I.builtins, e->target), "%s.%s is the global %s", e->module, e->name, e->target);
    }
    CHECK(n > 80, "%d members", n);
}

static void test_aliases_and_submodules(void)
{
    CHECK(!strcmp(run("np is numpy, px, utils, F"), "(True, <module 'plotly.express' (lens)>, <module 'transformer_lens.utils' (lens)>, <module 'torch.nn.functional' (lens)>)"), "%s", run("np is numpy, px, utils, F"));
    CHECK(!strcmp(run("torch.nn.functional is F, transformer_lens.utils is utils"), "(True, True)"), "%s", run("torch.nn.functional is F"));
    CHECK(!strcmp(run("torch.zeros is zeros"), "False"), "builtin values are made per lookup");
    CHECK(!strcmp(run("torch.zeros(2, 3).shape, np.arange(4).tolist(), torch.tensor([[1, 2]]).float().dtype"), "(torch.Size([2, 3]), [0, 1, 2, 3], torch.float32)"),
          "%s", run("torch.zeros(2, 3).shape, np.arange(4).tolist(), torch.tensor([[1, 2]]).float().dtype"));
    CHECK(!strcmp(run("isinstance(zeros(2), torch.Tensor), isinstance([1], torch.Tensor)"), "(True, False)"), "%s", run("isinstance(zeros(2), torch.Tensor)"));
    /* tensor methods as functions, the tensor first */
    const char *m = run("x = tensor([[1.0, 5.0], [3.0, 2.0]])\n"
                        "torch.mean(x, dim=0).tolist(), torch.argmax(x, -1).tolist(), np.sum(x, 1).tolist(), "
                        "F.relu(x - 2).tolist(), torch.max(x).item(), torch.diagonal(x).tolist(), np.mean([1, 2, 3]).item(), torch.sum");
    CHECK(!strcmp(m, "([2.0, 3.5], [1, 0], [6.0, 5.0], [[0.0, 3.0], [1.0, 0.0]], 5.0, [1.0, 2.0], 2.0, <builtin Tensor.sum>)"), "%s", m);
    CHECK(!strcmp(run("torch.mean()"), "ERROR TypeError: mean() needs the tensor as its first argument"), "%s", run("torch.mean()"));
    CHECK(!strcmp(run("torch.set_grad_enabled(False)"), ""), "%s", run("torch.set_grad_enabled(False)"));
    CHECK(!strncmp(run("torch.set_grad_enabled(True)"), "ERROR NotImplementedError: lens computes no gradients", 52), "%s", run("torch.set_grad_enabled(True)"));
    CHECK(!strncmp(run("torch.optim.SGD"), "ERROR AttributeError", 20), "%s", run("torch.optim.SGD"));
    CHECK(!strcmp(run("topk = 3\ntorch.topk(tensor([1.0, 5.0, 3.0]), k=topk).indices.tolist()"), "[1, 2, 0]"), "a global shadows nothing inside modules");
}

static void test_get_act_name_follows_transformer_lens(void)
{
    static const char *const cases[][2] = {
        {"utils.get_act_name('resid_post', 3)", "'blocks.3.hook_resid_post'"},
        {"utils.get_act_name('attn', 0)", "'blocks.0.attn.hook_pattern'"},
        {"utils.get_act_name('attn_logits', 2)", "'blocks.2.attn.hook_attn_scores'"},
        {"utils.get_act_name('z', 5, 'attn')", "'blocks.5.attn.hook_z'"},
        {"utils.get_act_name('v', 1)", "'blocks.1.attn.hook_v'"},
        {"utils.get_act_name('post', 1)", "'blocks.1.mlp.hook_post'"},
        {"utils.get_act_name('mlp_post', 1)", "'blocks.1.mlp.hook_post'"},
        {"utils.get_act_name('mlp_out', 1)", "'blocks.1.hook_mlp_out'"},
        {"utils.get_act_name('scale')", "'ln_final.hook_scale'"},
        {"utils.get_act_name('normalized', 2, 'ln2')", "'blocks.2.ln2.hook_normalized'"},
        {"utils.get_act_name('scale', 4, 'b')", "'blocks.4.hook_scale'"},
        {"utils.get_act_name('embed')", "'hook_embed'"},
        {"utils.get_act_name('pos_embed')", "'hook_pos_embed'"},
        {"utils.get_act_name('z3a')", "'blocks.3.attn.hook_z'"},
        {"utils.get_act_name('pattern11')", "'blocks.11.attn.hook_pattern'"},
        {"utils.get_act_name('resid_pre', -1)", "'blocks.-1.hook_resid_pre'"},
        {"utils.get_act_name('blocks.0.hook_resid_pre')", "'blocks.0.hook_resid_pre'"},
        {"utils.get_act_name('hook_embed')", "'hook_embed'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(!strcmp(run(cases[i][0]), cases[i][1]), "%s gave %s", cases[i][0], run(cases[i][0]));
}

/* Each cell defines its lambda: a lambda lives as long as the cell that made it
 * until functions outlive cells. */
#define PARTIAL_F "f = functools.partial(lambda a, b, c=0: a * 100 + b * 10 + c, 1, c=5)\n"

static void test_partial_binds_arguments(void)
{
    CHECK(!strcmp(run(PARTIAL_F "f(2), f(2, c=7), f.args, f.keywords"), "(125, 127, (1,), {'c': 5})"), "%s", run(PARTIAL_F "f(2)"));
    CHECK(!strcmp(run(PARTIAL_F "f"), "functools.partial(<function <lambda>>, 1, c=5)"), "%s", run(PARTIAL_F "f"));
    CHECK(!strcmp(run("functools.partial(max, 3)(1, 7)"), "7"), "%s", run("functools.partial(max, 3)(1, 7)"));
    CHECK(!strncmp(run("functools.partial(3)"), "ERROR TypeError: the first argument of partial() must be callable, not int", 70), "%s", run("functools.partial(3)"));
    CHECK(!strncmp(run(PARTIAL_F "f(1, 2, 3)"), "ERROR TypeError", 15), "%s", run(PARTIAL_F "f(1, 2, 3)"));
}

static void test_px_figures_show_once_on_show(void)
{
    CHECK(!strcmp(run("fig = px.line(y=np.arange(5), title='t')\nprint(type(fig))"), "<class 'Figure'>\n"), "%s", OUT);
    CHECK(R.n == 0, "px.line made %d displays before .show()", R.n);
    run("fig.show()");
    CHECK(R.n == 1 && cJSON_GetObjectItem(R.bundles[0], "application/vnd.plotly.v1+json"), "%d displays", R.n);
    run("px.imshow(zeros(2, 3), color_continuous_midpoint=0.0, color_continuous_scale='RdBu', labels={'x': 'Head', 'y': 'Layer'}).show(None)");
    CHECK(R.n == 1 && RESULT == NULL, "imshow(...).show(renderer) displays once: %d", R.n);
    run("px.scatter(x=[1, 2], y=[3, 4], labels={'x': 'a', 'y': 'b', 'color': ''}).update_layout(title='s').show()");
    CHECK(R.n == 1, "%d displays: %s", R.n, ERR.evalue);
    const cJSON *fig = R.n ? cJSON_GetObjectItem(R.bundles[0], "application/vnd.plotly.v1+json") : NULL;
    const cJSON *title = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(fig, "layout"), "title"), "text");
    CHECK(cJSON_IsString(title) && !strcmp(title->valuestring, "s"), "update_layout(title=) sets layout.title.text");
    run("px.line(y=[1, 2]).update_layout(xaxis_title='pos', height=300).show()");
    fig = R.n ? cJSON_GetObjectItem(R.bundles[0], "application/vnd.plotly.v1+json") : NULL;
    const cJSON *lay = cJSON_GetObjectItem(fig, "layout");
    const cJSON *xt = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(lay, "xaxis"), "title"), "text");
    CHECK(cJSON_IsString(xt) && !strcmp(xt->valuestring, "pos") && cJSON_GetNumberValue(cJSON_GetObjectItem(lay, "height")) == 300,
          "xaxis_title and height: %s", ERR.evalue);
    /* help(px.imshow) is imshow's, with what the module binds */
    value *pxm = lang_dict_get_str(S->I.modules, "plotly.express");
    char *h = pxm ? lang_help_text(&S->I, lang_module_get(pxm, "imshow")) : NULL;
    CHECK(h && !strncmp(h, "imshow(img, ", 12) && strstr(h, "As functools.partial(<builtin imshow>, show=False)."), "%s", h);
    free(h);
    char path[] = "/tmp/lens-test-px-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    char code[128];
    snprintf(code, sizeof code, "px.bar(y=[1, 2, 3]).write_html('%s')", path);
    run(code);
    unlink(path);
    CHECK(R.n == 0 && !ERR.ename[0], "write_html displays nothing: %s", ERR.evalue);
}

static void test_html_and_attention_views(void)
{
    run("display(HTML('<h3>Top heads</h3>'))");
    CHECK(R.n == 1, "%d displays", R.n);
    const cJSON *h = R.n ? cJSON_GetObjectItem(R.bundles[0], "text/html") : NULL;
    CHECK(cJSON_IsString(h) && !strcmp(h->valuestring, "<h3>Top heads</h3>"), "");
    run("HTML('<b>x</b>')");
    h = RESULT ? cJSON_GetObjectItem(RESULT, "text/html") : NULL;
    CHECK(cJSON_IsString(h) && !strcmp(h->valuestring, "<b>x</b>") && R.n == 0, "HTML as the cell's value");
    /* pysvelte: [query, key, heads]; circuitsvis: [heads, query, key] */
    const char *pat = "p = tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])\n"
                      "toks = ['<bos>', ' a', ' b']\n";
    run(pat);
    run("pysvelte.AttentionMulti(attention=stack([p, p], dim=-1), tokens=toks, head_labels=['L0H1', 'L2H3']).show()");
    CHECK(R.n == 1, "%d displays: %s", R.n, ERR.evalue);
    h = R.n ? cJSON_GetObjectItem(R.bundles[0], "text/html") : NULL;
    CHECK(cJSON_IsString(h) && strstr(h->valuestring, "L2H3") && strstr(h->valuestring, "&lt;bos&gt;"), "");
    const char *r = run("circuitsvis.attention.attention_patterns(tokens=toks, attention=stack([p, p, p]))");
    CHECK(RESULT && cJSON_GetObjectItem(RESULT, "text/html") && R.n == 0, "shown as the cell's value: %s", r);
    CHECK(!strncmp(run("pysvelte.AttentionMulti(attention=stack([p, p], dim=-1), tokens=toks[:2])"),
                   "ERROR ValueError: AttentionMulti(): 2 tokens for an attention pattern of 3 x 3 positions", 80), "%s",
          run("pysvelte.AttentionMulti(attention=stack([p, p], dim=-1), tokens=toks[:2])"));
}

static void test_placeholders_serve_annotations(void)
{
    CHECK(!strcmp(run("typing.List[int], typing.Union[typing.List[int], int]"),
                  "(<typing.List (lens: for imports and annotations)>, <typing.Union (lens: for imports and annotations)>)"), "%s", run("typing.List[int]"));
    CHECK(!strcmp(run("jaxtyping.Float[torch.Tensor, 'batch d_model']"), "<jaxtyping.Float (lens: for imports and annotations)>"), "%s", run("jaxtyping.Float[torch.Tensor, 'b']"));
    CHECK(!strcmp(run("transformers.AutoConfig()"), "ERROR NotImplementedError: transformers.AutoConfig is provided by lens for imports and type annotations only; it cannot be called"),
          "%s", run("transformers.AutoConfig()"));
}

static void test_gpu_spelling_runs_on_lens(void)
{
    CHECK(!strcmp(run("x = arange(6).reshape(2, 3)\nx.cuda().cpu().to('cuda').detach().numpy().tolist()"), "[[0, 1, 2], [3, 4, 5]]"), "%s", run("x.cuda()"));
    CHECK(!strcmp(run("utils.to_numpy(x) is x, utils.to_numpy([1, 2]).tolist()"), "(True, [1, 2])"), "%s", run("utils.to_numpy(x) is x"));
    CHECK(!strcmp(run("list(tqdm.tqdm(range(3), desc='steps'))"), "[0, 1, 2]"), "%s", run("tqdm.tqdm(range(3))"));
}

int main(void)
{
    S = lang_session_new();
    if (!S) { fprintf(stderr, "no session\n"); return 1; }
    /* what `import X` will bind, bound by hand for the modules that are not pre-bound */
    static const char *const bind[][2] = {{"tqdm", "tqdm"}, {"IPython", "IPython"}, {"pysvelte", "pysvelte"},
                                          {"circuitsvis", "circuitsvis"}, {"typing", "typing"}, {"jaxtyping", "jaxtyping"},
                                          {"transformers", "transformers"}};
    for (size_t i = 0; i < sizeof bind / sizeof *bind; i++) {
        value *m = lang_module_import(&S->I, bind[i][1]);
        CHECK(m && lang_dict_set_str(S->I.globals, bind[i][0], m) == 0, "%s", bind[i][1]);
    }
    run("HTML = IPython.display.HTML");
    RUN(test_every_table_member_resolves_to_the_builtin_it_names);
    RUN(test_aliases_and_submodules);
    RUN(test_get_act_name_follows_transformer_lens);
    RUN(test_partial_binds_arguments);
    RUN(test_px_figures_show_once_on_show);
    RUN(test_html_and_attention_views);
    RUN(test_placeholders_serve_annotations);
    RUN(test_gpu_spelling_runs_on_lens);
    rec_clear(&R);
    cJSON_Delete(RESULT);
    lang_error_clear(&ERR);
    lang_session_free(S);
    return harness_summary();
}
