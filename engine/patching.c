/* patching.c — activation-patching sweeps (lens_patch_sweep): every cell of a
 * hook patched from a clean cache into a corrupted run, scored with the
 * normalised logit difference.
 *
 * Speed comes from skipping what a patch cannot change (patch_pass.c): one
 * pass scores k cells of a layer (a replica of the corrupted batch per cell);
 * it starts at the patched layer (the blocks before it cannot change) and, for
 * a cell at position p, computes only positions >= p (the earlier ones are the
 * corrupted run's: attention is causal); its buffers are allocated once per
 * sweep; and no logits are computed, only the final residual at each prompt's
 * last position dotted with the answers' unembedding difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/patching.h"
#include "device_tensor.h"
#include "lens/tensor_ops.h"
#include "model_internal.h"
#include "patch_pass.h"

lens_patch_options lens_patch_options_default(void)
{
    return (lens_patch_options){.by = LENS_PATCH_BY_POS};
}

/* The corrupted run caches what the passes read: every layer's residual input,
 * queries, keys and values, and the final normalised residual. */
static bool pass_inputs(const char *name, void *ctx)
{
    (void)ctx;
    static const char *const suffixes[] = {"hook_resid_pre", "attn.hook_q", "attn.hook_k", "attn.hook_v"};
    if (!strcmp(name, "ln_final.hook_normalized")) return true;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && !strcmp(name + n - k, suffixes[i]) && name[n - k - 1] == '.') return true;
    }
    return false;
}

/* Per prompt: the answers' unembedding difference [B, d] and bias difference [B]. */
static int answer_directions(const lens_model *m, const lens_metric *mt, int64_t B, float **dir, float **bias,
                             lens_error *err)
{
    const lens_tensor *at = mt->answer_tokens;
    if (at->ndim != 2 || at->shape[0] != B || at->shape[1] < 2)
        return lens_fail(err, "patching: the metric's answer tokens must be [%lld, 2]", (long long)B);
    int64_t d = lens_model_config(m)->d_model;
    lens_tensor *dirs = lens_tokens_to_residual_directions(m, at, err);   /* [B, 2, d] */
    if (!dirs) return -1;
    /* [B, 2, d] and [V] values: small, downloaded */
    lens_tensor *w = lens_model_weight(m, "unembed.b_U", err);
    lens_tensor *bu = w ? lens_tensor_host_contiguous(w, err) : NULL, *dc = lens_tensor_host_contiguous(dirs, err), *ac = lens_tensor_host_contiguous(at, err);
    lens_tensor_free(w);
    *dir = malloc((size_t)(B * d) * sizeof **dir);
    *bias = malloc((size_t)B * sizeof **bias);
    int rc = 0;
    if (!bu || !dc || !ac) rc = -1;
    else if (!*dir || !*bias) rc = lens_fail_oom(err);
    for (int64_t b = 0; !rc && b < B; b++) {
        const float *x = lens_tensor_f32(dc) + b * 2 * d;
        for (int64_t j = 0; j < d; j++) (*dir)[b * d + j] = x[j] - x[d + j];
        int64_t i0[2] = {b, 0}, i1[2] = {b, 1};
        int64_t t0 = lens_tensor_get_i64(ac, i0), t1 = lens_tensor_get_i64(ac, i1);
        (*bias)[b] = (float)(lens_tensor_get_f64(bu, &t0) - lens_tensor_get_f64(bu, &t1));
    }
    lens_tensor_free(dirs);
    lens_tensor_free(dc);
    lens_tensor_free(ac);
    lens_tensor_free(bu);
    if (rc) { free(*dir); free(*bias); *dir = *bias = NULL; }
    return rc;
}

/* The position and head a cell patches. */
static void cell_of(lens_patch_by by, int64_t cell, int64_t H, int64_t *pos, int64_t *head)
{
    *pos = *head = LENS_ALL;
    if (by == LENS_PATCH_BY_POS) *pos = cell;
    else if (by == LENS_PATCH_BY_HEAD) *head = cell;
    else { *pos = cell / H; *head = cell % H; }
}

