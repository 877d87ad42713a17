/* kernel/lang/exec.c — statements: assignment, if/for/while, def and return,
 * try/except/else/finally and raise, with, import, del, assert.
 * Owns: control flow (FLOW_* codes), the statements' Python semantics.
 * Does not own: expressions and scopes (eval.c), calling functions
 * (function.c), exception classes (exceptions.c), modules (modules.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "exceptions.h"
#include "function.h"
#include "modules.h"

static int exec_stmt(interp *I, env *e, node *s);

int lang_exec_body(interp *I, env *e, node **stmts, int n)
{
    for (int i = 0; i < n; i++) {
        int r = exec_stmt(I, e, stmts[i]);
        if (r) return r;
    }
    return FLOW_OK;
}

static int exec_for(interp *I, env *e, node *s)
{
    value *src = lang_eval_expr(I, e, s->b);
    if (!src) return FLOW_ERR;
    lang_iter it;
    int opened = lang_iter_open(I, src, &it);
    lang_decref(src);
    if (opened) { lang_iter_close(&it); lang_eval_place(I, s->b); return FLOW_ERR; }
    int rc = FLOW_OK;
    bool broke = false;
    for (;;) {
        if (lang_check_interrupt(I)) { lang_eval_place(I, s); rc = FLOW_ERR; break; }
        value *x;
        int got = lang_iter_next(I, &it, &x);
        if (got < 0) { lang_eval_place(I, s->b); rc = FLOW_ERR; break; }
        if (!got) break;
        int a = lang_assign_target(I, e, s->a, x);
        lang_decref(x);
        if (a) { rc = FLOW_ERR; break; }
        int r = lang_exec_body(I, e, s->body, s->n_body);
        if (r == FLOW_ERR || r == FLOW_RETURN) { rc = r; break; }
        if (r == FLOW_BREAK) { broke = true; break; }
    }
    lang_iter_close(&it);
    if (rc == FLOW_OK && !broke && s->n_orelse) rc = lang_exec_body(I, e, s->orelse, s->n_orelse);
    return rc;
}

/* ---- try / raise --------------------------------------------------------------- */

/* The handlers of a try whose body raised: the first that matches runs with
 * the exception bound to its `as` name; none matching lets the error through. */
static int handle(interp *I, env *e, node *s)
{
    exc_stash st;
    lang_exc_stash_take(I, &st);
    for (int i = 0; i < s->n_items; i++) {
        node *h = s->items[i];
        if (h->a) {
            value *t = lang_eval_expr(I, e, h->a);
            if (!t) { lang_exc_stash_drop(&st); return FLOW_ERR; }
            int m = lang_exc_matches(I, st.ename, t);
            lang_decref(t);
            if (m < 0) { lang_exc_stash_drop(&st); lang_eval_place(I, h->a); return FLOW_ERR; }
            if (!m) continue;
        }
        value *exc = lang_exc_from_stash(&st);
        lang_exc_stash_drop(&st);
        if (h->s && lang_bind_name(I, e, h->s, exc)) { lang_decref(exc); return FLOW_ERR; }
        value *outer = I->handling;
        I->handling = exc;
        int rc = lang_exec_body(I, e, h->body, h->n_body);
        I->handling = outer;
        if (h->s) lang_unbind_name(I, e, h->s);   /* as Python: the name is cleared after the handler */
        lang_decref(exc);
        return rc;
    }
    lang_exc_stash_restore(I, &st);
    return FLOW_ERR;
}

