/* kernel/lang/builtins.c — the registry of builtin tables (see builtins.h):
 * lookup by name, the global namespace, method lookup for attributes. */
#include "builtins.h"
#include "builtins_analysis.h"
#include "namespaces.h"
#include "user_hooks.h"
#include "builtins_grad.h"
#include "progress_iter.h"
#include "tensor_dtype.h"

#include <stdlib.h>
#include <string.h>

const lang_builtin *const builtin_tables[] = {
    builtins_core, methods_core, builtins_tensor, builtins_model, builtins_io, builtins_kernel,
    builtins_figures, builtins_attention, builtins_rich, builtins_analysis, builtins_patching, builtins_lang,
    builtins_modules, builtins_attention_view, builtins_einops, builtins_user_hooks, builtins_grad, builtins_progress_iter, NULL,
};

const lang_builtin *lang_builtin_find(const char *full)
{
    for (int t = 0; builtin_tables[t]; t++)
        for (const lang_builtin *b = builtin_tables[t]; b->name; b++)
            if (!strcmp(b->name, full)) return b;
    return NULL;
}

const lang_builtin *lang_method_find(const char *type, const char *name)
{
    size_t tl = strlen(type);
    for (int t = 0; builtin_tables[t]; t++)
        for (const lang_builtin *b = builtin_tables[t]; b->name; b++)
            if (!strncmp(b->name, type, tl) && b->name[tl] == '.' && !strcmp(b->name + tl + 1, name))
                return b;
    return NULL;
}

int lang_builtins_install(interp *I)
{
    lang_register_kind(V_TENSOR, &lang_tensor_kind_type);
    for (int t = 0; builtin_tables[t]; t++)
        for (const lang_builtin *b = builtin_tables[t]; b->name; b++) {
            if (strchr(b->name, '.') || !b->fn) continue;
            if (lang_dict_set_str(I->builtins, b->name, v_builtin(b, NULL))) return -1;
        }
    if (lang_dtypes_install(I)) return -1;
    return lang_namespaces_install(I);
}

const char *lang_doc_for_type(const char *type)
{
    static const struct { const char *name, *doc; } docs[] = {
        {"str", "Text. Methods: format, join, split, strip, replace, upper, lower, startswith, endswith, ..."},
        {"list", "A mutable sequence. Methods: append, extend, insert, index, count, pop, remove, reverse, sort, copy."},
        {"tuple", "An immutable sequence. Methods: index, count."},
        {"dict", "A mapping that keeps insertion order. Methods: keys, values, items, get, pop, update, setdefault, copy."},
        {"int", "A 64-bit integer."},
        {"float", "A double-precision number."},
        {"bool", "True or False."},
        {"NoneType", "None: the absence of a value."},
        {"range", "range(start, stop, step): integers, produced lazily."},
        {"Tensor", "An n-dimensional array of float32, int64 or bool (x.dtype: torch.float32, ...) with torch-like methods: shape, sum, mean, max, "
                   "min, argmax, reshape, flatten, transpose, permute, squeeze, unsqueeze, diagonal, topk, "
                   "softmax, abs, tolist, item, float, long, clone."},
        {NULL, NULL},
    };
    for (int i = 0; docs[i].name; i++) if (!strcmp(docs[i].name, type)) return docs[i].doc;
    return NULL;
}
