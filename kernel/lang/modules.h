/* kernel/lang/modules.h — modules: named namespaces of values that `import`
 * binds (torch, numpy, einops, transformer_lens, plotly.express, ...).
 *
 * Owns: the module value type (attribute lookup over its members, repr,
 * completion names), the per-interpreter registry of provided modules, and
 * lang_module_import, which finds a module by dotted name or raises an
 * ImportError that names every provided module.
 * Does not own: what a module holds (the namespace tables fill modules at
 * session start), the import statement itself (eval.c binds the names).
 */
#ifndef LANG_MODULES_H
#define LANG_MODULES_H

#include <stdbool.h>

#include "value.h"

/* An empty module named `name` (dotted names allowed: "plotly.express"). */
value *lang_module_new(const char *name);
/* Sets member `name` of mod; takes ownership of v. 0 ok, -1 out of memory. */
int lang_module_set(value *mod, const char *name, value *v);
/* Member `name` of mod, borrowed, or NULL (no error raised). */
value *lang_module_get(value *mod, const char *name);
bool lang_is_module(const value *v);
/* Iterates member names: it from 0 while this returns true. */
bool lang_module_next(const value *mod, size_t *it, const char **name);
const char *lang_module_name(const value *mod);

/* Adds mod to the interpreter's registry under its name; takes ownership.
 * A later registration of the same name replaces the earlier one. */
int lang_module_register(interp *I, value *mod);
/* The module registered as `dotted` (new reference), or NULL with an
 * ImportError raised that lists the provided modules. */
value *lang_module_import(interp *I, const char *dotted);
/* Comma-separated names of the provided modules, sorted; malloc'd. */
char *lang_module_names(interp *I);

#endif