static int exec_try(interp *I, env *e, node *s)
{
    int rc = lang_exec_body(I, e, s->body, s->n_body);
    if (rc == FLOW_ERR && s->n_items) rc = handle(I, e, s);
    else if (rc == FLOW_OK && s->n_orelse) rc = lang_exec_body(I, e, s->orelse, s->n_orelse);
    if (!s->a) return rc;
    /* finally: runs whatever happened; its own error, return or break wins */
    exc_stash st;
    lang_exc_stash_take(I, &st);
    value *ret = NULL;
    if (rc == FLOW_RETURN && e) { ret = e->retval; e->retval = NULL; }
    int frc = lang_exec_body(I, e, s->a->body, s->a->n_body);
    if (frc != FLOW_OK) {
        lang_exc_stash_drop(&st);
        lang_decref(ret);
        return frc;
    }
    if (st.error) lang_exc_stash_restore(I, &st);
    else lang_exc_stash_drop(&st);
    if (rc == FLOW_RETURN && e) e->retval = ret;
    return rc;
}

static int exec_raise(interp *I, env *e, node *s)
{
    if (!s->a) {
        if (!I->handling) lang_raise(I, "RuntimeError", "No active exception to reraise");
        else lang_exc_raise(I, I->handling, NULL);
        lang_eval_place(I, s);
        return FLOW_ERR;
    }
    value *x = lang_eval_expr(I, e, s->a);
    if (!x) return FLOW_ERR;
    value *cause = NULL;
    if (s->b && !(cause = lang_eval_expr(I, e, s->b))) { lang_decref(x); return FLOW_ERR; }
    lang_exc_raise(I, x, cause);
    lang_decref(x);
    lang_decref(cause);
    lang_eval_place(I, s->a);
    return FLOW_ERR;
}

/* ---- with ------------------------------------------------------------------------ */

/* Items i.. of a with statement, each entered before the next and exited after. */
static int exec_with(interp *I, env *e, node *s, int i)
{
    if (i == s->n_items) return lang_exec_body(I, e, s->body, s->n_body);
    node *it = s->items[i];
    value *cm = lang_eval_expr(I, e, it->a);
    if (!cm) return FLOW_ERR;
    const lang_type *t = cm->type == V_OBJECT ? cm->u.obj.type : NULL;
    if (!t || !t->enter || !t->exit) {
        lang_raise(I, "TypeError", "'%s' object does not support the context manager protocol", lang_type_name(cm));
        lang_eval_place(I, it->a);
        lang_decref(cm);
        return FLOW_ERR;
    }
    value *entered = t->enter(I, cm);
    if (!entered) { lang_eval_place(I, it->a); lang_decref(cm); return FLOW_ERR; }
    int rc = it->b && lang_assign_target(I, e, it->b, entered) ? FLOW_ERR : FLOW_OK;
    lang_decref(entered);
    if (rc == FLOW_OK) rc = exec_with(I, e, s, i + 1);
    bool raised = rc == FLOW_ERR;
    exc_stash st;
    lang_exc_stash_take(I, &st);
    int x = t->exit(I, cm, raised);
    lang_decref(cm);
    if (x < 0) { lang_exc_stash_drop(&st); lang_eval_place(I, it->a); return FLOW_ERR; }
    if (raised && x == 0) { lang_exc_stash_restore(I, &st); return FLOW_ERR; }
    lang_exc_stash_drop(&st);
    return raised ? FLOW_OK : rc;
}

/* ---- import ------------------------------------------------------------------------ */

static int import_bind(interp *I, env *e, node *at, const char *name, value *v)
{
    if (!v) { lang_eval_place(I, at); return FLOW_ERR; }
    int rc = lang_bind_name(I, e, name, v);
    lang_decref(v);
    return rc ? FLOW_ERR : FLOW_OK;
}

/* Imports a dotted module and, as Python does, makes each module an attribute
 * of its parent package ("a.b" becomes a.b); a parent that is not provided
 * becomes an empty namespace package. New reference, or NULL with ImportError. */
