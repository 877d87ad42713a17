/* resid_stack.c — ActivationCache's views of the residual stream as stacks of
 * components (accumulated_resid, decompose_resid, stack_head_results,
 * stack_neuron_results, get_full_resid_decomposition), apply_ln_to_stack,
 * compute_head_results and logit_attrs. Component order and labels follow
 * TransformerLens exactly; every stack is [components, batch, pos?, d_model]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cache_internal.h"
#include "lens/analysis.h"
#include "lens/tensor_ops.h"
#include "model_internal.h"
#include "tensor_device.h"

/* A list of tensors and their labels, grown as components are added. */
typedef struct parts {
    lens_tensor **ts;
    char **labels;
    int n, cap;
} parts;

static int parts_add(parts *p, lens_tensor *t, const char *label, lens_error *err)
{
    if (!t) return -1;
    if (p->n + 2 > p->cap) {
        int cap = p->cap ? p->cap * 2 : 32;
        lens_tensor **ts = realloc(p->ts, (size_t)cap * sizeof *ts);
        if (ts) p->ts = ts;
        char **ls = ts ? realloc(p->labels, (size_t)cap * sizeof *ls) : NULL;
        if (!ls) { lens_tensor_free(t); return lens_fail_alloc(err); }
        p->labels = ls;
        p->cap = cap;
    }
    p->ts[p->n] = t;
    p->labels[p->n] = label ? strdup(label) : NULL;
    p->n++;
    p->labels[p->n] = NULL;
    return 0;
}

static void parts_free(parts *p)
{
    for (int i = 0; i < p->n; i++) {
        lens_tensor_free(p->ts[i]);
        if (p->labels) free(p->labels[i]);
    }
    free(p->ts);
    free(p->labels);
}

/* Hands the labels to *out (or frees them). */
static void parts_take_labels(parts *p, char ***out)
{
    if (out) {
        *out = p->labels ? p->labels : calloc(1, sizeof(char *));
        p->labels = NULL;
    }
}

static const lens_tensor *need(const lens_cache *c, const char *name, const char *what, lens_error *err)
{
    const lens_tensor *t = lens_cache_get(c, name);
    if (!t) lens_fail(err, "%s needs %s in the cache (run_with_cache without a names_filter that drops it)", what, name);
    return t;
}

static const lens_tensor *need_l(const lens_cache *c, int layer, const char *suffix, const char *what,
                                 lens_error *err)
{
    char name[128];
    snprintf(name, sizeof name, "blocks.%d.%s", layer, suffix);
    return need(c, name, what, err);
}

/* layer -1 / n_layers: after the last block; negative counts like TransformerLens's -1. */
static int norm_layer(const lens_model *m, int layer, const char *what, lens_error *err)
{
    int nl = lens_model_config(m)->n_layers;
    int l = layer < 0 ? layer + nl + 1 : layer;
    if (l < 0 || l > nl) return lens_fail(err, "%s: layer %d is out of range (0..%d, or -1 for all)", what, layer, nl);
    return l;
}

static lens_tensor *sliced(const lens_tensor *t, const lens_slice *s, int dim, lens_error *err)
{
    return t ? lens_slice_apply(s, t, dim, err) : NULL;
}

