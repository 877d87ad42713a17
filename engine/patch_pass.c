/* patch_pass.c — a patching sweep's pass over the rows a patch can change
 * (patch_pass.h).
 *
 * Row layouts. Replica r (cell r of the pass) patches from position p[r], so it
 * computes S[r] = P - p[r] positions of each of the B prompts. "Packed"
 * buffers hold those rows for every replica one after another: replica r's
 * rows start at row base[r], prompt b's at base[r] + b * S[r]. Attention needs
 * every position, so q, k, v, the scores, the pattern and z are "full" buffers
 * [k*B, P, ...] where replica r's positions < p[r] are the corrupted run's and
 * the rest come from the packed rows. Every copy between layouts is one strided
 * copy of the backend per replica (lens_tensor_copy_into); nothing here reads
 * device memory except the k*B dot products, downloaded at the end.
 *
 * Rows needed downstream: the metric reads each prompt's last position of the
 * last block's output, so the last block computes its keys and values at every
 * packed row (its attention reads them) but its queries, W_O, LayerNorm and MLP
 * only at the "read rows" [k*B, ...] (row r*B + b: prompt b's last position in
 * replica r); every earlier block's output is read by the next block's keys
 * and values at every packed row. */
#include "patch_pass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "device_tensor.h"
#include "lens/checked.h"
#include "lens/patching.h"

enum { B_X, B_Y, B_NORM, B_SCALE, B_QS, B_KS, B_VS, B_QF, B_KF, B_VF, B_SCORES, B_PATTERN, B_ZF, B_ZS,
       B_ATTN_OUT, B_MID, B_PRE, B_POST, B_MLP_OUT, B_FIN, B_FNORM, B_FSCALE, B_PROD, B_DOTS, B_DIR, B_COUNT };

struct lens_patch_pass {
    const lens_model *m;
    const lens_backend *be;
    int64_t B, P, k_max, d, H, dh, F;
    lens_tensor *buf[B_COUNT];
    /* the corrupted run's activations, per layer */
    const lens_tensor **resid_pre, **q, **k, **v;
    const lens_tensor *final_norm;   /* ln_final.hook_normalized [B, P, d] */
    int64_t *last;                   /* [B] */
    float *bias;                     /* [B], host */
    /* the current pass */
    int64_t kc;                      /* cells */
    int64_t *p, *S, *base;           /* [k_max] */
    int64_t rows;                    /* packed rows of this pass */
    float *dots;                     /* [k_max * B], host */
};

static float *P32(const lens_patch_pass *pp, int b) { return lens_dev_f32(pp->buf[b]); }

void lens_patch_pass_free(lens_patch_pass *pp)
{
    if (!pp) return;
    for (int i = 0; i < B_COUNT; i++) lens_tensor_free(pp->buf[i]);
    free(pp->resid_pre);
    free(pp->q);
    free(pp->k);
    free(pp->v);
    free(pp->last);
    free(pp->bias);
    free(pp->p);
    free(pp->S);
    free(pp->base);
    free(pp->dots);
    free(pp);
}

static const lens_tensor *corrupted_at(const lens_cache *c, const char *name, lens_error *err)
{
    const lens_tensor *t = lens_cache_get(c, name);
    if (!t || !lens_tensor_is_contiguous(t)) lens_fail(err, "patch: the corrupted run has no %s", name);
    return t;
}