static value *import_dotted(interp *I, const char *dotted)
{
    value *leaf = lang_module_import(I, dotted);
    if (!leaf) return NULL;
    char *path = strdup(dotted);
    if (!path) { lang_decref(leaf); return lang_raise(I, "MemoryError", "out of memory"); }
    value *child = lang_incref(leaf);
    for (char *dot = strrchr(path, '.'); dot; dot = strrchr(path, '.')) {
        *dot = 0;
        value *parent = I->modules ? lang_dict_get_str(I->modules, path) : NULL;
        if (parent) lang_incref(parent);
        else if (!(parent = lang_module_new(path)) || lang_module_register(I, lang_incref(parent))) {
            lang_decref(parent);
            parent = NULL;
        }
        if (!parent || (!lang_module_get(parent, dot + 1) && lang_module_set(parent, dot + 1, lang_incref(child)))) {
            lang_decref(parent);
            lang_decref(child);
            lang_decref(leaf);
            free(path);
            return lang_raise(I, "MemoryError", "out of memory");
        }
        lang_decref(child);
        child = parent;
    }
    lang_decref(child);
    free(path);
    return leaf;
}

static int exec_import(interp *I, env *e, node *s)
{
    if (s->kind == N_IMPORT) {
        for (int i = 0; i < s->n_items; i++) {
            node *a = s->items[i];
            value *m = import_dotted(I, a->s);
            if (!m) { lang_eval_place(I, a); return FLOW_ERR; }
            if (a->b) { if (import_bind(I, e, a, a->b->s, m)) return FLOW_ERR; continue; }
            /* `import a.b` binds a */
            const char *dot = strchr(a->s, '.');
            if (!dot) { if (import_bind(I, e, a, a->s, m)) return FLOW_ERR; continue; }
            lang_decref(m);
            char *top = strndup(a->s, (size_t)(dot - a->s));
            if (!top) { lang_raise(I, "MemoryError", "out of memory"); return FLOW_ERR; }
            int rc = import_bind(I, e, a, top, lang_module_import(I, top));
            free(top);
            if (rc) return FLOW_ERR;
        }
        return FLOW_OK;
    }
    value *m = import_dotted(I, s->s);
    if (!m) { lang_eval_place(I, s); return FLOW_ERR; }
    int rc = FLOW_OK;
    if (s->op == 1) {
        size_t it = 0;
        const char *name;
        while (rc == FLOW_OK && lang_module_next(m, &it, &name))
            if (name[0] != '_') rc = lang_bind_name(I, e, name, lang_module_get(m, name)) ? FLOW_ERR : FLOW_OK;
    }
    for (int i = 0; rc == FLOW_OK && i < s->n_items; i++) {
        node *a = s->items[i];
        const char *as = a->b ? a->b->s : a->s;
        value *v = lang_module_get(m, a->s);
        if (v) { rc = import_bind(I, e, a, as, lang_incref(v)); continue; }
        /* a submodule: from plotly import express */
        char *sub = malloc(strlen(s->s) + strlen(a->s) + 2);
        if (!sub) { lang_raise(I, "MemoryError", "out of memory"); rc = FLOW_ERR; break; }
        sprintf(sub, "%s.%s", s->s, a->s);
        value *sm = I->modules ? lang_dict_get_str(I->modules, sub) : NULL;
        free(sub);
        if (sm) { rc = import_bind(I, e, a, as, lang_incref(sm)); continue; }
        lang_raise(I, "ImportError", "cannot import name '%s' from '%s' (dir(%s) lists what lens provides)", a->s, s->s, s->s);
        lang_eval_place(I, a);
        rc = FLOW_ERR;
    }
    lang_decref(m);
    return rc;
}

/* ---- def ------------------------------------------------------------------------------- */

/* As Python: the decorator expressions are evaluated first (top to bottom),
 * then the function is made, then the decorators apply bottom-up. */
static int exec_def(interp *I, env *e, node *s)
{
    value *decs[64];
    if (s->n_orelse > 64) {
        lang_raise(I, "SyntaxError", "too many decorators (at most 64)");
        lang_eval_place(I, s);
        return FLOW_ERR;
    }
    int nd = 0, rc = FLOW_ERR;
    for (; nd < s->n_orelse; nd++)
        if (!(decs[nd] = lang_eval_expr(I, e, s->orelse[nd]))) goto done;
    value *f = lang_function_new(I, e, s);
    if (!f) { lang_eval_place(I, s); goto done; }
    for (int i = nd - 1; i >= 0 && f; i--) {
        args a = {&f, 1, NULL, NULL, 0};
        value *g = lang_call_value(I, decs[i], &a);
        lang_decref(f);
        f = g;
        if (!f) lang_eval_place(I, s->orelse[i]);
    }
    if (f) {
        rc = lang_bind_name(I, e, s->s, f) ? FLOW_ERR : FLOW_OK;
        lang_decref(f);
    }
done:
    for (int i = 0; i < nd; i++) lang_decref(decs[i]);
    return rc;
}

