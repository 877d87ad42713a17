/* kernel/lang/modules_builtins.c — the few builtins that exist only inside a
 * module namespace because Python code reaches them by a module path:
 * functools.partial, transformer_lens.utils.get_act_name / to_numpy,
 * torch.no_grad / set_grad_enabled, IPython.display.HTML, and the names
 * provided for imports and annotations only (typing.List, jaxtyping.Float,
 * transformers.AutoConfig, ...).
 *
 * Owns: the partial type (a callable holding a function and bound
 * arguments), the placeholder type, TransformerLens's get_act_name name rules,
 * and the builtins_modules table (entries named by their full dotted path).
 * Does not own: which module holds which name (modules_table.c), figures and
 * attention views (rich.c, builtins_attention*.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "namespaces.h"
#include "progress_iter.h"
#include "rich.h"

/* ---- partial ------------------------------------------------------------------- */

bool lang_is_callable(const value *v)
{
    switch (v->type) {
    case V_NONE: case V_BOOL: case V_INT: case V_FLOAT: case V_STR: case V_LIST: case V_TUPLE: case V_DICT:
    case V_RANGE: case V_SLICE: case V_TENSOR: case V_ELLIPSIS:
        return false;
    case V_OBJECT: return v->u.obj.type->call != NULL;
    default: return true;   /* builtins, lambdas and any function kind the language has */
    }
}

typedef struct partial {
    value *fn;
    value *args;      /* tuple of bound positional arguments */
    value *keywords;  /* dict of bound keyword arguments (str keys) */
} partial;

static void partial_free(void *d)
{
    partial *p = d;
    lang_decref(p->fn);
    lang_decref(p->args);
    lang_decref(p->keywords);
    free(p);
}

/* For the cycle collector (gc.c): a partial can sit in a cycle through its
 * function's closure or its bound arguments. */
static void partial_visit(value *self, void (*on_value)(value *v, void *ctx), void (*on_env)(env *e, void *ctx), void *ctx)
{
    (void)on_env;
    partial *p = self->u.obj.data;
    on_value(p->fn, ctx);
    on_value(p->args, ctx);
    on_value(p->keywords, ctx);
}

/* Drops the function (None in its place); the bound tuple and dict are
 * containers the collector empties itself, so the partial stays printable. */
static void partial_clear(value *self)
{
    partial *p = self->u.obj.data;
    value *fn = p->fn;
    p->fn = v_none();
    lang_decref(fn);
}

static value *partial_call(interp *I, value *self, args *a)
{
    partial *p = self->u.obj.data;
    size_t nb = p->args->u.list.n, nk = lang_dict_len(p->keywords->u.d);
    if ((size_t)a->npos > (size_t)0x3fffffff - nb || (size_t)a->nkw > (size_t)0x3fffffff - nk)
        return lang_raise(I, "TypeError", "partial() call has too many arguments");
    size_t npos = nb + (size_t)a->npos, nkw = nk + (size_t)a->nkw;
    value **pos = calloc(npos ? npos : 1, sizeof *pos);
    value **kw = calloc(nkw ? nkw : 1, sizeof *kw);
    const char **names = calloc(nkw ? nkw : 1, sizeof *names);
    if (!pos || !kw || !names) { free(pos); free(kw); free(names); return lang_raise(I, "MemoryError", "out of memory"); }
    for (size_t i = 0; i < nb; i++) pos[i] = p->args->u.list.items[i];
    for (int i = 0; i < a->npos; i++) pos[nb + (size_t)i] = a->pos[i];
    /* bound keywords first, each replaced by a keyword of the same name given in the call */
    int n = 0;
    size_t it = 0;
    value *key, *val;
    while (lang_dict_next(p->keywords->u.d, &it, &key, &val)) {
        bool overridden = false;
        for (int k = 0; k < a->nkw; k++) overridden |= !strcmp(a->kwnames[k], key->u.str.s);
        if (overridden) continue;
        names[n] = key->u.str.s;
        kw[n++] = val;
    }
    for (int k = 0; k < a->nkw; k++) { names[n] = a->kwnames[k]; kw[n++] = a->kw[k]; }
    args ca = {pos, (int)npos, names, kw, n};
    value *r = lang_call_value(I, p->fn, &ca);
    free(pos);
    free(kw);
    free(names);
    return r;
}

