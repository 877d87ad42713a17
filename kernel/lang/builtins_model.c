/* kernel/lang/builtins_model.c — models and activation caches as language
 * objects (lens/model.h underneath): load(), the model's tokenizer helpers,
 * forward passes (model(tokens), run_with_cache), weights by their
 * TransformerLens names, model.cfg, and cache lookups by full or short hook
 * name (cache["resid_post", -1], cache["z", 5, "attn"]). */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "builtins_analysis.h"
#include "builtins_device.h"
#include "did_you_mean.h"
#include "builtins_grad.h"
#include "lang_internal.h"
#include "lens/model.h"
#include "lens/tensor_ops.h"
#include "rich.h"
#include "user_hooks.h"

void lang_model_state_free(interp *I) { (void)I; }

/* hooks: the functions model.add_hook attached, a list of (name or filter, fn, permanent) */
typedef struct model_obj { lens_model *m; value *hooks; } model_obj;
/* grads: a gradient cache, whose names end in "_grad" (short keys resolve to them) */
typedef struct cache_obj { lens_cache *c; value *model; lens_tensor *tokens; bool grads; } cache_obj;

static const lang_type model_type, cache_type, config_type;

static lens_model *model_of(value *v) { return ((model_obj *)v->u.obj.data)->m; }

lens_model *lang_model_of(value *v)
{
    return v && v->type == V_OBJECT && v->u.obj.type == &model_type ? model_of(v) : NULL;
}

lens_cache *lang_cache_of(value *v, value **model)
{
    if (!v || v->type != V_OBJECT || v->u.obj.type != &cache_type) return NULL;
    cache_obj *co = v->u.obj.data;
    if (model) *model = co->model;
    return co->c;
}

static value *eng_fail(interp *I, lens_error *err) { return lang_engine_error(I, err); }

/* ---- config --------------------------------------------------------------- */

/* model.cfg: a copy of the model's config and the name of its device */
typedef struct config_obj {
    lens_config c;
    char device[16];
} config_obj;

static value *config_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    const config_obj *co = self->u.obj.data;
    const lens_config *c = &co->c;
    if (!strcmp(name, "n_layers")) return v_int(c->n_layers);
    if (!strcmp(name, "d_model")) return v_int(c->d_model);
    if (!strcmp(name, "n_heads")) return v_int(c->n_heads);
    if (!strcmp(name, "d_head")) return v_int(c->d_head);
    if (!strcmp(name, "d_mlp")) return v_int(c->d_mlp);
    if (!strcmp(name, "n_ctx")) return v_int(c->n_ctx);
    if (!strcmp(name, "d_vocab")) return v_int(c->d_vocab);
    if (!strcmp(name, "d_vocab_out")) return v_int(c->d_vocab);
    if (!strcmp(name, "eps")) return v_float(c->ln_eps);
    if (!strcmp(name, "act_fn")) return v_str(c->act_fn);
    if (!strcmp(name, "model_name")) return v_str(c->name);
    /* where the model's forward passes run: "cpu", "sim" or "cuda" (.to(model.cfg.device) moves a tensor there) */
    if (!strcmp(name, "device")) return v_str(co->device);
    return NULL;
}

static char *config_repr(value *self)
{
    const lens_config *c = &((const config_obj *)self->u.obj.data)->c;
    char *s;
    if (asprintf(&s, "HookedTransformerConfig(model_name='%s', n_layers=%d, d_model=%d, n_heads=%d, d_head=%d, "
                     "d_mlp=%d, n_ctx=%d, d_vocab=%d, act_fn='%s', eps=%g)",
                 c->name, c->n_layers, c->d_model, c->n_heads, c->d_head, c->d_mlp, c->n_ctx, c->d_vocab,
                 c->act_fn, (double)c->ln_eps) < 0) return NULL;
    return s;
}

static const char *const config_attrs[] = {"n_layers", "d_model", "n_heads", "d_head", "d_mlp", "n_ctx",
                                           "d_vocab", "d_vocab_out", "eps", "act_fn", "model_name", "device", NULL};
static const lang_type config_type = {
    .name = "HookedTransformerConfig", .getattr = config_getattr, .repr = config_repr, .free = free,
    .attrs = config_attrs, .doc = "A model's shape: n_layers, d_model, n_heads, d_head, d_mlp, n_ctx, d_vocab, act_fn, eps."};

/* ---- load ------------------------------------------------------------------- */

/* from_pretrained's order for what it shares; the rest keyword-only */
static const lang_param b_load_params[] = {
    {"name_or_path", LANG_REQUIRED}, {"fold_ln", LANG_OPTIONAL, "True"}, {"center_writing_weights", LANG_OPTIONAL, "True"},
    {"center_unembed", LANG_OPTIONAL, "True"}, {"refactor_factored_attn_matrices", LANG_OPTIONAL, "False"},
    {"device", LANG_KEYWORD, "None"}, {"fold_value_biases", LANG_KEYWORD, "True"}, {"processing", LANG_KEYWORD, "None"},
    {NULL}};

static value *b_load(interp *I, value *self, args *a)
{
    (void)self;
    const char *name = lang_arg_str(I, lang_arg(a, "name_or_path"), "name_or_path");
    if (!name) return NULL;
    lens_processing p = lens_processing_default();
    value *v = lang_arg(a, "processing");
    if (v && v->type != V_NONE) {
        const char *s = lang_arg_str(I, v, "processing");
        if (!s) return NULL;
        if (!strcmp(s, "raw") || !strcmp(s, "none")) p = lens_processing_none();
        else if (!strcmp(s, "refactor")) p.refactor_factored_attn_matrices = true;
        else if (strcmp(s, "default")) return lang_raise(I, "ValueError", "processing must be 'raw', 'default' or 'refactor', not '%s'", s);
    }
    struct { const char *k; bool *f; } flags[] = {
        {"fold_ln", &p.fold_ln}, {"center_writing_weights", &p.center_writing_weights},
        {"center_unembed", &p.center_unembed}, {"fold_value_biases", &p.fold_value_biases},
        {"refactor_factored_attn_matrices", &p.refactor_factored_attn_matrices}};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if ((v = lang_arg(a, flags[i].k)) && lang_arg_bool(I, v, flags[i].f)) return NULL;
    const char *device;
    if (lang_device_arg(I, lang_arg(a, "device"), &device)) return NULL;
    lens_error err;
    lang_progress bar = {0};
    lang_progress_update(I, &bar, "loading", 0, -1, name);
    lens_model *m = lens_model_load_on(name, &p, device, &err);
    if (!m) {
        lang_progress_end(I, &bar, NULL);
        return lang_raise(I, "OSError", "%s", err.msg);
    }
    const lens_config *c = lens_model_config(m);
    char summary[512];
    snprintf(summary, sizeof summary, "loaded %s: %d layers, d_model %d, %d heads, vocab %d", c->name,
             c->n_layers, c->d_model, c->n_heads, c->d_vocab);   /* no timing: re-runs give the same output */
    lang_progress_end(I, &bar, summary);
    model_obj *mo = malloc(sizeof *mo);
    if (!mo || !(mo->hooks = v_list(0))) { free(mo); lens_model_free(m); return lang_raise(I, "MemoryError", "out of memory"); }
    mo->m = m;
    return v_object(&model_type, mo);
}

