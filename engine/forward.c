/* forward.c — the GPT-2 forward pass with TransformerLens's hook points.
 *
 * Every hook point's activation is written straight into its cache tensor when
 * it is cached, else into a scratch buffer reused across layers; then the run's
 * hook_fn (if any) sees it and may change it. The run happens on the model's
 * backend (backend.h): the weights, the tokens, the cache arena and the scratch
 * are in its memory, every computation and copy is one of its operations, and
 * the cache, the hooks' activations and the returned tensors are tensors on it.
 * Host code here never reads activations. A block's output and the next
 * block's input are one cached tensor unless a hook may change either
 * (resid_pre_shared).
 *
 * A run without hooks whose prompts share prefixes (shared_prefix.h) computes
 * each distinct (prompt, position) row once: the residual stream and every
 * per-position activation are computed over those rows only (the run's compact
 * buffers), and each is written out to every row of its hook buffer when it is
 * cached or attention needs it whole; attention runs over whole prompts.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cache_internal.h"
#include "device_tensor.h"
#include "lens/checked.h"
#include "model_internal.h"
#include "shared_prefix.h"

lens_run_options lens_run_options_default(void)
{
    return (lens_run_options){.cache = true, .stop_at_layer = -1, .logits = true};
}

typedef struct run {
    const lens_model *m;
    const lens_run_options *opt;
    const lens_backend *be;
    int64_t B, P;
    bool *cached;             /* [HK_COUNT * (n_layers + 1)] */
    lens_cache *cache;
    /* The cached activations live in one arena (arena_pool.c: the backend's
     * memory, huge pages on the cpu, reused across runs), each cache tensor a
     * view at its own offset. */
    lens_tensor *arena;
    int64_t arena_used;       /* elements */
    float *scratch[HK_COUNT]; /* one buffer per hook kind, reused across layers, */
    lens_tensor *scratch_arena; /* carved from one pooled arena (reused across runs) */
    /* Shared prompt prefixes: Mc rows computed (B * P when every row is);
     * compact[k] holds kind k's computed rows; rows_compact [Mc] names each
     * computed row, rows_expand [B * P] the computed row each row equals (index
     * tensors on the backend). */
    int64_t Mc;
    float *compact[HK_COUNT];
    lens_tensor *rows_compact, *rows_expand;
    lens_prefix_plan plan;
    /* Runs with a hook_fn: after each hook point the repeated rows are compared
     * with the rows they copy (rows_repeat / rows_source [rows - Mc], on the
     * backend, and repeat_host); a row the hook made differ gets a token of its
     * own in ids (host [B * P]) and the plan is made again. whole[k]: this
     * stage's activations with every row, which a new plan regathers. */
    int64_t *ids, *repeat_host;
    lens_tensor *rows_repeat, *rows_source, *differ;
    float *differ_host;
    float *whole[HK_COUNT];
    lens_error *err;
} run;

static int layer_slot(const run *r, lens_hook_kind k, int layer)
{
    return (int)k * (r->m->cfg.n_layers + 1) + (lens_hooks[k].per_layer ? layer : 0);
}

static int64_t hook_numel(const run *r, lens_hook_kind k)
{
    int64_t s[LENS_MAX_DIMS];
    int nd = lens_hook_shape_of(&r->m->cfg, k, r->B, r->P, s);
    int64_t n;
    /* Saturates: a config and batch this large are refused by the memory limit. */
    return lens_shape_numel(nd, s, &n, NULL) ? LENS_MAX_NUMEL : n;
}

/* a * b * c bytes, saturating at SIZE_MAX. */
static size_t sat_bytes(size_t a, size_t b, size_t c)
{
    size_t r;
    return lens_mul_size(a, b, &r) && lens_mul_size(r, c, &r) ? r : SIZE_MAX;
}

/* Decides which hooks are cached: names_regex and names_filter must both accept. */
static int select_hooks(run *r, lens_error *err)
{
    const lens_run_options *o = r->opt;
    const lens_config *c = &r->m->cfg;
    regex_t re;
    bool have_re = o->cache && o->names_regex;
    if (have_re) {
        int rc = regcomp(&re, o->names_regex, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char msg[256];
            regerror(rc, &re, msg, sizeof msg);
            return lens_fail(err, "names filter \"%s\" is not a valid regular expression: %s",
                             o->names_regex, msg);
        }
    }
    for (int k = 0; k < HK_COUNT; k++) {
        int layers = lens_hooks[k].per_layer ? c->n_layers : 1;
        for (int l = 0; l < layers; l++) {
            bool want = o->cache;
            if (k == HK_RESULT && !o->include_attn_result) want = false;
            if (want && (have_re || o->names_filter)) {
                char name[128];
                lens_hook_name((lens_hook_kind)k, l, name, sizeof name);
                if (have_re && regexec(&re, name, 0, NULL, 0)) want = false;
                if (want && o->names_filter && !o->names_filter(name, o->names_filter_ctx)) want = false;
            }
            r->cached[layer_slot(r, (lens_hook_kind)k, l)] = want;
        }
    }
    if (have_re) regfree(&re);
    return 0;
}