lens_tensor *lens_patch_sweep(const lens_model *m, const lens_tensor *corrupted_tokens,
                              const lens_cache *clean_cache, const char *hook, const lens_metric *metric,
                              const lens_patch_options *popt, lens_error *err)
{
    lens_patch_options opt = popt ? *popt : lens_patch_options_default();
    const lens_config *cfg = lens_model_config(m);
    if (corrupted_tokens->ndim != 2 || corrupted_tokens->dtype != LENS_I64) {
        lens_fail(err, "patch: corrupted tokens must be int64 [batch, pos]");
        return NULL;
    }
    int64_t B = corrupted_tokens->shape[0], P = corrupted_tokens->shape[1], H = cfg->n_heads;
    int nl = cfg->n_layers;

    /* the hook at each layer, its layout and the clean activations */
    char names[nl][128];
    lens_hook_kind kind = HK_RESID_PRE;
    int head_dim = -1;
    for (int l = 0; l < nl; l++) {
        int layer;
        if (lens_act_name(cfg, hook, l, NULL, names[l], sizeof names[l], err)) return NULL;
        if (lens_hook_parse(cfg, names[l], &kind, &layer) || !lens_hooks[kind].per_layer) {
            lens_fail(err, "patch: \"%s\" is not a per-layer hook point (resid_pre, attn_out, mlp_out, z, v, pattern, ...)", hook);
            return NULL;
        }
        int pos_dim = lens_hooks[kind].shape == SH_BHPP ? 2 : 1;
        head_dim = lens_hooks[kind].shape == SH_BHPP ? 1 : (lens_hooks[kind].shape == SH_BPHD || lens_hooks[kind].shape == SH_BPHM) ? 2 : -1;
        const lens_tensor *c = lens_cache_get(clean_cache, names[l]);
        if (!c) { lens_fail(err, "patch: the clean cache has no %s", names[l]); return NULL; }
        if (c->shape[0] != B || c->shape[pos_dim] != P) {
            lens_fail(err, "patch: the clean cache's %s does not match the corrupted tokens [%lld, %lld] "
                           "(clean and corrupted prompts must have the same shape)", names[l], (long long)B, (long long)P);
            return NULL;
        }
    }
    if (opt.by != LENS_PATCH_BY_POS && head_dim < 0) {
        lens_fail(err, "patch: %s has no heads; use by=\"pos\" (heads: z, q, k, v, pattern, result)", hook);
        return NULL;
    }
    int64_t cells = opt.by == LENS_PATCH_BY_POS ? P : opt.by == LENS_PATCH_BY_HEAD ? H : P * H;

    int64_t *last = malloc((size_t)B * sizeof *last);
    float *dir = NULL, *bias = NULL;
    lens_tensor *out = NULL;
    lens_cache *corrupt = NULL;
    lens_patch_pass *pp = NULL;
    int64_t *pos = NULL, *head = NULL;
    double *ld = NULL;
    if (!last) { lens_fail_alloc(err); return NULL; }
    if (lens_tokens_last_positions(m, corrupted_tokens, last, err)) goto done;
    if (answer_directions(m, metric, B, &dir, &bias, err)) goto done;

    /* the corrupted run: what every pass reads */
    lens_run_options o = lens_run_options_default();
    o.logits = false;
    o.names_filter = pass_inputs;
    o.interrupt = opt.interrupt;
    if (lens_model_run(m, corrupted_tokens, &o, NULL, &corrupt, err)) goto done;

    int64_t max_tokens = opt.max_tokens_per_pass > 0 ? opt.max_tokens_per_pass : 16384;
    int64_t k_max = opt.cells_per_pass > 0 ? opt.cells_per_pass : max_tokens / (B * P);
    if (k_max < 1) k_max = 1;
    if (k_max > cells) k_max = cells;
    if (opt.by == LENS_PATCH_BY_HEAD_POS) out = lens_tensor_new_v(LENS_F32, 3, (int64_t)nl, P, H);
    else out = lens_tensor_new_v(LENS_F32, 2, (int64_t)nl, cells);
    pos = malloc((size_t)k_max * sizeof *pos);
    head = malloc((size_t)k_max * sizeof *head);
    ld = malloc((size_t)k_max * sizeof *ld);
    if (!out || !pos || !head || !ld) { lens_fail_alloc(err); goto fail; }
    if (!(pp = lens_patch_pass_new(m, corrupt, B, P, k_max, last, dir, bias, err))) goto fail;

    int64_t total = (int64_t)nl * cells, done_cells = 0;
    for (int l = 0; l < nl; l++) {
        for (int64_t c0 = 0; c0 < cells; c0 += k_max) {
            int64_t k = cells - c0 < k_max ? cells - c0 : k_max;
            for (int64_t r = 0; r < k; r++) cell_of(opt.by, c0 + r, H, &pos[r], &head[r]);
            lens_patch_cells pc = {.layer = l, .kind = kind, .clean = lens_cache_get(clean_cache, names[l]),
                                   .k = k, .pos = pos, .head = head};
            if (lens_patch_pass_run(pp, &pc, opt.interrupt, ld, err)) goto fail;
            for (int64_t r = 0; r < k; r++)
                lens_tensor_f32(out)[(int64_t)l * cells + c0 + r] = (float)lens_metric_value(metric, ld[r]);
            done_cells += k;
            if (opt.progress) opt.progress(opt.progress_ctx, done_cells, total);
        }
    }
    goto done;
fail:
    lens_tensor_free(out);
    out = NULL;
done:
    lens_patch_pass_free(pp);
    lens_cache_free(corrupt);
    free(pos);
    free(head);
    free(ld);
    free(last);
    free(dir);
    free(bias);
    return out;
}