lens_patch_pass *lens_patch_pass_new(const lens_model *m, const lens_cache *corrupted, int64_t B, int64_t P,
                                     int64_t k_max, const int64_t *last, const float *dir, const float *bias,
                                     lens_error *err)
{
    const lens_config *c = lens_model_config(m);
    int nl = c->n_layers;
    lens_patch_pass *pp = calloc(1, sizeof *pp);
    if (!pp) { lens_fail_oom(err); return NULL; }
    pp->m = m;
    pp->be = m->be;
    pp->B = B, pp->P = P, pp->k_max = k_max;
    pp->d = c->d_model, pp->H = c->n_heads, pp->dh = c->d_head, pp->F = c->d_mlp;
    pp->resid_pre = calloc((size_t)nl, sizeof *pp->resid_pre);
    pp->q = calloc((size_t)nl, sizeof *pp->q);
    pp->k = calloc((size_t)nl, sizeof *pp->k);
    pp->v = calloc((size_t)nl, sizeof *pp->v);
    pp->last = malloc((size_t)B * sizeof *pp->last);
    pp->bias = malloc((size_t)B * sizeof *pp->bias);
    pp->p = malloc((size_t)k_max * sizeof *pp->p);
    pp->S = malloc((size_t)k_max * sizeof *pp->S);
    pp->base = malloc((size_t)k_max * sizeof *pp->base);
    int64_t kB, N;
    if (!lens_mul_i64(k_max, B, &kB) || !lens_mul_i64(kB, P, &N)) {
        lens_fail_kind(err, LENS_ERR_TOO_LARGE, "patch: %lld cells of %lld x %lld tokens per pass is too many",
                       (long long)k_max, (long long)B, (long long)P);
        goto fail;
    }
    pp->dots = malloc((size_t)kB * sizeof *pp->dots);
    if (!pp->resid_pre || !pp->q || !pp->k || !pp->v || !pp->last || !pp->bias || !pp->p || !pp->S || !pp->base ||
        !pp->dots) {
        lens_fail_oom(err);
        goto fail;
    }
    memcpy(pp->last, last, (size_t)B * sizeof *last);
    memcpy(pp->bias, bias, (size_t)B * sizeof *bias);
    for (int l = 0; l < nl; l++) {
        char name[128];
        snprintf(name, sizeof name, "blocks.%d.hook_resid_pre", l);
        if (!(pp->resid_pre[l] = corrupted_at(corrupted, name, err))) goto fail;
        snprintf(name, sizeof name, "blocks.%d.attn.hook_q", l);
        if (!(pp->q[l] = corrupted_at(corrupted, name, err))) goto fail;
        snprintf(name, sizeof name, "blocks.%d.attn.hook_k", l);
        if (!(pp->k[l] = corrupted_at(corrupted, name, err))) goto fail;
        snprintf(name, sizeof name, "blocks.%d.attn.hook_v", l);
        if (!(pp->v[l] = corrupted_at(corrupted, name, err))) goto fail;
    }
    if (!(pp->final_norm = corrupted_at(corrupted, "ln_final.hook_normalized", err))) goto fail;

    /* every buffer's element count; the products are bounded by the checked N */
    int64_t d = pp->d, HD = pp->H * pp->dh, F = pp->F, H = pp->H;
    int64_t HPP, widest = F > d ? F : d, unused;
    if (HD > widest) widest = HD;
    if (!lens_mul_i64(H * P, P, &HPP) || !lens_mul_i64(HPP, kB, &HPP) || !lens_mul_i64(N, widest, &unused)) {
        lens_fail_kind(err, LENS_ERR_TOO_LARGE, "patch: a pass's attention patterns are too large");
        goto fail;
    }
    int64_t elems[B_COUNT] = {
        [B_X] = N * d, [B_Y] = N * d, [B_NORM] = N * d, [B_SCALE] = N,
        [B_QS] = N * HD, [B_KS] = N * HD, [B_VS] = N * HD, [B_QF] = N * HD, [B_KF] = N * HD, [B_VF] = N * HD,
        [B_SCORES] = HPP, [B_PATTERN] = HPP, [B_ZF] = N * HD, [B_ZS] = N * HD,
        [B_ATTN_OUT] = N * d, [B_MID] = N * d, [B_PRE] = N * F, [B_POST] = N * F, [B_MLP_OUT] = N * d,
        [B_FIN] = kB * d, [B_FNORM] = kB * d, [B_FSCALE] = kB, [B_PROD] = kB * d, [B_DOTS] = kB, [B_DIR] = B * d,
    };
    for (int i = 0; i < B_COUNT; i++)
        if (!(pp->buf[i] = lens_tensor_new_on(pp->be, LENS_F32, 1, &elems[i]))) {
            lens_fail_alloc(err);
            lens_fail_context(err, "patch: buffers for %lld cells per pass", (long long)k_max);
            goto fail;
        }
    if (pp->be->upload(P32(pp, B_DIR), dir, (size_t)(B * d) * sizeof(float), err)) goto fail;
    return pp;
fail:
    lens_patch_pass_free(pp);
    return NULL;
}