/* blocks.l.hook_resid_pre (l after the first layer run) is the same tensor as
 * blocks.(l-1).hook_resid_post when both are cached and no hook can change
 * either: the block's output is the next block's input, and TransformerLens's
 * cache holds one storage for both. With hooks they are separate copies. */
static bool resid_pre_shared(const run *r, int l)
{
    return l > r->opt->start_layer && !r->opt->hook_fn && r->cached[layer_slot(r, HK_RESID_PRE, l)] &&
           r->cached[layer_slot(r, HK_RESID_POST, l - 1)];
}

size_t lens_run_estimate_bytes(const lens_model *m, int64_t B, int64_t P, const lens_run_options *opt)
{
    run r = {.m = m, .opt = opt, .B = B, .P = P};
    const lens_config *c = &m->cfg;
    bool cached[HK_COUNT * 1025];
    if (c->n_layers > 1024) return SIZE_MAX;
    r.cached = cached;
    if (select_hooks(&r, NULL)) return 0;
    int stop = opt->stop_at_layer >= 0 && opt->stop_at_layer < c->n_layers ? opt->stop_at_layer : c->n_layers;
    size_t bytes = 0;
    for (int k = 0; k < HK_COUNT; k++) {
        int n = 0;
        if (lens_hooks[k].per_layer) {
            for (int l = opt->start_layer; l < stop; l++)
                n += cached[layer_slot(&r, (lens_hook_kind)k, l)] && !(k == HK_RESID_PRE && resid_pre_shared(&r, l));
        } else {
            bool before = k < HK_RESID_PRE;
            bool runs = before ? opt->start_layer == 0 : stop == c->n_layers;
            n = runs && cached[layer_slot(&r, (lens_hook_kind)k, 0)];
        }
        if (!lens_add_size(bytes, sat_bytes((size_t)n, (size_t)hook_numel(&r, (lens_hook_kind)k), sizeof(float)), &bytes))
            return SIZE_MAX;
    }
    if (opt->logits && stop == c->n_layers) {
        int64_t bp;
        size_t logits = lens_mul_i64(B, P, &bp) ? sat_bytes((size_t)bp, (size_t)c->d_vocab, sizeof(float)) : SIZE_MAX;
        if (!lens_add_size(bytes, logits, &bytes)) return SIZE_MAX;
    }
    return bytes;
}

/* The buffer a hook's activation is computed into. */
static float *hook_buffer(run *r, lens_hook_kind k, int layer)
{
    if (r->cached[layer_slot(r, k, layer)]) {
        int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
        int nd = lens_hook_shape_of(&r->m->cfg, k, r->B, r->P, shape);
        int64_t n = hook_numel(r, k), s = 1;
        for (int d = nd - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]; }
        lens_tensor *t = NULL;
        if (r->arena && r->arena_used + n <= lens_tensor_numel(r->arena)) {
            t = lens_tensor_view(r->arena, nd, shape, strides, r->arena_used);
            r->arena_used += (n + 15) / 16 * 16;   /* 64-byte aligned views */
        } else t = lens_tensor_new_on(r->be, LENS_F32, nd, shape);
        char name[128];
        lens_hook_name(k, layer, name, sizeof name);
        if (!t || lens_cache_add(r->cache, name, t)) {
            lens_tensor_free(t);
            lens_fail_kind(r->err, LENS_ERR_MEMORY, "out of memory allocating %s", name);
            return NULL;
        }
        return lens_dev_f32(t);
    }
    if (!r->scratch[k]) lens_fail_kind(r->err, LENS_ERR_MEMORY, "out of memory (scratch for %s)", lens_hooks[k].suffix);
    return r->scratch[k];
}

/* After an activation is computed: interruption check and the run's hook_fn,
 * which gets a tensor on the run's backend over the activation's buffer. */
