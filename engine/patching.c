/* patching.c — activation-patching sweeps (lens_patch_sweep): every cell of a
 * hook patched from a clean cache into a corrupted run, scored with the
 * normalised logit difference.
 *
 * Speed comes from three things: the corrupted batch is replicated k times and
 * each replica patched at a different cell, so one forward pass scores k cells;
 * each pass starts at the patched layer from the corrupted run's cached
 * resid_pre (the blocks before it cannot change); and no logits are computed,
 * only the final residual at each prompt's last position dotted with the
 * answers' unembedding difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/patching.h"
#include "lens/tensor_ops.h"
#include "model_internal.h"

lens_patch_options lens_patch_options_default(void)
{
    return (lens_patch_options){.by = LENS_PATCH_BY_POS};
}

typedef struct sweep_ctx {
    const char *target;          /* hook name being patched this pass */
    const lens_tensor *clean;    /* its clean activation [B, ...] */
    int64_t B, c0, k;            /* prompts, first cell, cells this pass */
    lens_patch_by by;
    int pos_dim, head_dim;
    int64_t n_heads;
} sweep_ctx;

/* Narrows t to one cell (position and/or head), keeping dims. */
static lens_tensor *cell_view(const sweep_ctx *s, const lens_tensor *t, int64_t cell)
{
    int64_t pos = LENS_ALL, head = LENS_ALL;
    if (s->by == LENS_PATCH_BY_POS) pos = cell;
    else if (s->by == LENS_PATCH_BY_HEAD) head = cell;
    else { pos = cell / s->n_heads; head = cell % s->n_heads; }
    lens_tensor *v = lens_tensor_ref(t);
    if (pos != LENS_ALL) { lens_tensor *x = lens_tensor_narrow(v, s->pos_dim, pos, 1); lens_tensor_free(v); v = x; }
    if (v && head != LENS_ALL) { lens_tensor *x = lens_tensor_narrow(v, s->head_dim, head, 1); lens_tensor_free(v); v = x; }
    return v;
}

static int sweep_hook(void *ctx, const char *name, lens_tensor *act, lens_error *err)
{
    const sweep_ctx *s = ctx;
    if (strcmp(name, s->target)) return 0;
    for (int64_t r = 0; r < s->k; r++) {
        lens_tensor *rows = lens_tensor_narrow(act, 0, r * s->B, s->B);
        lens_tensor *dst = rows ? cell_view(s, rows, s->c0 + r) : NULL;
        lens_tensor *src = cell_view(s, s->clean, s->c0 + r);
        int rc = dst && src ? lens_tensor_assign(dst, src, err) : lens_fail_alloc(err);
        lens_tensor_free(rows);
        lens_tensor_free(dst);
        lens_tensor_free(src);
        if (rc) return -1;
    }
    return 0;
}

/* [k*B, ...] of t [B, ...] repeated k times. */
static lens_tensor *repeat_batch(const lens_tensor *t, int64_t k)
{
    lens_tensor *c = lens_tensor_contiguous(t);
    if (!c) return NULL;
    int64_t shape[LENS_MAX_DIMS];
    memcpy(shape, c->shape, sizeof shape);
    shape[0] *= k;
    lens_tensor *r = lens_tensor_new(c->dtype, c->ndim, shape);
    size_t bytes = (size_t)lens_tensor_numel(c) * lens_dtype_size(c->dtype);
    for (int64_t i = 0; r && i < k; i++) memcpy((char *)lens_tensor_data(r) + (size_t)i * bytes, lens_tensor_data(c), bytes);
    lens_tensor_free(c);
    return r;
}

static bool only_unembed_in(const char *name, void *ctx)
{
    (void)ctx;
    return !strcmp(name, "unembed.hook_in");
}

