/* backward.c — lens_model_run_backward: a forward pass that caches what the
 * backward pass needs, then the gradients of a logit-difference metric with
 * respect to every hook point, from the unembedding down to the embeddings.
 *
 * Owns: the order of the backward pass, the metric's gradient, where each kept
 * gradient goes. Does not own: which hooks are kept, which activations are read
 * and the memory estimate (backward_select.c), the derivative kernels
 * (the model's backend: backend.h) or the forward pass (forward.c).
 *
 * The pass runs on the model's backend: the gradient buffers are in its memory,
 * every computation and copy is one of its operations, the kept gradients are
 * tensors on its device. Host code reads only the few rows the builtin metric
 * needs (downloaded) and writes the metric's seed gradient (uploaded).
 *
 * Gradients that are equal by construction are computed once: resid_post's is
 * mlp_out's and the next block's resid_pre's, resid_mid's is attn_out's (and
 * every head's hook_result's), unembed.hook_in's is ln_final.hook_normalized's,
 * embed's and pos_embed's are blocks.0.hook_resid_pre's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "backward_select.h"
#include "cache_internal.h"
#include "device_tensor.h"
#include "lens/backward.h"
#include "lens/tensor_ops.h"
#include "model_internal.h"

lens_grad_metric lens_grad_metric_logit_diff(const lens_tensor *answer_tokens)
{
    return (lens_grad_metric){.answer_tokens = answer_tokens, .scale = 1, .offset = 0};
}

lens_grad_metric lens_grad_metric_normalized(const lens_metric *mt)
{
    double span = mt->clean - mt->corrupted;
    return (lens_grad_metric){.answer_tokens = mt->answer_tokens, .scale = 1 / span, .offset = -mt->corrupted / span};
}

lens_grad_metric lens_grad_metric_of_logits(lens_logits_metric_fn fn, void *ctx)
{
    return (lens_grad_metric){.logits_fn = fn, .ctx = ctx};
}

/* ---- the backward pass ------------------------------------------------------------------ */

typedef struct bwd {
    const lens_model *m;
    const lens_backend *be;
    const selection *sel;
    const lens_cache *acts;       /* the forward activations */
    const lens_tensor *logits;    /* the forward's logits (a metric of the logits only) */
    lens_cache *grads;            /* NULL: keep none */
    int64_t B, P, M;
    float *scratch[HK_COUNT];
    lens_error *err;
} bwd;

static bool keeps(const bwd *b, lens_hook_kind k, int layer)
{
    if (!b->grads) return false;
    char name[128];
    lens_hook_name(k, layer, name, sizeof name);
    return backward_user_selects(b->sel, name, k);
}

/* A new kept gradient tensor for (k, layer), added to the gradient cache. */
static float *kept_tensor(bwd *b, lens_hook_kind k, int layer)
{
    int64_t shape[LENS_MAX_DIMS];
    int nd = lens_hook_shape_of(&b->m->cfg, k, b->B, b->P, shape);
    char name[160];
    lens_hook_name(k, layer, name, sizeof name);
    strcat(name, "_grad");
    lens_tensor *t = lens_tensor_new_on(b->be, LENS_F32, nd, shape);
    if (!t || lens_cache_add(b->grads, name, t)) {
        lens_tensor_free(t);
        lens_fail_kind(b->err, LENS_ERR_MEMORY, "out of memory allocating %s", name);
        return NULL;
    }
    return lens_dev_f32(t);
}

static size_t hook_bytes(const bwd *b, lens_hook_kind k)
{
    return (size_t)backward_hook_numel(&b->m->cfg, k, b->B, b->P) * sizeof(float);
}

/* Where (k, layer)'s gradient is computed: its kept tensor, or a scratch buffer. */
static float *grad_buffer(bwd *b, lens_hook_kind k, int layer)
{
    if (keeps(b, k, layer)) return kept_tensor(b, k, layer);
    if (!b->scratch[k]) b->scratch[k] = b->be->alloc(hook_bytes(b, k), b->err);
    return b->scratch[k];
}

/* Keeps a copy of a gradient computed elsewhere (the equal ones). */
static int keep_copy(bwd *b, lens_hook_kind k, int layer, const float *g)
{
    if (!keeps(b, k, layer)) return 0;
    float *t = kept_tensor(b, k, layer);
    if (!t) return -1;
    return b->be->copy(t, g, hook_bytes(b, k), b->err);
}

