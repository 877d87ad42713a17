/* interventions.c — patching, zero/mean ablation and scaling of a hook point's
 * activation (or one position / one head of it) during a forward pass, from
 * plain-data descriptions (lens/patching.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/patching.h"
#include "lens/suggest.h"
#include "lens/tensor_ops.h"
#include "model_internal.h"

static lens_intervention base(lens_iv_kind kind, const char *hook)
{
    lens_intervention iv = {.kind = kind, .pos = LENS_ALL, .head = LENS_ALL, .factor = 1.0};
    snprintf(iv.hook, sizeof iv.hook, "%s", hook);
    return iv;
}

lens_intervention lens_intervention_patch(const char *hook, const lens_tensor *source)
{
    lens_intervention iv = base(LENS_IV_PATCH, hook);
    iv.source = source;
    return iv;
}

lens_intervention lens_intervention_zero(const char *hook) { return base(LENS_IV_ZERO, hook); }

lens_intervention lens_intervention_mean(const char *hook, const lens_tensor *over)
{
    lens_intervention iv = base(LENS_IV_MEAN, hook);
    iv.source = over;
    return iv;
}

lens_intervention lens_intervention_scale(const char *hook, double factor)
{
    lens_intervention iv = base(LENS_IV_SCALE, hook);
    iv.factor = factor;
    return iv;
}

/* Which dims of a hook's activation are the position and the head (-1: none). */
static void hook_dims(const lens_config *cfg, const char *name, int *pos_dim, int *head_dim, bool *known)
{
    lens_hook_kind k;
    int layer;
    *known = !lens_hook_parse(cfg, name, &k, &layer);
    *pos_dim = 1;
    *head_dim = -1;
    if (!*known) return;
    switch (lens_hooks[k].shape) {
    case SH_BPHD: case SH_BPHM: *head_dim = 2; break;
    case SH_BHPP: *head_dim = 1; *pos_dim = 2; break;
    default: break;
    }
}

/* Narrows t to the intervention's position and head (keeping every dim). */
static lens_tensor *narrow_to(const lens_tensor *t, int pos_dim, int64_t pos, int head_dim, int64_t head,
                              lens_error *err)
{
    lens_tensor *v = lens_tensor_ref(t);
    if (pos != LENS_ALL) {
        int64_t p = pos < 0 ? pos + t->shape[pos_dim] : pos;
        if (p < 0 || p >= t->shape[pos_dim]) {
            lens_tensor_free(v);
            lens_fail(err, "position %lld is out of range for %lld positions", (long long)pos,
                      (long long)t->shape[pos_dim]);
            return NULL;
        }
        lens_tensor *x = lens_tensor_narrow(v, pos_dim, p, 1);
        lens_tensor_free(v);
        v = x;
    }
    if (v && head != LENS_ALL) {
        int64_t h = head < 0 ? head + t->shape[head_dim] : head;
        if (h < 0 || h >= t->shape[head_dim]) {
            lens_tensor_free(v);
            lens_fail(err, "head %lld is out of range for %lld heads", (long long)head, (long long)t->shape[head_dim]);
            return NULL;
        }
        lens_tensor *x = lens_tensor_narrow(v, head_dim, h, 1);
        lens_tensor_free(v);
        v = x;
    }
    if (!v) lens_fail_alloc(err);
    return v;
}

