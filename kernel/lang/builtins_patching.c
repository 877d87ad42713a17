/* kernel/lang/builtins_patching.c — interventions and activation patching in
 * the language (lens/patching.h underneath): hook values made by patch_hook,
 * zero_ablate, mean_ablate and scale_hook (passed as hooks=[...] to
 * run_with_cache / run_with_hooks), the normalized_logit_diff metric, and
 * patch(), a sweep over layers x positions / heads with a progress display. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "builtins_device.h"
#include "builtins_analysis.h"
#include "lens/tensor_ops.h"
#include "progress.h"

/* ---- hook values ---------------------------------------------------------------------- */

typedef struct hook_obj {
    lens_iv_kind kind;
    char *name;          /* short ("z") or full ("blocks.3.attn.hook_z") hook name */
    int64_t layer;       /* LENS_NO_LAYER when not given */
    int64_t head, pos;   /* LENS_ALL when not given */
    /* pos=[...] / head=[...]: several positions or heads (same layer); the hook
     * stands for one intervention per (position, head) pair. NULL: the single
     * pos / head above. */
    int64_t *positions, *heads;
    int n_positions, n_heads;
    double factor;
    value *cache;        /* patch source / mean_ablate over (ActivationCache) or NULL */
} hook_obj;

static const lang_type hook_type;

static const char *kind_name(lens_iv_kind k)
{
    switch (k) {
    case LENS_IV_PATCH: return "patch_hook";
    case LENS_IV_ZERO: return "zero_ablate";
    case LENS_IV_MEAN: return "mean_ablate";
    case LENS_IV_SCALE: return "scale_hook";
    }
    return "hook";
}

/* ", pos=[1, 3]" */
static void index_list(char *out, size_t size, const char *prefix, const int64_t *v, int n)
{
    size_t k = (size_t)snprintf(out, size, "%s[", prefix);
    for (int i = 0; i < n && k < size; i++) k += (size_t)snprintf(out + k, size - k, i ? ", %lld" : "%lld", (long long)v[i]);
    if (k < size) snprintf(out + k, size - k, "]");
}

static char *hook_repr(value *self)
{
    hook_obj *h = self->u.obj.data;
    char layer[32] = "", head[256] = "", pos[256] = "", factor[48] = "";
    if (h->layer != LENS_NO_LAYER) snprintf(layer, sizeof layer, ", layer=%lld", (long long)h->layer);
    if (h->heads) index_list(head, sizeof head, ", head=", h->heads, h->n_heads);
    else if (h->head != LENS_ALL) snprintf(head, sizeof head, ", head=%lld", (long long)h->head);
    if (h->positions) index_list(pos, sizeof pos, ", pos=", h->positions, h->n_positions);
    else if (h->pos != LENS_ALL) snprintf(pos, sizeof pos, ", pos=%lld", (long long)h->pos);
    if (h->kind == LENS_IV_SCALE) snprintf(factor, sizeof factor, ", %g", h->factor);
    char *s;
    if (asprintf(&s, "%s('%s'%s%s%s%s%s)", kind_name(h->kind), h->name, factor, layer, head, pos,
                 h->cache ? ", <cache>" : "") < 0) return NULL;
    return s;
}

static void hook_free(void *d)
{
    hook_obj *h = d;
    free(h->name);
    free(h->positions);
    free(h->heads);
    if (h->cache) lang_decref(h->cache);
    free(h);
}

static const lang_type hook_type = {
    .name = "Hook", .repr = hook_repr, .free = hook_free,
    .doc = "An intervention for run_with_cache(..., hooks=[...]) / run_with_hooks: made by patch_hook, zero_ablate, "
           "mean_ablate or scale_hook."};