/* ---- tokens -------------------------------------------------------------------- */

static int collect_strings(interp *I, value *v, const char ***out, int *n)
{
    if (v->type == V_STR) {
        *out = malloc(sizeof **out);
        if (!*out) return -1;
        (*out)[0] = v->u.str.s;
        *n = 1;
        return 0;
    }
    if (v->type != V_LIST && v->type != V_TUPLE) {
        lang_raise(I, "TypeError", "expected a str or a list of str, not %s", lang_type_name(v));
        return -1;
    }
    *n = (int)v->u.list.n;
    *out = malloc(((size_t)*n + 1) * sizeof **out);
    if (!*out) return -1;
    for (int i = 0; i < *n; i++) {
        value *x = v->u.list.items[i];
        if (x->type != V_STR) { free(*out); lang_raise(I, "TypeError", "expected a list of str (item %d is %s)", i, lang_type_name(x)); return -1; }
        (*out)[i] = x->u.str.s;
    }
    return 0;
}

static lens_tensor *to_tokens_impl(interp *I, lens_model *m, value *input, bool bos)
{
    const char **texts;
    int n;
    if (collect_strings(I, input, &texts, &n)) return NULL;
    if (n == 0) { free(texts); lang_raise(I, "ValueError", "to_tokens() needs at least one string"); return NULL; }
    lens_error err;
    lens_tensor *t = lens_model_to_tokens(m, texts, n, bos, &err);
    free(texts);
    if (!t) eng_fail(I, &err);
    return t;
}

/* prepend_bos: None (the default) is the model's default, True */
static int get_bos(interp *I, args *a, bool *bos)
{
    *bos = true;
    value *v = lang_arg(a, "prepend_bos");
    if (v && v->type != V_NONE && lang_arg_bool(I, v, bos)) return -1;
    return 0;
}

static const lang_param m_to_tokens_params[] = {
    {"input", LANG_REQUIRED}, {"prepend_bos", LANG_OPTIONAL, "None"}, {"truncate", LANG_KEYWORD, "True"}, {NULL}};

static value *m_to_tokens(interp *I, value *self, args *a)
{
    value *in = lang_arg(a, "input");
    bool bos;
    if (get_bos(I, a, &bos)) return NULL;
    /* truncate=True (TransformerLens's default): at most n_ctx tokens, the
     * first ones; rows are padded on the right, so that is the first n_ctx columns */
    bool truncate = true;
    value *tv = lang_arg(a, "truncate");
    if (tv && lang_arg_bool(I, tv, &truncate)) return NULL;
    lens_model *m = model_of(self);
    lens_tensor *t = to_tokens_impl(I, m, in, bos);
    if (!t) return NULL;
    int64_t n_ctx = lens_model_config(m)->n_ctx;
    if (truncate && n_ctx > 0 && t->shape[1] > n_ctx) {
        lens_tensor *first = lens_tensor_narrow(t, 1, 0, n_ctx);
        lens_tensor *c = first ? lens_tensor_contiguous(first) : NULL;
        lens_tensor_free(first);
        lens_tensor_free(t);
        if (!c) return lang_raise(I, "MemoryError", "out of memory");
        t = c;
    }
    return v_tensor(t);
}

static value *token_strs(interp *I, const lens_tokenizer *tok, const int64_t *ids, int64_t n)
{
    value *l = v_list((size_t)n);
    if (!l) return lang_raise(I, "MemoryError", "out of memory");
    for (int64_t i = 0; i < n; i++) {
        const char *s = lens_tokenizer_token_str(tok, ids[i]);
        if (!s) { lang_decref(l); return lang_raise(I, "IndexError", "token id %lld is out of the vocabulary", (long long)ids[i]); }
        l->u.list.items[l->u.list.n++] = v_str(s);
    }
    return l;
}

static const lang_param m_to_str_tokens_params[] = {
    {"input", LANG_REQUIRED}, {"prepend_bos", LANG_OPTIONAL, "None"}, {NULL}};

static value *m_to_str_tokens(interp *I, value *self, args *a)
{
    value *in = lang_arg(a, "input");
    bool bos;
    if (get_bos(I, a, &bos)) return NULL;
    lens_model *m = model_of(self);
    const lens_tokenizer *tok = lens_model_tokenizer(m);
    if (in->type == V_STR) {
        lens_tensor *t = to_tokens_impl(I, m, in, bos);
        if (!t) return NULL;
        value *r = token_strs(I, tok, lens_tensor_i64(t), t->shape[1]);
        lens_tensor_free(t);
        return r;
    }
    if (in->type == V_LIST && in->u.list.n && in->u.list.items[0]->type == V_STR) {
        value *r = v_list(0);
        for (size_t i = 0; r && i < in->u.list.n; i++) {
            args sub = {&in->u.list.items[i], 1, a->kwnames, a->kw, a->nkw, a->params};
            value *x = m_to_str_tokens(I, self, &sub);
            if (!x) { lang_decref(r); return NULL; }
            lang_list_append(r, x);
        }
        return r;
    }
    lens_tensor *t = lang_engine_tensor(I, in, LENS_I64);
    if (!t) return NULL;
    lens_error herr;
    lens_tensor *c = lens_tensor_host_contiguous(t, &herr);
    lens_tensor_free(t);
    if (!c) return lang_engine_error(I, &herr);
    value *r;
    if (c->ndim == 0) r = token_strs(I, tok, lens_tensor_i64(c), 1);
    else if (c->ndim == 1 || (c->ndim == 2 && c->shape[0] == 1)) r = token_strs(I, tok, lens_tensor_i64(c), c->shape[c->ndim - 1]);
    else if (c->ndim == 2) {
        r = v_list((size_t)c->shape[0]);
        for (int64_t b = 0; r && b < c->shape[0]; b++) {
            value *x = token_strs(I, tok, lens_tensor_i64(c) + b * c->shape[1], c->shape[1]);
            if (!x) { lang_decref(r); r = NULL; break; }
            r->u.list.items[r->u.list.n++] = x;
        }
    } else r = lang_raise(I, "ValueError", "to_str_tokens() takes a 1-d or 2-d tensor of tokens");
    lens_tensor_free(c);
    return r;
}

static const lang_param m_to_string_params[] = {{"tokens", LANG_REQUIRED}, {NULL}};