static int hook_point(run *r, lens_hook_kind k, int layer, float *data)
{
    const lens_run_options *o = r->opt;
    if (o->interrupt && *o->interrupt) return lens_fail_kind(r->err, LENS_ERR_INTERRUPTED, "interrupted");
    if (!o->hook_fn) return 0;
    int64_t shape[LENS_MAX_DIMS];
    int nd = lens_hook_shape_of(&r->m->cfg, k, r->B, r->P, shape);
    lens_tensor *view = lens_dev_wrap(r->be, LENS_F32, nd, shape, data);
    if (!view) return lens_fail_alloc(r->err);
    char name[128];
    lens_hook_name(k, layer, name, sizeof name);
    int rc = o->hook_fn(o->hook_ctx, name, view, r->err);
    lens_tensor_free(view);
    return rc;
}

#define TRY_BUF(var, kind, layer)                       \
    float *var = hook_buffer(r, kind, layer);           \
    if (!var) return -1

static bool sharing(const run *r) { return r->Mc < r->B * r->P; }

/* Floats per (prompt, position) row of a per-position activation. */
static int64_t row_width(const run *r, lens_hook_kind k) { return hook_numel(r, k) / (r->B * r->P); }

/* dst (every row, width floats each) = the computed rows in src. */
static void expand_rows(run *r, float *dst, const float *src, int64_t width)
{
    r->be->gather_rows(dst, src, lens_dev_i64(r->rows_expand), r->B * r->P, width);
}

/* The buffer a per-position activation is computed into: its computed rows
 * when prefixes are shared, else its hook buffer. */
static float *compute_buffer(run *r, lens_hook_kind k, int layer)
{
    return sharing(r) ? r->compact[k] : hook_buffer(r, k, layer);
}

#define TRY_OUT(var, kind, layer)                       \
    float *var = compute_buffer(r, kind, layer);        \
    if (!var) return -1

/* After a per-position activation is computed into buf: with shared prefixes
 * every row is written to its hook buffer when it is cached or *whole is
 * wanted; *whole (when not NULL) gets the buffer with every row. Then the hook
 * point. */
static int after_hook(run *r, lens_hook_kind k);

static int computed(run *r, lens_hook_kind k, int layer, float *buf, float **whole)
{
    bool hooked = r->opt->hook_fn != NULL;
    if (sharing(r) && (whole || hooked || r->cached[layer_slot(r, k, layer)])) {
        float *all = hook_buffer(r, k, layer);
        if (!all) return -1;
        expand_rows(r, all, buf, row_width(r, k));
        r->whole[k] = buf = all;
    }
    if (whole) *whole = buf;
    if (hook_point(r, k, layer, buf)) return -1;
    return sharing(r) && hooked ? after_hook(r, k) : 0;
}

/* An activation computed with every row (attention's z, the first residual
 * stream): hooked, then its computed rows taken for what follows. */
static int took_whole(run *r, lens_hook_kind k, int layer, float *all)
{
    if (hook_point(r, k, layer, all)) return -1;
    if (!sharing(r)) return 0;
    r->whole[k] = all;
    if (r->opt->hook_fn) return after_hook(r, k);
    r->be->gather_rows(r->compact[k], all, lens_dev_i64(r->rows_compact), r->Mc, row_width(r, k));
    return 0;
}

#define W(t) lens_dev_f32(t)
#define opt_f32(t) lens_dev_f32_opt(t)

static lens_activation activation_of(const lens_config *c)
{
    if (!strcmp(c->act_fn, "relu")) return LENS_ACT_RELU;
    if (!strcmp(c->act_fn, "gelu")) return LENS_ACT_GELU;
    return LENS_ACT_GELU_NEW;
}

/* One transformer block: resid_pre (the block's input, already hooked as
 * resid_pre; its computed rows when prefixes are shared) -> *out (resid_post,
 * the same rows). */
