/* kernel/lang/did_you_mean.c — NameError and AttributeError with a
 * suggestion (did_you_mean.h). Owns collecting the names in scope and a
 * value's attributes for lens_suggest; not the distance itself. */
#include "did_you_mean.h"

#include <stdio.h>
#include <stdlib.h>

#include "lang_internal.h"
#include "lens/suggest.h"

void lang_did_you_mean(char *out, size_t size, const char *word, const char *const *candidates, size_t n)
{
    const char *s = lens_suggest(word, candidates, n);
    if (s) snprintf(out, size, ". Did you mean: '%s'?", s);
    else if (size) out[0] = 0;
}

/* The str keys of d appended to names (borrowed pointers). */
static size_t add_keys(const dict *d, const char **names, size_t n, size_t max)
{
    size_t i = 0;
    value *k;
    while (n < max && lang_dict_next(d, &i, &k, NULL))
        if (k->type == V_STR) names[n++] = k->u.str.s;
    return n;
}

value *lang_name_error(interp *I, const char *name)
{
    size_t max = 4096, n = 0;
    const char **names = malloc(max * sizeof *names);
    char hint[300] = "";
    if (names) {
        n = add_keys(I->globals, names, n, max);
        n = add_keys(I->builtins, names, n, max);
        lang_did_you_mean(hint, sizeof hint, name, names, n);
        free(names);
    }
    return lang_raise(I, "NameError", "name '%s' is not defined%s", name, hint);
}

value *lang_attr_error(interp *I, value *obj, const char *name)
{
    char **names = NULL;
    int n = lang_attr_names(I, obj, &names);
    char hint[300] = "";
    lang_did_you_mean(hint, sizeof hint, name, (const char *const *)names, n > 0 ? (size_t)n : 0);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return lang_raise(I, "AttributeError", "'%s' object has no attribute '%s'%s", lang_type_name(obj), name, hint);
}