static value *m_to_string(interp *I, value *self, args *a)
{
    const lens_tokenizer *tok = lens_model_tokenizer(model_of(self));
    lens_tensor *t = lang_engine_tensor(I, lang_arg(a, "tokens"), LENS_I64);
    if (!t) return NULL;
    lens_error herr;
    lens_tensor *c = lens_tensor_host_contiguous(t, &herr);
    lens_tensor_free(t);
    if (!c) return lang_engine_error(I, &herr);
    lens_error err;
    value *r = NULL;
    int64_t rows = c->ndim <= 1 ? 1 : c->shape[0], len = c->ndim == 0 ? 1 : c->shape[c->ndim - 1];
    if (c->ndim > 2) { lens_tensor_free(c); return lang_raise(I, "ValueError", "to_string() takes a 1-d or 2-d tensor"); }
    value *list = c->ndim == 2 ? v_list((size_t)rows) : NULL;
    for (int64_t b = 0; b < rows; b++) {
        char *s = lens_tokenizer_decode(tok, lens_tensor_i64(c) + b * len, (size_t)len, &err);
        if (!s) { lang_decref(list); lens_tensor_free(c); return eng_fail(I, &err); }
        value *sv = v_str_take(s, strlen(s));
        if (list) list->u.list.items[list->u.list.n++] = sv;
        else r = sv;
    }
    lens_tensor_free(c);
    return list ? list : r;
}

static int single_token(interp *I, const lens_tokenizer *tok, const char *s, int64_t *out)
{
    int64_t *ids;
    size_t n;
    lens_error err;
    if (lens_tokenizer_encode(tok, s, &ids, &n, &err)) { eng_fail(I, &err); return -1; }
    if (n != 1) {
        free(ids);
        lang_raise(I, "ValueError", "'%s' is not a single token (it is %zu tokens)", s, n);
        return -1;
    }
    *out = ids[0];
    free(ids);
    return 0;
}

static value *single_rec(interp *I, const lens_tokenizer *tok, value *v)
{
    if (v->type == V_STR) {
        int64_t id;
        if (single_token(I, tok, v->u.str.s, &id)) return NULL;
        return v_int(id);
    }
    if (v->type != V_LIST && v->type != V_TUPLE) return lang_raise(I, "TypeError", "to_single_token() takes a str or nested lists of str, not %s", lang_type_name(v));
    value *l = v_list(v->u.list.n);
    for (size_t i = 0; l && i < v->u.list.n; i++) {
        value *x = single_rec(I, tok, v->u.list.items[i]);
        if (!x) { lang_decref(l); return NULL; }
        l->u.list.items[l->u.list.n++] = x;
    }
    return l;
}

static const lang_param m_to_single_token_params[] = {{"string", LANG_REQUIRED}, {NULL}};

static value *m_to_single_token(interp *I, value *self, args *a)
{
    const lens_tokenizer *tok = lens_model_tokenizer(model_of(self));
    value *r = single_rec(I, tok, lang_arg(a, "string"));
    if (!r || r->type == V_INT) return r;
    lens_tensor *t = lang_engine_tensor(I, r, LENS_I64);
    lang_decref(r);
    return t ? v_tensor(t) : NULL;
}

static const lang_param m_get_token_position_params[] = {
    {"single_token", LANG_REQUIRED}, {"input", LANG_REQUIRED}, {"mode", LANG_OPTIONAL, "'first'"},
    {"prepend_bos", LANG_OPTIONAL, "None"}, {NULL}};

static value *m_get_token_position(interp *I, value *self, args *a)
{
    value *tv = lang_arg(a, "single_token"), *in = lang_arg(a, "input"), *mv = lang_arg(a, "mode");
    lens_model *m = model_of(self);
    int64_t id;
    if (tv->type == V_STR) {
        if (single_token(I, lens_model_tokenizer(m), tv->u.str.s, &id)) return NULL;
    } else if (lang_arg_int(I, tv, "single_token", &id)) return NULL;
    bool last = false;
    if (mv && mv->type != V_NONE) {
        const char *mode = lang_arg_str(I, mv, "mode");
        if (!mode) return NULL;
        if (strcmp(mode, "first") && strcmp(mode, "last"))
            return lang_raise(I, "ValueError", "mode must be \"first\" or \"last\", got \"%s\"", mode);
        last = !strcmp(mode, "last");
    }
    bool bos;
    if (get_bos(I, a, &bos)) return NULL;
    lens_tensor *t = in->type == V_STR ? to_tokens_impl(I, m, in, bos) : lang_engine_tensor(I, in, LENS_I64);
    if (!t) return NULL;
    lens_error err;
    int64_t pos = lens_token_position(t, id, last, &err);
    lens_tensor_free(t);
    if (pos < 0) return eng_fail(I, &err);
    return v_int(pos);
}

static lens_tensor *weight(interp *I, lens_model *m, const char *name)
{
    lens_error err;
    lens_tensor *t = lens_model_weight(m, name, &err);
    if (!t) eng_fail(I, &err);
    return t;
}

static const lang_param m_tokens_to_residual_directions_params[] = {{"tokens", LANG_REQUIRED}, {NULL}};

static value *m_tokens_to_residual_directions(interp *I, value *self, args *a)
{
    lens_model *m = model_of(self);
    value *tv = lang_arg(a, "tokens");
    lens_tensor *toks;
    if (tv->type == V_STR) {
        int64_t id;
        if (single_token(I, lens_model_tokenizer(m), tv->u.str.s, &id)) return NULL;
        toks = lens_scalar_i64(id);
    } else toks = lang_engine_tensor(I, tv, LENS_I64);
    if (!toks) return I->error ? NULL : lang_raise(I, "MemoryError", "out of memory");
    lens_tensor *wu = weight(I, m, "unembed.W_U");
    if (!wu) { lens_tensor_free(toks); return NULL; }
    lens_error err;
    lens_tensor *wut = lens_tensor_transpose(wu, 0, 1, &err);   /* [vocab, d_model] */
    lens_tensor *r = wut ? lens_index_select(wut, 0, toks, &err) : NULL;
    lens_tensor_free(wut);
    lens_tensor_free(wu);
    lens_tensor_free(toks);
    return r ? v_tensor(r) : eng_fail(I, &err);
}

/* ---- forward ---------------------------------------------------------------------- */

typedef struct filter_ctx { interp *I; value *fn; value *list; bool failed; } filter_ctx;

static bool names_filter_cb(const char *name, void *ctx)
{
    filter_ctx *f = ctx;
    if (f->list) {
        for (size_t i = 0; i < f->list->u.list.n; i++) {
            value *x = f->list->u.list.items[i];
            if (x->type == V_STR && !strcmp(x->u.str.s, name)) return true;
        }
        return false;
    }
    if (f->failed) return false;
    value *s = v_str(name);
    args ca = {&s, 1, NULL, NULL, 0};
    value *r = lang_call_value(f->I, f->fn, &ca);
    lang_decref(s);
    if (!r) { f->failed = true; return false; }
    int t = lang_truthy(f->I, r);
    lang_decref(r);
    if (t < 0) { f->failed = true; return false; }
    return t;
}

