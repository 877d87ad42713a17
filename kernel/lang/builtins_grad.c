/* kernel/lang/builtins_grad.c — gradients and attribution patching in the
 * language (lens/backward.h underneath): the metrics a backward pass can
 * differentiate (normalized_logit_diff's objects, logit_diff_metric's, and
 * functions of the logits, through the tape of lens/tape.h), and
 * attribution_patch(), patch()'s maps estimated from one forward and one
 * backward pass. run_with_cache(..., metric=m, incl_bwd=True) in
 * builtins_model.c calls lang_grad_metric.
 *
 * Owns: the metric objects' conversion to engine metrics, calling a metric
 * function under the tape, logit_diff_metric and attribution_patch. Does not own: the normalised metric's type
 * (builtins_patching.c) or the caches (builtins_model.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "builtins_device.h"
#include "builtins_analysis.h"
#include "builtins_grad.h"
#include "lens/tape.h"
#include "lens/tensor_ops.h"
#include "namespaces.h"

/* ---- logit_diff_metric ------------------------------------------------------------------- */

typedef struct ld_metric { lens_tensor *answer_tokens; } ld_metric;

static value *ld_call(interp *I, value *self, args *a)
{
    ld_metric *mt = self->u.obj.data;
    lens_tensor *ld = lang_metric_logit_diff(I, a, mt->answer_tokens);
    return ld ? v_tensor(ld) : NULL;
}

static value *ld_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    ld_metric *mt = self->u.obj.data;
    if (!strcmp(name, "answer_tokens")) return v_tensor(lens_tensor_ref(mt->answer_tokens));
    return NULL;
}

static char *ld_repr(value *self)
{
    ld_metric *mt = self->u.obj.data;
    char *s;
    if (asprintf(&s, "logit_diff_metric(<%lld prompts>)", (long long)mt->answer_tokens->shape[0]) < 0) return NULL;
    return s;
}

static void ld_free(void *d)
{
    ld_metric *mt = d;
    lens_tensor_free(mt->answer_tokens);
    free(mt);
}

static const char *const ld_attrs[] = {"answer_tokens", NULL};
static const lang_type ld_type = {
    .name = "LogitDiffMetric", .getattr = ld_getattr, .call = ld_call, .repr = ld_repr, .free = ld_free,
    .attrs = ld_attrs,
    .doc = "The mean logit difference (correct - wrong answer) at each prompt's last position, as a metric that "
           "run_with_cache(..., incl_bwd=True) can differentiate. Call it on logits."};

static const lang_param b_logit_diff_metric_params[] = {
    {"answer_tokens", LANG_REQUIRED}, {NULL}};

static value *b_logit_diff_metric(interp *I, value *self, args *a)
{
    (void)self;
    value *av = lang_arg(a, "answer_tokens");
    lens_tensor *ans = lang_engine_tensor(I, av, LENS_I64);
    if (!ans) return NULL;
    if (ans->ndim != 2 || ans->shape[1] != 2) {
        lens_tensor_free(ans);
        return lang_raise(I, "ValueError", "logit_diff_metric: answer_tokens must be [batch, 2] (correct, wrong)");
    }
    ld_metric *mt = malloc(sizeof *mt);
    lens_tensor *c = lens_tensor_contiguous(ans);
    lens_tensor_free(ans);
    if (!mt || !c) { free(mt); lens_tensor_free(c); return lang_raise(I, "MemoryError", "out of memory"); }
    mt->answer_tokens = c;
    return v_object(&ld_type, mt);
}

/* ---- metrics written as functions ---------------------------------------------------- */

/* Calls the user's metric on the logits with a tape recording, then backpropagates
 * to the logits rows it read. Errors are raised on the interpreter too. */
static int user_metric_eval(void *ctx, const lens_tensor *logits, double *val, int64_t *n, int64_t **rows,
                            lens_tensor **grad, lens_error *err)
{
    lang_user_metric *um = ctx;
    interp *I = um->I;
    lens_tape *tape = lens_tape_new();
    if (!tape || lens_tape_watch(tape, logits, err)) {
        lens_tape_free(tape);
        lang_raise(I, "MemoryError", "out of memory");
        return lens_fail_oom(err);
    }
    lens_tensor *lr = lens_tensor_ref(logits);
    value *lv = lr ? v_tensor(lr) : NULL, *r = NULL;
    int rc = -1;
    if (!lv) { lang_raise(I, "MemoryError", "out of memory"); lens_fail_oom(err); goto done; }
    args ca = {&lv, 1, NULL, NULL, 0};
    lens_tape *prev = lens_tape_activate(tape);
    r = lang_call_value(I, um->fn, &ca);
    lens_tape_activate(prev);
    if (!r) { lens_fail(err, "the metric raised an exception"); goto done; }
    if (r->type != V_TENSOR) {
        lang_raise(I, "TypeError", "the metric must return a tensor with one element computed from the logits "
                                   "(as TransformerLens's metrics do), not a %s", lang_type_name(r));
        lens_fail(err, "the metric returned a %s", lang_type_name(r));
        goto done;
    }
    if (lens_tape_backward(tape, r->u.tensor.t, err) || lens_tensor_item(r->u.tensor.t, val, err) ||
        lens_tape_rows(tape, logits, n, rows, grad, err)) {
        lang_raise(I, strstr(err->msg, "one number") ? "ValueError" : "TypeError", "%s", err->msg);
        goto done;
    }
    rc = 0;
done:
    lang_decref(r);
    lang_decref(lv);
    lens_tape_free(tape);
    return rc;
}