/* ---- one statement -------------------------------------------------------------------- */

static int exec_stmt(interp *I, env *e, node *s)
{
    switch (s->kind) {
    case N_EXPR: {
        value *v = lang_eval_expr(I, e, s->a);
        if (!v) return FLOW_ERR;
        lang_decref(v);
        return FLOW_OK;
    }
    case N_ASSIGN: {
        value *v = lang_eval_expr(I, e, s->a);
        if (!v) return FLOW_ERR;
        int rc = FLOW_OK;
        for (int i = 0; i < s->n_items && rc == FLOW_OK; i++)
            if (lang_assign_target(I, e, s->items[i], v)) rc = FLOW_ERR;
        lang_decref(v);
        return rc;
    }
    case N_AUGASSIGN: {
        node *t = s->a;
        value *obj = NULL, *key = NULL, *cur;
        if (t->kind == N_SUBSCRIPT) {
            obj = lang_eval_expr(I, e, t->a);
            if (!obj) return FLOW_ERR;
            key = lang_eval_subscript_index(I, e, t->b);
            if (!key) { lang_decref(obj); lang_eval_place(I, t); return FLOW_ERR; }
            cur = lang_get_item(I, obj, key);
        } else if (t->kind == N_NAME) {
            cur = lang_eval_expr(I, e, t);
        } else {
            lang_raise(I, "AttributeError", "cannot set attribute '%s' (lens objects are read-only)", t->s);
            lang_eval_place(I, t);
            return FLOW_ERR;
        }
        if (!cur) { lang_decref(obj); lang_decref(key); lang_eval_place(I, t); return FLOW_ERR; }
        value *rhs = lang_eval_expr(I, e, s->b);
        if (!rhs) { lang_decref(cur); lang_decref(obj); lang_decref(key); return FLOW_ERR; }
        value *r;
        if (s->op == OP_ADD && cur->type == V_LIST && cur->refcount >= 1 && rhs->type != V_TENSOR) {
            /* list += iterable extends in place, like Python */
            value *items = lang_to_list(I, rhs);
            if (items) {
                for (size_t i = 0; i < items->u.list.n; i++) lang_list_append(cur, lang_incref(items->u.list.items[i]));
                lang_decref(items);
                r = lang_incref(cur);
            } else r = NULL;
        } else {
            r = lang_binary_op(I, s->op, cur, rhs);
        }
        lang_decref(cur);
        lang_decref(rhs);
        int rc = FLOW_OK;
        if (!r) { lang_eval_place(I, s); rc = FLOW_ERR; }
        else if (obj) { if (lang_set_item(I, obj, key, r)) { lang_eval_place(I, s); rc = FLOW_ERR; } }
        else if (lang_bind_name(I, e, t->s, r)) rc = FLOW_ERR;
        lang_decref(r);
        lang_decref(obj);
        lang_decref(key);
        return rc;
    }
    case N_IF: {
        value *c = lang_eval_expr(I, e, s->a);
        if (!c) return FLOW_ERR;
        int t = lang_truthy(I, c);
        lang_decref(c);
        if (t < 0) { lang_eval_place(I, s->a); return FLOW_ERR; }
        return t ? lang_exec_body(I, e, s->body, s->n_body) : lang_exec_body(I, e, s->orelse, s->n_orelse);
    }
    case N_WHILE: {
        for (;;) {
            if (lang_check_interrupt(I)) { lang_eval_place(I, s); return FLOW_ERR; }
            value *c = lang_eval_expr(I, e, s->a);
            if (!c) return FLOW_ERR;
            int t = lang_truthy(I, c);
            lang_decref(c);
            if (t < 0) { lang_eval_place(I, s->a); return FLOW_ERR; }
            if (!t) return lang_exec_body(I, e, s->orelse, s->n_orelse);
            int r = lang_exec_body(I, e, s->body, s->n_body);
            if (r == FLOW_ERR || r == FLOW_RETURN) return r;
            if (r == FLOW_BREAK) return FLOW_OK;
        }
    }
    case N_FOR: return exec_for(I, e, s);
    case N_BREAK: return FLOW_BREAK;
    case N_CONTINUE: return FLOW_CONTINUE;
    case N_PASS: return FLOW_OK;
    case N_DEL:
        for (int i = 0; i < s->n_items; i++) {
            node *t = s->items[i];
            if (t->kind == N_NAME) {
                if (lang_unbind_name(I, e, t->s)) {
                    lang_raise(I, "NameError", "name '%s' is not defined", t->s);
                    lang_eval_place(I, t);
                    return FLOW_ERR;
                }
            } else {
                value *obj = lang_eval_expr(I, e, t->a);
                if (!obj) return FLOW_ERR;
                value *key = lang_eval_subscript_index(I, e, t->b);
                if (!key) { lang_decref(obj); return FLOW_ERR; }
                int rc = lang_del_item(I, obj, key);
                lang_decref(obj);
                lang_decref(key);
                if (rc) { lang_eval_place(I, t); return FLOW_ERR; }
            }
        }
        return FLOW_OK;
    case N_IMPORT: case N_FROMIMPORT: return exec_import(I, e, s);
    case N_DEF: return exec_def(I, e, s);
    case N_RETURN: {
        value *v = s->a ? lang_eval_expr(I, e, s->a) : v_none();
        if (!v) return FLOW_ERR;
        if (!e) { lang_decref(v); lang_raise(I, "SyntaxError", "'return' outside function"); lang_eval_place(I, s); return FLOW_ERR; }
        lang_decref(e->retval);
        e->retval = v;
        return FLOW_RETURN;
    }
    case N_GLOBAL: case N_NONLOCAL: return FLOW_OK;   /* scope.c applied them */
    case N_TRY: return exec_try(I, e, s);
    case N_RAISE: return exec_raise(I, e, s);
    case N_WITH: return exec_with(I, e, s, 0);
    case N_ASSERT: {
        value *c = lang_eval_expr(I, e, s->a);
        if (!c) return FLOW_ERR;
        int t = lang_truthy(I, c);
        lang_decref(c);
        if (t < 0) { lang_eval_place(I, s); return FLOW_ERR; }
        if (!t) {
            char *msg = NULL;
            if (s->b) {
                value *m = lang_eval_expr(I, e, s->b);
                if (!m) return FLOW_ERR;
                msg = lang_str_of(m);
                lang_decref(m);
            }
            lang_raise(I, "AssertionError", "%s", msg ? msg : "");
            free(msg);
            lang_eval_place(I, s);
            return FLOW_ERR;
        }
        return FLOW_OK;
    }
    default: {
        value *v = lang_eval_expr(I, e, s);
        if (!v) return FLOW_ERR;
        lang_decref(v);
        return FLOW_OK;
    }
    }
}

int lang_exec_block(interp *I, env *e, node **stmts, int n)
{
    for (int i = 0; i < n; i++) {
        int r = exec_stmt(I, e, stmts[i]);
        if (r == FLOW_ERR) return -1;
        if (r != FLOW_OK) {
            lang_raise(I, "SyntaxError", "'%s' outside %s", r == FLOW_BREAK ? "break" : r == FLOW_CONTINUE ? "continue" : "return",
                       r == FLOW_RETURN ? "function" : "loop");
            lang_eval_place(I, stmts[i]);
            return -1;
        }
    }
    return 0;
}
