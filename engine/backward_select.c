/* backward_select.c — for a backward pass: which hooks the caller keeps (the
 * same names_regex / names_filter for activations and gradients), which forward
 * activations the pass reads, how far down it must go, the batch checks and the
 * memory estimate.
 *
 * Owns: the selection and the estimate. Does not own: the pass (backward.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backward_select.h"

static int slot(const lens_config *c, lens_hook_kind k, int layer)
{
    return (int)k * (c->n_layers + 1) + (lens_hooks[k].per_layer ? layer : 0);
}

bool backward_user_selects(const selection *s, const char *name, lens_hook_kind k)
{
    if (k == HK_RESULT && !s->opt->include_attn_result) return false;
    if (s->have_re && regexec(&s->re, name, 0, NULL, 0)) return false;
    if (s->opt->names_filter && !s->opt->names_filter(name, s->opt->names_filter_ctx)) return false;
    return true;
}

static bool forward_filter(const char *name, void *ctx)
{
    selection *s = ctx;
    lens_hook_kind k;
    int layer;
    if (lens_hook_parse(s->cfg, name, &k, &layer)) return false;
    return s->needed[slot(s->cfg, k, layer)] || backward_user_selects(s, name, k);
}

/* The lowest block the backward pass must go through: the first one with a kept
 * gradient (0 when embed or pos_embed's is kept; n_layers when only the final ones are). */
int backward_lowest_layer(const selection *s)
{
    const lens_config *c = s->cfg;
    char name[128];
    for (int k = HK_EMBED; k <= HK_POS_EMBED; k++) {
        lens_hook_name((lens_hook_kind)k, 0, name, sizeof name);
        if (backward_user_selects(s, name, (lens_hook_kind)k)) return 0;
    }
    for (int l = 0; l < c->n_layers; l++)
        for (int k = 0; k < HK_COUNT; k++) {
            if (!lens_hooks[k].per_layer) continue;
            lens_hook_name((lens_hook_kind)k, l, name, sizeof name);
            if (backward_user_selects(s, name, (lens_hook_kind)k)) return l;
        }
    return c->n_layers;
}

static void mark_needed(selection *s, int lo)
{
    const lens_config *c = s->cfg;
    static const lens_hook_kind per_block[] = {HK_RESID_PRE, HK_LN1_SCALE, HK_Q, HK_K, HK_V, HK_PATTERN,
                                               HK_RESID_MID, HK_LN2_SCALE, HK_MLP_PRE};
    for (int l = lo; l < c->n_layers; l++)
        for (size_t i = 0; i < sizeof per_block / sizeof *per_block; i++) s->needed[slot(c, per_block[i], l)] = true;
    s->needed[slot(c, HK_RESID_POST, c->n_layers - 1)] = true;
    s->needed[slot(c, HK_LNF_SCALE, 0)] = true;
    s->needed[slot(c, HK_LNF_NORMALIZED, 0)] = true;
}

int backward_selection_open(selection *s, const lens_model *m, const lens_run_options *opt, lens_error *err)
{
    memset(s, 0, sizeof *s);
    s->opt = opt;
    s->cfg = &m->cfg;
    if (opt->names_regex) {
        int rc = regcomp(&s->re, opt->names_regex, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char msg[256];
            regerror(rc, &s->re, msg, sizeof msg);
            return lens_fail(err, "names filter \"%s\" is not a valid regular expression: %s", opt->names_regex, msg);
        }
        s->have_re = true;
    }
    s->needed = calloc((size_t)HK_COUNT * (size_t)(m->cfg.n_layers + 1), sizeof *s->needed);
    if (!s->needed) {
        if (s->have_re) regfree(&s->re);
        return lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory");
    }
    mark_needed(s, backward_lowest_layer(s));
    return 0;
}

void backward_selection_close(selection *s)
{
    if (s->have_re) regfree(&s->re);
    free(s->needed);
}

