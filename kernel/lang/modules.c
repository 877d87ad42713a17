/* kernel/lang/modules.c — the module value type and the registry of provided
 * modules (see modules.h).
 *
 * Owns: module objects (a name and a dict of members), attribute lookup on
 * them, their repr, the per-interpreter registry, ImportError text.
 * Does not own: the members' values (reference counted, shared with the
 * namespace tables that made them), the import statement (eval.c).
 */
#include "modules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct module {
    char *name;
    dict *members;
} module;

static void module_free(void *data)
{
    module *m = data;
    if (!m) return;
    lang_dict_free(m->members);
    free(m->name);
    free(m);
}

static value *module_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    module *m = self->u.obj.data;
    value *v = lang_dict_get_str(m->members, name);
    if (!v && !strcmp(name, "__name__")) return v_str(m->name);
    return v ? lang_incref(v) : NULL;
}

static char *module_repr(value *self)
{
    module *m = self->u.obj.data;
    size_t n = strlen(m->name) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "<module '%s' (lens)>", m->name);
    return s;
}

static const lang_type module_type = {
    .name = "module",
    .getattr = module_getattr,
    .repr = module_repr,
    .free = module_free,
    .doc = "A namespace of lens builtins under a Python module's name (import torch, import einops, ...).",
};

value *lang_module_new(const char *name)
{
    module *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->name = strdup(name);
    m->members = lang_dict_new();
    if (!m->name || !m->members) { module_free(m); return NULL; }
    return v_object(&module_type, m);
}

bool lang_is_module(const value *v) { return v && v->type == V_OBJECT && v->u.obj.type == &module_type; }

const char *lang_module_name(const value *mod) { return ((const module *)mod->u.obj.data)->name; }

bool lang_module_next(const value *mod, size_t *it, const char **name)
{
    value *key, *val;
    while (lang_dict_next(((const module *)mod->u.obj.data)->members, it, &key, &val))
        if (key->type == V_STR) { *name = key->u.str.s; return true; }
    return false;
}

int lang_module_set(value *mod, const char *name, value *v)
{
    if (!v) return -1;
    return lang_dict_set_str(((module *)mod->u.obj.data)->members, name, v);
}

value *lang_module_get(value *mod, const char *name)
{
    return lang_dict_get_str(((module *)mod->u.obj.data)->members, name);
}

int lang_module_register(interp *I, value *mod)
{
    if (!mod) return -1;
    if (!I->modules && !(I->modules = lang_dict_new())) { lang_decref(mod); return -1; }
    return lang_dict_set_str(I->modules, lang_module_name(mod), mod);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char *lang_module_names(interp *I)
{
    size_t n = I->modules ? lang_dict_len(I->modules) : 0, len = 1;
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!names) return NULL;
    size_t it = 0, k = 0;
    value *key, *val;
    while (I->modules && lang_dict_next(I->modules, &it, &key, &val))
        if (key->type == V_STR) { names[k++] = key->u.str.s; len += key->u.str.len + 2; }
    qsort(names, k, sizeof *names, cmp_str);
    char *out = malloc(len);
    if (out) {
        out[0] = '\0';
        for (size_t i = 0; i < k; i++) { if (i) strcat(out, ", "); strcat(out, names[i]); }
    }
    free(names);
    return out;
}

value *lang_module_import(interp *I, const char *dotted)
{
    value *m = I->modules ? lang_dict_get_str(I->modules, dotted) : NULL;
    if (m) return lang_incref(m);
    char *names = lang_module_names(I);
    lang_raise(I, "ImportError", "No module named '%s' in lens (lens provides: %s; it runs no Python "
               "packages)", dotted, names && *names ? names : "no modules");
    free(names);
    return NULL;
}
