/* kernel/lang/scope.h — which names are local to each function (Python's
 * scoping rules, decided once after parsing).
 *
 * Owns: the scope_info of every def and lambda (ast.h): parameters and names
 * the body binds are local unless declared global or nonlocal; the checks
 * Python makes at compile time (a nonlocal needs a binding in an enclosing
 * function, a name cannot be both a parameter and global).
 * Does not own: looking names up at run time (eval.c), the syntax tree (its
 * arena holds the scopes too).
 */
#ifndef LANG_SCOPE_H
#define LANG_SCOPE_H

#include "ast.h"
#include "parser.h"

/* Fills the scope of every function in the statements (kept in mem, the
 * tree's arena). 0, or -1 with err filled. */
int lang_scope_resolve(node **stmts, int n, parse_error *err, arena *mem);

/* Index of name among the scope's locals, or -1. */
int lang_scope_local_index(const scope_info *s, const char *name);
bool lang_scope_is_global(const scope_info *s, const char *name);
bool lang_scope_is_nonlocal(const scope_info *s, const char *name);

#endif
