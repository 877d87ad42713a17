/* kernel/lang/builtins_attention_view.c — attention views drawn from a
 * pattern tensor given directly, as pysvelte and circuitsvis take them:
 * pysvelte.AttentionMulti(attention=[query, key, heads], tokens=, head_labels=)
 * and circuitsvis.attention.attention_patterns / attention_heads(tokens=,
 * attention=[heads, query, key]). They draw with lens's attention display
 * (kernel/display/attention.h) and return an AttentionDisplay that is shown by
 * .show() or as a cell's last value.
 *
 * Owns: reading the tensor in either layout and the token strings.
 * Does not own: the views of heads picked from a cache (builtins_attention.c),
 * the HTML (kernel/display).
 */
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "builtins_device.h"
#include "display.h"
#include "namespaces.h"
#include "rich.h"

enum { HEADS_FIRST, HEADS_LAST };

/* labels: the name of the head labels' parameter (each spec keeps its library's order of attention and tokens) */
static value *attention_view(interp *I, args *a, const char *fn, const char *labels_name, int layout, bool grid)
{
    value *av = lang_arg(a, "attention"), *tv = lang_arg(a, "tokens"), *lv = lang_arg(a, labels_name);
    if (tv->type != V_LIST && tv->type != V_TUPLE)
        return lang_raise(I, "TypeError", "%s(): tokens must be a list of str (model.to_str_tokens(...)), not %s", fn, lang_type_name(tv));
    size_t n = tv->u.list.n;
    for (size_t i = 0; i < n; i++)
        if (tv->u.list.items[i]->type != V_STR) return lang_raise(I, "TypeError", "%s(): tokens must be a list of str", fn);
    lens_tensor *t = lang_engine_tensor(I, av, LENS_F32);
    if (!t) return NULL;
    value *r = NULL;
    float *pat = NULL;
    const char **strs = NULL, **labels = NULL;
    lens_tensor *p = NULL, *c = NULL;
    if (t->ndim == 2) {   /* one head */
        lens_error err;
        lens_tensor *u = lens_tensor_unsqueeze(t, layout == HEADS_LAST ? 2 : 0, &err);
        lens_tensor_free(t);
        if (!(t = u)) return lang_raise(I, "MemoryError", "out of memory");
    }
    if (t->ndim != 3) { lang_raise(I, "ValueError", "%s(): attention must be %s, not %d-d", fn, layout == HEADS_LAST ? "[query, key, heads]" : "[heads, query, key]", t->ndim); goto done; }
    int qd = layout == HEADS_LAST ? 0 : 1, kd = qd + 1, hd = layout == HEADS_LAST ? 2 : 0;
    if (t->shape[qd] != (int64_t)n || t->shape[kd] != (int64_t)n) {
        lang_raise(I, "ValueError", "%s(): %zu tokens for an attention pattern of %lld x %lld positions", fn, n,
                   (long long)t->shape[qd], (long long)t->shape[kd]);
        goto done;
    }
    int64_t heads = t->shape[hd];
    if (heads < 1 || heads > 4096 || n > 100000) { lang_raise(I, "ValueError", "%s(): %lld heads of %zu tokens is not drawable", fn, (long long)heads, n); goto done; }
    int perm[3] = {hd, qd, kd};
    lens_error err;
    if (!(p = lens_tensor_permute(t, perm, &err)) || !(c = lens_tensor_host_contiguous(p, &err))) { lang_raise(I, "MemoryError", "%s", p ? err.msg : "out of memory"); goto done; }
    pat = lens_tensor_f32(c);
    strs = calloc(n ? n : 1, sizeof *strs);
    if (!strs) { lang_raise(I, "MemoryError", "out of memory"); goto done; }
    for (size_t i = 0; i < n; i++) strs[i] = tv->u.list.items[i]->u.str.s;
    if (lv && lv->type != V_NONE) {
        if ((lv->type != V_LIST && lv->type != V_TUPLE) || lv->u.list.n != (size_t)heads) {
            lang_raise(I, "ValueError", "%s(): %s must be a list of %lld labels", fn, labels_name, (long long)heads);
            goto done;
        }
        if (!(labels = calloc((size_t)heads, sizeof *labels))) { lang_raise(I, "MemoryError", "out of memory"); goto done; }
        for (int64_t h = 0; h < heads; h++)
            if (!(labels[h] = lang_arg_str(I, lv->u.list.items[h], labels_name))) goto done;
    }
    cJSON *bundle = grid ? display_attention_heads_bundle(strs, (int)n, pat, (int)heads, labels, NULL)
                         : display_attention_patterns_bundle(strs, (int)n, pat, (int)heads, labels, NULL);
    if (!bundle) { lang_raise(I, "ValueError", "%s(): %s", fn, display_last_error()); goto done; }
    r = lang_rich_html_display(I, bundle);
done:
    free(strs);
    free(labels);
    lens_tensor_free(c);
    lens_tensor_free(p);
    lens_tensor_free(t);
    return r;
}

static const lang_param b_attention_multi_params[] = {
    {"attention", LANG_REQUIRED}, {"tokens", LANG_REQUIRED}, {"head_labels", LANG_OPTIONAL, "None"}, {NULL}};
static const lang_param b_cv_attention_patterns_params[] = {
    {"tokens", LANG_REQUIRED}, {"attention", LANG_REQUIRED}, {"attention_head_names", LANG_OPTIONAL, "None"}, {NULL}};
static const lang_param b_cv_attention_heads_params[] = {
    {"attention", LANG_REQUIRED}, {"tokens", LANG_REQUIRED}, {"attention_head_names", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_attention_multi(interp *I, value *self, args *a)
{
    (void)self;
    return attention_view(I, a, "AttentionMulti", "head_labels", HEADS_LAST, false);
}

static value *b_cv_attention_patterns(interp *I, value *self, args *a)
{
    (void)self;
    return attention_view(I, a, "attention_patterns", "attention_head_names", HEADS_FIRST, false);
}

static value *b_cv_attention_heads(interp *I, value *self, args *a)
{
    (void)self;
    return attention_view(I, a, "attention_heads", "attention_head_names", HEADS_FIRST, true);
}

const lang_builtin builtins_attention_view[] = {
    {"pysvelte.AttentionMulti", b_attention_multi,
     "An attention view of some heads from attention [query, key, heads] (torch.stack(patterns, dim=-1)) and "
     "str tokens; .show() displays it.", b_attention_multi_params},
    {"circuitsvis.attention.attention_patterns", b_cv_attention_patterns,
     "An attention view from attention [heads, query, key] and str tokens, shown as the cell's value or by .show().",
     b_cv_attention_patterns_params},
    {"circuitsvis.attention.attention_heads", b_cv_attention_heads,
     "The heads' patterns as a grid of heatmaps from attention [heads, query, key] and str tokens.", b_cv_attention_heads_params},
    {NULL, NULL, NULL, NULL},
};