static int run_block(run *r, int l, const float *resid_pre, float **out)
{
    const lens_config *c = &r->m->cfg;
    const lens_layer *L = &r->m->layers[l];
    const lens_backend *be = r->be;
    int64_t d = c->d_model, H = c->n_heads, dh = c->d_head, F = c->d_mlp;

    TRY_OUT(scale1, HK_LN1_SCALE, l);
    TRY_OUT(norm1, HK_LN1_NORMALIZED, l);
    be->layernorm(norm1, scale1, resid_pre, opt_f32(L->ln1_w), opt_f32(L->ln1_b), r->Mc, d, c->ln_eps);
    if (computed(r, HK_LN1_SCALE, l, scale1, NULL) || computed(r, HK_LN1_NORMALIZED, l, norm1, NULL)) return -1;

    /* attention reads whole prompts: q, k, v with every row */
    float *q_all, *k_all, *v_all;
    TRY_OUT(q, HK_Q, l);
    be->matmul(q, norm1, W(L->W_Q), W(L->b_Q), r->Mc, d, H * dh, false);
    if (computed(r, HK_Q, l, q, &q_all)) return -1;
    TRY_OUT(k, HK_K, l);
    be->matmul(k, norm1, W(L->W_K), W(L->b_K), r->Mc, d, H * dh, false);
    if (computed(r, HK_K, l, k, &k_all)) return -1;
    TRY_OUT(v, HK_V, l);
    be->matmul(v, norm1, W(L->W_V), W(L->b_V), r->Mc, d, H * dh, false);
    if (computed(r, HK_V, l, v, &v_all)) return -1;

    TRY_BUF(scores, HK_ATTN_SCORES, l);
    TRY_BUF(pattern, HK_PATTERN, l);
    TRY_BUF(z, HK_Z, l);
    if (r->opt->hook_fn) {
        be->attn_scores(scores, q_all, k_all, r->B, r->P, H, dh);
        if (hook_point(r, HK_ATTN_SCORES, l, scores)) return -1;
        be->attn_softmax(pattern, scores, r->B, r->P, H);
        if (hook_point(r, HK_PATTERN, l, pattern)) return -1;
        be->attn_z(z, pattern, v_all, r->B, r->P, H, dh);
    } else {
        be->attention(scores, pattern, z, q_all, k_all, v_all, r->B, r->P, H, dh);
        if (hook_point(r, HK_ATTN_SCORES, l, scores) || hook_point(r, HK_PATTERN, l, pattern)) return -1;
    }
    if (took_whole(r, HK_Z, l, z)) return -1;
    if (sharing(r)) z = r->compact[HK_Z];   /* what follows attention: the computed rows again */

    if (r->cached[layer_slot(r, HK_RESULT, l)]) {
        TRY_OUT(result, HK_RESULT, l);
        be->head_results(result, z, W(L->W_O), r->Mc, H, dh, d);
        if (computed(r, HK_RESULT, l, result, NULL)) return -1;
    }
    TRY_OUT(attn_out, HK_ATTN_OUT, l);
    be->matmul(attn_out, z, W(L->W_O), W(L->b_O), r->Mc, H * dh, d, false);
    if (computed(r, HK_ATTN_OUT, l, attn_out, NULL)) return -1;

    TRY_OUT(mid, HK_RESID_MID, l);
    be->add(mid, resid_pre, attn_out, r->Mc * d);
    if (computed(r, HK_RESID_MID, l, mid, NULL)) return -1;

    TRY_OUT(scale2, HK_LN2_SCALE, l);
    TRY_OUT(norm2, HK_LN2_NORMALIZED, l);
    be->layernorm(norm2, scale2, mid, opt_f32(L->ln2_w), opt_f32(L->ln2_b), r->Mc, d, c->ln_eps);
    if (computed(r, HK_LN2_SCALE, l, scale2, NULL) || computed(r, HK_LN2_NORMALIZED, l, norm2, NULL)) return -1;

    TRY_OUT(pre, HK_MLP_PRE, l);
    be->matmul(pre, norm2, W(L->W_in), W(L->b_in), r->Mc, d, F, false);
    if (computed(r, HK_MLP_PRE, l, pre, NULL)) return -1;
    TRY_OUT(post, HK_MLP_POST, l);
    be->activation(post, pre, r->Mc * F, activation_of(c));
    if (computed(r, HK_MLP_POST, l, post, NULL)) return -1;
    TRY_OUT(mlp_out, HK_MLP_OUT, l);
    be->matmul(mlp_out, post, W(L->W_out), W(L->b_out), r->Mc, F, d, false);
    if (computed(r, HK_MLP_OUT, l, mlp_out, NULL)) return -1;

    TRY_OUT(resid_post, HK_RESID_POST, l);
    be->add(resid_post, mid, mlp_out, r->Mc * d);
    if (computed(r, HK_RESID_POST, l, resid_post, NULL)) return -1;
    *out = resid_post;
    return 0;
}