/* A [n0, n1, n2] view of t at element off (from t's first element), strides
 * s0, s1, 1. */
static lens_tensor *view3(const lens_tensor *t, int64_t off, int64_t n0, int64_t s0, int64_t n1, int64_t s1,
                          int64_t n2)
{
    int64_t shape[3] = {n0, n1, n2}, strides[3] = {s0, s1, 1};
    return lens_tensor_view(t, 3, shape, strides, t->offset + off);
}

static int copy_views(lens_tensor *dst, lens_tensor *src, lens_error *err)
{
    int rc = dst && src ? lens_tensor_copy_into(dst, src, err) : lens_fail_alloc(err);
    lens_tensor_free(dst);
    lens_tensor_free(src);
    return rc;
}

/* Packed rows of replica r (rows of w floats) <- positions p[r].. of a full
 * [B', P, w] tensor's prompts starting at prompt b0. */
static int packed_from_full(lens_patch_pass *pp, int b_dst, const lens_tensor *full, int64_t b0, int64_t r,
                            int64_t w, lens_error *err)
{
    int64_t B = pp->B, P = pp->P, S = pp->S[r];
    return copy_views(view3(pp->buf[b_dst], pp->base[r] * w, B, S * w, S, w, w),
                      view3(full, (b0 * P + pp->p[r]) * w, B, P * w, S, w, w), err);
}

/* A full buffer's replica r: positions < p[r] from the corrupted run's
 * activation corr [B, P, w], the rest from the packed rows in b_src. */
static int full_from_parts(lens_patch_pass *pp, int b_full, const lens_tensor *corr, int b_src, int64_t r,
                           int64_t w, lens_error *err)
{
    int64_t B = pp->B, P = pp->P, p = pp->p[r], S = pp->S[r];
    const lens_tensor *full = pp->buf[b_full];
    if (p > 0 && copy_views(view3(full, r * B * P * w, B, P * w, p, w, w), view3(corr, 0, B, P * w, p, w, w), err))
        return -1;
    return copy_views(view3(full, (r * B * P + p) * w, B, P * w, S, w, w),
                      view3(pp->buf[b_src], pp->base[r] * w, B, S * w, S, w, w), err);
}

/* The last layer computes, after its keys and values, only the rows the
 * metric reads: "read rows" [k*B, w], row r*B + b being prompt b's last
 * position in replica r. A prompt whose last position is before p[r] keeps
 * the corrupted score (score()), so its row is left as it is. */
static bool reads_row(const lens_patch_pass *pp, int64_t r, int64_t b) { return pp->last[b] >= pp->p[r]; }

/* Read rows (w floats each) <- the packed rows (full: the full layout) of b_src
 * at each read position. */
static int read_rows_from(lens_patch_pass *pp, int b_dst, int b_src, bool full, int64_t w, lens_error *err)
{
    float *dst = P32(pp, b_dst);
    const float *src = P32(pp, b_src);
    for (int64_t r = 0; r < pp->kc; r++)
        for (int64_t b = 0; b < pp->B; b++) {
            if (!reads_row(pp, r, b)) continue;
            int64_t row = full ? (r * pp->B + b) * pp->P + pp->last[b] : pp->base[r] + b * pp->S[r] + pp->last[b] - pp->p[r];
            if (pp->be->copy(dst + (r * pp->B + b) * w, src + row * w, (size_t)w * sizeof(float), err)) return -1;
        }
    return 0;
}

