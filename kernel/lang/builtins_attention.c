/* kernel/lang/builtins_attention.c — attention_patterns and attention_heads:
 * the interactive attention displays of kernel/display/attention.h for heads
 * of a cached run. Heads are given as flat indices layer * n_heads + head (as
 * topk over a flattened [layers, heads] tensor gives them), (layer, head)
 * pairs, or "L9H9" strings; patterns come from cache["pattern", layer] of one
 * prompt, tokens from the cache's input (or the tokens argument). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "builtins_device.h"
#include "display.h"
#include "rich.h"

typedef struct headlist { int *layer, *head; int n, cap; } headlist;

static int cfg_int(interp *I, value *cfg, const char *name, int *out)
{
    value *v = lang_get_attr(I, cfg, name);
    int64_t x;
    if (!v) return -1;
    int rc = lang_arg_int(I, v, name, &x);
    lang_decref(v);
    if (!rc) *out = (int)x;
    return rc;
}

static int add_head(interp *I, headlist *h, int64_t layer, int64_t head, int nl, int nh, const char *given)
{
    if (layer < 0 || layer >= nl || head < 0 || head >= nh) {
        lang_raise(I, "ValueError", "head %s is not in the model: it has %d layers of %d heads (L0H0 to L%dH%d)",
                   given, nl, nh, nl - 1, nh - 1);
        return -1;
    }
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 8;
        int *l = realloc(h->layer, (size_t)cap * sizeof *l);
        if (l) h->layer = l;
        int *x = l ? realloc(h->head, (size_t)cap * sizeof *x) : NULL;
        if (!x) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
        h->head = x;
        h->cap = cap;
    }
    h->layer[h->n] = (int)layer;
    h->head[h->n++] = (int)head;
    return 0;
}

/* "L9H9", "l9h9" or "9.9" */
static int parse_head_str(const char *s, int64_t *layer, int64_t *head)
{
    char *end;
    if (*s == 'L' || *s == 'l') {
        if (!isdigit((unsigned char)s[1])) return -1;
        *layer = strtoll(s + 1, &end, 10);
        if (*end != 'H' && *end != 'h') return -1;
        if (!isdigit((unsigned char)end[1])) return -1;
        *head = strtoll(end + 1, &end, 10);
        return *end ? -1 : 0;
    }
    if (!isdigit((unsigned char)*s)) return -1;
    *layer = strtoll(s, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1])) return -1;
    *head = strtoll(end + 1, &end, 10);
    return *end ? -1 : 0;
}

static bool is_int_value(value *v)
{
    return v->type == V_INT || (v->type == V_TENSOR && v->u.tensor.t->dtype == LENS_I64 && lens_tensor_numel(v->u.tensor.t) == 1);
}

/* A (layer, head) pair: a 2-tuple/list of ints or an int tensor of 2 elements. */
static bool is_pair(value *v)
{
    if (v->type == V_TUPLE || v->type == V_LIST)
        return v->u.list.n == 2 && is_int_value(v->u.list.items[0]) && is_int_value(v->u.list.items[1]);
    return v->type == V_TENSOR && v->u.tensor.t->dtype == LENS_I64 && v->u.tensor.t->ndim == 1 && v->u.tensor.t->shape[0] == 2;
}

static int parse_one(interp *I, headlist *h, value *v, int nl, int nh)
{
    char given[96];
    if (v->type == V_STR) {
        int64_t l, x;
        if (parse_head_str(v->u.str.s, &l, &x)) {
            lang_raise(I, "ValueError", "'%.60s' is not a head: write \"L9H9\" (layer 9, head 9), a pair (9, 9) or a flat index", v->u.str.s);
            return -1;
        }
        snprintf(given, sizeof given, "'%.60s'", v->u.str.s);
        return add_head(I, h, l, x, nl, nh, given);
    }
    if (is_int_value(v)) {
        int64_t f;
        if (lang_arg_int(I, v, "head", &f)) return -1;
        snprintf(given, sizeof given, "%lld (a flat index layer * %d + head)", (long long)f, nh);
        if (f < 0 || f >= (int64_t)nl * nh) return add_head(I, h, -1, -1, nl, nh, given);
        return add_head(I, h, f / nh, f % nh, nl, nh, given);
    }
    if (is_pair(v)) {
        value *l = lang_to_list(I, v);
        if (!l) return -1;
        int64_t a, b;
        int rc = lang_arg_int(I, l->u.list.items[0], "layer", &a) || lang_arg_int(I, l->u.list.items[1], "head", &b);
        lang_decref(l);
        if (rc) return -1;
        snprintf(given, sizeof given, "(%lld, %lld)", (long long)a, (long long)b);
        return add_head(I, h, a, b, nl, nh, given);
    }
    lang_raise(I, "TypeError", "a head is a flat index, a (layer, head) pair or a string like \"L9H9\", not %s", lang_type_name(v));
    return -1;
}