static const float *act(const bwd *b, lens_hook_kind k, int layer)
{
    char name[128];
    lens_hook_name(k, layer, name, sizeof name);
    const lens_tensor *t = lens_cache_get(b->acts, name);
    return t ? lens_dev_f32(t) : NULL;
}

#define W(t) lens_dev_f32(t)
#define opt_f32(t) lens_dev_f32_opt(t)

static lens_activation activation_of(const lens_config *c)
{
    if (!strcmp(c->act_fn, "relu")) return LENS_ACT_RELU;
    if (!strcmp(c->act_fn, "gelu")) return LENS_ACT_GELU;
    return LENS_ACT_GELU_NEW;
}

#define TRY(x) do { if (!(x)) return -1; } while (0)

/* One block, from g_res = d resid_post to g_res = d resid_pre (g_mid is scratch). */
static int block_backward(bwd *b, int l, float *g_res, float *g_mid)
{
    const lens_config *c = &b->m->cfg;
    const lens_layer *L = &b->m->layers[l];
    const lens_backend *be = b->be;
    size_t row_bytes = (size_t)(b->M * c->d_model) * sizeof(float);
    int64_t M = b->M, d = c->d_model, H = c->n_heads, dh = c->d_head, F = c->d_mlp, HD = H * dh;

    if (keep_copy(b, HK_RESID_POST, l, g_res) || keep_copy(b, HK_MLP_OUT, l, g_res)) return -1;
    float *g_post, *g_pre, *g_norm2, *g_scale2;
    TRY(g_post = grad_buffer(b, HK_MLP_POST, l));
    be->matmul_dx(g_post, g_res, W(L->W_out), M, F, d, false);
    TRY(g_pre = grad_buffer(b, HK_MLP_PRE, l));
    be->activation_dx(g_pre, g_post, act(b, HK_MLP_PRE, l), M * F, activation_of(c));
    TRY(g_norm2 = grad_buffer(b, HK_LN2_NORMALIZED, l));
    be->matmul_dx(g_norm2, g_pre, W(L->W_in), M, d, F, false);
    TRY(g_scale2 = grad_buffer(b, HK_LN2_SCALE, l));
    if (be->copy(g_mid, g_res, row_bytes, b->err)) return -1;
    be->layernorm_dx(g_mid, g_scale2, g_norm2, act(b, HK_RESID_MID, l), act(b, HK_LN2_SCALE, l),
                     opt_f32(L->ln2_w), M, d);

    if (keep_copy(b, HK_RESID_MID, l, g_mid) || keep_copy(b, HK_ATTN_OUT, l, g_mid)) return -1;
    if (keeps(b, HK_RESULT, l)) {
        float *g_result;
        TRY(g_result = kept_tensor(b, HK_RESULT, l));
        /* every head's row is attn_out's: [M, H, d] read from [M, d] with a 0 head stride */
        be->copy_strided(g_result, (int64_t[]){H * d, d, 1}, g_mid, (int64_t[]){d, 0, 1}, 3, (int64_t[]){M, H, d},
                         sizeof(float));
    }
    float *g_z, *g_q, *g_k, *g_v, *g_pattern, *g_scores, *g_norm1, *g_scale1;
    TRY(g_z = grad_buffer(b, HK_Z, l));
    be->matmul_dx(g_z, g_mid, W(L->W_O), M, HD, d, false);
    TRY(g_pattern = grad_buffer(b, HK_PATTERN, l));
    TRY(g_scores = grad_buffer(b, HK_ATTN_SCORES, l));
    TRY(g_q = grad_buffer(b, HK_Q, l));
    TRY(g_k = grad_buffer(b, HK_K, l));
    TRY(g_v = grad_buffer(b, HK_V, l));
    be->attention_dx(g_q, g_k, g_v, g_pattern, g_scores, g_z, act(b, HK_Q, l), act(b, HK_K, l), act(b, HK_V, l),
                     act(b, HK_PATTERN, l), b->B, b->P, H, dh);
    TRY(g_norm1 = grad_buffer(b, HK_LN1_NORMALIZED, l));
    be->matmul_dx(g_norm1, g_q, W(L->W_Q), M, d, HD, false);
    be->matmul_dx(g_norm1, g_k, W(L->W_K), M, d, HD, true);
    be->matmul_dx(g_norm1, g_v, W(L->W_V), M, d, HD, true);
    TRY(g_scale1 = grad_buffer(b, HK_LN1_SCALE, l));
    if (be->copy(g_res, g_mid, row_bytes, b->err)) return -1;
    be->layernorm_dx(g_res, g_scale1, g_norm1, act(b, HK_RESID_PRE, l), act(b, HK_LN1_SCALE, l),
                     opt_f32(L->ln1_w), M, d);
    return keep_copy(b, HK_RESID_PRE, l, g_res);
}