static int check_tokens(const lens_model *m, const lens_tensor *tokens, const lens_run_options *o,
                        lens_error *err)
{
    const lens_config *c = &m->cfg;
    char s[64];
    if (tokens->dtype != LENS_I64 || tokens->ndim != 2)
        return lens_fail(err, "tokens must be an int64 tensor [batch, pos], got a %s tensor of shape %s",
                         lens_dtype_name(tokens->dtype), lens_shape_str(tokens->ndim, tokens->shape, s, sizeof s));
    if (tokens->shape[0] < 1 || tokens->shape[1] < 1) return lens_fail(err, "tokens must not be empty");
    if (tokens->shape[1] > c->n_ctx)
        return lens_fail(err, "%lld positions exceed the model's context of %d tokens",
                         (long long)tokens->shape[1], c->n_ctx);
    lens_tensor *t = lens_tensor_host_contiguous(tokens, err);   /* the ids are checked on the host */
    if (!t) return -1;
    const int64_t *ids = lens_tensor_i64(t);
    int rc = 0;
    for (int64_t i = 0; i < lens_tensor_numel(t) && !rc; i++)
        if (ids[i] < 0 || ids[i] >= c->d_vocab)
            rc = lens_fail(err, "token id %lld at index %lld is outside the vocabulary (0..%d)",
                           (long long)ids[i], (long long)i, c->d_vocab - 1);
    lens_tensor_free(t);
    if (rc) return rc;
    if (o->start_layer < 0 || o->start_layer > c->n_layers)
        return lens_fail(err, "start_layer %d out of range", o->start_layer);
    if (o->start_layer > 0) {
        const lens_tensor *s0 = o->start_resid;
        if (!s0 || s0->dtype != LENS_F32 || s0->ndim != 3 || s0->shape[0] != tokens->shape[0] ||
            s0->shape[1] != tokens->shape[1] || s0->shape[2] != c->d_model)
            return lens_fail(err, "start_resid must be a float tensor [batch, pos, d_model] matching the tokens");
    }
    return 0;
}

/* dst (n floats on the run's backend) = src. */
static int copy_floats(run *r, float *dst, const float *src, int64_t n)
{
    return r->be->copy(dst, src, (size_t)n * sizeof(float), r->err);
}

static int run_all(run *r, const lens_tensor *tokens, lens_tensor **logits)
{
    const lens_model *m = r->m;
    const lens_config *c = &m->cfg;
    const lens_run_options *o = r->opt;
    const lens_backend *be = r->be;
    int64_t M = r->B * r->P, d = c->d_model;
    int stop = o->stop_at_layer >= 0 && o->stop_at_layer < c->n_layers ? o->stop_at_layer : c->n_layers;
    float *x;

    if (o->start_layer == 0) {
        lens_tensor *tk = lens_dev_on(be, tokens, r->err);   /* the ids, uploaded */
        if (!tk) return -1;
        float *embed = hook_buffer(r, HK_EMBED, 0), *pos = embed ? hook_buffer(r, HK_POS_EMBED, 0) : NULL;
        if (pos) be->embed(embed, pos, lens_dev_i64(tk), W(m->W_E), W(m->W_pos), r->B, r->P, d);
        lens_tensor_free(tk);
        if (!pos) return -1;
        if (hook_point(r, HK_EMBED, 0, embed) || hook_point(r, HK_POS_EMBED, 0, pos)) return -1;
        TRY_BUF(pre0, HK_RESID_PRE, 0);
        be->add(pre0, embed, pos, M * d);
        x = pre0;
    } else {
        TRY_BUF(pre, HK_RESID_PRE, o->start_layer);
        int64_t shape[3] = {r->B, r->P, d};
        lens_tensor *dst = lens_dev_wrap(be, LENS_F32, 3, shape, pre);
        int rc = dst ? lens_tensor_copy_into(dst, o->start_resid, r->err) : lens_fail_alloc(r->err);
        lens_tensor_free(dst);
        if (rc) return -1;
        x = pre;
    }
    for (int l = o->start_layer; l < stop; l++) {
        if (resid_pre_shared(r, l)) {
            char post[128], pre[128];
            lens_hook_name(HK_RESID_POST, l - 1, post, sizeof post);
            lens_hook_name(HK_RESID_PRE, l, pre, sizeof pre);
            const lens_tensor *out = lens_cache_get(r->cache, post);
            lens_tensor *t = out ? lens_tensor_ref(out) : NULL;
            if (!t || lens_cache_add(r->cache, pre, t)) {
                lens_tensor_free(t);
                return lens_fail_kind(r->err, LENS_ERR_MEMORY, "out of memory allocating %s", pre);
            }
            if (hook_point(r, HK_RESID_PRE, l, x)) return -1;
        } else if (sharing(r)) {
            /* from here on the computed rows, the block's input in compact[resid_pre] */
            memset(r->whole, 0, sizeof r->whole);
            if (l == 0) {
                if (took_whole(r, HK_RESID_PRE, l, x)) return -1;
            } else {
                if (copy_floats(r, r->compact[HK_RESID_PRE], x, r->Mc * d)) return -1;
                if (computed(r, HK_RESID_PRE, l, r->compact[HK_RESID_PRE], NULL)) return -1;
            }
            x = r->compact[HK_RESID_PRE];
        } else {
            if (l > o->start_layer) {
                TRY_BUF(pre, HK_RESID_PRE, l);
                if (copy_floats(r, pre, x, M * d)) return -1;
                x = pre;
            }
            if (hook_point(r, HK_RESID_PRE, l, x)) return -1;
        }
        if (run_block(r, l, x, &x)) return -1;
    }
    if (stop < c->n_layers) {
        int64_t shape[3] = {r->B, r->P, d};
        if (!logits) return 0;
        if (!(*logits = lens_tensor_new_on(be, LENS_F32, 3, shape))) return lens_fail_alloc(r->err);
        if (sharing(r)) {
            expand_rows(r, lens_dev_f32(*logits), x, d);
            return 0;
        }
        return copy_floats(r, lens_dev_f32(*logits), x, M * d);
    }
    memset(r->whole, 0, sizeof r->whole);
    TRY_OUT(scale, HK_LNF_SCALE, 0);
    TRY_OUT(norm_rows, HK_LNF_NORMALIZED, 0);
    be->layernorm(norm_rows, scale, x, opt_f32(m->lnf_w), opt_f32(m->lnf_b), r->Mc, d, c->ln_eps);
    float *norm;   /* every row: the logits are unembedded from it where they are read */
    if (computed(r, HK_LNF_SCALE, 0, scale, NULL) || computed(r, HK_LNF_NORMALIZED, 0, norm_rows, &norm)) return -1;
    /* unembed.hook_in equals ln_final's output: a copy only when it is cached or
     * a hook may change it. */
    float *unembed_in = norm;
    if (sharing(r) && (r->cached[layer_slot(r, HK_UNEMBED_IN, 0)] || o->hook_fn)) {
        /* as every activation: a hook that makes shared rows differ is seen */
        if (copy_floats(r, r->compact[HK_UNEMBED_IN], norm_rows, r->Mc * d) ||
            computed(r, HK_UNEMBED_IN, 0, r->compact[HK_UNEMBED_IN], &unembed_in))
            return -1;
    } else if (r->cached[layer_slot(r, HK_UNEMBED_IN, 0)] || o->hook_fn) {
        if (!(unembed_in = hook_buffer(r, HK_UNEMBED_IN, 0))) return -1;
        if (copy_floats(r, unembed_in, norm, M * d)) return -1;
        if (hook_point(r, HK_UNEMBED_IN, 0, unembed_in)) return -1;
    } else if (hook_point(r, HK_UNEMBED_IN, 0, unembed_in)) return -1;
    /* logits: unembedded where they are read (lazy_logits.c). Every row read is
     * unembedded, shared or not: copying a shared row's logits instead measured
     * slower when every row is read (the scattered rows' gathered products). */
    if (o->logits && logits && !(*logits = lens_logits_lazy(be, unembed_in, r->B, r->P, m->W_Ut, m->b_U, r->err)))
        return -1;
    return 0;
}

