/* attribution.c — attribution patching (lens_attribution_patch): every cell of
 * an activation-patching map estimated to first order as
 * (clean - corrupted activation) . dmetric/dactivation, from one forward and one
 * backward pass on the corrupted tokens.
 *
 * Owns: the cell sums and their layout (lens_patch_sweep's shapes). Does not own:
 * the gradients (backward.c, on the model's backend) or the exact sweep
 * (patching.c). The sums are tensor operations (a difference, a product, a sum
 * over the dims outside a cell), so they run where the activations are, on the
 * model's backend; only the finished map is downloaded: it is a host tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/backward.h"
#include "lens/tensor_ops.h"
#include "model_internal.h"
#include "tensor_device.h"

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

/* One layer's row of the map, where the activations are: the sum over each cell
 * of (clean - corrupted) * grad, the cell of an element being its position
 * (pos_dim), its head (head_dim) or both ([pos, head] for by head and position). */
static lens_tensor *layer_cells(const lens_tensor *clean, const lens_tensor *corrupt, const lens_tensor *grad,
                                int pos_dim, int head_dim, lens_patch_by by, lens_error *err)
{
    lens_tensor *cl = lens_tensor_to_device(clean, lens_tensor_backend(corrupt), err);
    lens_tensor *diff = cl ? lens_binary(LENS_OP_SUB, cl, corrupt, err) : NULL;
    lens_tensor *prod = diff ? lens_binary(LENS_OP_MUL, diff, grad, err) : NULL;
    lens_tensor_free(cl);
    lens_tensor_free(diff);
    if (!prod) return NULL;
    bool keep_pos = by != LENS_PATCH_BY_HEAD, keep_head = by != LENS_PATCH_BY_POS;
    int dims[LENS_MAX_DIMS], nr = 0;
    for (int d = 0; d < prod->ndim; d++)
        if (!(keep_pos && d == pos_dim) && !(keep_head && d == head_dim)) dims[nr++] = d;
    lens_tensor *sum = lens_reduce_dims(LENS_RED_SUM, prod, nr, dims, false, err);
    lens_tensor_free(prod);
    if (!sum || !(keep_pos && keep_head && head_dim < pos_dim)) return sum;
    lens_tensor *pos_first = lens_tensor_transpose(sum, 0, 1, err);   /* pattern's [head, pos] as [pos, head] */
    lens_tensor_free(sum);
    return pos_first;
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
    int64_t B = corrupted_tokens->shape[0], P = corrupted_tokens->shape[1];
    int nl = cfg->n_layers;
    target t = {.names = calloc((size_t)nl, sizeof *t.names), .n = nl};
    if (!t.names) { lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory"); return NULL; }
    lens_hook_kind kind = HK_RESID_PRE;
    int pos_dim = 1, head_dim = -1;
    lens_tensor *out = NULL, **rows = NULL;
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

    rows = calloc((size_t)nl, sizeof *rows);
    if (!rows) { lens_fail_oom(err); goto done; }
    for (int l = 0; l < nl; l++) {
        char gname[160];
        snprintf(gname, sizeof gname, "%s_grad", t.names[l]);
        const lens_tensor *gr = lens_cache_get(grads, gname), *co = lens_cache_get(corrupt, t.names[l]);
        const lens_tensor *cl = lens_cache_get(clean_cache, t.names[l]);
        if (!gr || !co) { lens_fail(err, "attribution_patch: the backward pass kept no %s", gname); goto done; }
        if (!lens_tensor_same_shape(cl, co)) {
            lens_fail(err, "attribution_patch: the clean cache's %s has another shape than the corrupted run's", t.names[l]);
            goto done;
        }
        if (!(rows[l] = layer_cells(cl, co, gr, pos_dim, head_dim, by, err))) goto done;
    }
    /* [n_layers, cells] (by head and position: [n_layers, pos, heads]), downloaded once */
    lens_tensor *map = lens_stack(nl, (const lens_tensor *const *)rows, 0, err);
    out = map ? lens_tensor_host_contiguous(map, err) : NULL;
    lens_tensor_free(map);
done:
    if (rows) lens_tensors_free(nl, rows);
    free(rows);
    free(t.names);
    lens_cache_free(corrupt);
    lens_cache_free(grads);
    return out;
}