/* The seed row of prompt i (d floats from the host) into g at row `row` on the backend. */
static int upload_row(bwd *b, float *g, int64_t row, const float *host)
{
    int64_t d = b->m->cfg.d_model;
    return b->be->upload(g + row * d, host, (size_t)d * sizeof(float), b->err);
}

/* Checks the metric's answers and writes the gradient of the metric with respect
 * to unembed.hook_in into g [M, d] (nonzero only at each prompt's last position),
 * and the metric's value from ln_final's output. The rows it reads (each prompt's
 * final residual at its last position, the answers' unembedding columns and
 * biases) are downloaded; the seed rows are uploaded. */
static int metric_seed(bwd *b, const lens_tensor *tokens, const lens_grad_metric *mt, float *g, double *value)
{
    const lens_model *m = b->m;
    const lens_config *c = &m->cfg;
    const lens_backend *be = b->be;
    const lens_tensor *at = mt->answer_tokens;
    int64_t B = b->B, P = b->P, d = c->d_model;
    char s[64];
    if (!at || at->dtype != LENS_I64 || at->ndim != 2 || at->shape[0] != B || at->shape[1] != 2)
        return lens_fail(b->err, "the metric's answer tokens must be int64 [%lld, 2] (correct, wrong) for %lld prompts, got %s",
                         (long long)B, (long long)B, at ? lens_shape_str(at->ndim, at->shape, s, sizeof s) : "none");
    lens_tensor *answers = lens_tensor_host_contiguous(at, b->err);
    int64_t *last = malloc((size_t)B * sizeof *last);
    float *rows = malloc((size_t)(4 * d) * sizeof *rows);   /* x, u0, u1, the seed */
    int rc = -1;
    if (!answers) goto done;
    if (!last || !rows) { lens_fail_kind(b->err, LENS_ERR_MEMORY, "out of memory"); goto done; }
    if (lens_tokens_last_positions(m, tokens, last, b->err)) goto done;
    if (be->memset_zero(g, (size_t)(B * P * d) * sizeof *g, b->err)) goto done;
    const float *WUt = W(m->W_Ut), *bU = W(m->b_U);
    const float *fin = act(b, HK_LNF_NORMALIZED, 0);
    double ld = 0, coef = mt->scale / (double)B;
    float *x = rows, *u0 = rows + d, *u1 = rows + 2 * d, *gr = rows + 3 * d;
    for (int64_t i = 0; i < B; i++) {
        int64_t t[2];
        float bias[2];
        for (int k = 0; k < 2; k++) {
            t[k] = lens_tensor_i64(answers)[2 * i + k];
            if (t[k] < 0 || t[k] >= c->d_vocab) {
                lens_fail(b->err, "answer token %lld is outside the vocabulary (0..%d)", (long long)t[k], c->d_vocab - 1);
                goto done;
            }
            if (be->download(&bias[k], bU + t[k], sizeof(float), b->err)) goto done;
        }
        size_t rb = (size_t)d * sizeof(float);
        if (be->download(x, fin + (i * P + last[i]) * d, rb, b->err) || be->download(u0, WUt + t[0] * d, rb, b->err) ||
            be->download(u1, WUt + t[1] * d, rb, b->err))
            goto done;
        double dot = (double)bias[0] - bias[1];
        for (int64_t j = 0; j < d; j++) {
            double diff = (double)u0[j] - u1[j];
            dot += (double)x[j] * diff;
            gr[j] = (float)(coef * diff);
        }
        if (upload_row(b, g, i * P + last[i], gr)) goto done;
        ld += dot;
    }
    *value = mt->scale * (ld / (double)B) + mt->offset;
    rc = 0;
done:
    lens_tensor_free(answers);
    free(last);
    free(rows);
    return rc;
}

