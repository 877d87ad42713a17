/* kernel/lang/builtins.h — where builtin functions and methods are registered.
 *
 * A module adds functions by defining a table of lang_builtin (value.h) ending
 * with a {NULL} entry and listing it in builtin_tables (builtins.c). Names
 * without a dot are global functions ("einsum"); "Type.name" entries are
 * methods of that type ("str.split", "Tensor.sum", "HookedTransformer.to_tokens").
 * The same entries give help(), inspection and completion their text.
 */
#ifndef LANG_BUILTINS_H
#define LANG_BUILTINS_H

#include "value.h"

extern const lang_builtin builtins_core[];
extern const lang_builtin methods_core[];     /* str, list, dict, tuple methods */
extern const lang_builtin builtins_tensor[];  /* functions and Tensor.* methods */
extern const lang_builtin builtins_model[];   /* load, model and cache methods */
extern const lang_builtin builtins_io[];      /* save, load_tensors */
extern const lang_builtin builtins_kernel[];  /* display, clear_output (builtins_kernel.c) */
extern const lang_builtin builtins_figures[]; /* line, imshow, scatter, bar */
extern const lang_builtin builtins_attention[]; /* attention_patterns, attention_heads */
extern const lang_builtin builtins_rich[];    /* save_html, Figure.* (rich.c) */
extern const lang_builtin builtins_lang[];    /* nullcontext, exit, quit (builtins_lang.c) */

/* NULL-terminated list of every table. */
extern const lang_builtin *const builtin_tables[];

/* A method "type.name", or NULL. */
const lang_builtin *lang_method_find(const char *type, const char *name);
/* Any entry by full name ("einsum", "Tensor.sum"), or NULL. */
const lang_builtin *lang_builtin_find(const char *full_name);
/* Fills the interpreter's builtin namespace with every global function. */
int lang_builtins_install(interp *I);

/* Documentation of non-function names (True, None, keywords) and of types. */
const char *lang_doc_for_type(const char *type);

#endif