int lang_grad_metric(interp *I, value *metric, const char *fn, lang_user_metric *um, lens_grad_metric *out)
{
    const lens_metric *nm = lang_metric_of(metric);
    if (nm) { *out = lens_grad_metric_normalized(nm); return 0; }
    if (metric && metric->type == V_OBJECT && metric->u.obj.type == &ld_type) {
        *out = lens_grad_metric_logit_diff(((ld_metric *)metric->u.obj.data)->answer_tokens);
        return 0;
    }
    if (metric && metric->type != V_NONE && lang_is_callable(metric)) {
        *um = (lang_user_metric){.I = I, .fn = metric};
        *out = lens_grad_metric_of_logits(user_metric_eval, um);
        return 0;
    }
    if (!metric || metric->type == V_NONE)
        lang_raise(I, "TypeError", "%s: gradients need metric= (normalized_logit_diff(...), logit_diff_metric(answer_tokens) "
                                   "or a function of the logits)", fn);
    else
        lang_raise(I, "TypeError", "%s: metric must be made by normalized_logit_diff(...) or logit_diff_metric(answer_tokens), "
                                   "or be a function of the logits; it cannot differentiate a %s", fn, lang_type_name(metric));
    return -1;
}

/* ---- attribution_patch ------------------------------------------------------------------------ */

static const lang_param b_attribution_patch_params[] = {
    {"model", LANG_REQUIRED}, {"corrupted_tokens", LANG_REQUIRED}, {"clean_cache", LANG_REQUIRED},
    {"hook", LANG_REQUIRED}, {"metric", LANG_REQUIRED}, {"by", LANG_OPTIONAL, "\"pos\""}, {NULL}};

static value *b_attribution_patch(interp *I, value *self, args *a)
{
    (void)self;
    value *mv = lang_arg(a, "model"), *tv = lang_arg(a, "corrupted_tokens"), *cv = lang_arg(a, "clean_cache");
    value *hv = lang_arg(a, "hook"), *metv = lang_arg(a, "metric"), *bv = lang_arg(a, "by");
    lens_model *m = lang_model_of(mv);
    lens_cache *c = cv ? lang_cache_of(cv, NULL) : NULL;
    if (!m || !tv || !c || !hv || !metv)
        return lang_raise(I, "TypeError", "attribution_patch(model, corrupted_tokens, clean_cache, hook, metric, "
                                          "by=\"pos\"|\"head\"|\"head_pos\")");
    lang_user_metric um;
    lens_grad_metric gm;
    if (lang_grad_metric(I, metv, "attribution_patch", &um, &gm)) return NULL;
    const char *hook = lang_arg_str(I, hv, "hook");
    if (!hook) return NULL;
    lens_patch_by by = LENS_PATCH_BY_POS;
    if (bv && bv->type != V_NONE) {
        const char *s = lang_arg_str(I, bv, "by");
        if (!s) return NULL;
        if (!strcmp(s, "pos") || !strcmp(s, "position")) by = LENS_PATCH_BY_POS;
        else if (!strcmp(s, "head")) by = LENS_PATCH_BY_HEAD;
        else if (!strcmp(s, "head_pos") || !strcmp(s, "head_position")) by = LENS_PATCH_BY_HEAD_POS;
        else return lang_raise(I, "ValueError", "by must be \"pos\", \"head\" or \"head_pos\", not \"%s\"", s);
    }
    lens_tensor *tokens = lang_engine_tensor(I, tv, LENS_I64);
    if (!tokens) return NULL;
    lens_error err;
    lens_tensor *r = lens_attribution_patch_grad(m, tokens, c, hook, &gm, by, &err);
    lens_tensor_free(tokens);
    if (!r && I->error) return NULL;   /* raised by the metric function */
    return r ? v_tensor(r) : lang_engine_error(I, &err);
}

const lang_builtin builtins_grad[] = {
    {"logit_diff_metric", b_logit_diff_metric, "The mean logit difference at the last position as a metric for run_with_cache(tokens, metric=m, incl_bwd=True): "
     "m(logits) is logit_diff(logits, answer_tokens).", b_logit_diff_metric_params},
    {"attribution_patch", b_attribution_patch, "Attribution patching: patch()'s map estimated to first order, each cell (clean - corrupted activation) . "
     "d metric / d activation summed over the cell, from one forward and one backward pass on the corrupted tokens. "
     "Same arguments and shapes as patch() (metric may also be logit_diff_metric(...) or a function of the logits "
     "returning one number as a tensor): [n_layers, pos] (by=\"pos\"), [n_layers, n_heads] (\"head\") or "
     "[n_layers, pos, n_heads] (\"head_pos\"). Good for head outputs; for the residual stream at early layers, where "
     "a patch replaces a token's whole representation, it can fall well short of the exact value.", b_attribution_patch_params},
    {NULL, NULL, NULL, NULL},
};