/* The tokens of a run's input: text is tokenized (BOS first when bos), tokens [pos] become [1, pos]. */
static lens_tensor *input_tokens(interp *I, lens_model *m, value *in, bool bos)
{
    if (in->type == V_STR || (in->type == V_LIST && in->u.list.n && in->u.list.items[0]->type == V_STR))
        return to_tokens_impl(I, m, in, bos);
    lens_tensor *t = lang_engine_tensor(I, in, LENS_I64);
    if (!t) return NULL;
    if (t->ndim == 1) {
        lens_error err;
        lens_tensor *u = lens_tensor_unsqueeze(t, 0, &err);
        lens_tensor_free(t);
        if (!u) eng_fail(I, &err);
        return u;
    }
    return t;
}

/* TransformerLens's lm_cross_entropy_loss: the mean over batch and positions of
 * -log p(next token), as a 0-d tensor. */
static value *lm_loss(interp *I, const lens_tensor *logits, const lens_tensor *tokens)
{
    int64_t P = tokens->shape[1];
    if (P < 2) return lang_raise(I, "ValueError", "return_type='loss' needs at least 2 tokens per prompt");
    lens_error err;
    lens_tensor *lp = lens_log_softmax(logits, -1, &err);
    lens_tensor *pred = lp ? lens_tensor_narrow(lp, 1, 0, P - 1) : NULL;
    lens_tensor *next = pred ? lens_tensor_narrow(tokens, 1, 1, P - 1) : NULL;
    lens_tensor *idx = next ? lens_tensor_unsqueeze(next, 2, &err) : NULL;
    lens_tensor *g = idx ? lens_gather(pred, 2, idx, &err) : NULL;
    lens_tensor *mean = g ? lens_reduce_all(LENS_RED_MEAN, g, &err) : NULL;
    lens_tensor *loss = mean ? lens_unary(LENS_OP_NEG, mean, &err) : NULL;
    lens_tensor *all[] = {lp, pred, next, idx, g, mean};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) lens_tensor_free(all[i]);
    return loss ? v_tensor(loss) : eng_fail(I, &err);
}

/* The arguments of model(...), run_with_hooks and run_with_cache (each
 * spec below keeps those its call takes; an argument not given is its default). */
static value *run_model(interp *I, value *self, args *a, bool with_cache)
{
    const char *fn = with_cache ? "run_with_cache" : "model";
    value *in = lang_arg(a, "input");
    bool bos;
    if (get_bos(I, a, &bos)) return NULL;
    lens_model *m = model_of(self);
    lens_run_options opt = lens_run_options_default();
    opt.cache = with_cache;
    opt.interrupt = (const volatile int *)&lang_interrupted;
    filter_ctx fc = {I, NULL, NULL, false};
    value *v;
    if ((v = lang_arg(a, "names_filter")) && v->type != V_NONE) {
        if (v->type == V_STR) opt.names_regex = v->u.str.s;
        else if (v->type == V_LIST || v->type == V_TUPLE) { fc.list = v; opt.names_filter = names_filter_cb; opt.names_filter_ctx = &fc; }
        else { fc.fn = v; opt.names_filter = names_filter_cb; opt.names_filter_ctx = &fc; }
        if (v->type == V_STR) {
            regex_t re;
            if (regcomp(&re, v->u.str.s, REG_EXTENDED | REG_NOSUB)) return lang_raise(I, "ValueError", "names_filter is not a valid regular expression: '%s'", v->u.str.s);
            regfree(&re);
        }
    }
    if ((v = lang_arg(a, "stop_at_layer")) && v->type != V_NONE) {
        int64_t l;
        if (lang_arg_int(I, v, "stop_at_layer", &l)) return NULL;
        int nl = lens_model_config(m)->n_layers;
        if (l < 0) l += nl;
        if (l < 0 || l > nl) return lang_raise(I, "ValueError", "stop_at_layer must be in [-%d, %d]", nl, nl);
        opt.stop_at_layer = l == nl ? -1 : (int)l;
    }
    if ((v = lang_arg(a, "include_attn_result")) && lang_arg_bool(I, v, &opt.include_attn_result)) return NULL;
    /* return_type: "logits" (default), "loss", "both" (logits, loss), None */
    bool want_logits = true, want_loss = false;
    if ((v = lang_arg(a, "return_type"))) {
        if (v->type == V_NONE) want_logits = false;
        else {
            const char *rt = lang_arg_str(I, v, "return_type");
            if (!rt) return NULL;
            if (!strcmp(rt, "loss")) { want_logits = false; want_loss = true; }
            else if (!strcmp(rt, "both")) want_loss = true;
            else if (strcmp(rt, "logits")) return lang_raise(I, "ValueError", "return_type must be 'logits', 'loss', 'both' or None, not '%s'", rt);
        }
    }
    opt.logits = want_logits || want_loss;
    if (want_loss && opt.stop_at_layer >= 0) return lang_raise(I, "ValueError", "return_type='loss' needs the whole model (no stop_at_layer)");
    lens_intervention_set hooks = {NULL, 0};
    if ((v = lang_arg(a, "hooks")) && v->type != V_NONE) {
        lens_intervention *ivs;
        if (lang_hooks_to_interventions(I, self, v, &ivs, &hooks.n)) return NULL;
        hooks.items = ivs;
        opt.hook_fn = hooks.n ? lens_interventions_hook : NULL;
        opt.hook_ctx = &hooks;
    }
    /* hook functions: the model's (add_hook) first, then this call's */
    user_hooks uh = {.I = I, .cfg = lens_model_config(m), .interventions = &hooks};
    model_obj *mo = self->u.obj.data;
    for (size_t i = 0; i < mo->hooks->u.list.n; i++) {
        value *t = mo->hooks->u.list.items[i];
        if (lang_user_hooks_add(&uh, t->u.list.items[0], t->u.list.items[1])) goto fail;
    }
    if ((v = lang_arg(a, "fwd_hooks")) && v->type != V_NONE && lang_user_hooks_add_list(&uh, v, "fwd_hooks")) goto fail;
    if (uh.n) { opt.hook_fn = lang_user_hooks_run; opt.hook_ctx = &uh; }
    /* incl_bwd=True: the gradients of metric too, as a third result (builtins_grad.c) */
    bool incl_bwd = false;
    lens_grad_metric gm = {0};
    lang_user_metric um;
    if ((v = lang_arg(a, "incl_bwd")) && lang_arg_bool(I, v, &incl_bwd)) goto fail;
    if (incl_bwd && !with_cache) { lang_raise(I, "TypeError", "%s: incl_bwd=True needs run_with_cache", fn); goto fail; }
    if (incl_bwd && lang_grad_metric(I, lang_arg(a, "metric"), fn, &um, &gm)) goto fail;
    lens_tensor *tokens = input_tokens(I, m, in, bos);
    if (!tokens) goto fail;
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL, *grads = NULL;
    lens_error err;
    lang_interrupted = 0;
    int rc = incl_bwd ? lens_model_run_backward(m, tokens, &opt, &gm, &logits, &cache, &grads, NULL, &err)
                      : lens_model_run(m, tokens, &opt, &logits, with_cache ? &cache : NULL, &err);
    free((void *)hooks.items);
    hooks.items = NULL;
    bool hook_failed = uh.failed_at[0] != '\0';
    if (hook_failed) lang_user_hooks_raise(&uh);
    lang_user_hooks_free(&uh);
    value *loss = NULL;
    if (!rc && !fc.failed && want_loss && logits && !(loss = lm_loss(I, logits, tokens))) rc = -1;
    if (rc || fc.failed || !with_cache) lens_tensor_free(tokens);   /* a cache keeps its input tokens */
    if (fc.failed || hook_failed || (rc && I->error)) {
        lens_tensor_free(logits); lens_cache_free(cache); lens_cache_free(grads); lang_decref(loss); return NULL;
    }
    if (rc) {
        if (lang_interrupted) { lang_interrupted = 0; return lang_raise(I, "KeyboardInterrupt", "interrupted"); }
        return eng_fail(I, &err);
    }
    value *lv;
    if (want_loss && want_logits) lv = v_tuple_of(2, v_tensor(logits), loss);
    else if (want_loss) { lens_tensor_free(logits); lv = loss; }
    else lv = logits ? v_tensor(logits) : v_none();
    if (!with_cache) return lv;
    cache_obj *co = malloc(sizeof *co);
    if (!co) { lang_decref(lv); lens_cache_free(cache); lens_cache_free(grads); lens_tensor_free(tokens); return lang_raise(I, "MemoryError", "out of memory"); }
    co->c = cache;
    co->model = lang_incref(self);
    co->tokens = tokens;
    co->grads = false;
    value *cv = v_object(&cache_type, co);
    if (!incl_bwd) return v_tuple_of(2, lv, cv);
    cache_obj *go = malloc(sizeof *go);
    if (!go) { lang_decref(lv); lang_decref(cv); lens_cache_free(grads); return lang_raise(I, "MemoryError", "out of memory"); }
    *go = (cache_obj){.c = grads, .model = lang_incref(self), .tokens = lens_tensor_ref(tokens), .grads = true};
    return v_tuple_of(3, lv, cv, v_object(&cache_type, go));
fail:
    free((void *)hooks.items);
    lang_user_hooks_free(&uh);
    return NULL;
}