/* The full layout of b_dst at each read position <- the read rows of b_src. */
static int full_from_read_rows(lens_patch_pass *pp, int b_dst, int b_src, int64_t w, lens_error *err)
{
    float *dst = P32(pp, b_dst);
    const float *src = P32(pp, b_src);
    for (int64_t r = 0; r < pp->kc; r++)
        for (int64_t b = 0; b < pp->B; b++)
            if (reads_row(pp, r, b) && pp->be->copy(dst + ((r * pp->B + b) * pp->P + pp->last[b]) * w,
                                                    src + (r * pp->B + b) * w, (size_t)w * sizeof(float), err))
                return -1;
    return 0;
}

/* Where a hook's position and head dims are (-1: none). */
static void hook_dims(lens_hook_kind kind, int *pos_dim, int *head_dim)
{
    lens_hook_shape s = lens_hooks[kind].shape;
    *pos_dim = s == SH_BHPP ? 2 : 1;
    *head_dim = s == SH_BHPP ? 1 : (s == SH_BPHD || s == SH_BPHM) ? 2 : -1;
}

static lens_tensor *narrow_cell(lens_tensor *t, int pos_dim, int64_t pos, int head_dim, int64_t head)
{
    if (t && pos != LENS_ALL) {
        lens_tensor *x = lens_tensor_narrow(t, pos_dim, pos, 1);
        lens_tensor_free(t);
        t = x;
    }
    if (t && head != LENS_ALL) {
        lens_tensor *x = lens_tensor_narrow(t, head_dim, head, 1);
        lens_tensor_free(t);
        t = x;
    }
    return t;
}

static bool full_layout(lens_hook_kind kind)
{
    return kind == HK_Q || kind == HK_K || kind == HK_V || kind == HK_ATTN_SCORES || kind == HK_PATTERN ||
           kind == HK_Z;
}

/* The hooks the last layer computes in read rows: those after attention. */
static bool read_layout(const lens_patch_pass *pp, int L, lens_hook_kind kind)
{
    return L == lens_model_config(pp->m)->n_layers - 1 && (kind == HK_ATTN_OUT || kind == HK_RESID_MID ||
           kind == HK_LN2_SCALE || kind == HK_LN2_NORMALIZED || kind == HK_MLP_PRE || kind == HK_MLP_POST ||
           kind == HK_MLP_OUT || kind == HK_RESID_POST);
}

/* The views of one read row (replica r, prompt b) of buffer b_dst and of the
 * clean activation there, both narrowed to the cell's head; copied. */
static int patch_read_row(lens_patch_pass *pp, const lens_patch_cells *c, int b_dst, int nd, const int64_t *shape,
                          int64_t inner, int64_t r, int64_t b, lens_error *err)
{
    int pos_dim, head_dim;
    hook_dims(c->kind, &pos_dim, &head_dim);
    int64_t s[LENS_MAX_DIMS], strides[LENS_MAX_DIMS], st = 1;
    memcpy(s, shape, (size_t)nd * sizeof *s);
    s[0] = s[1] = 1;
    for (int i = nd - 1; i >= 0; i--) { strides[i] = st; st *= s[i]; }
    lens_tensor *dst = lens_tensor_view(pp->buf[b_dst], nd, s, strides, pp->buf[b_dst]->offset + (r * pp->B + b) * inner);
    dst = narrow_cell(dst, pos_dim, LENS_ALL, head_dim, c->head[r]);
    lens_tensor *src = lens_tensor_narrow(c->clean, 0, b, 1);
    src = narrow_cell(src, pos_dim, pp->last[b], head_dim, c->head[r]);
    return copy_views(dst, src, err);
}

/* After hook `kind` of layer L is computed into buffer b: when it is the
 * patched hook, each replica's cell gets the clean activation. */