/* The entry from a function of the logits: its gradient rows, dlogits [n, V], give
 * the gradient of unembed.hook_in at those rows, dlogits @ W_U^T (= dlogits @ W_Ut),
 * and 0 elsewhere. The function sees the forward's logits where they are (the
 * user-metric tape refuses device tensors with its own error); its gradient is
 * moved to the model's device for the product. */
static int logits_seed(bwd *b, const lens_grad_metric *mt, float *g, double *value)
{
    int64_t n = 0, *rows = NULL, M = b->M, d = b->m->cfg.d_model, V = b->m->cfg.d_vocab;
    lens_tensor *grad = NULL, *on_dev = NULL, *dres = NULL;
    int rc = mt->logits_fn(mt->ctx, b->logits, value, &n, &rows, &grad, b->err);
    if (!rc && (!grad || grad->dtype != LENS_F32 || grad->ndim != 2 || grad->shape[0] != n || grad->shape[1] != V))
        rc = lens_fail(b->err, "backward: the metric's gradient must be float32 [rows, %lld]", (long long)V);
    for (int64_t i = 0; !rc && i < n; i++)
        if (rows[i] < 0 || rows[i] >= M) rc = lens_fail(b->err, "backward: the metric's gradient row %lld is outside the logits", (long long)rows[i]);
    if (!rc && n && (!(on_dev = lens_dev_on(b->be, grad, b->err)) || !(dres = lens_matmul(on_dev, b->m->W_Ut, b->err))))
        rc = -1;
    if (!rc) rc = b->be->memset_zero(g, (size_t)(M * d) * sizeof *g, b->err);
    for (int64_t i = 0; !rc && i < n; i++)
        rc = b->be->copy(g + rows[i] * d, lens_dev_f32(dres) + i * d, (size_t)d * sizeof *g, b->err);
    free(rows);
    lens_tensor_free(grad);
    lens_tensor_free(on_dev);
    lens_tensor_free(dres);
    return rc;
}

static int run_backward(bwd *b, const lens_tensor *tokens, const lens_grad_metric *mt, int lo, double *value,
                        const volatile int *interrupt)
{
    const lens_config *c = &b->m->cfg;
    const lens_backend *be = b->be;
    int64_t M = b->M, d = c->d_model;
    size_t bytes = (size_t)(M * d) * sizeof(float);
    float *g_res = be->alloc(bytes, b->err), *g_mid = g_res ? be->alloc(bytes, b->err) : NULL;
    float *g_final = NULL, *g_scale = NULL;
    int rc = -1;
    if (!g_res || !g_mid) goto done;
    if (!(g_final = grad_buffer(b, HK_LNF_NORMALIZED, 0))) goto done;
    if ((mt->logits_fn ? logits_seed(b, mt, g_final, value) : metric_seed(b, tokens, mt, g_final, value)) ||
        keep_copy(b, HK_UNEMBED_IN, 0, g_final))
        goto done;
    if (!(g_scale = grad_buffer(b, HK_LNF_SCALE, 0))) goto done;
    be->layernorm_dx(g_res, g_scale, g_final, act(b, HK_RESID_POST, c->n_layers - 1), act(b, HK_LNF_SCALE, 0),
                     opt_f32(b->m->lnf_w), M, d);   /* g_res is zero from alloc */
    for (int l = c->n_layers - 1; l >= lo; l--) {
        if (interrupt && *interrupt) { lens_fail_kind(b->err, LENS_ERR_INTERRUPTED, "interrupted"); goto done; }
        if (block_backward(b, l, g_res, g_mid)) goto done;
    }
    if (lo == 0 && (keep_copy(b, HK_EMBED, 0, g_res) || keep_copy(b, HK_POS_EMBED, 0, g_res))) goto done;
    rc = be->synchronize(b->err);
done:
    if (g_res) be->free(g_res, bytes);
    if (g_mid) be->free(g_mid, bytes);
    return rc;
}

static void human_bytes(size_t n, char *out, size_t size)
{
    if (n >= ((size_t)1 << 30)) snprintf(out, size, "%.2f GiB", (double)n / (double)((size_t)1 << 30));
    else snprintf(out, size, "%.1f MiB", (double)n / (double)(1 << 20));
}

/* The caller's activations out of the internal cache: shared when it holds
 * nothing else, else copied (so the rest can be freed). */