/* model.to(device), model.cuda(), model.cpu(), model.eval(): lens computes where it computes; the model itself */
static value *m_self(interp *I, value *self, args *a)
{
    (void)I;
    (void)a;
    return lang_incref(self);
}

static const lang_param m_to_params[] = {{"device_or_dtype", LANG_REQUIRED}, {NULL}};
static const lang_param m_cuda_params[] = {{"device", LANG_OPTIONAL, "None"}, {NULL}};
static const lang_param no_params[] = {{NULL}};

/* model.add_hook(name or filter, fn, dir="fwd", is_permanent=False): fn runs in every forward pass until reset_hooks(). */
/* upstream's order up to is_permanent; its level (hook contexts) lens does not have */
static const lang_param m_add_hook_params[] = {
    {"name", LANG_REQUIRED}, {"hook", LANG_REQUIRED}, {"dir", LANG_OPTIONAL, "'fwd'"},
    {"is_permanent", LANG_OPTIONAL, "False"}, {"prepend", LANG_KEYWORD, "False"}, {NULL}};

static value *m_add_hook(interp *I, value *self, args *a)
{
    value *name = lang_arg(a, "name"), *fn = lang_arg(a, "hook"), *v;
    if ((v = lang_arg(a, "dir")) && v->type != V_NONE) {
        const char *d = lang_arg_str(I, v, "dir");
        if (!d) return NULL;
        if (strcmp(d, "fwd")) return lang_raise(I, "ValueError", "lens runs forward hooks only (dir='fwd'), not dir='%s'", d);
    }
    bool permanent = false, prepend = false;
    if ((v = lang_arg(a, "is_permanent")) && lang_arg_bool(I, v, &permanent)) return NULL;
    if ((v = lang_arg(a, "prepend")) && lang_arg_bool(I, v, &prepend)) return NULL;
    /* checked now, so that a bad name fails here and not in a later run */
    user_hooks check = {.I = I, .cfg = lens_model_config(model_of(self))};
    int rc = lang_user_hooks_add(&check, name, fn);
    lang_user_hooks_free(&check);
    if (rc) return NULL;
    model_obj *mo = self->u.obj.data;
    value *t = v_tuple_of(3, lang_incref(name), lang_incref(fn), v_bool(permanent));
    if (!t || lang_list_append(mo->hooks, t)) return lang_raise(I, "MemoryError", "out of memory");
    if (prepend) {
        value **it = mo->hooks->u.list.items;
        size_t n = mo->hooks->u.list.n;
        memmove(it + 1, it, (n - 1) * sizeof *it);
        it[0] = t;
    }
    return v_none();
}

/* clear_contexts: lens keeps no hook contexts, so there is nothing more to clear */
static const lang_param m_reset_hooks_params[] = {
    {"clear_contexts", LANG_OPTIONAL, "True"}, {"direction", LANG_OPTIONAL, "'both'"},
    {"including_permanent", LANG_OPTIONAL, "False"}, {NULL}};

static value *m_reset_hooks(interp *I, value *self, args *a)
{
    bool all = false, clear_contexts;
    value *v = lang_arg(a, "including_permanent");
    if (v && lang_arg_bool(I, v, &all)) return NULL;
    if ((v = lang_arg(a, "clear_contexts")) && lang_arg_bool(I, v, &clear_contexts)) return NULL;
    if ((v = lang_arg(a, "direction"))) {
        const char *d = lang_arg_str(I, v, "direction");
        if (!d) return NULL;
        if (strcmp(d, "fwd") && strcmp(d, "bwd") && strcmp(d, "both"))
            return lang_raise(I, "ValueError", "direction must be 'fwd', 'bwd' or 'both', not '%s'", d);
        if (!strcmp(d, "bwd")) return v_none();   /* lens attaches forward hooks only */
    }
    model_obj *mo = self->u.obj.data;
    size_t k = 0, n = mo->hooks->u.list.n;
    for (size_t i = 0; i < n; i++) {
        value *t = mo->hooks->u.list.items[i];
        if (all || !t->u.list.items[2]->u.b) lang_decref(t);
        else mo->hooks->u.list.items[k++] = t;
    }
    mo->hooks->u.list.n = k;
    return v_none();
}

/* model(...): TransformerLens's forward(input, return_type, ...), with lens's hooks= interventions */
static const lang_param m_call_params[] = {
    {"input", LANG_REQUIRED}, {"return_type", LANG_OPTIONAL, "'logits'"}, {"prepend_bos", LANG_KEYWORD, "None"},
    {"stop_at_layer", LANG_KEYWORD, "None"}, {"hooks", LANG_KEYWORD, "None"}, {NULL}};

/* model(...) is called as its object's type, not through a table entry, so it
 * binds the spec itself, named as torch names it in messages (forward()) */
