/* kernel/lang/modules_table.c — the one table of the Python modules lens
 * provides: each (module, name) maps to an existing builtin, a value of the
 * builtin namespace, a tensor method taking the tensor first, or a placeholder, so that TransformerLens notebooks'
 * imports and calls (torch.tensor, np.arange, einops.rearrange, utils.test_prompt,
 * px.imshow(...).show()) reach lens's own implementations.
 *
 * Owns: module_members, module_aliases, and namespaces_install (registering
 * every module at session start, linking "a.b" as member b of "a").
 * Does not own: the builtins themselves (their tables), the module type
 * (modules.c), the import statement (eval.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "modules.h"
#include "namespaces.h"

/* Figures from plotly.express are made without being shown: fig.show() shows them. */
#define NOT_SHOWN "show=False"

const module_member module_members[] = {
    /* torch */
    {"torch", "tensor", "tensor", NULL},
    {"torch", "Tensor", "tensor", NULL},          /* isinstance(x, torch.Tensor) */
    {"torch", "zeros", "zeros", NULL},
    {"torch", "ones", "ones", NULL},
    {"torch", "full", "full", NULL},
    {"torch", "arange", "arange", NULL},
    {"torch", "linspace", "linspace", NULL},
    {"torch", "eye", "eye", NULL},
    {"torch", "randn", "randn", NULL},
    {"torch", "rand", "rand", NULL},
    {"torch", "randint", "randint", NULL},
    {"torch", "stack", "stack", NULL},
    {"torch", "cat", "cat", NULL},
    {"torch", "topk", "topk", NULL},
    {"torch", "softmax", "softmax", NULL},
    {"torch", "log_softmax", "log_softmax", NULL},
    {"torch", "einsum", "einsum", NULL},
    {"torch", "matmul", "matmul", NULL},
    {"torch", "where", "where", NULL},
    {"torch", "exp", "exp", NULL},
    {"torch", "log", "log", NULL},
    {"torch", "sqrt", "sqrt", NULL},
    {"torch", "tanh", "tanh", NULL},
    {"torch", "abs", "abs", NULL},
    {"torch", "allclose", "allclose", NULL},
    {"torch", "mean", "Tensor.mean", NULL},
    {"torch", "sum", "Tensor.sum", NULL},
    {"torch", "prod", "Tensor.prod", NULL},
    {"torch", "std", "Tensor.std", NULL},
    {"torch", "var", "Tensor.var", NULL},
    {"torch", "norm", "Tensor.norm", NULL},
    {"torch", "max", "Tensor.max", NULL},
    {"torch", "min", "Tensor.min", NULL},
    {"torch", "argmax", "Tensor.argmax", NULL},
    {"torch", "argmin", "Tensor.argmin", NULL},
    {"torch", "sort", "Tensor.sort", NULL},
    {"torch", "argsort", "Tensor.argsort", NULL},
    {"torch", "cumsum", "Tensor.cumsum", NULL},
    {"torch", "gather", "Tensor.gather", NULL},
    {"torch", "index_select", "Tensor.index_select", NULL},
    {"torch", "masked_fill", "Tensor.masked_fill", NULL},
    {"torch", "diagonal", "Tensor.diagonal", NULL},
    {"torch", "tril", "Tensor.tril", NULL},
    {"torch", "triu", "Tensor.triu", NULL},
    {"torch", "transpose", "Tensor.transpose", NULL},
    {"torch", "permute", "Tensor.permute", NULL},
    {"torch", "reshape", "Tensor.reshape", NULL},
    {"torch", "flatten", "Tensor.flatten", NULL},
    {"torch", "squeeze", "Tensor.squeeze", NULL},
    {"torch", "unsqueeze", "Tensor.unsqueeze", NULL},
    {"torch", "clone", "Tensor.clone", NULL},
    {"torch", "relu", "Tensor.relu", NULL},
    {"torch", "sigmoid", "Tensor.sigmoid", NULL},
    {"torch", "neg", "Tensor.neg", NULL},
    {"torch", "numel", "Tensor.numel", NULL},
    {"torch", "no_grad", "torch.no_grad", NULL},
    {"torch", "set_grad_enabled", "torch.set_grad_enabled", NULL},
    {"torch", "float32", "float32", NULL},
    {"torch", "float", "float32", NULL},
    {"torch", "int64", "int64", NULL},
    {"torch", "long", "long", NULL},
    {"torch", "bool", "torch.bool", NULL},
    {"torch.nn", NULL, NULL, NULL},
    {"torch.nn.functional", "softmax", "softmax", NULL},
    {"torch.nn.functional", "log_softmax", "log_softmax", NULL},
    {"torch.nn.functional", "relu", "Tensor.relu", NULL},
    {"torch.nn.functional", "sigmoid", "Tensor.sigmoid", NULL},
    {"torch.optim", NULL, NULL, NULL},
    {"torch.utils.data", "DataLoader", NULL, NULL},
    /* numpy */
    {"numpy", "array", "tensor", NULL},
    {"numpy", "ndarray", "tensor", NULL},
    {"numpy", "arange", "arange", NULL},
    {"numpy", "zeros", "zeros", NULL},
    {"numpy", "ones", "ones", NULL},
    {"numpy", "full", "full", NULL},
    {"numpy", "linspace", "linspace", NULL},
    {"numpy", "eye", "eye", NULL},
    {"numpy", "stack", "stack", NULL},
    {"numpy", "concatenate", "cat", NULL},
    {"numpy", "einsum", "einsum", NULL},
    {"numpy", "matmul", "matmul", NULL},
    {"numpy", "where", "where", NULL},
    {"numpy", "exp", "exp", NULL},
    {"numpy", "log", "log", NULL},
    {"numpy", "sqrt", "sqrt", NULL},
    {"numpy", "tanh", "tanh", NULL},
    {"numpy", "abs", "abs", NULL},
    {"numpy", "allclose", "allclose", NULL},
    {"numpy", "mean", "Tensor.mean", NULL},
    {"numpy", "sum", "Tensor.sum", NULL},
    {"numpy", "prod", "Tensor.prod", NULL},
    {"numpy", "max", "Tensor.max", NULL},
    {"numpy", "min", "Tensor.min", NULL},
    {"numpy", "argmax", "Tensor.argmax", NULL},
    {"numpy", "argmin", "Tensor.argmin", NULL},
    {"numpy", "cumsum", "Tensor.cumsum", NULL},
    {"numpy", "diagonal", "Tensor.diagonal", NULL},
    {"numpy", "tril", "Tensor.tril", NULL},
    {"numpy", "triu", "Tensor.triu", NULL},
    {"numpy", "float32", "float32", NULL},
    {"numpy", "int64", "int64", NULL},
    {"numpy", "bool_", "torch.bool", NULL},
    /* einops, fancy_einsum */
    {"einops", "rearrange", "einops.rearrange", NULL},
    {"einops", "reduce", "einops.reduce", NULL},
    {"einops", "repeat", "einops.repeat", NULL},
    {"fancy_einsum", "einsum", "einsum", NULL},
    /* transformer_lens */
    {"transformer_lens.HookedTransformer", "from_pretrained", "load", NULL},
    {"transformer_lens", "ActivationCache", NULL, NULL},
    {"transformer_lens", "HookedTransformerConfig", NULL, NULL},
    {"transformer_lens", "FactoredMatrix", NULL, NULL},
    {"transformer_lens.utils", "get_act_name", "transformer_lens.utils.get_act_name", NULL},
    {"transformer_lens.utils", "to_numpy", "transformer_lens.utils.to_numpy", NULL},
    {"transformer_lens.utils", "test_prompt", "test_prompt", NULL},
    {"transformer_lens.hook_points", "HookedRootModule", NULL, NULL},
    {"transformer_lens.hook_points", "HookPoint", NULL, NULL},
    /* figures and displays */
    {"plotly.express", "imshow", "imshow", NOT_SHOWN},
    {"plotly.express", "line", "line", NOT_SHOWN},
    {"plotly.express", "scatter", "scatter", NOT_SHOWN},
    {"plotly.express", "bar", "bar", NOT_SHOWN},
    {"IPython.display", "display", "display", NULL},
    {"IPython.display", "clear_output", "clear_output", NULL},
    {"IPython.display", "HTML", "IPython.display.HTML", NULL},
    {"pysvelte", "AttentionMulti", "pysvelte.AttentionMulti", NULL},
    {"circuitsvis.attention", "attention_patterns", "circuitsvis.attention.attention_patterns", NULL},
    {"circuitsvis.attention", "attention_heads", "circuitsvis.attention.attention_heads", NULL},
    /* the standard library and annotations */
    {"functools", "partial", "functools.partial", NULL},
    {"tqdm", "tqdm", "tqdm.tqdm", NULL},
    {"tqdm.notebook", "tqdm", "tqdm.tqdm", NULL},
    {"tqdm.auto", "tqdm", "tqdm.tqdm", NULL},
    {"typing", "List", NULL, NULL},
    {"typing", "Dict", NULL, NULL},
    {"typing", "Tuple", NULL, NULL},
    {"typing", "Union", NULL, NULL},
    {"typing", "Optional", NULL, NULL},
    {"typing", "Callable", NULL, NULL},
    {"typing", "Any", NULL, NULL},
    {"jaxtyping", "Float", NULL, NULL},
    {"jaxtyping", "Int", NULL, NULL},
    {"torchtyping", "TensorType", NULL, NULL},
    /* imported by TransformerLens notebooks but not used by them: the names exist so the imports run */
    {"random", NULL, NULL, NULL},
    {"copy", NULL, NULL, NULL},
    {"itertools", NULL, NULL, NULL},
    {"dataclasses", NULL, NULL, NULL},
    {"datasets", NULL, NULL, NULL},
    {"pathlib", "Path", NULL, NULL},
    {"transformers", "AutoModelForCausalLM", NULL, NULL},
    {"transformers", "AutoConfig", NULL, NULL},
    {"transformers", "AutoTokenizer", NULL, NULL},
    {NULL, NULL, NULL, NULL},
};

