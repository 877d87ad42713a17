/* attribution.c — attribution patching (lens_attribution_patch): every cell of
 * an activation-patching map estimated to first order as
 * (clean - corrupted activation) . dmetric/dactivation, from one forward and one
 * backward pass on the corrupted tokens.
 *
 * Owns: the cell sums and their layout (lens_patch_sweep's shapes). Does not own:
 * the gradients (backward.c, on the model's backend) or the exact sweep
 * (patching.c). The sums are taken in double on the host over an explicit
 * download of each layer's three tensors (clean, corrupted, gradient); the map
 * returned is a host tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/backward.h"
#include "model_internal.h"

typedef struct target {
    char (*names)[128];   /* the hook at each layer */
    int n;
} target;

static bool only_target(const char *name, void *ctx)
{
    const target *t = ctx;
    for (int i = 0; i < t->n; i++)
        if (!strcmp(name, t->names[i])) return true;
    return false;
}

/* out[l, cell] += sum over the cell of diff * grad, both contiguous with the hook's
 * shape; the cell of an element is its position (pos_dim), its head (head_dim) or both. */
static void accumulate(double *out, const float *clean, const float *corrupt, const float *grad, int nd,
                       const int64_t *shape, int pos_dim, int head_dim, lens_patch_by by)
{
    int64_t n = 1, stride[LENS_MAX_DIMS];
    for (int d = nd - 1; d >= 0; d--) { stride[d] = n; n *= shape[d]; }
    int64_t H = head_dim >= 0 ? shape[head_dim] : 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t p = (i / stride[pos_dim]) % shape[pos_dim];
        int64_t h = head_dim >= 0 ? (i / stride[head_dim]) % shape[head_dim] : 0;
        int64_t cell = by == LENS_PATCH_BY_POS ? p : by == LENS_PATCH_BY_HEAD ? h : p * H + h;
        out[cell] += ((double)clean[i] - corrupt[i]) * grad[i];
    }
}

lens_tensor *lens_attribution_patch(const lens_model *m, const lens_tensor *corrupted_tokens,
                                    const lens_cache *clean_cache, const char *hook, const lens_metric *metric,
                                    lens_patch_by by, lens_error *err)
{
    lens_grad_metric g = lens_grad_metric_normalized(metric);
    return lens_attribution_patch_grad(m, corrupted_tokens, clean_cache, hook, &g, by, err);
}

lens_tensor *lens_attribution_patch_grad(const lens_model *m, const lens_tensor *corrupted_tokens,
                                         const lens_cache *clean_cache, const char *hook,
                                         const lens_grad_metric *metric, lens_patch_by by, lens_error *err)
{
    const lens_config *cfg = &m->cfg;
    if (corrupted_tokens->ndim != 2 || corrupted_tokens->dtype != LENS_I64) {
        lens_fail(err, "attribution_patch: corrupted tokens must be int64 [batch, pos]");
        return NULL;
    }
    int64_t B = corrupted_tokens->shape[0], P = corrupted_tokens->shape[1], H = cfg->n_heads;
    int nl = cfg->n_layers;
    target t = {.names = calloc((size_t)nl, sizeof *t.names), .n = nl};
    if (!t.names) { lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory"); return NULL; }
    lens_hook_kind kind = HK_RESID_PRE;
    int pos_dim = 1, head_dim = -1;
    lens_tensor *out = NULL;
    double *acc = NULL;
    lens_cache *corrupt = NULL, *grads = NULL;
    for (int l = 0; l < nl; l++) {
        int layer;
        if (lens_act_name(cfg, hook, l, NULL, t.names[l], sizeof t.names[l], err)) goto done;
        if (lens_hook_parse(cfg, t.names[l], &kind, &layer) || !lens_hooks[kind].per_layer) {
            lens_fail(err, "attribution_patch: \"%s\" is not a per-layer hook point (resid_pre, attn_out, mlp_out, "
                           "z, v, q, k, pattern, ...)", hook);
            goto done;
        }
        pos_dim = lens_hooks[kind].shape == SH_BHPP ? 2 : 1;
        head_dim = lens_hooks[kind].shape == SH_BHPP ? 1
                   : (lens_hooks[kind].shape == SH_BPHD || lens_hooks[kind].shape == SH_BPHM) ? 2 : -1;
        const lens_tensor *c = lens_cache_get(clean_cache, t.names[l]);
        if (!c) { lens_fail(err, "attribution_patch: the clean cache has no %s", t.names[l]); goto done; }
        if (c->shape[0] != B || c->shape[pos_dim] != P) {
            lens_fail(err, "attribution_patch: the clean cache's %s does not match the corrupted tokens [%lld, %lld] "
                           "(clean and corrupted prompts must have the same shape)", t.names[l], (long long)B, (long long)P);
            goto done;
        }
    }
    if (by != LENS_PATCH_BY_POS && head_dim < 0) {
        lens_fail(err, "attribution_patch: %s has no heads; use by=\"pos\" (heads: z, q, k, v, pattern, result)", hook);
        goto done;
    }
    lens_run_options o = lens_run_options_default();
    o.logits = false;
    o.names_filter = only_target;
    o.names_filter_ctx = &t;
    o.include_attn_result = kind == HK_RESULT;
    if (lens_model_run_backward(m, corrupted_tokens, &o, metric, NULL, &corrupt, &grads, NULL, err)) goto done;

    int64_t cells = by == LENS_PATCH_BY_POS ? P : by == LENS_PATCH_BY_HEAD ? H : P * H;
    out = by == LENS_PATCH_BY_HEAD_POS ? lens_tensor_new_v(LENS_F32, 3, (int64_t)nl, P, H)
                                       : lens_tensor_new_v(LENS_F32, 2, (int64_t)nl, cells);
    acc = calloc((size_t)cells, sizeof *acc);
    if (!out || !acc) { lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory"); goto fail; }
    for (int l = 0; l < nl; l++) {
        char gname[160];
        snprintf(gname, sizeof gname, "%s_grad", t.names[l]);
        const lens_tensor *gr_dev = lens_cache_get(grads, gname), *co_dev = lens_cache_get(corrupt, t.names[l]);
        if (!gr_dev || !co_dev) { lens_fail(err, "attribution_patch: the backward pass kept no %s", gname); goto fail; }
        if (!lens_tensor_same_shape(lens_cache_get(clean_cache, t.names[l]), co_dev)) {
            lens_fail(err, "attribution_patch: the clean cache's %s has another shape than the corrupted run's", t.names[l]);
            goto fail;
        }
        lens_tensor *cl = lens_tensor_host_contiguous(lens_cache_get(clean_cache, t.names[l]), err);
        lens_tensor *co = cl ? lens_tensor_host_contiguous(co_dev, err) : NULL;
        lens_tensor *gr = co ? lens_tensor_host_contiguous(gr_dev, err) : NULL;
        if (gr) {
            memset(acc, 0, (size_t)cells * sizeof *acc);
            accumulate(acc, lens_tensor_f32(cl), lens_tensor_f32(co), lens_tensor_f32(gr), co->ndim, co->shape, pos_dim,
                       head_dim, by);
        }
        bool ok = gr != NULL;
        lens_tensor_free(cl);
        lens_tensor_free(co);
        lens_tensor_free(gr);
        if (!ok) goto fail;
        for (int64_t c = 0; c < cells; c++) lens_tensor_f32(out)[(int64_t)l * cells + c] = (float)acc[c];
    }
    goto done;
fail:
    lens_tensor_free(out);
    out = NULL;
done:
    free(acc);
    free(t.names);
    lens_cache_free(corrupt);
    lens_cache_free(grads);
    return out;
}