static const lang_builtin forward_def = {"HookedTransformer.forward", NULL, NULL, m_call_params};

static value *m_call(interp *I, value *self, args *a)
{
    if (lang_bind_args(I, &forward_def, a)) return NULL;
    return run_model(I, self, a, false);
}
static value *m_run_with_cache(interp *I, value *self, args *a) { return run_model(I, self, a, true); }
static value *m_run_with_hooks(interp *I, value *self, args *a) { return run_model(I, self, a, false); }

static const lang_param m_weight_params[] = {{"name", LANG_REQUIRED}, {NULL}};

static value *m_weight(interp *I, value *self, args *a)
{
    const char *n = lang_arg_str(I, lang_arg(a, "name"), "name");
    if (!n) return NULL;
    lens_tensor *t = weight(I, model_of(self), n);
    return t ? v_tensor(t) : NULL;
}

static value *m_hook_names(interp *I, value *self, args *a)
{
    (void)a;
    char **names = lens_hook_names(lens_model_config(model_of(self)));
    if (!names) return lang_raise(I, "MemoryError", "out of memory");
    value *l = v_list(0);
    for (int i = 0; names[i]; i++) { if (l) lang_list_append(l, v_str(names[i])); free(names[i]); }
    free(names);
    return l;
}

/* model.W_Q etc.: per-layer weights stacked over layers, as TransformerLens does */
static value *stacked_weight(interp *I, lens_model *m, const char *sub)
{
    int nl = lens_model_config(m)->n_layers;
    lens_tensor **ts = calloc((size_t)nl, sizeof *ts);
    if (!ts) return lang_raise(I, "MemoryError", "out of memory");
    value *r = NULL;
    int got = 0;
    for (; got < nl; got++) {
        char name[128];
        snprintf(name, sizeof name, "blocks.%d.%s", got, sub);
        ts[got] = weight(I, m, name);
        if (!ts[got]) goto done;
    }
    lens_error err;
    lens_tensor *s = lens_stack(nl, (const lens_tensor *const *)ts, 0, &err);
    r = s ? v_tensor(s) : eng_fail(I, &err);
done:
    for (int i = 0; i < got; i++) lens_tensor_free(ts[i]);
    free(ts);
    return r;
}

static value *model_getattr(interp *I, value *self, const char *name)
{
    lens_model *m = model_of(self);
    if (!strcmp(name, "cfg")) {
        config_obj *co = malloc(sizeof *co);
        if (!co) return lang_raise(I, "MemoryError", "out of memory");
        co->c = *lens_model_config(m);
        snprintf(co->device, sizeof co->device, "%s", lens_model_device(m));
        return v_object(&config_type, co);
    }
    static const struct { const char *attr, *name; } direct[] = {
        {"W_U", "unembed.W_U"}, {"b_U", "unembed.b_U"}, {"W_E", "embed.W_E"}, {"W_pos", "pos_embed.W_pos"}, {NULL, NULL}};
    for (int i = 0; direct[i].attr; i++)
        if (!strcmp(name, direct[i].attr)) {
            lens_tensor *t = weight(I, m, direct[i].name);
            return t ? v_tensor(t) : NULL;
        }
    static const struct { const char *attr, *sub; } stacked[] = {
        {"W_Q", "attn.W_Q"}, {"W_K", "attn.W_K"}, {"W_V", "attn.W_V"}, {"W_O", "attn.W_O"},
        {"b_Q", "attn.b_Q"}, {"b_K", "attn.b_K"}, {"b_V", "attn.b_V"}, {"b_O", "attn.b_O"},
        {"W_in", "mlp.W_in"}, {"b_in", "mlp.b_in"}, {"W_out", "mlp.W_out"}, {"b_out", "mlp.b_out"}, {NULL, NULL}};
    for (int i = 0; stacked[i].attr; i++)
        if (!strcmp(name, stacked[i].attr)) return stacked_weight(I, m, stacked[i].sub);
    if (!strcmp(name, "tokenizer_name") || !strcmp(name, "path")) return v_str(lens_model_path(m));
    const lang_builtin *b = lang_method_find("HookedTransformer", name);
    if (b) return v_builtin(b, self);
    return NULL;
}

static char *model_repr(value *self)
{
    lens_model *m = model_of(self);
    const lens_config *c = lens_model_config(m);
    const lens_processing *p = lens_model_processing(m);
    char *s;
    if (asprintf(&s, "HookedTransformer(%s: %d layers, d_model %d, %d heads x d_head %d, d_mlp %d, vocab %d, n_ctx %d; "
                     "processing: fold_ln=%s, center_writing_weights=%s, center_unembed=%s, fold_value_biases=%s, "
                     "refactor_factored_attn_matrices=%s)",
                 c->name, c->n_layers, c->d_model, c->n_heads, c->d_head, c->d_mlp, c->d_vocab, c->n_ctx,
                 p->fold_ln ? "True" : "False", p->center_writing_weights ? "True" : "False",
                 p->center_unembed ? "True" : "False", p->fold_value_biases ? "True" : "False",
                 p->refactor_factored_attn_matrices ? "True" : "False") < 0) return NULL;
    return s;
}

static void model_free(void *d)
{
    model_obj *mo = d;
    lang_decref(mo->hooks);
    lens_model_free(mo->m);
    free(mo);
}

static int model_keys(value *self, char ***names)
{
    char **hn = lens_hook_names(lens_model_config(model_of(self)));
    int n = 0;
    if (hn) while (hn[n]) n++;
    *names = hn;
    return n;
}

static const char *const model_attrs[] = {"cfg", "W_U", "b_U", "W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K",
                                          "b_V", "b_O", "W_in", "b_in", "W_out", "b_out", NULL};
static const lang_type model_type = {
    .name = "HookedTransformer", .getattr = model_getattr, .call = m_call, .repr = model_repr, .free = model_free,
    .keys = model_keys, .attrs = model_attrs,
    .doc = "A GPT-2-family model (load(...)). model(tokens) gives logits [batch, pos, d_vocab]; "
           "model.run_with_cache(tokens) gives (logits, cache). Weights: W_E, W_pos, W_U, and W_Q/W_K/W_V/W_O, "
           "W_in/W_out stacked over layers. Tokenizer: to_tokens, to_str_tokens, to_string, to_single_token."};

/* ---- cache ---------------------------------------------------------------------- */

static cache_obj *cache_of(value *v) { return v->u.obj.data; }

/* A gradient cache's name for a resolved hook name: "<hook>_grad", as it stores them. */
static int grad_name(const cache_obj *co, char *name, size_t size)
{
    size_t n = strlen(name);
    if (!co->grads) return 0;
    if (n + sizeof "_grad" > size) return -1;
    memcpy(name + n, "_grad", sizeof "_grad");
    return 0;
}