const char *const module_aliases[][2] = {
    {"torch", "torch"}, {"np", "numpy"}, {"numpy", "numpy"}, {"einops", "einops"}, {"px", "plotly.express"},
    {"utils", "transformer_lens.utils"}, {"transformer_lens", "transformer_lens"}, {"F", "torch.nn.functional"},
    {"functools", "functools"}, {NULL, NULL},
};

/* ---- bound keywords: "name=literal, ..." with True, False, None, integers and 'text' ---- */

static value *literal(const char *s, size_t n)
{
    if (n == 4 && !strncmp(s, "True", 4)) return v_bool(true);
    if (n == 5 && !strncmp(s, "False", 5)) return v_bool(false);
    if (n == 4 && !strncmp(s, "None", 4)) return v_none();
    if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'') return v_strn(s + 1, n - 2);
    char buf[32];
    if (n == 0 || n >= sizeof buf) return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    return *end ? NULL : v_int(v);
}

static value *bind_keywords(interp *I, value *fn, const char *spec)
{
    enum { MAX_BOUND = 8 };
    char names[MAX_BOUND][32];
    const char *kwnames[MAX_BOUND];
    value *kw[MAX_BOUND];
    int n = 0;
    const char *p = spec;
    value *r = NULL;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end || n == MAX_BOUND || (size_t)(eq - p) >= sizeof names[0]) goto done;
        memcpy(names[n], p, (size_t)(eq - p));
        names[n][eq - p] = '\0';
        if (!(kw[n] = literal(eq + 1, (size_t)(end - eq - 1)))) goto done;
        kwnames[n] = names[n];
        n++;
        p = end;
    }
    args bound = {NULL, 0, kwnames, kw, n};
    r = lang_partial_new(I, fn, &bound);