lens_tensor *lens_apply_ln_to_stack(const lens_model *m, const lens_cache *c, const lens_tensor *stack,
                                    int layer, bool mlp_input, const lens_slice *pos_slice,
                                    const lens_slice *batch_slice, lens_error *err)
{
    int l = norm_layer(m, layer, "apply_ln_to_stack", err);
    if (l < 0) return NULL;
    if (stack->ndim < 2 || stack->shape[stack->ndim - 1] != lens_model_config(m)->d_model) {
        char s[64];
        lens_fail(err, "apply_ln_to_stack: the stack must end with d_model = %d, got shape %s",
                  lens_model_config(m)->d_model, lens_shape_str(stack->ndim, stack->shape, s, sizeof s));
        return NULL;
    }
    const lens_tensor *scale;
    if (l == lens_model_config(m)->n_layers) scale = need(c, "ln_final.hook_scale", "apply_ln_to_stack", err);
    else scale = need_l(c, l, mlp_input ? "ln2.hook_scale" : "ln1.hook_scale", "apply_ln_to_stack", err);
    if (!scale) return NULL;
    /* the stack where the cache is (a cell's tensor may come from the host) */
    lens_tensor *moved = NULL;
    if (stack->storage->device != scale->storage->device) {
        if (!(moved = lens_tensor_to_device(stack, lens_tensor_backend(scale), err))) return NULL;
        stack = moved;
    }
    bool has_batch_slice = batch_slice && batch_slice->kind != LENS_SLICE_ALL;
    bool pos_dropped = pos_slice && pos_slice->kind == LENS_SLICE_INDEX;
    lens_tensor *st = has_batch_slice ? lens_slice_apply(batch_slice, stack, pos_dropped ? -2 : -3, err)
                                      : lens_tensor_ref(stack);
    lens_tensor *sc = sliced(scale, pos_slice, 1, err);
    lens_tensor *sc2 = has_batch_slice ? sliced(sc, batch_slice, 0, err) : (sc ? lens_tensor_ref(sc) : NULL);
    lens_tensor *mean = st ? lens_reduce(LENS_RED_MEAN, st, -1, true, err) : NULL;
    lens_tensor *centred = mean ? lens_binary(LENS_OP_SUB, st, mean, err) : NULL;
    lens_tensor *r = centred && sc2 ? lens_binary(LENS_OP_DIV, centred, sc2, err) : NULL;
    if (!r) lens_fail_context(err, "apply_ln_to_stack");
    lens_tensor_free(st); lens_tensor_free(sc); lens_tensor_free(sc2);
    lens_tensor_free(mean); lens_tensor_free(centred);
    lens_tensor_free(moved);
    return r;
}

/* Stacks the parts along a new dim 0 (then apply_ln at layer when asked). */
static lens_tensor *finish(const lens_model *m, const lens_cache *c, parts *p, bool stack_new_dim, bool apply_ln,
                           int layer, bool mlp_input, const lens_slice *pos_slice, char ***labels,
                           const char *what, lens_error *err)
{
    lens_tensor *r = NULL;
    if (p->n == 0) lens_fail(err, "%s: no components (layer 0 has nothing before it)", what);
    else if (stack_new_dim) r = lens_stack(p->n, (const lens_tensor *const *)p->ts, 0, err);
    else r = lens_cat(p->n, (const lens_tensor *const *)p->ts, 0, err);
    if (r && apply_ln) {
        lens_tensor *s = lens_apply_ln_to_stack(m, c, r, layer, mlp_input, pos_slice, NULL, err);
        lens_tensor_free(r);
        r = s;
    }
    if (r) parts_take_labels(p, labels);
    parts_free(p);
    return r;
}

lens_tensor *lens_accumulated_resid(const lens_model *m, const lens_cache *c, int layer, bool incl_mid,
                                    bool mlp_input, bool apply_ln, const lens_slice *pos_slice,
                                    char ***labels, lens_error *err)
{
    const char *what = "accumulated_resid";
    int nl = lens_model_config(m)->n_layers;
    int L = norm_layer(m, layer, what, err);
    if (L < 0) return NULL;
    if (mlp_input && L == nl) { lens_fail(err, "%s: mlp_input needs a layer below %d", what, nl); return NULL; }
    parts p = {0};
    char label[64];
    for (int l = 0; l <= L; l++) {
        if (l == nl) {
            if (parts_add(&p, sliced(need_l(c, nl - 1, "hook_resid_post", what, err), pos_slice, -2, err),
                          "final_post", err)) goto fail;
            continue;
        }
        snprintf(label, sizeof label, "%d_pre", l);
        if (parts_add(&p, sliced(need_l(c, l, "hook_resid_pre", what, err), pos_slice, -2, err), label, err)) goto fail;
        if ((incl_mid && l < L) || (mlp_input && l == L)) {
            snprintf(label, sizeof label, "%d_mid", l);
            if (parts_add(&p, sliced(need_l(c, l, "hook_resid_mid", what, err), pos_slice, -2, err), label, err)) goto fail;
        }
    }
    return finish(m, c, &p, true, apply_ln, L, mlp_input, pos_slice, labels, what, err);
fail:
    parts_free(&p);
    return NULL;
}