/* Common arguments: name, layer=, head=, pos=. A head given as (layer, head) or "L9H9" sets the layer. */
static value *make_hook(interp *I, args *a, lens_iv_kind kind, const char *fn)
{
    const char *name = lang_arg_str(I, lang_arg(a, "name"), "name");
    if (!name) return NULL;
    hook_obj *h = calloc(1, sizeof *h);
    if (!h || !(h->name = strdup(name))) { free(h); return lang_raise(I, "MemoryError", "out of memory"); }
    h->kind = kind;
    h->layer = LENS_NO_LAYER;
    h->head = h->pos = LENS_ALL;
    h->factor = 1;
    value *v;
    if ((v = lang_arg(a, "layer")) && v->type != V_NONE && lang_arg_int(I, v, "layer", &h->layer)) goto fail;
    if ((v = lang_arg(a, "pos")) && v->type != V_NONE) {
        if (v->type == V_LIST || v->type == V_TUPLE) {
            size_t n = v->u.list.n;
            if (!n) { lang_raise(I, "ValueError", "%s: pos=[] names no position", fn); goto fail; }
            if (!(h->positions = calloc(n, sizeof *h->positions))) { lang_raise(I, "MemoryError", "out of memory"); goto fail; }
            for (size_t i = 0; i < n; i++)
                if (lang_arg_int(I, v->u.list.items[i], "pos", &h->positions[i])) goto fail;
            h->n_positions = (int)n;
        } else if (lang_arg_int(I, v, "pos", &h->pos)) goto fail;
    }
    if ((v = lang_arg(a, "head")) && v->type != V_NONE) {
        /* A list holds several heads (ints in layer=, or "L9H9" / (layer, head) of
         * one layer); a string or a tuple is one head and sets the layer. The model
         * is not known yet: the form is checked now, the ranges when the hook runs. */
        bool many = v->type == V_LIST;
        size_t n = many ? v->u.list.n : 1;
        if (!n) { lang_raise(I, "ValueError", "%s: head=[] names no head", fn); goto fail; }
        int64_t *heads = calloc(n, sizeof *heads);
        if (!heads) { lang_raise(I, "MemoryError", "out of memory"); goto fail; }
        if (many) { h->heads = heads; h->n_heads = (int)n; }
        for (size_t i = 0; i < n; i++) {
            value *e = many ? v->u.list.items[i] : v;
            if (e->type == V_STR || e->type == V_TUPLE || (!many && e->type == V_LIST)) {
                lens_config any = {.n_layers = 1 << 30, .n_heads = 1 << 30};
                int l, hd;
                if (lang_parse_head(I, &any, e, &l, &hd)) { if (!many) free(heads); goto fail; }
                if (h->layer != LENS_NO_LAYER && h->layer != l) {
                    lang_raise(I, "ValueError", "%s: head %s is in layer %d but the hook is in layer %lld", fn,
                               e->type == V_STR ? e->u.str.s : "(layer, head)", l, (long long)h->layer);
                    if (!many) free(heads);
                    goto fail;
                }
                h->layer = l;
                heads[i] = hd;
            } else if (lang_arg_int(I, e, "head", &heads[i])) { if (!many) free(heads); goto fail; }
        }
        if (!many) { h->head = heads[0]; free(heads); }
    }
    return v_object(&hook_type, h);
fail:
    hook_free(h);
    return NULL;
}