int lens_intervention_apply(const lens_intervention *iv, const lens_config *cfg, const char *hook_name,
                            lens_tensor *act, lens_error *err)
{
    int pos_dim, head_dim;
    bool known;
    hook_dims(cfg, hook_name, &pos_dim, &head_dim, &known);
    if (iv->head != LENS_ALL && head_dim < 0)
        return lens_fail(err, "%s has no head dimension; leave head out", hook_name);
    lens_tensor *dst = narrow_to(act, pos_dim, iv->pos, head_dim, iv->head, err);
    if (!dst) return -1;
    lens_tensor *val = NULL, *src = NULL;
    int rc = -1;
    switch (iv->kind) {
    case LENS_IV_ZERO:
        val = lens_scalar_f32(0);
        break;
    case LENS_IV_SCALE:
        val = lens_binary_scalar(LENS_OP_MUL, dst, iv->factor, false, false, err);
        break;
    case LENS_IV_PATCH:
    case LENS_IV_MEAN: {
        const lens_tensor *s = iv->source ? iv->source : act;
        if (!s) { lens_fail(err, "patching %s needs a source activation", hook_name); goto done; }
        bool shape_ok = s->ndim == act->ndim && s->dtype == LENS_F32;
        for (int d = 1; shape_ok && d < act->ndim; d++) shape_ok = s->shape[d] == act->shape[d];
        if (shape_ok && iv->kind == LENS_IV_PATCH) shape_ok = s->shape[0] == act->shape[0] || s->shape[0] == 1;
        if (!shape_ok) {
            char a[64], b[64];
            lens_fail(err, "cannot patch %s: the source is %s but the activation is %s (same prompts length needed)",
                      hook_name, lens_shape_str(s->ndim, s->shape, a, sizeof a),
                      lens_shape_str(act->ndim, act->shape, b, sizeof b));
            goto done;
        }
        lens_tensor *full = iv->kind == LENS_IV_MEAN ? lens_reduce(LENS_RED_MEAN, s, 0, true, err) : lens_tensor_ref(s);
        if (!full) goto done;
        src = narrow_to(full, pos_dim, iv->pos, head_dim, iv->head, err);
        lens_tensor_free(full);
        if (!src) goto done;
        /* the mean of the run's own activation is read before it is overwritten */
        val = lens_tensor_clone(src);
        break;
    }
    }
    if (!val) { if (!err->msg[0]) lens_fail_alloc(err); goto done; }
    rc = lens_tensor_assign(dst, val, err);
done:
    lens_tensor_free(val);
    lens_tensor_free(src);
    lens_tensor_free(dst);
    return rc;
}

int lens_interventions_hook(void *ctx, const char *hook_name, lens_tensor *act, lens_error *err)
{
    const lens_intervention_set *set = ctx;
    for (int i = 0; i < set->n; i++) {
        const lens_intervention *iv = &set->items[i];
        if (strcmp(iv->hook, hook_name)) continue;
        /* the config is only used for the hook's layout, which needs the layer count */
        lens_config cfg = {0};
        cfg.n_layers = 1 << 20;
        if (lens_intervention_apply(iv, &cfg, hook_name, act, err))
            return lens_fail_context(err, "intervention on %s", hook_name);
    }
    return 0;
}

int lens_interventions_check(const lens_model *m, const lens_intervention *ivs, int n, lens_error *err)
{
    const lens_config *cfg = lens_model_config(m);
    for (int i = 0; i < n; i++) {
        lens_hook_kind k;
        int layer;
        if (lens_hook_parse(cfg, ivs[i].hook, &k, &layer)) {
            char **names = lens_hook_names(cfg);
            size_t nn = 0;
            while (names && names[nn]) nn++;
            const char *s = lens_suggest(ivs[i].hook, (const char *const *)names, nn);
            lens_fail(err, "\"%s\" is not a hook point of this model%s%s%s (model.hook_names() lists them)",
                      ivs[i].hook, s ? ". Did you mean: '" : "", s ? s : "", s ? "'?" : "");
            for (size_t j = 0; j < nn; j++) free(names[j]);
            free(names);
            return -1;
        }
        int pos_dim, head_dim;
        bool known;
        hook_dims(cfg, ivs[i].hook, &pos_dim, &head_dim, &known);
        if (ivs[i].head != LENS_ALL) {
            if (head_dim < 0) return lens_fail(err, "%s has no head dimension; leave head out", ivs[i].hook);
            if (ivs[i].head >= cfg->n_heads || ivs[i].head < -cfg->n_heads)
                return lens_fail(err, "head %lld is out of range (the model has %d heads)", (long long)ivs[i].head,
                                 cfg->n_heads);
        }
        if (ivs[i].kind == LENS_IV_PATCH && !ivs[i].source)
            return lens_fail(err, "patching %s needs a source activation", ivs[i].hook);
    }
    return 0;
}

int lens_run_logit_diff(const lens_model *m, const lens_tensor *tokens, const lens_tensor *answer_tokens,
                        const lens_intervention *ivs, int n, double *out, lens_error *err)
{
    if (lens_interventions_check(m, ivs, n, err)) return -1;
    lens_intervention_set set = {ivs, n};
    lens_run_options o = lens_run_options_default();
    o.hook_fn = n ? lens_interventions_hook : NULL;
    o.hook_ctx = &set;
    lens_tensor *logits = NULL;
    if (lens_model_run(m, tokens, &o, &logits, NULL, err)) return -1;
    lens_tensor *ld = lens_logit_diff(m, logits, answer_tokens, tokens, false, err);
    lens_tensor_free(logits);
    if (!ld) return -1;
    int rc = lens_tensor_item(ld, out, err);
    lens_tensor_free(ld);
    return rc;
}