/* Refuses a run whose cache and logits do not fit: in the memory limit (with
 * what the session already holds; device memory counts too), and on a device
 * in its free memory. */
static int check_memory(const lens_backend *be, size_t need, const lens_run_options *o, lens_error *err)
{
    char a[32], b[32], u[32];
    lens_human_bytes(need, a, sizeof a);
    /* A per-run limit bounds this run alone; else what the session already holds counts. */
    size_t limit = o->memory_limit ? o->memory_limit : lens_memory_limit();
    size_t used = o->memory_limit ? 0 : lens_mem_in_use();
    if (need > limit || need > limit - (used < limit ? used : limit)) {
        lens_human_bytes(limit, b, sizeof b);
        lens_human_bytes(used, u, sizeof u);
        return lens_fail_kind(err, LENS_ERR_MEMORY,
                              "this run needs %s for its cache and logits, and %s of the memory limit of %s "
                              "is in use; cache fewer hooks (names_filter), use a smaller batch, free earlier "
                              "caches (del), or raise the limit (LENS_MEMORY_LIMIT)", a, u, b);
    }
    if (be->host_addressable) return 0;
    size_t free_bytes = 0, total = 0;
    if (be->memory_info(&free_bytes, &total, err)) return -1;
    if (need <= free_bytes) return 0;
    lens_human_bytes(free_bytes, u, sizeof u);
    lens_human_bytes(total, b, sizeof b);
    return lens_fail_kind(err, LENS_ERR_MEMORY,
                          "this run needs %s of %s memory for its cache and logits, and %s of its %s is free; "
                          "cache fewer hooks (names_filter), use a smaller batch, or free earlier caches (del)",
                          a, be->name, u, b);
}

/* The kinds with one row per (prompt, position); attention's scores and
 * pattern are [B, H, P, P]. */