static int parse_heads(interp *I, value *v, int nl, int nh, headlist *h)
{
    /* one head: an int, a string, or a top-level (layer, head) tuple */
    if (v->type == V_STR || is_int_value(v) || (v->type == V_TUPLE && is_pair(v)) ||
        (v->type == V_TENSOR && v->u.tensor.t->ndim == 0))
        return parse_one(I, h, v, nl, nh);
    if (v->type != V_LIST && v->type != V_TUPLE && v->type != V_TENSOR) {
        lang_raise(I, "TypeError", "heads must be a list of heads (flat indices, (layer, head) pairs or \"L9H9\"), not %s", lang_type_name(v));
        return -1;
    }
    value *l = lang_to_list(I, v);
    if (!l) return -1;
    int rc = 0;
    for (size_t i = 0; !rc && i < l->u.list.n; i++) rc = parse_one(I, h, l->u.list.items[i], nl, nh);
    lang_decref(l);
    if (!rc && h->n == 0) { lang_raise(I, "ValueError", "no heads given"); return -1; }
    if (!rc && h->n > 256) { lang_raise(I, "ValueError", "%d heads are too many for one display (256 at most)", h->n); return -1; }
    return rc;
}

/* The token strings: a list of str as given, or tokens (a tensor of ids, the
 * row `prompt` of a 2-d one) through the model's tokenizer. */
static value *token_strings(interp *I, value *model, value *tokens, int64_t prompt)
{
    if (tokens->type == V_LIST || tokens->type == V_TUPLE) {
        bool text = true;
        for (size_t i = 0; i < tokens->u.list.n; i++) text &= tokens->u.list.items[i]->type == V_STR;
        if (text && tokens->u.list.n) return lang_incref(tokens);
    }
    lens_tensor *t = lang_engine_tensor(I, tokens, LENS_I64);
    if (!t) return NULL;
    if (t->ndim == 2) {
        int64_t b = prompt < 0 ? prompt + t->shape[0] : prompt;
        if (b < 0 || b >= t->shape[0]) {
            lang_raise(I, "IndexError", "prompt %lld is out of range for %lld rows of tokens", (long long)prompt, (long long)t->shape[0]);
            lens_tensor_free(t);
            return NULL;
        }
        lens_tensor *row = lens_tensor_select(t, 0, b);
        lens_tensor_free(t);
        t = row;
        if (!t) return lang_raise(I, "MemoryError", "out of memory");
    }
    if (t->ndim != 1) {
        lens_tensor_free(t);
        return lang_raise(I, "ValueError", "tokens must be a 1-d tensor of token ids or a list of str");
    }
    value *tv = v_tensor(t);
    value *fn = tv ? lang_get_attr(I, model, "to_str_tokens") : NULL;
    value *r = NULL;
    if (fn) {
        args ca = {&tv, 1, NULL, NULL, 0};
        r = lang_call_value(I, fn, &ca);
    }
    lang_decref(fn);
    lang_decref(tv);
    return r;
}

static const lang_param attention_params[] = {
    {"cache", LANG_REQUIRED}, {"heads", LANG_REQUIRED}, {"tokens", LANG_KEYWORD, "None"}, {"prompt", LANG_KEYWORD, "0"},
    {"title", LANG_KEYWORD, "None"}, {"show", LANG_KEYWORD, "True"}, {NULL}};