static int cache_key(interp *I, value *self, value *key, char *out, size_t size)
{
    cache_obj *co = cache_of(self);
    const lens_config *cfg = lens_model_config(model_of(co->model));
    if (key->type == V_STR) {
        if (lens_cache_get(co->c, key->u.str.s)) { snprintf(out, size, "%s", key->u.str.s); return 0; }
        lens_error err;
        if (!lens_act_name(cfg, key->u.str.s, LENS_NO_LAYER, NULL, out, size, &err) && !grad_name(co, out, size) &&
            lens_cache_get(co->c, out))
            return 0;
        snprintf(out, size, "%s", key->u.str.s);
        return 0;
    }
    if (key->type == V_TUPLE && key->u.list.n >= 1 && key->u.list.n <= 3 && key->u.list.items[0]->type == V_STR) {
        const char *shortn = key->u.list.items[0]->u.str.s;
        int64_t layer = LENS_NO_LAYER;
        const char *lt = NULL;
        if (key->u.list.n >= 2 && key->u.list.items[1]->type != V_NONE && lang_arg_int(I, key->u.list.items[1], "layer", &layer)) return -1;
        if (key->u.list.n == 3 && key->u.list.items[2]->type != V_NONE && !(lt = lang_arg_str(I, key->u.list.items[2], "layer type"))) return -1;
        lens_error err;
        if (lens_act_name(cfg, shortn, (int)layer, lt, out, size, &err)) { lang_raise(I, "KeyError", "%s", err.msg); return -1; }
        if (grad_name(co, out, size)) { lang_raise(I, "KeyError", "the hook name %s is too long", out); return -1; }
        return 0;
    }
    lang_raise(I, "KeyError", "cache keys are hook names (\"blocks.0.hook_resid_post\") or (name, layer[, layer_type]) like (\"resid_post\", -1)");
    return -1;
}

/* ". Did you mean: ..." for a key not in the cache: the nearest cached hook
 * name for a full name, the nearest short name ("pattern") for a tuple key. */
static void cache_hint(const lens_cache *c, value *key, char *out, size_t size)
{
    out[0] = 0;
    int n = lens_cache_count(c);
    const char **names = n > 0 ? malloc((size_t)n * sizeof *names) : NULL;
    if (!names) return;
    bool tuple = key->type == V_TUPLE;
    const char *word = tuple ? key->u.list.items[0]->u.str.s : key->u.str.s;
    for (int i = 0; i < n; i++) {
        const char *full = lens_cache_name(c, i), *h = strstr(full, "hook_");
        names[i] = tuple && h ? h + 5 : full;   /* blocks.0.attn.hook_pattern -> pattern */
    }
    lang_did_you_mean(out, size, word, names, (size_t)n);
    free(names);
}

static value *cache_getitem(interp *I, value *self, value *key)
{
    char name[256];
    if (cache_key(I, self, key, name, sizeof name)) return NULL;
    const lens_tensor *t = lens_cache_get(cache_of(self)->c, name);
    char hint[300];
    if (!t) cache_hint(cache_of(self)->c, key, hint, sizeof hint);
    if (!t) return lang_raise(I, "KeyError", "'%s' is not in the cache%s (cache.keys() lists what is; names_filter may have left it out)", name, hint);
    lens_tensor *r = lens_tensor_ref(t);
    return r ? v_tensor(r) : lang_raise(I, "MemoryError", "out of memory");
}

static int cache_contains(interp *I, value *self, value *key)
{
    char name[256];
    if (key->type != V_STR && key->type != V_TUPLE) return 0;
    if (cache_key(I, self, key, name, sizeof name)) { lang_clear_error(I); return 0; }
    return lens_cache_get(cache_of(self)->c, name) != NULL;
}

static int64_t cache_len(value *self) { return lens_cache_count(cache_of(self)->c); }

static int cache_keys_fn(value *self, char ***names)
{
    lens_cache *c = cache_of(self)->c;
    int n = lens_cache_count(c);
    *names = calloc((size_t)n + 1, sizeof **names);
    if (!*names) return 0;
    for (int i = 0; i < n; i++) (*names)[i] = strdup(lens_cache_name(c, i));
    return n;
}

static value *c_keys(interp *I, value *self, args *a)
{
    (void)a;
    lens_cache *c = cache_of(self)->c;
    value *l = v_list(0);
    if (!l) return lang_raise(I, "MemoryError", "out of memory");
    for (int i = 0; i < lens_cache_count(c); i++) lang_list_append(l, v_str(lens_cache_name(c, i)));
    return l;
}

static value *c_items(interp *I, value *self, args *a)
{
    (void)a;
    lens_cache *c = cache_of(self)->c;
    value *l = v_list(0);
    if (!l) return lang_raise(I, "MemoryError", "out of memory");
    for (int i = 0; i < lens_cache_count(c); i++)
        lang_list_append(l, v_tuple_of(2, v_str(lens_cache_name(c, i)), v_tensor(lens_tensor_ref(lens_cache_at(c, i)))));
    return l;
}

static value *c_values(interp *I, value *self, args *a)
{
    (void)a;
    lens_cache *c = cache_of(self)->c;
    value *l = v_list(0);
    if (!l) return lang_raise(I, "MemoryError", "out of memory");
    for (int i = 0; i < lens_cache_count(c); i++) lang_list_append(l, v_tensor(lens_tensor_ref(lens_cache_at(c, i))));
    return l;
}

static value *cache_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    if (!strcmp(name, "model")) return lang_incref(cache_of(self)->model);
    if (!strcmp(name, "tokens")) {   /* the input tokens [batch, pos] of the run */
        lens_tensor *t = lens_tensor_ref(cache_of(self)->tokens);
        return t ? v_tensor(t) : lang_raise(I, "MemoryError", "out of memory");
    }
    const lang_builtin *b = lang_method_find("ActivationCache", name);
    return b ? v_builtin(b, self) : NULL;
}

static char *cache_repr(value *self)
{
    lens_cache *c = cache_of(self)->c;
    int n = lens_cache_count(c);
    size_t cap = 512, len = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    len += (size_t)snprintf(s, cap, "ActivationCache with %d hook%s", n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        if (i == 6 && n > 8) { i = n - 2; len += (size_t)snprintf(s + len, cap - len, "\n  ..."); }
        char shape[128];
        const lens_tensor *t = lens_cache_at(c, i);
        lens_shape_str(t->ndim, t->shape, shape, sizeof shape);
        const char *nm = lens_cache_name(c, i);
        if (len + strlen(nm) + 160 > cap) {
            cap = cap * 2 + strlen(nm) + 160;
            char *x = realloc(s, cap);
            if (!x) { free(s); return NULL; }
            s = x;
        }
        len += (size_t)snprintf(s + len, cap - len, "\n  %s %s", nm, shape);
    }
    return s;
}

static void cache_free(void *d)
{
    cache_obj *co = d;
    lens_cache_free(co->c);
    lens_tensor_free(co->tokens);
    lang_decref(co->model);
    free(co);
}