static value *partial_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    partial *p = self->u.obj.data;
    if (!strcmp(name, "func")) return lang_incref(p->fn);
    if (!strcmp(name, "args")) return lang_incref(p->args);
    if (!strcmp(name, "keywords")) return lang_incref(p->keywords);
    return NULL;
}

static char *partial_repr(value *self)
{
    partial *p = self->u.obj.data;
    char *fn = lang_repr_of(p->fn);
    if (!fn) return NULL;
    size_t cap = strlen(fn) + 64, len = 0;
    char *s = malloc(cap);
    if (!s) { free(fn); return NULL; }
    len = (size_t)snprintf(s, cap, "functools.partial(%s", fn);
    free(fn);
    size_t n = p->args->u.list.n, it = 0;
    value *key, *val;
    for (size_t i = 0; s && (i < n || lang_dict_next(p->keywords->u.d, &it, &key, &val)); i++) {
        char *r = lang_repr_of(i < n ? p->args->u.list.items[i] : val);
        const char *k = i < n ? "" : key->u.str.s;
        size_t need = (r ? strlen(r) : 0) + strlen(k) + 4;
        if (len + need + 2 > cap) {
            char *t = realloc(s, cap = (len + need) * 2 + 2);
            if (!t) { free(s); s = NULL; free(r); break; }
            s = t;
        }
        len += (size_t)snprintf(s + len, cap - len, ", %s%s%s", k, *k ? "=" : "", r ? r : "?");
        free(r);
    }
    if (s) snprintf(s + len, cap - len, ")");
    return s;
}

static const char *const partial_attrs[] = {"func", "args", "keywords", NULL};
static const lang_type partial_type = {
    .name = "functools.partial", .call = partial_call, .getattr = partial_getattr, .repr = partial_repr,
    .free = partial_free, .attrs = partial_attrs, .visit = partial_visit, .clear = partial_clear,
    .doc = "A function with some arguments bound (functools.partial(fn, *args, **keywords)); calling it "
           "calls fn with the bound arguments followed by the call's own (a call's keyword replaces a bound one)."};

value *lang_partial_new(interp *I, value *fn, args *bound)
{
    partial *p = calloc(1, sizeof *p);
    if (!p) return lang_raise(I, "MemoryError", "out of memory");
    p->fn = lang_incref(fn);
    p->args = v_tuple((size_t)bound->npos);
    p->keywords = v_dict();
    if (!p->args || !p->keywords) { partial_free(p); return lang_raise(I, "MemoryError", "out of memory"); }
    for (int i = 0; i < bound->npos; i++) lang_tuple_set(p->args, (size_t)i, lang_incref(bound->pos[i]));
    for (int k = 0; k < bound->nkw; k++)
        if (lang_dict_set_str(p->keywords->u.d, bound->kwnames[k], lang_incref(bound->kw[k]))) {
            partial_free(p);
            return lang_raise(I, "MemoryError", "out of memory");
        }
    value *v = v_object(&partial_type, p);
    if (!v) { partial_free(p); return lang_raise(I, "MemoryError", "out of memory"); }
    return v;
}

bool lang_is_partial(const value *v) { return v && v->type == V_OBJECT && v->u.obj.type == &partial_type; }

value *lang_partial_func(const value *v) { return ((partial *)v->u.obj.data)->fn; }

/* Python's partial(func, /, *args, **keywords): every keyword is bound, func= too */
static const lang_param b_partial_params[] = {
    {"func", LANG_POSONLY}, {"args", LANG_VARARGS}, {"keywords", LANG_VARKW}, {NULL}};

static value *b_partial(interp *I, value *self, args *a)
{
    (void)self;
    value *fn = lang_arg(a, "func");
    if (!lang_is_callable(fn)) return lang_raise(I, "TypeError", "the first argument of partial() must be callable, not %s", lang_type_name(fn));
    int nrest;
    value **rest = lang_arg_rest(a, &nrest);
    args bound = {rest, nrest, a->kwnames, a->kw, a->nkw};
    return lang_partial_new(I, fn, &bound);
}

/* ---- tensor methods as functions: torch.mean(x, dim=1) is x.mean(dim=1) ---------- */