static value *attention_common(interp *I, args *a, const char *fn, bool grid)
{
    value *cache = lang_arg(a, "cache"), *heads = lang_arg(a, "heads");
    if (strcmp(lang_type_name(cache), "ActivationCache"))
        return lang_raise(I, "TypeError", "%s() needs an ActivationCache (from model.run_with_cache) first, not %s", fn, lang_type_name(cache));
    const char *title = NULL;
    value *v = lang_arg(a, "title");
    if (v && v->type != V_NONE && !(title = lang_arg_str(I, v, "title"))) return NULL;
    int64_t prompt = 0;
    if ((v = lang_arg(a, "prompt")) && v->type != V_NONE && lang_arg_int(I, v, "prompt", &prompt)) return NULL;

    value *model = lang_get_attr(I, cache, "model");
    value *cfg = model ? lang_get_attr(I, model, "cfg") : NULL;
    int nl = 0, nh = 0;
    headlist h = {0};
    value *toks = NULL, *r = NULL;
    float *pat = NULL;
    char **labels = NULL;
    if (!cfg || cfg_int(I, cfg, "n_layers", &nl) || cfg_int(I, cfg, "n_heads", &nh)) goto done;
    if (parse_heads(I, heads, nl, nh, &h)) goto done;

    value *tv = lang_arg(a, "tokens");
    if (tv && tv->type != V_NONE) toks = token_strings(I, model, tv, prompt);
    else {
        value *ct = lang_get_attr(I, cache, "tokens");
        if (ct) toks = token_strings(I, model, ct, prompt);
        lang_decref(ct);
    }
    if (!toks) goto done;
    int64_t n = (int64_t)toks->u.list.n;

    for (int i = 0; i < h.n; i++) {
        value *key = v_tuple_of(2, v_str("pattern"), v_int(h.layer[i]));
        value *pv = key ? lang_get_item(I, cache, key) : NULL;
        lang_decref(key);
        if (!pv) goto done;
        const lens_tensor *t = pv->type == V_TENSOR ? pv->u.tensor.t : NULL;
        if (!t || t->ndim != 4 || t->shape[1] != nh || t->shape[2] != t->shape[3]) {
            lang_decref(pv);
            lang_raise(I, "ValueError", "cache[\"pattern\", %d] is not [batch, head, query, key]", h.layer[i]);
            goto done;
        }
        int64_t b = prompt < 0 ? prompt + t->shape[0] : prompt;
        if (b < 0 || b >= t->shape[0]) {
            lang_raise(I, "IndexError", "prompt %lld is out of range: the cache holds %lld prompts", (long long)prompt, (long long)t->shape[0]);
            lang_decref(pv);
            goto done;
        }
        if (t->shape[2] != n) {
            lang_raise(I, "ValueError", "%lld tokens given for an attention pattern over %lld positions", (long long)n, (long long)t->shape[2]);
            lang_decref(pv);
            goto done;
        }
        if (!pat && !(pat = malloc((size_t)h.n * (size_t)(n * n) * sizeof *pat))) {
            lang_decref(pv);
            lang_raise(I, "MemoryError", "out of memory");
            goto done;
        }
        lens_tensor *s1 = lens_tensor_select(t, 0, b);
        lens_tensor *s2 = s1 ? lens_tensor_select(s1, 0, h.head[i]) : NULL;
        lens_tensor *c = s2 ? lens_tensor_to_f32(s2) : NULL;
        lens_error herr;
        lens_tensor *cc = c ? lens_tensor_host_contiguous(c, &herr) : NULL;
        if (cc) memcpy(pat + (size_t)i * (size_t)(n * n), lens_tensor_f32(cc), (size_t)(n * n) * sizeof *pat);
        lens_tensor_free(s1);
        lens_tensor_free(s2);
        lens_tensor_free(c);
        lens_tensor_free(cc);
        lang_decref(pv);
        if (!cc) { lang_raise(I, "MemoryError", "out of memory"); goto done; }
    }

    labels = calloc((size_t)h.n, sizeof *labels);
    const char **strs = malloc((size_t)(n ? n : 1) * sizeof *strs);
    if (!labels || !strs) { free(strs); lang_raise(I, "MemoryError", "out of memory"); goto done; }
    for (int i = 0; i < h.n; i++)
        if (asprintf(&labels[i], "L%dH%d", h.layer[i], h.head[i]) < 0) labels[i] = NULL;
    for (int64_t i = 0; i < n; i++) strs[i] = toks->u.list.items[i]->type == V_STR ? toks->u.list.items[i]->u.str.s : "";
    cJSON *bundle = grid ? display_attention_heads_bundle(strs, (int)n, pat, h.n, (const char *const *)labels, title)
                         : display_attention_patterns_bundle(strs, (int)n, pat, h.n, (const char *const *)labels, title);
    free(strs);
    r = lang_rich_finish(I, a, lang_rich_html_display(I, bundle));
done:
    for (int i = 0; labels && i < h.n; i++) free(labels[i]);
    free(labels);
    free(pat);
    free(h.layer);
    free(h.head);
    lang_decref(toks);
    lang_decref(cfg);
    lang_decref(model);
    return r;
}

static value *b_attention_patterns(interp *I, value *self, args *a)
{
    (void)self;
    return attention_common(I, a, "attention_patterns", false);
}

static value *b_attention_heads(interp *I, value *self, args *a)
{
    (void)self;
    return attention_common(I, a, "attention_heads", true);
}

const lang_builtin builtins_attention[] = {
    {"attention_patterns", b_attention_patterns,
     "An interactive view of some heads' attention on one prompt: tokens coloured by a mix of the heads' colours; "
     "hover a token to see where it attends (tick the box for which tokens attend to it), click to lock; a small "
     "lower-triangular heatmap per head. heads: flat indices layer * n_heads + head (topk(x.flatten(), 3).indices), "
     "(layer, head) pairs or \"L9H9\" strings; tokens: token ids or str tokens (default: the prompt's tokens in the "
     "cache); prompt: which prompt of the batch. Displays the view and returns it.", attention_params},
    {"attention_heads", b_attention_heads,
     "The attention patterns of some heads as a grid of larger heatmaps (query down, key across), with the tokens "
     "named on hover. Arguments as attention_patterns. Displays the view and returns it.", attention_params},
    {NULL, NULL, NULL, NULL},
};