static const lang_param b_zero_ablate_params[] = {
    {"name", LANG_REQUIRED}, {"layer", LANG_OPTIONAL, "None"}, {"head", LANG_OPTIONAL, "None"},
    {"pos", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_zero_ablate(interp *I, value *self, args *a)
{
    (void)self;
    return make_hook(I, a, LENS_IV_ZERO, "zero_ablate");
}

static const lang_param b_mean_ablate_params[] = {
    {"name", LANG_REQUIRED}, {"layer", LANG_OPTIONAL, "None"}, {"head", LANG_OPTIONAL, "None"},
    {"pos", LANG_OPTIONAL, "None"}, {"over", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_mean_ablate(interp *I, value *self, args *a)
{
    (void)self;
    value *over = lang_arg(a, "over");
    if (over && over->type != V_NONE && !lang_cache_of(over, NULL))
        return lang_raise(I, "TypeError", "mean_ablate: over must be an ActivationCache (or None: the run's own batch mean)");
    value *h = make_hook(I, a, LENS_IV_MEAN, "mean_ablate");
    if (h && over && over->type != V_NONE) ((hook_obj *)h->u.obj.data)->cache = lang_incref(over);
    return h;
}

static const lang_param b_scale_hook_params[] = {
    {"name", LANG_REQUIRED}, {"factor", LANG_REQUIRED}, {"layer", LANG_OPTIONAL, "None"},
    {"head", LANG_OPTIONAL, "None"}, {"pos", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_scale_hook(interp *I, value *self, args *a)
{
    (void)self;
    double f;
    if (lang_arg_double(I, lang_arg(a, "factor"), "factor", &f)) return NULL;
    value *h = make_hook(I, a, LENS_IV_SCALE, "scale_hook");
    if (h) ((hook_obj *)h->u.obj.data)->factor = f;
    return h;
}

static const lang_param b_patch_hook_params[] = {
    {"name", LANG_REQUIRED}, {"cache", LANG_REQUIRED}, {"layer", LANG_OPTIONAL, "None"},
    {"pos", LANG_OPTIONAL, "None"}, {"head", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_patch_hook(interp *I, value *self, args *a)
{
    (void)self;
    value *cv = lang_arg(a, "cache");
    if (!lang_cache_of(cv, NULL))
        return lang_raise(I, "TypeError", "patch_hook(name, cache, layer=None, pos=None, head=None): cache must be an ActivationCache");
    value *h = make_hook(I, a, LENS_IV_PATCH, "patch_hook");
    if (h) ((hook_obj *)h->u.obj.data)->cache = lang_incref(cv);
    return h;
}

int lang_hooks_to_interventions(interp *I, value *model, value *hooks, lens_intervention **out, int *n)
{
    lens_model *m = lang_model_of(model);
    const lens_config *cfg = lens_model_config(m);
    *out = NULL;
    *n = 0;
    if (hooks->type == V_OBJECT && hooks->u.obj.type == &hook_type) {
        /* a single hook is a list of one */
        value *l = v_list(1);
        lang_list_append(l, lang_incref(hooks));
        int rc = lang_hooks_to_interventions(I, model, l, out, n);
        lang_decref(l);
        return rc;
    }
    if (hooks->type != V_LIST && hooks->type != V_TUPLE) {
        lang_raise(I, "TypeError", "hooks must be a list of hooks (patch_hook, zero_ablate, mean_ablate, scale_hook)");
        return -1;
    }
    /* Each hook is one intervention per (position, head) it names. */
    size_t count = 0;
    for (size_t i = 0; i < hooks->u.list.n; i++) {
        value *hv = hooks->u.list.items[i];
        if (hv->type != V_OBJECT || hv->u.obj.type != &hook_type) {
            lang_raise(I, "TypeError", "hooks[%zu] is a %s, not a hook (patch_hook, zero_ablate, mean_ablate, scale_hook)", i, lang_type_name(hv));
            return -1;
        }
        hook_obj *h = hv->u.obj.data;
        count += (size_t)(h->positions ? h->n_positions : 1) * (size_t)(h->heads ? h->n_heads : 1);
    }
    lens_intervention *ivs = calloc(count ? count : 1, sizeof *ivs);
    if (!ivs) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
    lens_error err;
    size_t k = 0;
    for (size_t i = 0; i < hooks->u.list.n; i++) {
        hook_obj *h = hooks->u.list.items[i]->u.obj.data;
        char full[128];
        if (lens_act_name(cfg, h->name, h->layer == LENS_NO_LAYER ? LENS_NO_LAYER : (int)h->layer, NULL, full, sizeof full, &err)) {
            lang_raise(I, "ValueError", "%s", err.msg);
            goto fail;
        }
        const lens_tensor *source = NULL;
        if (h->cache) {
            value *cm;
            lens_cache *c = lang_cache_of(h->cache, &cm);
            source = lens_cache_get(c, full);
            if (!source) {
                lang_raise(I, "KeyError", "%s: the cache has no %s", kind_name(h->kind), full);
                goto fail;
            }
        }
        int np = h->positions ? h->n_positions : 1, nh = h->heads ? h->n_heads : 1;
        for (int p = 0; p < np; p++)
            for (int q = 0; q < nh; q++, k++) {
                ivs[k] = (lens_intervention){.kind = h->kind, .factor = h->factor, .source = source,
                                             .pos = h->positions ? h->positions[p] : h->pos,
                                             .head = h->heads ? h->heads[q] : h->head};
                snprintf(ivs[k].hook, sizeof ivs[k].hook, "%s", full);
            }
    }
    if (lens_interventions_check(m, ivs, (int)count, &err)) { lang_raise(I, "ValueError", "%s", err.msg); goto fail; }
    *out = ivs;
    *n = (int)count;
    return 0;
fail:
    free(ivs);
    return -1;
}

/* ---- the metric ------------------------------------------------------------------------- */

static const lang_type metric_type;

/* A metric is called as its object's type, not through a table entry: it binds this spec itself. */
static const lang_param metric_call_params[] = {{"logits", LANG_REQUIRED}, {"tokens", LANG_OPTIONAL, "None"}, {NULL}};
static const lang_builtin metric_call_def = {"metric", NULL, NULL, metric_call_params};

lens_tensor *lang_metric_logit_diff(interp *I, args *a, const lens_tensor *answer_tokens)
{
    if (lang_bind_args(I, &metric_call_def, a)) return NULL;
    value *lv = lang_arg(a, "logits"), *tv = lang_arg(a, "tokens");
    lens_tensor *logits = lang_engine_tensor(I, lv, LENS_F32);
    lens_tensor *tokens = logits && tv && tv->type != V_NONE ? lang_engine_tensor(I, tv, LENS_I64) : NULL;
    if (!logits || I->error) { lens_tensor_free(logits); lens_tensor_free(tokens); return NULL; }
    lens_error err;
    lens_tensor *ld = lens_logit_diff(NULL, logits, answer_tokens, tokens, false, &err);
    lens_tensor_free(logits);
    lens_tensor_free(tokens);
    if (!ld) lang_engine_error(I, &err);
    return ld;
}

static value *metric_call(interp *I, value *self, args *a)
{
    lens_metric *mt = self->u.obj.data;
    lens_tensor *ld = lang_metric_logit_diff(I, a, mt->answer_tokens);
    if (!ld) return NULL;
    lens_error err;
    double x;
    if (lens_tensor_item(ld, &x, &err)) { lens_tensor_free(ld); return lang_engine_error(I, &err); }
    lens_tensor_free(ld);
    return v_float(lens_metric_value(mt, x));
}

static value *metric_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    lens_metric *mt = self->u.obj.data;
    if (!strcmp(name, "clean")) return v_float(mt->clean);
    if (!strcmp(name, "corrupted")) return v_float(mt->corrupted);
    if (!strcmp(name, "answer_tokens")) return v_tensor(lens_tensor_ref(mt->answer_tokens));
    return NULL;
}

static char *metric_repr(value *self)
{
    lens_metric *mt = self->u.obj.data;
    char *s;
    if (asprintf(&s, "normalized_logit_diff(clean=%.4f, corrupted=%.4f)", mt->clean, mt->corrupted) < 0) return NULL;
    return s;
}

static void metric_free(void *d) { lens_metric_free(d); }

const lens_metric *lang_metric_of(value *v)
{
    return v && v->type == V_OBJECT && v->u.obj.type == &metric_type ? v->u.obj.data : NULL;
}

static const char *const metric_attrs[] = {"clean", "corrupted", "answer_tokens", NULL};
static const lang_type metric_type = {
    .name = "NormalizedLogitDiff", .getattr = metric_getattr, .call = metric_call, .repr = metric_repr,
    .free = metric_free, .attrs = metric_attrs,
    .doc = "(logit_diff - corrupted) / (clean - corrupted) of the mean logit difference: 0 = no effect, 1 = fully "
           "restored. Call it on logits; patch() uses it."};

static const lang_param b_normalized_logit_diff_params[] = {
    {"answer_tokens", LANG_REQUIRED}, {"clean", LANG_REQUIRED},
    {"corrupted", LANG_REQUIRED}, {"clean_tokens", LANG_KEYWORD, "None"},
    {"corrupted_tokens", LANG_KEYWORD, "None"}, {NULL}};

static value *b_normalized_logit_diff(interp *I, value *self, args *a)
{
    (void)self;
    value *av = lang_arg(a, "answer_tokens"), *cv = lang_arg(a, "clean"), *xv = lang_arg(a, "corrupted");
    value *ctv = lang_arg(a, "clean_tokens"), *xtv = lang_arg(a, "corrupted_tokens");
    lens_tensor *ans = lang_engine_tensor(I, av, LENS_I64);
    lens_tensor *cl = ans ? lang_engine_tensor(I, cv, LENS_F32) : NULL;
    lens_tensor *co = cl ? lang_engine_tensor(I, xv, LENS_F32) : NULL;
    lens_tensor *ct = co && ctv && ctv->type != V_NONE ? lang_engine_tensor(I, ctv, LENS_I64) : NULL;
    lens_tensor *xt = co && xtv && xtv->type != V_NONE ? lang_engine_tensor(I, xtv, LENS_I64) : NULL;
    lens_error err;
    lens_metric *mt = co && !I->error ? lens_metric_normalized_logit_diff(NULL, ans, cl, ct, co, xt, &err) : NULL;
    bool raised = I->error;
    lens_tensor *all[] = {ans, cl, co, ct, xt};
    for (int i = 0; i < 5; i++) lens_tensor_free(all[i]);
    if (raised) return NULL;
    if (!mt) return lang_engine_error(I, &err);
    return v_object(&metric_type, mt);
}

/* ---- patch ------------------------------------------------------------------------------ */

typedef struct progress_ctx { interp *I; char id[64]; int64_t shown; } progress_ctx;

static void show_progress(void *ctx, int64_t done, int64_t total)
{
    progress_ctx *p = ctx;
    interp *I = p->I;
    if (!I->out || !I->out->display) return;
    /* first, last, and about every tenth */
    if (p->shown >= 0 && done != total && (done - p->shown) * 10 < total) return;
    cJSON *b = display_progress_bundle("patching", (long)done, (long)total, NULL);
    if (b) I->out->display(I->out->ctx, b, p->id, p->shown >= 0);
    cJSON_Delete(b);
    p->shown = done;
}

static const lang_param b_patch_params[] = {
    {"model", LANG_REQUIRED}, {"corrupted_tokens", LANG_REQUIRED}, {"clean_cache", LANG_REQUIRED},
    {"hook", LANG_REQUIRED}, {"metric", LANG_REQUIRED}, {"by", LANG_OPTIONAL, "\"pos\""},
    {"cells_per_pass", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_patch(interp *I, value *self, args *a)
{
    (void)self;
    value *mv = lang_arg(a, "model"), *tv = lang_arg(a, "corrupted_tokens"), *cv = lang_arg(a, "clean_cache");
    value *hv = lang_arg(a, "hook"), *metv = lang_arg(a, "metric"), *bv = lang_arg(a, "by");
    lens_model *m = lang_model_of(mv);
    lens_cache *c = cv ? lang_cache_of(cv, NULL) : NULL;
    if (!m || !tv || !c || !hv || !metv)
        return lang_raise(I, "TypeError", "patch(model, corrupted_tokens, clean_cache, hook, metric, by=\"pos\"|\"head\"|\"head_pos\")");
    if (metv->type != V_OBJECT || metv->u.obj.type != &metric_type)
        return lang_raise(I, "TypeError", "patch: metric must be made by normalized_logit_diff(answer_tokens, clean=..., corrupted=...)");
    const char *hook = lang_arg_str(I, hv, "hook");
    if (!hook) return NULL;
    lens_patch_options o = lens_patch_options_default();
    if (bv && bv->type != V_NONE) {
        const char *by = lang_arg_str(I, bv, "by");
        if (!by) return NULL;
        if (!strcmp(by, "pos")) o.by = LENS_PATCH_BY_POS;
        else if (!strcmp(by, "head")) o.by = LENS_PATCH_BY_HEAD;
        else if (!strcmp(by, "head_pos")) o.by = LENS_PATCH_BY_HEAD_POS;
        else return lang_raise(I, "ValueError", "by must be \"pos\", \"head\" or \"head_pos\", not \"%s\"", by);
    }
    value *kv = lang_arg(a, "cells_per_pass");
    int64_t k = 0;
    if (kv && kv->type != V_NONE && lang_arg_int(I, kv, "cells_per_pass", &k)) return NULL;
    o.cells_per_pass = (int)k;
    static int counter;
    progress_ctx pc = {.I = I, .shown = -1};
    snprintf(pc.id, sizeof pc.id, "lens-patch-%d", ++counter);
    o.progress = show_progress;
    o.progress_ctx = &pc;
    lang_interrupted = 0;
    o.interrupt = (const volatile int *)&lang_interrupted;
    lens_tensor *tokens = lang_engine_tensor(I, tv, LENS_I64);
    if (!tokens) return NULL;
    lens_error err;
    lens_tensor *r = lens_patch_sweep(m, tokens, c, hook, metv->u.obj.data, &o, &err);
    lens_tensor_free(tokens);
    return r ? v_tensor(r) : lang_engine_error(I, &err);
}

const lang_builtin builtins_patching[] = {
    {"patch_hook", b_patch_hook,
     "A hook that writes the activation from cache (a clean run of same-shaped prompts) into the run, at every "
     "position and head or only at pos / head. name: a hook name (\"resid_pre\" with layer=, or \"blocks.3.hook_resid_pre\"); "
     "head: an int, (layer, head) or \"L9H9\".", b_patch_hook_params},
    {"zero_ablate", b_zero_ablate,
     "A hook that sets the activation (or one head / position of it) to zero, e.g. zero_ablate(\"z\", layer=9, head=9, pos=-1).",
     b_zero_ablate_params},
    {"mean_ablate", b_mean_ablate,
     "A hook that replaces the activation (or one head / position) by its mean over the batch of cache `over`, "
     "or of the run itself when over is None.", b_mean_ablate_params},
    {"scale_hook", b_scale_hook,
     "A hook that multiplies the activation (or one head / position) by factor.", b_scale_hook_params},
    {"normalized_logit_diff", b_normalized_logit_diff, "The patching metric: (logit_diff(patched) - logit_diff(corrupted)) / (logit_diff(clean) - logit_diff(corrupted)) "
     "of the mean logit difference. Callable on logits.", b_normalized_logit_diff_params},
    {"patch", b_patch, "Activation patching: for every layer and position (by=\"pos\"), head (\"head\", all positions) or position and "
     "head (\"head_pos\"), runs the corrupted tokens with that piece of `hook` (resid_pre, attn_out, mlp_out, z, v, q, k, "
     "pattern, ...) taken from clean_cache and scores the run with metric. Returns [n_layers, pos], [n_layers, n_heads] "
     "or [n_layers, pos, n_heads]. Many patched runs share one forward pass, starting at the patched layer.", b_patch_params},
    {NULL, NULL, NULL, NULL},
};