static value *method_function_call(interp *I, value *self, args *a)
{
    const lang_builtin *def = self->u.obj.data;
    const char *name = strchr(def->name, '.') + 1;
    if (a->npos < 1) return lang_raise(I, "TypeError", "%s() needs the tensor as its first argument", name);
    value *x = a->pos[0];
    value *t = NULL;
    if (x->type == V_TENSOR) t = lang_incref(x);
    else {
        lens_tensor *tt = lang_tensor_from_value(I, x, -1);
        if (!tt) return NULL;
        if (!(t = v_tensor(tt))) return lang_raise(I, "MemoryError", "out of memory");
    }
    args rest = {a->pos + 1, a->npos - 1, a->kwnames, a->kw, a->nkw};
    if (def->params && lang_bind_args(I, def, &rest)) { lang_decref(t); return NULL; }
    value *r = def->fn(I, t, &rest);
    lang_decref(t);
    return r;
}

static char *method_function_repr(value *self)
{
    char *s;
    if (asprintf(&s, "<builtin %s>", ((const lang_builtin *)self->u.obj.data)->name) < 0) return NULL;
    return s;
}

static const lang_type method_function_type = {
    .name = "builtin_function_or_method", .call = method_function_call, .repr = method_function_repr,
    .doc = "A tensor method called as a function with the tensor first (torch.mean(x, dim=1) is x.mean(dim=1))."};

value *lang_method_function_new(const lang_builtin *method)
{
    return v_object(&method_function_type, (void *)method);
}

const lang_builtin *lang_method_function_def(const value *v)
{
    return v && v->type == V_OBJECT && v->u.obj.type == &method_function_type ? v->u.obj.data : NULL;
}

/* ---- placeholders ---------------------------------------------------------------- */

/* A name provided so that an import or an annotation (List[int],
 * Float[torch.Tensor, "batch d_model"]) works; subscripting gives it back,
 * calling it says lens does not provide it. */
static value *placeholder_getitem(interp *I, value *self, value *key)
{
    (void)I;
    (void)key;
    return lang_incref(self);
}

/* __name__: the last part of the name ("List" for typing.List), as Python's classes have */
static value *placeholder_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    if (strcmp(name, "__name__")) return NULL;
    const char *full = self->u.obj.data, *dot = strrchr(full, '.');
    return v_str(dot ? dot + 1 : full);
}

static value *placeholder_call(interp *I, value *self, args *a)
{
    (void)a;
    return lang_raise(I, "NotImplementedError", "%s is provided by lens for imports and type annotations only; "
                      "it cannot be called", (const char *)self->u.obj.data);
}

static char *placeholder_repr(value *self)
{
    char *s;
    if (asprintf(&s, "<%s (lens: for imports and annotations)>", (const char *)self->u.obj.data) < 0) return NULL;
    return s;
}

static const lang_type placeholder_type = {
    .name = "placeholder", .getattr = placeholder_getattr, .getitem = placeholder_getitem, .call = placeholder_call,
    .repr = placeholder_repr,
    .free = free,
    .doc = "A name lens provides so that imports and type annotations work (typing.List, jaxtyping.Float, "
           "transformers.AutoConfig, ...); subscripting it gives it back, calling it raises NotImplementedError."};

value *lang_placeholder_new(const char *full_name)
{
    char *s = strdup(full_name);
    if (!s) return NULL;
    value *v = v_object(&placeholder_type, s);
    if (!v) free(s);
    return v;
}

/* ---- transformer_lens.utils ------------------------------------------------------ */

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++) if (!strcmp(s, *list)) return true;
    return false;
}