static int patch_point(lens_patch_pass *pp, const lens_patch_cells *c, int L, lens_hook_kind kind, int b,
                       lens_error *err)
{
    if (L != c->layer || kind != c->kind) return 0;
    const lens_config *cfg = lens_model_config(pp->m);
    int pos_dim, head_dim;
    hook_dims(kind, &pos_dim, &head_dim);
    int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
    int nd = lens_hook_shape_of(cfg, kind, pp->B, pp->P, shape);
    int64_t per_prompt = 1;   /* elements of one prompt's activation */
    for (int i = 1; i < nd; i++) per_prompt *= shape[i];
    if (read_layout(pp, L, kind)) {   /* only the read rows exist: a cell at another position changes nothing read */
        for (int64_t r = 0; r < pp->kc; r++)
            for (int64_t pb = 0; pb < pp->B; pb++)
                if (reads_row(pp, r, pb) && (c->pos[r] == LENS_ALL || c->pos[r] == pp->last[pb]) &&
                    patch_read_row(pp, c, b, nd, shape, per_prompt / pp->P, r, pb, err))
                    return lens_fail_context(err, "patching %s", lens_hooks[kind].suffix);
        return 0;
    }
    bool full = full_layout(kind);
    for (int64_t r = 0; r < pp->kc; r++) {
        int64_t off, pos = c->pos[r];
        int64_t s[LENS_MAX_DIMS];
        memcpy(s, shape, sizeof s);
        if (full) off = r * pp->B * per_prompt;
        else {   /* [B, S, inner] of the packed rows; positions count from p[r] */
            s[1] = pp->S[r];
            off = pp->base[r] * (per_prompt / pp->P);
            if (pos != LENS_ALL) pos -= pp->p[r];
        }
        int64_t st = 1;
        for (int i = nd - 1; i >= 0; i--) { strides[i] = st; st *= s[i]; }
        lens_tensor *dst = lens_tensor_view(pp->buf[b], nd, s, strides, pp->buf[b]->offset + off);
        dst = narrow_cell(dst, pos_dim, pos, head_dim, c->head[r]);
        lens_tensor *src = narrow_cell(lens_tensor_ref(c->clean), pos_dim, c->pos[r], head_dim, c->head[r]);
        if (copy_views(dst, src, err)) return lens_fail_context(err, "patching %s", lens_hooks[kind].suffix);
    }
    return 0;
}

static lens_activation activation_of(const lens_config *c)
{
    if (!strcmp(c->act_fn, "relu")) return LENS_ACT_RELU;
    if (!strcmp(c->act_fn, "gelu")) return LENS_ACT_GELU;
    return LENS_ACT_GELU_NEW;
}

#define PATCH(kind, b) \
    if (patch_point(pp, c, L, kind, b, err)) return -1

/* Block L over the packed rows: the residual in B_X -> B_Y. The last block
 * needs its keys and values at every packed row, but its queries and what
 * follows attention only at the read rows: there B_Y gets the read rows. */