lens_tensor *lens_decompose_resid(const lens_model *m, const lens_cache *c, int layer, bool mlp_input,
                                  const char *mode, bool incl_embeds, bool apply_ln,
                                  const lens_slice *pos_slice, char ***labels, lens_error *err)
{
    const char *what = "decompose_resid";
    int nl = lens_model_config(m)->n_layers;
    int L = norm_layer(m, layer, what, err);
    if (L < 0) return NULL;
    if (!mode) mode = "all";
    if (strcmp(mode, "all") && strcmp(mode, "attn") && strcmp(mode, "mlp")) {
        lens_fail(err, "%s: mode must be \"all\", \"attn\" or \"mlp\", not \"%s\"", what, mode);
        return NULL;
    }
    if (mlp_input && L == nl) { lens_fail(err, "%s: mlp_input needs a layer below %d", what, nl); return NULL; }
    bool attn = strcmp(mode, "mlp") != 0, mlp = strcmp(mode, "attn") != 0;
    parts p = {0};
    char label[64];
    if (incl_embeds) {
        if (parts_add(&p, sliced(need(c, "hook_embed", what, err), pos_slice, -2, err), "embed", err)) goto fail;
        if (parts_add(&p, sliced(need(c, "hook_pos_embed", what, err), pos_slice, -2, err), "pos_embed", err)) goto fail;
    }
    for (int l = 0; l < L; l++) {
        if (attn) {
            snprintf(label, sizeof label, "%d_attn_out", l);
            if (parts_add(&p, sliced(need_l(c, l, "hook_attn_out", what, err), pos_slice, -2, err), label, err)) goto fail;
        }
        if (mlp) {
            snprintf(label, sizeof label, "%d_mlp_out", l);
            if (parts_add(&p, sliced(need_l(c, l, "hook_mlp_out", what, err), pos_slice, -2, err), label, err)) goto fail;
        }
    }
    if (mlp_input && attn) {
        snprintf(label, sizeof label, "%d_attn_out", L);
        if (parts_add(&p, sliced(need_l(c, L, "hook_attn_out", what, err), pos_slice, -2, err), label, err)) goto fail;
    }
    return finish(m, c, &p, true, apply_ln, L, mlp_input, pos_slice, labels, what, err);
fail:
    parts_free(&p);
    return NULL;
}

/* hook_result of layer l [batch, pos, head, d_model]: the cached one, or z · W_O. */
/* Layer l's per-head results [..., pos, H, d_model] at pos_slice (NULL: every
 * position): the cached hook_result, or z . W_O computed for the sliced
 * positions only (the seed's attributions read one position of eleven). */
static lens_tensor *head_result(const lens_model *m, const lens_cache *c, int l, const lens_slice *pos_slice,
                                lens_error *err)
{
    char name[128];
    snprintf(name, sizeof name, "blocks.%d.attn.hook_result", l);
    const lens_tensor *r = lens_cache_get(c, name);
    if (r) return sliced(r, pos_slice, -3, err);
    lens_tensor *z = sliced(need_l(c, l, "attn.hook_z", "stack_head_results", err), pos_slice, -3, err);
    if (!z) return NULL;
    snprintf(name, sizeof name, "blocks.%d.attn.W_O", l);
    lens_tensor *W_O = lens_model_weight(m, name, err);
    lens_tensor *out = NULL;
    if (W_O) {
        const lens_tensor *ops[2] = {z, W_O};
        out = lens_einsum(z->ndim == 4 ? "bphk,hkd->bphd" : "bhk,hkd->bhd", 2, ops, err);
    }
    lens_tensor_free(W_O);
    lens_tensor_free(z);
    return out;
}

int lens_cache_compute_head_results(const lens_model *m, lens_cache *c, lens_error *err)
{
    for (int l = 0; l < lens_model_config(m)->n_layers; l++) {
        char name[128];
        snprintf(name, sizeof name, "blocks.%d.attn.hook_result", l);
        if (lens_cache_get(c, name)) continue;
        lens_tensor *r = head_result(m, c, l, NULL, err);
        if (!r) return -1;
        if (lens_cache_add(c, name, r)) { lens_tensor_free(r); return lens_fail_alloc(err); }
    }
    return 0;
}