static const char *const cache_attrs[] = {"model", "tokens", NULL};
static const lang_type cache_type = {
    .name = "ActivationCache", .getattr = cache_getattr, .getitem = cache_getitem, .contains = cache_contains,
    .len = cache_len, .repr = cache_repr, .free = cache_free, .keys = cache_keys_fn, .attrs = cache_attrs,
    .doc = "Activations of a run by hook name: cache[\"blocks.0.attn.hook_pattern\"], or by short name and layer: "
           "cache[\"pattern\", 0], cache[\"resid_post\", -1], cache[\"scale\", 2, \"ln2\"]. keys(), len(cache), `name in cache`; "
           "cache.model and cache.tokens: the model and input tokens [batch, pos] of the run."};

/* run_with_hooks and run_with_cache take forward's arguments (m_call_params)
 * after their own, as upstream passes them on. */
static const lang_param m_run_with_hooks_params[] = {
    {"input", LANG_REQUIRED}, {"return_type", LANG_OPTIONAL, "'logits'"}, {"fwd_hooks", LANG_KEYWORD, "[]"},
    {"prepend_bos", LANG_KEYWORD, "None"}, {"stop_at_layer", LANG_KEYWORD, "None"}, {"hooks", LANG_KEYWORD, "None"},
    {NULL}};
static const lang_param m_run_with_cache_params[] = {
    {"input", LANG_REQUIRED}, {"return_type", LANG_OPTIONAL, "'logits'"}, {"names_filter", LANG_KEYWORD, "None"},
    {"incl_bwd", LANG_KEYWORD, "False"}, {"metric", LANG_KEYWORD, "None"}, {"prepend_bos", LANG_KEYWORD, "None"},
    {"stop_at_layer", LANG_KEYWORD, "None"}, {"include_attn_result", LANG_KEYWORD, "False"},
    {"fwd_hooks", LANG_KEYWORD, "None"}, {"hooks", LANG_KEYWORD, "None"}, {NULL}};

const lang_builtin builtins_model[] = {
    {"load", b_load,
     "Loads a GPT-2-family model from a directory (config.json, model.safetensors, vocab.json, merges.txt) or by name "
     "(gpt2-small, gpt2, gpt2-medium, ... from $LENS_MODELS_DIR, models/ or the Hugging Face cache). Weight processing "
     "defaults to TransformerLens's from_pretrained; processing=\"raw\" turns it all off, \"refactor\" adds the refactor; device: where its forward passes run.", b_load_params},
    {"HookedTransformer.__call__", m_call, "model(input): runs the model on tokens (or text) and returns the logits [batch, pos, d_vocab] ('loss': the mean next-token loss; 'both': (logits, loss)), with the hook functions add_hook attached; hooks: interventions as in run_with_cache.", m_call_params},
    {"HookedTransformer.run_with_cache", m_run_with_cache,
     "Runs the model and returns (logits, cache). names_filter: a regular expression, a list of hook names, or a function of the name; "
     "stop_at_layer: stop before that block (logits are then the residual stream); fwd_hooks: hook functions as in "
     "run_with_hooks (the cache holds the activations as they changed them); hooks: interventions made by "
     "patch_hook, zero_ablate, mean_ablate or scale_hook, applied during the run. incl_bwd=True with metric= "
     "(normalized_logit_diff(...), logit_diff_metric(answer_tokens), or a function of the logits returning one number "
     "as a tensor, written with tensor operations): also the backward pass, returning (logits, cache, grad_cache), "
     "grad_cache[\"<hook name>_grad\"] (or grad_cache[\"resid_pre\", 0]) the metric's gradient at each hook names_filter keeps.", m_run_with_cache_params},
    {"HookedTransformer.run_with_hooks", m_run_with_hooks,
     "Runs the model with hook functions and returns the logits (return_type='loss': the mean next-token loss, "
     "'both': (logits, loss), None: nothing). fwd_hooks: (hook name or a function of the name, fn) pairs; "
     "fn(activation, hook) is called at each matching hook point in forward order with a view of the activation "
     "(change it in place, or return a same-shape tensor that replaces it) and hook.name, hook.layer(). The hooks "
     "are attached for this run only, whatever happens; an error inside one names the hook point. hooks: "
     "interventions (patch_hook, zero_ablate, mean_ablate, scale_hook), applied before the functions.", m_run_with_hooks_params},
    {"HookedTransformer.to", m_self, "The model itself: it stays on the device it was loaded on (load(name, device=...) chooses; model.cfg.device names it).", m_to_params},
    {"HookedTransformer.cuda", m_self, "The model itself (see to).", m_cuda_params},
    {"HookedTransformer.cpu", m_self, "The model itself (see to).", no_params},
    {"HookedTransformer.eval", m_self, "The model itself (lens has no training mode).", no_params},
    {"HookedTransformer.add_hook", m_add_hook,
     "Attaches hook function fn(activation, hook) at a hook name (or every name a filter function accepts) for every "
     "later forward pass, until reset_hooks(); dir='fwd' only (lens runs no backward hooks); prepend=True runs it before "
     "those attached earlier.", m_add_hook_params},
    {"HookedTransformer.reset_hooks", m_reset_hooks,
     "Removes the hook functions add_hook attached (permanent ones too with including_permanent=True); "
     "direction='bwd' removes nothing (lens attaches forward hooks only).", m_reset_hooks_params},
    {"HookedTransformer.to_tokens", m_to_tokens,
     "Tokens [batch, pos] (int64) of a string or a list of strings; BOS first unless prepend_bos=False; shorter prompts padded on the right; "
     "with truncate, at most n_ctx positions (the first ones).", m_to_tokens_params},
    {"HookedTransformer.to_str_tokens", m_to_str_tokens, "The text of each token, of a string or of a tensor of tokens.", m_to_str_tokens_params},
    {"HookedTransformer.to_string", m_to_string, "Decodes tokens into text (a list of strings for a 2-d tensor).", m_to_string_params},
    {"HookedTransformer.to_single_token", m_to_single_token,
     "The id of a string that is exactly one token; nested lists of strings give an int64 tensor of the same shape.", m_to_single_token_params},
    {"HookedTransformer.get_token_position", m_get_token_position, "The position of a single token (a string that is one token, or an id) in one prompt (a string, "
     "or its tokens [pos] / [1, pos]): the first occurrence, or the last with mode='last'.", m_get_token_position_params},
    {"HookedTransformer.tokens_to_residual_directions", m_tokens_to_residual_directions,
     "The unembedding columns W_U[:, tokens], with d_model as the last dim.", m_tokens_to_residual_directions_params},
    {"HookedTransformer.weight", m_weight, "A weight by its TransformerLens name, e.g. \"blocks.0.attn.W_Q\".", m_weight_params},
    {"HookedTransformer.hook_names", m_hook_names, "Every hook point name in forward order.", no_params},
    {"ActivationCache.keys", c_keys, "The cached hook names in forward order.", no_params},
    {"ActivationCache.values", c_values, "The cached tensors in forward order.", no_params},
    {"ActivationCache.items", c_items, "(hook name, tensor) pairs in forward order.", no_params},
    {NULL, NULL, NULL, NULL},
};