int lang_get_act_name(const char *name, const char *layer, const char *layer_type, char *out, size_t size)
{
    /* a full name passes through when nothing else is given */
    if ((strchr(name, '.') || !strncmp(name, "hook_", 5)) && !layer && !layer_type) {
        snprintf(out, size, "%s", name);
        return strlen(name) < size ? 0 : -1;
    }
    char nm[128], ly[32], lt[128];
    if (strlen(name) >= sizeof nm) return -1;
    snprintf(nm, sizeof nm, "%s", name);
    ly[0] = lt[0] = '\0';
    if (layer) snprintf(ly, sizeof ly, "%s", layer);
    if (layer_type) snprintf(lt, sizeof lt, "%s", layer_type);
    bool has_layer = layer != NULL, has_type = layer_type != NULL;
    /* "z3a", "pattern0", "scale2ln1": lowercase letters, digits, then the rest as the layer type */
    size_t i = 0;
    while (name[i] >= 'a' && name[i] <= 'z') i++;
    if (i > 0 && isdigit((unsigned char)name[i])) {
        size_t j = i;
        while (isdigit((unsigned char)name[j])) j++;
        if (j - i >= sizeof ly) return -1;
        snprintf(nm, sizeof nm, "%.*s", (int)i, name);
        snprintf(ly, sizeof ly, "%.*s", (int)(j - i), name + i);
        snprintf(lt, sizeof lt, "%s", name + j);
        has_layer = true;
        has_type = lt[0] != '\0';
    }
    static const char *const act_alias[][2] = {
        {"attn", "pattern"}, {"attn_logits", "attn_scores"}, {"key", "k"}, {"query", "q"}, {"value", "v"},
        {"mlp_pre", "pre"}, {"mlp_mid", "mid"}, {"mlp_post", "post"}};
    for (size_t k = 0; k < sizeof act_alias / sizeof *act_alias; k++)
        if (!strcmp(nm, act_alias[k][0])) { snprintf(nm, sizeof nm, "%s", act_alias[k][1]); break; }
    static const char *const attn_names[] = {"k", "v", "q", "z", "rot_k", "rot_q", "result", "pattern", "attn_scores", NULL};
    static const char *const mlp_names[] = {"pre", "post", "mid", "pre_linear", NULL};
    static const char *const type_alias[][2] = {
        {"a", "attn"}, {"m", "mlp"}, {"b", ""}, {"block", ""}, {"blocks", ""}, {"attention", "attn"}};
    if (in_list(nm, attn_names)) { snprintf(lt, sizeof lt, "attn"); has_type = true; }
    else if (in_list(nm, mlp_names)) { snprintf(lt, sizeof lt, "mlp"); has_type = true; }
    else if (has_type)
        for (size_t k = 0; k < sizeof type_alias / sizeof *type_alias; k++)
            if (!strcmp(lt, type_alias[k][0])) { snprintf(lt, sizeof lt, "%s", type_alias[k][1]); break; }
    bool final_ln = !has_layer && (!strcmp(nm, "scale") || !strcmp(nm, "normalized"));
    int n = snprintf(out, size, "%s%s%s%s%s%shook_%s", final_ln ? "ln_final." : "", has_layer ? "blocks." : "",
                     has_layer ? ly : "", has_layer ? "." : "", has_type && lt[0] ? lt : "",
                     has_type && lt[0] ? "." : "", nm);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static const lang_param b_get_act_name_params[] = {
    {"name", LANG_REQUIRED}, {"layer", LANG_OPTIONAL, "None"}, {"layer_type", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_get_act_name(interp *I, value *self, args *a)
{
    (void)self;
    value *nv = lang_arg(a, "name"), *lv = lang_arg(a, "layer"), *tv = lang_arg(a, "layer_type");
    const char *name = lang_arg_str(I, nv, "name");
    if (!name) return NULL;
    char layer[32], *lp = NULL;
    const char *lt = NULL;
    if (lv && lv->type != V_NONE) {
        if (lv->type == V_STR) snprintf(layer, sizeof layer, "%s", lv->u.str.s);
        else {
            int64_t l;
            if (lang_arg_int(I, lv, "layer", &l)) return NULL;
            snprintf(layer, sizeof layer, "%lld", (long long)l);
        }
        lp = layer;
    }
    if (tv && tv->type != V_NONE && !(lt = lang_arg_str(I, tv, "layer_type"))) return NULL;
    char out[512];
    if (lang_get_act_name(name, lp, lt, out, sizeof out))
        return lang_raise(I, "ValueError", "get_act_name(): the name '%s' is too long", name);
    return v_str(out);
}

static const lang_param b_to_numpy_params[] = {{"tensor", LANG_REQUIRED}, {NULL}};

static value *b_to_numpy(interp *I, value *self, args *a)
{
    (void)self;
    value *x = lang_arg(a, "tensor");
    if (x->type == V_TENSOR) return lang_incref(x);
    lens_tensor *t = lang_tensor_from_value(I, x, -1);
    return t ? v_tensor(t) : NULL;
}

/* ---- torch grad mode ---------------------------------------------------------- */

static char *no_grad_repr(value *self)
{
    (void)self;
    return strdup("<torch.no_grad (lens: there is no autograd, so this changes nothing)>");
}

static const lang_type no_grad_type = {
    .name = "no_grad", .repr = no_grad_repr,
    .doc = "torch.no_grad(): lens computes no gradients, so it changes nothing."};

static const lang_param b_no_grad_params[] = {{NULL}};

static value *b_no_grad(interp *I, value *self, args *a)
{
    (void)self;
    (void)a;
    value *v = v_object(&no_grad_type, NULL);
    return v ? v : lang_raise(I, "MemoryError", "out of memory");
}

static const lang_param b_set_grad_enabled_params[] = {
    {"mode", LANG_REQUIRED}, {NULL}};

static value *b_set_grad_enabled(interp *I, value *self, args *a)
{
    (void)self;
    value *m = lang_arg(a, "mode");
    bool on;
    if (lang_arg_bool(I, m, &on)) return NULL;
    if (on) return lang_raise(I, "NotImplementedError", "lens computes no gradients: set_grad_enabled(True) is not supported");
    return v_none();
}

/* ---- IPython.display.HTML ------------------------------------------------------- */

static const lang_param b_html_params[] = {
    {"data", LANG_REQUIRED}, {NULL}};

static value *b_html(interp *I, value *self, args *a)
{
    (void)self;
    value *d = lang_arg(a, "data");
    const char *html = d ? lang_arg_str(I, d, "data") : "";
    if (!html) return NULL;
    cJSON *bundle = cJSON_CreateObject();
    if (!bundle || !cJSON_AddStringToObject(bundle, "text/html", html) ||
        !cJSON_AddStringToObject(bundle, "text/plain", "<IPython.core.display.HTML object>")) {
        cJSON_Delete(bundle);
        return lang_raise(I, "MemoryError", "out of memory");
    }
    return lang_rich_html_display(I, bundle);
}

/* ---- tqdm ------------------------------------------------------------------------ */

static const lang_param b_tqdm_params[] = {
    {"iterable", LANG_OPTIONAL, "None"}, {"desc", LANG_OPTIONAL, "None"}, {"total", LANG_OPTIONAL, "None"},
    {"leave", LANG_OPTIONAL, "True"}, {NULL}};

static value *b_tqdm(interp *I, value *self, args *a)
{
    (void)self;
    return lang_tqdm_new(I, lang_arg(a, "iterable"), lang_arg(a, "desc"), lang_arg(a, "total"), lang_arg(a, "leave"));
}

const lang_builtin builtins_modules[] = {
    {"functools.partial", b_partial,
     "A new function that calls func with args and keywords bound before the call's own arguments; usable "
     "wherever a function is (hooks: partial(patch_fn, pos=3, clean_cache=cache)).", b_partial_params},
    {"transformer_lens.utils.get_act_name", b_get_act_name, "The full hook name of a short one, by TransformerLens's rules: get_act_name(\"resid_post\", 3) is "
     "\"blocks.3.hook_resid_post\", \"attn\" means pattern, \"z\" and \"pattern\" live in attn, \"pre\" and \"post\" "
     "in mlp, \"scale\" without a layer is ln_final's; \"z3a\" and \"pattern0\" carry the layer in the name "
     "(letters, digits, layer type); a full name passes through. Layers are written as given (no counting from the end).", b_get_act_name_params},
    {"transformer_lens.utils.to_numpy", b_to_numpy,
     "x as an array: lens tensors stand for numpy arrays, so a tensor is returned as is and a list or number "
     "becomes a tensor.", b_to_numpy_params},
    {"torch.no_grad", b_no_grad, "A no-op: lens computes no gradients.", b_no_grad_params},
    {"torch.set_grad_enabled", b_set_grad_enabled, "set_grad_enabled(False) is accepted and changes nothing (lens computes no gradients); True is an error.", b_set_grad_enabled_params},
    {"IPython.display.HTML", b_html, "An HTML fragment as a value; display(HTML(\"<h3>title</h3>\")) shows it, and as a cell's last value it "
     "is shown too.", b_html_params},
    {"tqdm.tqdm", b_tqdm, "A progress bar over iterable: `for x in tqdm(xs, desc=\"layers\")` shows it at 0 and moves it as "
     "the loop's body finishes each item (one display, updated in place); total= when len(iterable) is not known, "
     "leave=False clears it at the end. A tqdm(total=n) without an iterable is moved by update(n).", b_tqdm_params},
    {NULL, NULL, NULL, NULL},
};