/* [..., k, d_model] pieces concatenated on dim -2 and that dim moved to the front. */
static lens_tensor *cat_front(parts *p, lens_error *err)
{
    lens_tensor *cat = lens_cat(p->n, (const lens_tensor *const *)p->ts, -2, err);
    if (!cat) return NULL;
    int perm[LENS_MAX_DIMS], nd = cat->ndim, k = 0;
    perm[k++] = nd - 2;
    for (int d = 0; d < nd; d++) if (d != nd - 2) perm[k++] = d;
    lens_tensor *v = lens_tensor_permute(cat, perm, err);
    lens_tensor *r = v ? lens_tensor_contiguous(v) : NULL;
    lens_tensor_free(v);
    lens_tensor_free(cat);
    return r;
}

lens_tensor *lens_stack_head_results(const lens_model *m, const lens_cache *c, int layer,
                                     const lens_slice *pos_slice, bool incl_remainder, bool apply_ln,
                                     char ***labels, lens_error *err)
{
    const char *what = "stack_head_results";
    const lens_config *cfg = lens_model_config(m);
    int L = norm_layer(m, layer, what, err);
    if (L < 0) return NULL;
    parts p = {0};
    for (int l = 0; l < L; l++) {
        if (parts_add(&p, head_result(m, c, l, pos_slice, err), NULL, err)) goto fail;
    }
    lens_tensor *heads = NULL;
    if (p.n) {
        heads = cat_front(&p, err);
        if (!heads) goto fail;
    }
    parts_free(&p);
    parts q = {0};
    if (heads && parts_add(&q, heads, NULL, err)) goto fail_q;
    if (incl_remainder) {
        const lens_tensor *total = L > 0 ? need_l(c, L - 1, "hook_resid_post", what, err)
                                         : need(c, "blocks.0.hook_resid_pre", what, err);
        lens_tensor *tot = sliced(total, pos_slice, -2, err);
        lens_tensor *sum = tot && heads ? lens_reduce(LENS_RED_SUM, heads, 0, false, err) : NULL;
        lens_tensor *rem = tot ? (sum ? lens_binary(LENS_OP_SUB, tot, sum, err) : lens_tensor_clone(tot)) : NULL;
        lens_tensor *rem1 = rem ? lens_tensor_unsqueeze(rem, 0, err) : NULL;
        lens_tensor_free(tot); lens_tensor_free(sum); lens_tensor_free(rem);
        if (parts_add(&q, rem1, NULL, err)) goto fail_q;
    }
    lens_tensor *out = finish(m, c, &q, false, apply_ln, L, false, pos_slice, NULL, what, err);
    if (out && labels) {
        char **hl = lens_head_labels(cfg, L);
        int n = lens_labels_count(hl);
        if (hl && incl_remainder) {
            char **x = realloc(hl, (size_t)(n + 2) * sizeof *x);
            if (x) { hl = x; hl[n] = strdup("remainder"); hl[n + 1] = NULL; }
        }
        *labels = hl;
    }
    return out;
fail_q:
    parts_free(&q);
    return NULL;
fail:
    parts_free(&p);
    return NULL;
}