static bool per_position(lens_hook_kind k) { return k != HK_ATTN_SCORES && k != HK_PATTERN; }

/* An index array on the run's backend (host values copied). */
static lens_tensor *index_tensor(const run *r, const int64_t *rows, int64_t n)
{
    lens_tensor *h = lens_tensor_new_v(LENS_I64, 1, n);
    if (!h) { lens_fail_alloc(r->err); return NULL; }
    memcpy(lens_tensor_i64(h), rows, (size_t)n * sizeof *rows);
    lens_tensor *t = lens_dev_on(r->be, h, r->err);
    lens_tensor_free(h);
    return t;
}

static void free_plan_tensors(run *r)
{
    lens_tensor_free(r->rows_compact);
    lens_tensor_free(r->rows_expand);
    lens_tensor_free(r->rows_repeat);
    lens_tensor_free(r->rows_source);
    r->rows_compact = r->rows_expand = r->rows_repeat = r->rows_source = NULL;
}

/* Puts r->plan on the backend: its index tensors and, in hooked runs, the
 * repeated rows with the rows they copy. */
static int use_plan(run *r)
{
    const lens_prefix_plan *p = &r->plan;
    free_plan_tensors(r);
    r->Mc = p->computed;
    if (!(r->rows_compact = index_tensor(r, p->compact, p->computed)) ||
        !(r->rows_expand = index_tensor(r, p->expand, p->rows)))
        return -1;
    int64_t repeats = p->rows - p->computed;
    if (!r->opt->hook_fn || !repeats) return 0;
    int64_t *source = malloc((size_t)repeats * sizeof *source);
    if (!source) return lens_fail_oom(r->err);
    for (int64_t i = 0, j = 0; i < p->rows; i++) {
        int64_t s = p->compact[p->expand[i]];
        if (s != i) { r->repeat_host[j] = i; source[j++] = s; }
    }
    r->rows_repeat = index_tensor(r, r->repeat_host, repeats);
    r->rows_source = r->rows_repeat ? index_tensor(r, source, repeats) : NULL;
    free(source);
    return r->rows_source ? 0 : -1;
}

/* After a hook point of a run with a hook_fn and shared prefixes: the hook may
 * have changed any row of whole[k]. Repeated rows that now differ from the rows
 * they copied get tokens of their own and the plan is made again (each stage's
 * activations regathered for it); either way the computed rows are taken
 * again from whole[k]. */
static int after_hook(run *r, lens_hook_kind k)
{
    const lens_backend *be = r->be;
    int64_t repeats = r->plan.rows - r->plan.computed;
    bool diverged = false;
    if (repeats > 0) {
        be->compare_rows(lens_dev_f32(r->differ), r->whole[k], lens_dev_i64(r->rows_repeat),
                         lens_dev_i64(r->rows_source), repeats, row_width(r, k));
        if (be->download(r->differ_host, lens_dev_f32(r->differ), (size_t)repeats * sizeof(float), r->err)) return -1;
        for (int64_t j = 0; j < repeats; j++)
            if (r->differ_host[j] != 0.0f) {
                int64_t row = r->repeat_host[j];
                r->ids[row] = -1 - row;   /* no token id is negative: this row is its own */
                diverged = true;
            }
    }
    if (diverged) {
        lens_prefix_plan_free(&r->plan);
        if (lens_prefix_plan_make(r->ids, r->B, r->P, &r->plan, r->err) || use_plan(r)) return -1;
    }
    for (int kk = 0; kk < HK_COUNT; kk++)
        if (r->whole[kk] && (diverged || kk == (int)k))
            be->gather_rows(r->compact[kk], r->whole[kk], lens_dev_i64(r->rows_compact), r->Mc,
                            row_width(r, (lens_hook_kind)kk));
    return 0;
}

/* Sets the plan when the run computes shared prompt prefixes once: it starts
 * from the tokens and at least one row in 16 repeats. Hooked runs keep the ids
 * and the comparison buffers (after_hook). */