static int run_block(lens_patch_pass *pp, const lens_patch_cells *c, int L, lens_error *err)
{
    const lens_backend *be = pp->be;
    const lens_config *cfg = lens_model_config(pp->m);
    const lens_layer *W = &pp->m->layers[L];
    int64_t N = pp->rows, d = pp->d, H = pp->H, dh = pp->dh, HD = H * dh, F = pp->F, kB = pp->kc * pp->B;
    bool last = L == cfg->n_layers - 1;
    float *x = P32(pp, B_X), *norm = P32(pp, B_NORM), *scale = P32(pp, B_SCALE);

    be->layernorm(norm, scale, x, lens_dev_f32_opt(W->ln1_w), lens_dev_f32_opt(W->ln1_b), N, d, cfg->ln_eps);
    PATCH(HK_LN1_SCALE, B_SCALE);
    PATCH(HK_LN1_NORMALIZED, B_NORM);
    be->matmul(P32(pp, B_KS), norm, lens_dev_f32(W->W_K), lens_dev_f32(W->b_K), N, d, HD, false);
    be->matmul(P32(pp, B_VS), norm, lens_dev_f32(W->W_V), lens_dev_f32(W->b_V), N, d, HD, false);
    if (last) {   /* queries at the read rows only, put in place in the full layout */
        if (read_rows_from(pp, B_FIN, B_NORM, false, d, err)) return -1;
        be->matmul(P32(pp, B_QS), P32(pp, B_FIN), lens_dev_f32(W->W_Q), lens_dev_f32(W->b_Q), kB, d, HD, false);
        if (full_from_read_rows(pp, B_QF, B_QS, HD, err)) return -1;
    } else be->matmul(P32(pp, B_QS), norm, lens_dev_f32(W->W_Q), lens_dev_f32(W->b_Q), N, d, HD, false);
    for (int64_t r = 0; r < pp->kc; r++)
        if ((!last && full_from_parts(pp, B_QF, pp->q[L], B_QS, r, HD, err)) ||
            full_from_parts(pp, B_KF, pp->k[L], B_KS, r, HD, err) || full_from_parts(pp, B_VF, pp->v[L], B_VS, r, HD, err))
            return -1;
    PATCH(HK_Q, B_QF);
    PATCH(HK_K, B_KF);
    PATCH(HK_V, B_VF);
    float *q = P32(pp, B_QF), *k = P32(pp, B_KF), *v = P32(pp, B_VF);
    float *scores = P32(pp, B_SCORES), *pattern = P32(pp, B_PATTERN), *z = P32(pp, B_ZF);
    if (L == c->layer && (c->kind == HK_ATTN_SCORES || c->kind == HK_PATTERN)) {
        be->attn_scores(scores, q, k, kB, pp->P, H, dh);
        PATCH(HK_ATTN_SCORES, B_SCORES);
        be->attn_softmax(pattern, scores, kB, pp->P, H);
        PATCH(HK_PATTERN, B_PATTERN);
        be->attn_z(z, pattern, v, kB, pp->P, H, dh);
    } else be->attention(scores, pattern, z, q, k, v, kB, pp->P, H, dh);
    PATCH(HK_Z, B_ZF);
    /* from here on: M rows, the packed ones or (last block) the read rows */
    int64_t M = last ? kB : N;
    if (last) {
        if (read_rows_from(pp, B_ZS, B_ZF, true, HD, err) || read_rows_from(pp, B_FIN, B_X, false, d, err)) return -1;
        x = P32(pp, B_FIN);
    } else
        for (int64_t r = 0; r < pp->kc; r++)
            if (packed_from_full(pp, B_ZS, pp->buf[B_ZF], r * pp->B, r, HD, err)) return -1;
    /* hook_result is not computed: nothing downstream reads it (attn_out comes from z) */
    float *attn_out = P32(pp, B_ATTN_OUT), *mid = P32(pp, B_MID);
    be->matmul(attn_out, P32(pp, B_ZS), lens_dev_f32(W->W_O), lens_dev_f32(W->b_O), M, HD, d, false);
    PATCH(HK_ATTN_OUT, B_ATTN_OUT);
    be->add(mid, x, attn_out, M * d);
    PATCH(HK_RESID_MID, B_MID);
    be->layernorm(norm, scale, mid, lens_dev_f32_opt(W->ln2_w), lens_dev_f32_opt(W->ln2_b), M, d, cfg->ln_eps);
    PATCH(HK_LN2_SCALE, B_SCALE);
    PATCH(HK_LN2_NORMALIZED, B_NORM);
    float *pre = P32(pp, B_PRE), *post = P32(pp, B_POST), *mlp_out = P32(pp, B_MLP_OUT);
    be->matmul(pre, norm, lens_dev_f32(W->W_in), lens_dev_f32(W->b_in), M, d, F, false);
    PATCH(HK_MLP_PRE, B_PRE);
    be->activation(post, pre, M * F, activation_of(cfg));
    PATCH(HK_MLP_POST, B_POST);
    be->matmul(mlp_out, post, lens_dev_f32(W->W_out), lens_dev_f32(W->b_out), M, F, d, false);
    PATCH(HK_MLP_OUT, B_MLP_OUT);
    be->add(P32(pp, B_Y), mid, mlp_out, M * d);
    PATCH(HK_RESID_POST, B_Y);
    return 0;
}