lens_tensor *lens_stack_neuron_results(const lens_model *m, const lens_cache *c, int layer,
                                       const lens_slice *pos_slice, bool apply_ln, char ***labels,
                                       lens_error *err)
{
    const char *what = "stack_neuron_results";
    const lens_config *cfg = lens_model_config(m);
    int L = norm_layer(m, layer, what, err);
    if (L < 0) return NULL;
    parts p = {0};
    for (int l = 0; l < L; l++) {
        lens_tensor *post = sliced(need_l(c, l, "mlp.hook_post", what, err), pos_slice, -2, err);
        char name[128];
        snprintf(name, sizeof name, "blocks.%d.mlp.W_out", l);
        lens_tensor *W_out = post ? lens_model_weight(m, name, err) : NULL;
        lens_tensor *u = W_out ? lens_tensor_unsqueeze(post, -1, err) : NULL;
        lens_tensor *r = u ? lens_binary(LENS_OP_MUL, u, W_out, err) : NULL;
        lens_tensor_free(post); lens_tensor_free(W_out); lens_tensor_free(u);
        if (parts_add(&p, r, NULL, err)) goto fail;
    }
    if (!p.n) { lens_fail(err, "%s: no layers before layer 0", what); goto fail; }
    lens_tensor *out = cat_front(&p, err);
    parts_free(&p);
    if (out && apply_ln) {
        lens_tensor *s = lens_apply_ln_to_stack(m, c, out, L, false, pos_slice, NULL, err);
        lens_tensor_free(out);
        out = s;
    }
    if (out && labels) {
        size_t n = (size_t)L * (size_t)cfg->d_mlp;
        char **ls = calloc(n + 1, sizeof *ls);
        for (size_t i = 0; ls && i < n; i++) {
            char buf[48];
            snprintf(buf, sizeof buf, "L%dN%d", (int)(i / (size_t)cfg->d_mlp), (int)(i % (size_t)cfg->d_mlp));
            ls[i] = strdup(buf);
        }
        *labels = ls;
    }
    return out;
fail:
    parts_free(&p);
    return NULL;
}

/* Sum of b_O (and b_out) of the layers before `layer` (model.accumulated_bias). */
static lens_tensor *accumulated_bias(const lens_model *m, int layer, bool mlp_input, bool mlp_biases,
                                     lens_error *err)
{
    int d = lens_model_config(m)->d_model;
    int64_t n = d;
    lens_tensor *acc = lens_tensor_new_on(m->be, LENS_F32, 1, &n);   /* where the weights are */
    if (!acc) { lens_fail_alloc(err); return NULL; }
    for (int l = 0; l <= layer && l < lens_model_config(m)->n_layers; l++) {
        const char *names[2] = {"attn.b_O", "mlp.b_out"};
        for (int k = 0; k < 2; k++) {
            bool want = l < layer ? (k == 0 || mlp_biases) : (k == 0 && mlp_input);
            if (!want) continue;
            char name[128];
            snprintf(name, sizeof name, "blocks.%d.%s", l, names[k]);
            lens_tensor *b = lens_model_weight(m, name, err);
            lens_tensor *sum = b ? lens_binary(LENS_OP_ADD, acc, b, err) : NULL;
            lens_tensor_free(b);
            lens_tensor_free(acc);
            if (!(acc = sum)) return NULL;
        }
    }
    return acc;
}

lens_tensor *lens_full_resid_decomposition(const lens_model *m, const lens_cache *c, int layer,
                                           bool mlp_input, bool expand_neurons, bool apply_ln,
                                           const lens_slice *pos_slice, char ***labels, lens_error *err)
{
    const char *what = "get_full_resid_decomposition";
    int L = norm_layer(m, layer, what, err);
    if (L < 0) return NULL;
    parts p = {0};
    char **hl = NULL, **xl = NULL;
    lens_tensor *heads = L > 0 ? lens_stack_head_results(m, c, L, pos_slice, false, false, &hl, err) : NULL;
    if (L > 0 && !heads) return NULL;
    if (heads && parts_add(&p, heads, NULL, err)) goto fail;
    if (L > 0) {
        lens_tensor *x = expand_neurons ? lens_stack_neuron_results(m, c, L, pos_slice, false, &xl, err)
                                        : lens_decompose_resid(m, c, L, mlp_input, "mlp", false, false, pos_slice, &xl, err);
        if (parts_add(&p, x, NULL, err)) goto fail;
    }
    const char *emb[2] = {"hook_embed", "hook_pos_embed"};
    for (int k = 0; k < 2; k++) {
        lens_tensor *e = sliced(need(c, emb[k], what, err), pos_slice, -2, err);
        lens_tensor *e1 = e ? lens_tensor_unsqueeze(e, 0, err) : NULL;
        lens_tensor_free(e);
        if (parts_add(&p, e1, NULL, err)) goto fail;
    }
    lens_tensor *bias = accumulated_bias(m, L, mlp_input, expand_neurons, err);
    if (!bias) goto fail;
    const lens_tensor *ref = p.ts[p.n - 1];
    lens_tensor *be = lens_tensor_expand(bias, ref->ndim, ref->shape, err);
    lens_tensor_free(bias);
    if (parts_add(&p, be, NULL, err)) goto fail;
    lens_tensor *out = finish(m, c, &p, false, apply_ln, L, mlp_input, pos_slice, NULL, what, err);
    if (out && labels) {
        int nh = lens_labels_count(hl), nx = lens_labels_count(xl);
        char **ls = calloc((size_t)(nh + nx + 4), sizeof *ls);
        if (ls) {
            int k = 0;
            for (int i = 0; i < nh; i++) ls[k++] = strdup(hl[i]);
            for (int i = 0; i < nx; i++) ls[k++] = strdup(xl[i]);
            ls[k++] = strdup("embed");
            ls[k++] = strdup("pos_embed");
            ls[k++] = strdup("bias");
        }
        *labels = ls;
    }
    lens_labels_free(hl);
    lens_labels_free(xl);
    return out;
fail:
    lens_labels_free(hl);
    lens_labels_free(xl);
    parts_free(&p);
    return NULL;
}