static int share_prefixes(run *r, const lens_tensor *tokens, lens_error *err)
{
    const lens_run_options *o = r->opt;
    if (r->B < 2 || o->start_layer || o->no_shared_prefixes) return 0;
    lens_tensor *ids = lens_tensor_host_contiguous(tokens, err);
    if (!ids) return -1;
    int rc = lens_prefix_plan_make(lens_tensor_i64(ids), r->B, r->P, &r->plan, err);
    int64_t rows = r->plan.rows;
    if (!rc && r->plan.computed * 16 > rows * 15) lens_prefix_plan_free(&r->plan);   /* too little to share */
    else if (!rc && o->hook_fn) {
        /* rows floats and ids: the tokens tensor of that many int64s exists */
        r->ids = malloc((size_t)rows * sizeof *r->ids);
        r->repeat_host = malloc((size_t)rows * sizeof *r->repeat_host);
        r->differ_host = malloc((size_t)rows * sizeof *r->differ_host);
        r->differ = lens_tensor_new_on(r->be, LENS_F32, 1, (int64_t[]){rows});
        if (!r->ids || !r->repeat_host || !r->differ_host || !r->differ) rc = lens_fail_oom(err);
        else memcpy(r->ids, lens_tensor_i64(ids), (size_t)rows * sizeof *r->ids);
    }
    lens_tensor_free(ids);
    if (rc || !r->plan.rows) return rc;
    return use_plan(r);
}

int lens_model_run(const lens_model *m, const lens_tensor *tokens, const lens_run_options *opt,
                   lens_tensor **logits, lens_cache **cache, lens_error *err)
{
    lens_run_options o = opt ? *opt : lens_run_options_default();
    if (logits) *logits = NULL;
    if (cache) *cache = NULL;
    if (!cache) o.cache = false;
    if (check_tokens(m, tokens, &o, err)) return -1;
    size_t need = lens_run_estimate_bytes(m, tokens->shape[0], tokens->shape[1], &o);
    if (check_memory(m->be, need, &o, err)) return -1;
    lens_num_threads();
    run r = {.m = m, .opt = &o, .be = m->be, .B = tokens->shape[0], .P = tokens->shape[1], .err = err};
    r.Mc = r.B * r.P;
    r.cached = calloc((size_t)HK_COUNT * (size_t)(m->cfg.n_layers + 1), sizeof *r.cached);
    r.cache = lens_cache_new();
    int rc = -1;
    if (!r.cached || !r.cache) { lens_fail_oom(err); goto done; }
    if (select_hooks(&r, err)) goto done;
    {
        lens_run_options no_logits = o;
        no_logits.logits = false;
        int64_t cached_bytes = (int64_t)lens_run_estimate_bytes(m, r.B, r.P, &no_logits);
        int64_t elems = cached_bytes / (int64_t)sizeof(float) + 16 * HK_COUNT * (m->cfg.n_layers + 1);
        if (o.cache && cached_bytes > 0 && !(r.arena = lens_arena_take(r.be, elems, LENS_ARENA_CACHE))) {
            lens_fail_alloc(err);
            lens_fail_context(err, "the activation cache (%lld MiB)", (long long)(cached_bytes >> 20));
            goto done;
        }
    }
    if (share_prefixes(&r, tokens, err)) goto done;
    {
        /* scratch for every hook kind, and the computed rows of the per-position
         * ones when prefixes are shared: one arena, so a sweep's passes reuse it */
        int64_t total = 0, at[HK_COUNT], compact_at[HK_COUNT];
        for (int k = 0; k < HK_COUNT; k++) {
            at[k] = total;
            total += (hook_numel(&r, (lens_hook_kind)k) + 15) / 16 * 16;
        }
        for (int k = 0; k < HK_COUNT && sharing(&r); k++) {
            compact_at[k] = total;
            /* a hooked run's plan may grow to every row (after_hook) */
            int64_t rows = o.hook_fn ? r.B * r.P : r.Mc;
            if (per_position((lens_hook_kind)k)) total += (rows * row_width(&r, (lens_hook_kind)k) + 15) / 16 * 16;
        }
        if (!(r.scratch_arena = lens_arena_take(r.be, total, LENS_ARENA_SCRATCH))) {
            lens_fail_alloc(err);
            lens_fail_context(err, "scratch for the run (%lld MiB)", (long long)(total >> 18));
            goto done;
        }
        for (int k = 0; k < HK_COUNT; k++) {
            r.scratch[k] = lens_dev_f32(r.scratch_arena) + at[k];
            if (sharing(&r) && per_position((lens_hook_kind)k)) r.compact[k] = lens_dev_f32(r.scratch_arena) + compact_at[k];
        }
    }
    rc = run_all(&r, tokens, logits);
done:
    lens_tensor_free(r.arena);   /* the cache's views keep it alive */
    lens_tensor_free(r.scratch_arena);   /* back to the pool */
    free_plan_tensors(&r);
    lens_prefix_plan_free(&r.plan);
    lens_tensor_free(r.differ);
    free(r.ids);
    free(r.repeat_host);
    free(r.differ_host);
    free(r.cached);
    if (rc == 0 && cache) *cache = r.cache;
    else lens_cache_free(r.cache);
    if (rc && logits) { lens_tensor_free(*logits); *logits = NULL; }
    return rc;
}
