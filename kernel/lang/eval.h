/* kernel/lang/eval.h — walking the syntax tree. */
#ifndef LANG_EVAL_H
#define LANG_EVAL_H

#include "ast.h"
#include "value.h"

/* A scope for comprehensions and lambda calls; NULL means the cell's globals. */
struct env {
    dict *vars;
    env *parent;
    int refcount;
    gc_link gc;       /* the cycle collector's list (gc.c) */
};

/* Drops one reference to a scope (and its parents that it held last). */
void env_release(env *e);

value *eval_expr(interp *I, env *e, node *n);
/* 0 ok, -1 error (break/continue outside a loop are syntax errors caught here too). */
int exec_block(interp *I, env *e, node **stmts, int n);
/* Name lookup through scopes, globals and builtins; borrowed or NULL (no error raised). */
value *lookup_name(interp *I, env *e, const char *name);

#endif
