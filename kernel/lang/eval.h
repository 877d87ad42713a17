/* kernel/lang/eval.h — walking the syntax tree: expressions (eval.c) and
 * statements (exec.c), and the scopes they run in. */
#ifndef LANG_EVAL_H
#define LANG_EVAL_H

#include "ast.h"
#include "value.h"

/* The deepest chain of calls (Python's default recursion limit). A stack
 * guard (interp.stack_floor) stops earlier when the C stack runs short. */
#define LANG_RECURSION_LIMIT 1000

/* A scope: a function call's locals (scope = the function's names, one slot
 * per local in scope.c's order, parameters first) or a comprehension's (scope
 * NULL, names in vars). NULL as an env means the cell's globals. Envs are
 * reference counted: closures keep the env they were made in. */
struct env {
    dict *vars;              /* comprehensions; function scopes: NULL unless a name outside the scope's list is bound */
    env *parent;
    int refcount;
    gc_link gc;              /* the cycle collector's list (gc.c) */
    const scope_info *scope;
    value *retval;           /* set by `return` */
    int n_slots;
    value *slots[];          /* function scopes: NULL while unbound */
};

/* A comprehension's scope. */
env *lang_env_new(env *parent);
/* A function call's scope (every slot unbound). */
env *lang_env_new_function(env *parent, const scope_info *scope);
void lang_env_release(env *e);

/* For the cycle collector: calls on_value for each bound value of the scope
 * (slots, vars and a pending return value) and on_env for its parent. */
void lang_env_visit(env *e, void (*on_value)(value *v, void *ctx), void (*on_env)(env *p, void *ctx), void *ctx);
/* Drops every binding, the return value and the parent reference (breaking a cycle); e stays valid. */
void lang_env_clear(env *e);

/* Control flow out of a statement. */
enum { FLOW_OK = 0, FLOW_ERR = -1, FLOW_BREAK = 1, FLOW_CONTINUE = 2, FLOW_RETURN = 3 };

value *lang_eval_expr(interp *I, env *e, node *n);
/* The index of a subscript: slices and tuples of them become values. */
value *lang_eval_subscript_index(interp *I, env *e, node *b);
/* Gives the pending error n's anchor position if it has none yet. */
void lang_eval_place(interp *I, node *n);
/* Binds a name in the scope e (globals when e is NULL; global/nonlocal
 * declarations respected); copies the reference. 0 or -1. */
int lang_bind_name(interp *I, env *e, const char *name, value *v);
/* Removes a binding as `del name` does: 0, or -1 when it is not bound (no error raised). */
int lang_unbind_name(interp *I, env *e, const char *name);
/* Assigns v to a target expression (name, tuple unpacking, subscript). */
int lang_assign_target(interp *I, env *e, node *t, value *v);

/* Runs statements; returns a FLOW_* code. */
int lang_exec_body(interp *I, env *e, node **stmts, int n);
/* 0 ok, -1 error (break/continue outside a loop are syntax errors caught here too). */
int lang_exec_block(interp *I, env *e, node **stmts, int n);
/* Name lookup through scopes, globals and builtins; borrowed or NULL (no error raised). */
value *lang_lookup_name(interp *I, env *e, const char *name);

#endif
