/* kernel/lang/function.h — user functions: `def` and `lambda` values.
 *
 * Owns: the function value type (a code reference, the definition node, the
 * closure env, defaults evaluated once at definition, the docstring), binding
 * call arguments to parameters with Python's rules and messages, running the
 * body, the recursion limit, recording traceback frames, and the signature
 * and help text of a function.
 * Does not own: evaluating the body (eval.c / exec.c), scopes (scope.c).
 */
#ifndef LANG_FUNCTION_H
#define LANG_FUNCTION_H

#include "value.h"

/* A function from an N_DEF or N_LAMBDA evaluated in e (defaults are
 * evaluated now, in e). The current code (I->code) is kept alive by it. */
value *lang_function_new(interp *I, env *e, node *def);
bool lang_is_function(const value *v);
/* "f(x, y=1, *args, key=None, **kwargs)", malloc'd. */
char *lang_function_signature(const value *f);
/* Signature, then the docstring if any; malloc'd. */
char *lang_function_help(const value *f);
/* For a cycle collector: calls on_value for each default and on_env for the
 * closure scope (when there is one). */
void lang_function_visit(value *f, void (*on_value)(value *v, void *ctx), void (*on_env)(env *e, void *ctx), void *ctx);
/* Drops the function's references to its defaults and closure (breaking a cycle). */
void lang_function_clear(value *f);
/* Adds a traceback frame for the pending error (takes a code reference). */
void lang_push_frame(interp *I, struct lang_code *code, const char *name, int line, int col);

#endif