static bool only_resid_pre(const char *name, void *ctx)
{
    (void)ctx;
    static const char suffix[] = "hook_resid_pre";
    size_t n = strlen(name), k = sizeof suffix - 1;
    return n > k && !strcmp(name + n - k, suffix);
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
    lens_tensor *bu = lens_model_weight(m, "unembed.b_U", err);
    lens_tensor *dc = lens_tensor_contiguous(dirs);
    *dir = malloc((size_t)(B * d) * sizeof **dir);
    *bias = malloc((size_t)B * sizeof **bias);
    int rc = 0;
    if (!bu || !dc || !*dir || !*bias) rc = bu ? lens_fail_alloc(err) : -1;
    for (int64_t b = 0; !rc && b < B; b++) {
        const float *x = lens_tensor_f32(dc) + b * 2 * d;
        for (int64_t j = 0; j < d; j++) (*dir)[b * d + j] = x[j] - x[d + j];
        int64_t i0[2] = {b, 0}, i1[2] = {b, 1};
        int64_t t0 = lens_tensor_get_i64(at, i0), t1 = lens_tensor_get_i64(at, i1);
        (*bias)[b] = (float)(lens_tensor_get_f64(bu, &t0) - lens_tensor_get_f64(bu, &t1));
    }
    lens_tensor_free(dirs);
    lens_tensor_free(dc);
    lens_tensor_free(bu);
    if (rc) { free(*dir); free(*bias); *dir = *bias = NULL; }
    return rc;
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
    int64_t B = corrupted_tokens->shape[0], P = corrupted_tokens->shape[1], d = cfg->d_model, H = cfg->n_heads;
    int nl = cfg->n_layers;

    /* the hook at each layer, its layout and the clean activations */
    char names[nl][128];
    sweep_ctx s = {.B = B, .by = opt.by, .n_heads = H};
    for (int l = 0; l < nl; l++) {
        lens_hook_kind k;
        int layer;
        if (lens_act_name(cfg, hook, l, NULL, names[l], sizeof names[l], err)) return NULL;
        if (lens_hook_parse(cfg, names[l], &k, &layer) || !lens_hooks[k].per_layer) {
            lens_fail(err, "patch: \"%s\" is not a per-layer hook point (resid_pre, attn_out, mlp_out, z, v, pattern, ...)", hook);
            return NULL;
        }
        s.pos_dim = lens_hooks[k].shape == SH_BHPP ? 2 : 1;
        s.head_dim = lens_hooks[k].shape == SH_BHPP ? 1 : (lens_hooks[k].shape == SH_BPHD || lens_hooks[k].shape == SH_BPHM) ? 2 : -1;
        const lens_tensor *c = lens_cache_get(clean_cache, names[l]);
        if (!c) { lens_fail(err, "patch: the clean cache has no %s", names[l]); return NULL; }
        if (c->shape[0] != B || c->shape[s.pos_dim] != P) {
            lens_fail(err, "patch: the clean cache's %s does not match the corrupted tokens [%lld, %lld] "
                           "(clean and corrupted prompts must have the same shape)", names[l], (long long)B, (long long)P);
            return NULL;
        }
    }
    if (opt.by != LENS_PATCH_BY_POS && s.head_dim < 0) {
        lens_fail(err, "patch: %s has no heads; use by=\"pos\" (heads: z, q, k, v, pattern, result)", hook);
        return NULL;
    }
    int64_t cells = opt.by == LENS_PATCH_BY_POS ? P : opt.by == LENS_PATCH_BY_HEAD ? H : P * H;

    int64_t *last = malloc((size_t)B * sizeof *last);
    float *dir = NULL, *bias = NULL;
    lens_tensor *out = NULL, *rep_tokens = NULL;
    lens_cache *corrupt = NULL;
    if (!last) { lens_fail_alloc(err); return NULL; }
    lens_tokens_last_positions(m, corrupted_tokens, last);
    if (answer_directions(m, metric, B, &dir, &bias, err)) goto done;

    /* the corrupted run's resid_pre at every layer: where each pass starts */
    lens_run_options o = lens_run_options_default();
    o.logits = false;
    o.names_filter = only_resid_pre;
    o.interrupt = opt.interrupt;
    lens_tensor *unused = NULL;
    if (lens_model_run(m, corrupted_tokens, &o, &unused, &corrupt, err)) goto done;
    lens_tensor_free(unused);

    int64_t max_tokens = opt.max_tokens_per_pass > 0 ? opt.max_tokens_per_pass : 16384;
    int64_t k_max = opt.cells_per_pass > 0 ? opt.cells_per_pass : max_tokens / (B * P);
    if (k_max < 1) k_max = 1;
    if (k_max > cells) k_max = cells;
    if (opt.by == LENS_PATCH_BY_HEAD_POS) out = lens_tensor_new_v(LENS_F32, 3, (int64_t)nl, P, H);
    else out = lens_tensor_new_v(LENS_F32, 2, (int64_t)nl, cells);
    rep_tokens = repeat_batch(corrupted_tokens, k_max);
    if (!out || !rep_tokens) { lens_fail_alloc(err); goto fail; }

    int64_t total = (int64_t)nl * cells, done_cells = 0;
    for (int l = 0; l < nl; l++) {
        char pre[128];
        snprintf(pre, sizeof pre, "blocks.%d.hook_resid_pre", l);
        const lens_tensor *pre_t = lens_cache_get(corrupt, pre);
        lens_tensor *start = pre_t ? repeat_batch(pre_t, k_max) : NULL;
        if (!start) { lens_fail_alloc(err); goto fail; }
        for (int64_t c0 = 0; c0 < cells; c0 += k_max) {
            int64_t k = cells - c0 < k_max ? cells - c0 : k_max;
            s.target = names[l];
            s.clean = lens_cache_get(clean_cache, names[l]);
            s.c0 = c0;
            s.k = k;
            lens_tensor *tk = lens_tensor_narrow(rep_tokens, 0, 0, k * B);
            lens_tensor *st = lens_tensor_narrow(start, 0, 0, k * B);
            lens_run_options po = lens_run_options_default();
            po.logits = false;
            po.names_filter = only_unembed_in;
            po.interrupt = opt.interrupt;
            po.hook_fn = sweep_hook;
            po.hook_ctx = &s;
            po.start_layer = l;
            po.start_resid = st;
            lens_cache *pc = NULL;
            lens_tensor *resid = NULL;
            int rc = tk && st ? lens_model_run(m, tk, &po, &resid, &pc, err) : lens_fail_alloc(err);
            lens_tensor_free(tk);
            lens_tensor_free(st);
            lens_tensor_free(resid);
            if (rc) { lens_tensor_free(start); goto fail; }
            const float *fin = lens_tensor_f32(lens_cache_get(pc, "unembed.hook_in"));   /* [kB, P, d] */
            for (int64_t r = 0; r < k; r++) {
                double sum = 0;
                for (int64_t b = 0; b < B; b++) {
                    const float *x = fin + ((r * B + b) * P + last[b]) * d;
                    const float *w = dir + b * d;
                    float dot = 0;
                    for (int64_t j = 0; j < d; j++) dot += x[j] * w[j];
                    sum += (double)(dot + bias[b]);
                }
                lens_tensor_f32(out)[(int64_t)l * cells + c0 + r] = (float)lens_metric_value(metric, sum / (double)B);
            }
            lens_cache_free(pc);
            done_cells += k;
            if (opt.progress) opt.progress(opt.progress_ctx, done_cells, total);
        }
        lens_tensor_free(start);
    }
    goto done;
fail:
    lens_tensor_free(out);
    out = NULL;
done:
    lens_cache_free(corrupt);
    lens_tensor_free(rep_tokens);
    free(last);
    free(dir);
    free(bias);
    return out;
}
