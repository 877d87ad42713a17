/* kernel/lang/namespaces.h — the Python modules lens provides (torch, numpy,
 * einops, transformer_lens, plotly.express, ...) as namespaces over lens's own
 * builtins.
 *
 * Owns: the declarations shared by the namespace table (modules_table.c) and
 * the module-only builtins (modules_builtins.c, builtins_attention_view.c,
 * builtins_einops.c): partial objects, placeholders, the member table that
 * docs/LANGUAGE.md is generated from.
 * Does not own: the module value type and registry (modules.h).
 */
#ifndef LANG_NAMESPACES_H
#define LANG_NAMESPACES_H

#include <stdbool.h>

#include "value.h"

/* One member of a provided module. target names what it is: a builtin by its
 * full name ("einsum", "functools.partial"), a tensor method called with the
 * tensor first ("Tensor.mean": torch.mean(x, 1)), a value of the builtin namespace
 * ("float32"), or NULL for a placeholder (a name for imports and annotations
 * only). bound: keyword arguments bound for this member ("show=False"), NULL
 * for none. name NULL: the module exists with no members of its own. */
typedef struct module_member {
    const char *module;
    const char *name;
    const char *target;
    const char *bound;
} module_member;

/* The table, ended by an entry with module NULL. */
extern const module_member module_members[];

/* Modules bound as globals at session start (before any import): {alias, module}, ended by {NULL}. */
extern const char *const module_aliases[][2];

/* Builtins reachable only through a module, named by their full dotted path
 * ("functools.partial"). */
extern const lang_builtin builtins_modules[];
extern const lang_builtin builtins_attention_view[];
extern const lang_builtin builtins_einops[];

/* Registers every module of the table and binds the aliases in I->builtins.
 * 0, or -1 when the table is inconsistent (an unknown target) or out of memory. */
int lang_namespaces_install(interp *I);

/* Whether call_value can call v (any kind of function, or an object with a call hook). */
bool lang_is_callable(const value *v);

/* A partial object: fn with bound's arguments bound (references copied). */
value *lang_partial_new(interp *I, value *fn, args *bound);
bool lang_is_partial(const value *v);
value *lang_partial_func(const value *v);   /* borrowed */

/* A function calling a tensor method with its first argument as the tensor. */
value *lang_method_function_new(const lang_builtin *method);
/* The method such a function calls, or NULL for any other value. */
const lang_builtin *lang_method_function_def(const value *v);

/* A placeholder named full_name ("typing.List"); NULL when out of memory. */
value *lang_placeholder_new(const char *full_name);

/* transformer_lens.utils.get_act_name's rules on strings (layer and
 * layer_type may be NULL). 0, or -1 when out does not hold the name. */
int lang_get_act_name(const char *name, const char *layer, const char *layer_type, char *out, size_t size);

#endif