int64_t backward_hook_numel(const lens_config *c, lens_hook_kind k, int64_t B, int64_t P)
{
    int64_t shape[LENS_MAX_DIMS], n = 1;
    int nd = lens_hook_shape_of(c, k, B, P, shape);
    for (int i = 0; i < nd; i++) n *= shape[i];
    return n;
}

/* Bytes of the caller's selected hooks (activations or gradients). */
static size_t selected_bytes(const selection *s, int64_t B, int64_t P)
{
    const lens_config *c = s->cfg;
    size_t bytes = 0;
    char name[128];
    for (int k = 0; k < HK_COUNT; k++) {
        int layers = lens_hooks[k].per_layer ? c->n_layers : 1;
        for (int l = 0; l < layers; l++) {
            lens_hook_name((lens_hook_kind)k, l, name, sizeof name);
            if (backward_user_selects(s, name, (lens_hook_kind)k))
                bytes += (size_t)backward_hook_numel(c, (lens_hook_kind)k, B, P) * sizeof(float);
        }
    }
    return bytes;
}

lens_run_options backward_forward_options(const lens_run_options *opt, selection *s)
{
    lens_run_options f = *opt;
    f.cache = true;
    f.names_regex = NULL;
    f.names_filter = forward_filter;
    f.names_filter_ctx = s;
    return f;
}

/* Refuses token batches whose hook sizes would overflow (before any size is
 * computed from them): every hook's bytes, and a few dozen of them, must fit in
 * an int64. The forward pass checks the token ids themselves. */
int backward_check_batch(const lens_config *c, const lens_tensor *tokens, lens_error *err)
{
    if (tokens->ndim != 2 || tokens->dtype != LENS_I64)
        return lens_fail(err, "tokens must be an int64 tensor [batch, pos]");
    int64_t B = tokens->shape[0], P = tokens->shape[1];
    if (B < 1 || P < 1) return lens_fail(err, "tokens must not be empty");
    if (P > c->n_ctx)
        return lens_fail(err, "%lld positions exceed the model's context of %d tokens", (long long)P, c->n_ctx);
    int64_t widest = (int64_t)c->n_heads * P, n;
    int64_t others[] = {(int64_t)c->d_mlp, (int64_t)c->n_heads * c->d_model, (int64_t)c->d_vocab};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) widest = others[i] > widest ? others[i] : widest;
    if (__builtin_mul_overflow(B, P, &n) || __builtin_mul_overflow(n, widest, &n) || __builtin_mul_overflow(n, (int64_t)256, &n))
        return lens_fail(err, "a batch of %lld x %lld tokens is too large for this model's activations", (long long)B, (long long)P);
    return 0;
}

/* Sizes from a model's config and a batch check_batch accepted. */
size_t backward_estimate(const lens_model *m, selection *s, int64_t B, int64_t P, const lens_run_options *opt)
{
    const lens_config *c = &m->cfg;
    lens_run_options f = backward_forward_options(opt, s);
    size_t fwd = lens_run_estimate_bytes(m, B, P, &f);
    size_t sel = selected_bytes(s, B, P);
    /* gradient scratch: one buffer of each hook kind's size */
    size_t scratch = 0;
    for (int k = 0; k < HK_COUNT; k++) scratch += (size_t)backward_hook_numel(c, (lens_hook_kind)k, B, P) * sizeof(float);
    /* the caller's cache may be copied out of the internal one, and the gradients */
    return fwd + 2 * sel + scratch;
}

size_t lens_backward_estimate_bytes(const lens_model *m, int64_t batch, int64_t pos, const lens_run_options *opt)
{
    lens_tensor probe = {.dtype = LENS_I64, .ndim = 2, .shape = {batch, pos}};
    if (backward_check_batch(&m->cfg, &probe, NULL)) return SIZE_MAX;
    selection s;
    if (backward_selection_open(&s, m, opt, NULL)) return 0;
    size_t b = backward_estimate(m, &s, batch, pos, opt);
    backward_selection_close(&s);
    return b;
}