/* Each replica's prompts at their last position (fin: the last block's read
 * rows): normalised, dotted with the answer direction, downloaded; out[r] =
 * the mean logit difference. */
static int score(lens_patch_pass *pp, const float *fin, double *out, lens_error *err)
{
    const lens_backend *be = pp->be;
    const lens_config *cfg = lens_model_config(pp->m);
    int64_t B = pp->B, P = pp->P, d = pp->d, kB = pp->kc * B;
    float *fnorm = P32(pp, B_FNORM);
    be->layernorm(fnorm, P32(pp, B_FSCALE), fin, lens_dev_f32_opt(pp->m->lnf_w), lens_dev_f32_opt(pp->m->lnf_b), kB, d,
                  cfg->ln_eps);
    /* a prompt whose last position is before the patch keeps the corrupted value */
    const float *cf = lens_dev_f32(pp->final_norm);
    for (int64_t r = 0; r < pp->kc; r++)
        for (int64_t b = 0; b < B; b++)
            if (!reads_row(pp, r, b) &&
                be->copy(fnorm + (r * B + b) * d, cf + (b * P + pp->last[b]) * d, (size_t)d * sizeof(float), err))
                return -1;
    int64_t shape[3] = {pp->kc, B, d}, s_rows[3] = {B * d, d, 1}, s_dir[3] = {0, d, 1};
    be->binary_f32(LENS_OP_MUL, P32(pp, B_PROD), fnorm, s_rows, P32(pp, B_DIR), s_dir, 3, shape);
    be->reduce_f32(LENS_RED_SUM, P32(pp, B_DOTS), P32(pp, B_PROD), kB, d, 1);
    if (be->download(pp->dots, P32(pp, B_DOTS), (size_t)kB * sizeof(float), err)) return -1;
    for (int64_t r = 0; r < pp->kc; r++) {
        double sum = 0;
        for (int64_t b = 0; b < B; b++) sum += (double)(pp->dots[r * B + b] + pp->bias[b]);
        out[r] = sum / (double)B;
    }
    return 0;
}

int lens_patch_pass_run(lens_patch_pass *pp, const lens_patch_cells *c, const volatile int *interrupt, double *out,
                        lens_error *err)
{
    if (c->k < 1 || c->k > pp->k_max) return lens_fail(err, "internal: %lld cells in a pass", (long long)c->k);
    int nl = lens_model_config(pp->m)->n_layers;
    int64_t d = pp->d, rows = 0;
    pp->kc = c->k;
    for (int64_t r = 0; r < c->k; r++) {
        pp->p[r] = c->pos[r] == LENS_ALL ? 0 : c->pos[r];
        pp->S[r] = pp->P - pp->p[r];
        pp->base[r] = rows;
        rows += pp->B * pp->S[r];
    }
    pp->rows = rows;
    for (int64_t r = 0; r < c->k; r++)
        if (packed_from_full(pp, B_X, pp->resid_pre[c->layer], 0, r, d, err)) return -1;
    if (patch_point(pp, c, c->layer, HK_RESID_PRE, B_X, err)) return -1;
    for (int L = c->layer; L < nl; L++) {
        if (interrupt && *interrupt) return lens_fail_kind(err, LENS_ERR_INTERRUPTED, "interrupted");
        if (L > c->layer) {
            lens_tensor *t = pp->buf[B_X];   /* last block's output is this one's input */
            pp->buf[B_X] = pp->buf[B_Y];
            pp->buf[B_Y] = t;
        }
        if (run_block(pp, c, L, err)) return -1;
    }
    if (score(pp, P32(pp, B_Y), out, err)) return -1;
    return pp->be->synchronize(err);
}