static int user_cache(const selection *s, const lens_cache *all, lens_cache **out, lens_error *err)
{
    int selected = 0, n = lens_cache_count(all);
    lens_hook_kind k;
    int layer;
    for (int i = 0; i < n; i++)
        if (!lens_hook_parse(s->cfg, lens_cache_name(all, i), &k, &layer) && backward_user_selects(s, lens_cache_name(all, i), k))
            selected++;
    lens_cache *c = lens_cache_new();
    if (!c) return lens_fail_oom(err);
    for (int i = 0; i < n; i++) {
        const char *name = lens_cache_name(all, i);
        if (lens_hook_parse(s->cfg, name, &k, &layer) || !backward_user_selects(s, name, k)) continue;
        const lens_tensor *t = lens_cache_at(all, i);
        lens_tensor *mine = selected == n ? lens_tensor_ref(t) : lens_tensor_clone(t);
        if (!mine || lens_cache_add(c, name, mine)) {
            lens_tensor_free(mine);
            lens_cache_free(c);
            return lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory copying the cache");
        }
    }
    *out = c;
    return 0;
}

int lens_model_run_backward(const lens_model *m, const lens_tensor *tokens, const lens_run_options *popt,
                            const lens_grad_metric *metric, lens_tensor **logits, lens_cache **cache,
                            lens_cache **grad_cache, double *value, lens_error *err)
{
    lens_run_options opt = popt ? *popt : lens_run_options_default();
    if (logits) *logits = NULL;
    if (cache) *cache = NULL;
    if (grad_cache) *grad_cache = NULL;
    if (!metric) return lens_fail(err, "backward: no metric to differentiate");
    if (opt.hook_fn || opt.start_layer || (opt.stop_at_layer >= 0 && opt.stop_at_layer < m->cfg.n_layers))
        return lens_fail(err, "backward: hooks, start_layer and stop_at_layer are not supported with gradients");
    if (backward_check_batch(&m->cfg, tokens, err)) return -1;
    if (!logits) opt.logits = false;
    selection s;
    if (backward_selection_open(&s, m, &opt, err)) return -1;
    int64_t B = tokens->shape[0], P = tokens->shape[1];
    size_t need = backward_estimate(m, &s, B, P, &opt), limit = opt.memory_limit ? opt.memory_limit : lens_memory_limit();
    if (need > limit) {
        char a[32], l[32];
        human_bytes(need, a, sizeof a);
        human_bytes(limit, l, sizeof l);
        backward_selection_close(&s);
        return lens_fail_kind(err, LENS_ERR_MEMORY, "this run with gradients needs %s for the activations the backward pass reads, the "
                                   "caches and the logits, over the memory limit of %s; keep fewer hooks (names_filter), "
                                   "use a smaller batch, or raise the limit (LENS_MEMORY_LIMIT)", a, l);
    }
    lens_run_options f = backward_forward_options(&opt, &s);
    f.memory_limit = SIZE_MAX;    /* checked above, with the backward's share */
    f.logits = opt.logits || metric->logits_fn;
    lens_cache *acts = NULL;
    lens_tensor *lg = NULL;
    bwd b = {.m = m, .be = m->be, .sel = &s, .B = B, .P = P, .M = B * P, .err = err};
    double v = 0;
    int rc = lens_model_run(m, tokens, &f, f.logits ? &lg : NULL, &acts, err);
    if (rc) goto done;
    b.acts = acts;
    b.logits = lg;
    if (grad_cache && !(b.grads = lens_cache_new())) { rc = lens_fail_oom(err); goto done; }
    if ((rc = run_backward(&b, tokens, metric, backward_lowest_layer(&s), &v, opt.interrupt))) goto done;
    if (cache && opt.cache && (rc = user_cache(&s, acts, cache, err))) goto done;
    if (grad_cache) { *grad_cache = b.grads; b.grads = NULL; }
    if (value) *value = v;
    if (logits && opt.logits) { *logits = lg; lg = NULL; }
done:
    lens_tensor_free(lg);
    for (int k = 0; k < HK_COUNT; k++)
        if (b.scratch[k]) m->be->free(b.scratch[k], hook_bytes(&b, (lens_hook_kind)k));
    lens_cache_free(b.grads);
    lens_cache_free(acts);
    backward_selection_close(&s);
    if (rc && logits) { lens_tensor_free(*logits); *logits = NULL; }
    if (rc && cache) { lens_cache_free(*cache); *cache = NULL; }
    return rc;
}