done:
    for (int i = 0; i < n; i++) lang_decref(kw[i]);
    return r;
}

/* ---- install ------------------------------------------------------------------- */

static value *module_named(interp *I, const char *name)
{
    value *m = I->modules ? lang_dict_get_str(I->modules, name) : NULL;
    if (m) return m;
    if (lang_module_register(I, lang_module_new(name))) return NULL;
    return lang_dict_get_str(I->modules, name);
}

static value *member_value(interp *I, const module_member *e)
{
    if (!e->target) {
        char full[256];
        snprintf(full, sizeof full, "%s.%s", e->module, e->name);
        return lang_placeholder_new(full);
    }
    const lang_builtin *b = lang_builtin_find(e->target);
    bool method = b && !strncmp(e->target, "Tensor.", 7);
    value *v = !b ? NULL : method ? lang_method_function_new(b) : v_builtin(b, NULL);
    if (!b) {
        value *g = lang_dict_get_str(I->builtins, e->target);
        if (!g) return NULL;
        v = lang_incref(g);
    }
    if (v && e->bound) {
        value *p = bind_keywords(I, v, e->bound);
        lang_decref(v);
        v = p;
    }
    return v;
}

/* Makes "a.b.c" reachable as a.b.c: registers missing parents and sets each
 * module as a member of its parent (unless the parent has that name already). */
static int link_parents(interp *I)
{
    size_t n = lang_dict_len(I->modules), k = 0, it = 0;
    char **names = calloc(n ? n : 1, sizeof *names);
    if (!names) return -1;
    value *key, *val;
    while (lang_dict_next(I->modules, &it, &key, &val) && k < n) names[k++] = strdup(key->u.str.s);
    int rc = 0;
    for (size_t i = 0; i < k && !rc; i++) {
        if (!names[i]) { rc = -1; break; }
        char *dot;
        while (!rc && (dot = strrchr(names[i], '.'))) {
            *dot = '\0';
            value *parent = module_named(I, names[i]), *child = NULL;
            *dot = '.';
            child = lang_dict_get_str(I->modules, names[i]);
            if (!parent || !child) { rc = -1; break; }
            if (!lang_module_get(parent, dot + 1) && lang_module_set(parent, dot + 1, lang_incref(child))) rc = -1;
            *dot = '\0';
        }
    }
    for (size_t i = 0; i < k; i++) free(names[i]);
    free(names);
    return rc;
}

int lang_namespaces_install(interp *I)
{
    for (const module_member *e = module_members; e->module; e++) {
        value *mod = module_named(I, e->module);
        if (!mod) return -1;
        if (!e->name) continue;
        value *v = member_value(I, e);
        if (!v || lang_module_set(mod, e->name, v)) { lang_clear_error(I); return -1; }
    }
    if (link_parents(I)) return -1;
    for (int i = 0; module_aliases[i][0]; i++) {
        value *m = lang_dict_get_str(I->modules, module_aliases[i][1]);
        if (!m || lang_dict_set_str(I->builtins, module_aliases[i][0], lang_incref(m))) return -1;
    }
    return 0;
}