lens_tensor *lens_tokens_to_residual_directions(const lens_model *m, const lens_tensor *tokens, lens_error *err)
{
    if (tokens->dtype != LENS_I64) { lens_fail(err, "tokens_to_residual_directions: tokens must be int64"); return NULL; }
    int64_t V = lens_model_config(m)->d_vocab;
    for (int64_t i = 0; i < lens_tensor_numel(tokens); i++) {
        double t = lens_tensor_flat_f64(tokens, i);
        if (t < 0 || t >= (double)V) {
            lens_fail(err, "token id %lld is outside the vocabulary (0..%lld)", (long long)t, (long long)V - 1);
            return NULL;
        }
    }
    lens_tensor *wu = lens_model_weight(m, "unembed.W_U", err);
    lens_tensor *wut = wu ? lens_tensor_transpose(wu, 0, 1, err) : NULL;
    /* the ids join the weights on their device (as torch takes host indices) */
    lens_tensor *ids = wut ? lens_tensor_to_device(tokens, m->be, err) : NULL;
    lens_tensor *r = ids ? lens_index_select(wut, 0, ids, err) : NULL;
    lens_tensor_free(ids);
    lens_tensor_free(wut);
    lens_tensor_free(wu);
    return r;
}

lens_tensor *lens_logit_attrs(const lens_model *m, const lens_cache *c, const lens_tensor *stack,
                              const lens_tensor *tokens, const lens_tensor *incorrect,
                              const lens_slice *pos_slice, const lens_slice *batch_slice,
                              lens_error *err)
{
    lens_tensor *dir = lens_tokens_to_residual_directions(m, tokens, err);
    if (!dir) return NULL;
    if (incorrect) {
        lens_tensor *bad = lens_tokens_to_residual_directions(m, incorrect, err);
        if (bad && !lens_tensor_same_shape(bad, dir)) {
            lens_fail(err, "logit_attrs: tokens and incorrect_tokens must have the same shape");
            lens_tensor_free(bad);
            bad = NULL;
        }
        lens_tensor *diff = bad ? lens_binary(LENS_OP_SUB, dir, bad, err) : NULL;
        lens_tensor_free(bad);
        lens_tensor_free(dir);
        if (!(dir = diff)) return NULL;
    }
    lens_tensor *scaled = lens_apply_ln_to_stack(m, c, stack, -1, false, pos_slice, batch_slice, err);
    lens_tensor *prod = scaled ? lens_binary(LENS_OP_MUL, scaled, dir, err) : NULL;
    lens_tensor *r = prod ? lens_reduce(LENS_RED_SUM, prod, -1, false, err) : NULL;
    if (scaled && !r) lens_fail_context(err, "logit_attrs");
    lens_tensor_free(scaled);
    lens_tensor_free(prod);
    lens_tensor_free(dir);
    return r;
}
