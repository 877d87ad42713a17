/* kernel/lang/eval.c — the evaluator: expressions, statements, scopes for
 * comprehensions and lambdas, calls, assignment targets. Every error raised
 * below a node gets that node's anchor position if it has none yet. */
#include "eval.h"

#include <stdlib.h>
#include <string.h>

#include "gc.h"
#include "lang_internal.h"

#define MAX_CALL_DEPTH 150

enum { FLOW_OK = 0, FLOW_ERR = -1, FLOW_BREAK = 1, FLOW_CONTINUE = 2 };

static env *env_new(env *parent)
{
    env *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->vars = dict_new();
    if (!e->vars) { free(e); return NULL; }
    e->parent = parent;
    if (parent) parent->refcount++;
    e->refcount = 1;
    gc_track_env(e);
    return e;
}

void env_release(env *e)
{
    while (e && --e->refcount == 0) {
        gc_untrack_env(e);
        env *p = e->parent;
        dict_free(e->vars);
        free(e);
        e = p;
    }
}

void lambda_free(value *v)
{
    env_release(v->u.lambda.closure);
    cell_source_release(v->u.lambda.source);
}

value *lookup_name(interp *I, env *e, const char *name)
{
    for (; e; e = e->parent) {
        value *v = dict_get_str(e->vars, name);
        if (v) return v;
    }
    value *v = dict_get_str(I->globals, name);
    if (v) return v;
    return dict_get_str(I->builtins, name);
}

static void place(interp *I, node *n)
{
    if (I->error && !I->eline) {
        I->eline = n->aline;
        I->ecol = n->acol;
    }
}

static int bind_name(interp *I, env *e, const char *name, value *v)
{
    if (dict_set_str(e ? e->vars : I->globals, name, incref(v))) {
        lang_raise(I, "MemoryError", "out of memory");
        return -1;
    }
    return 0;
}

static int assign(interp *I, env *e, node *t, value *v);

static int assign_unpack(interp *I, env *e, node *t, value *v)
{
    value *items = to_list(I, v);
    if (!items) return -1;
    size_t n = items->u.list.n;
    int star = -1;
    for (int i = 0; i < t->n_items; i++) if (t->items[i]->kind == N_STARRED) star = i;
    int rc = 0;
    if (star < 0 && n != (size_t)t->n_items) {
        if (n > (size_t)t->n_items) lang_raise(I, "ValueError", "too many values to unpack (expected %d)", t->n_items);
        else lang_raise(I, "ValueError", "not enough values to unpack (expected %d, got %zu)", t->n_items, n);
        rc = -1;
    } else if (star >= 0 && n < (size_t)t->n_items - 1) {
        lang_raise(I, "ValueError", "not enough values to unpack (expected at least %d, got %zu)", t->n_items - 1, n);
        rc = -1;
    } else {
        size_t j = 0;
        for (int i = 0; i < t->n_items && rc == 0; i++) {
            if (i == star) {
                size_t take = n - (size_t)(t->n_items - 1);
                value *rest = v_list(take);
                if (!rest) { lang_raise(I, "MemoryError", "out of memory"); rc = -1; break; }
                for (size_t k = 0; k < take; k++) rest->u.list.items[rest->u.list.n++] = incref(items->u.list.items[j++]);
                rc = assign(I, e, t->items[i]->a, rest);
                decref(rest);
            } else {
                rc = assign(I, e, t->items[i], items->u.list.items[j++]);
            }
        }
    }
    decref(items);
    return rc;
}

static int assign(interp *I, env *e, node *t, value *v)
{
    int rc = 0;
    switch (t->kind) {
    case N_NAME: rc = bind_name(I, e, t->s, v); break;
    case N_TUPLE: case N_LIST: rc = assign_unpack(I, e, t, v); break;
    case N_SUBSCRIPT: {
        value *obj = eval_expr(I, e, t->a);
        if (!obj) return -1;
        value *key = eval_expr(I, e, t->b);
        if (!key) { decref(obj); return -1; }
        rc = set_item(I, obj, key, v);
        decref(obj);
        decref(key);
        break;
    }
    case N_ATTR:
        lang_raise(I, "AttributeError", "cannot set attribute '%s' (lens objects are read-only)", t->s);
        rc = -1;
        break;
    default:
        lang_raise(I, "SyntaxError", "cannot assign to this expression");
        rc = -1;
    }
    if (rc) place(I, t);
    return rc;
}

/* ---- calls ----------------------------------------------------------------- */

typedef struct argbuf {
    args a;
    value **owned;
    int nowned;
} argbuf;

static void argbuf_free(argbuf *b)
{
    for (int i = 0; i < b->nowned; i++) decref(b->owned[i]);
    free(b->owned);
    free(b->a.pos);
    free(b->a.kw);
    free(b->a.kwnames);
}

static int own(argbuf *b, value *v)
{
    value **o = realloc(b->owned, (size_t)(b->nowned + 1) * sizeof *o);
    if (!o) return -1;
    b->owned = o;
    b->owned[b->nowned++] = v;
    return 0;
}

static int add_pos(argbuf *b, value *v)
{
    value **p = realloc(b->a.pos, (size_t)(b->a.npos + 1) * sizeof *p);
    if (!p) return -1;
    b->a.pos = p;
    b->a.pos[b->a.npos++] = v;
    return 0;
}

static int add_kw(interp *I, argbuf *b, const char *name, value *v)
{
    for (int i = 0; i < b->a.nkw; i++)
        if (!strcmp(b->a.kwnames[i], name)) {
            lang_raise(I, "TypeError", "keyword argument repeated: %s", name);
            return -1;
        }
    value **p = realloc(b->a.kw, (size_t)(b->a.nkw + 1) * sizeof *p);
    if (!p) return -1;
    b->a.kw = p;
    const char **nm = realloc(b->a.kwnames, (size_t)(b->a.nkw + 1) * sizeof *nm);
    if (!nm) return -1;
    b->a.kwnames = nm;
    b->a.kw[b->a.nkw] = v;
    b->a.kwnames[b->a.nkw++] = name;
    return 0;
}

static value *call_lambda(interp *I, value *fn, args *a)
{
    node *l = fn->u.lambda.fn;
    if (a->npos > l->n_items) return lang_raise(I, "TypeError", "<lambda>() takes %d positional arguments but %d were given", l->n_items, a->npos);
    if (I->call_depth >= MAX_CALL_DEPTH) return lang_raise(I, "RecursionError", "maximum recursion depth exceeded (%d)", MAX_CALL_DEPTH);
    env *e = env_new(fn->u.lambda.closure);
    if (!e) return lang_raise(I, "MemoryError", "out of memory");
    value *r = NULL;
    /* lambdas made in the defaults or the body belong to this function's tree */
    cell_source *caller_source = I->source;
    I->source = fn->u.lambda.source;
    for (int i = 0; i < l->n_items; i++) {
        node *p = l->items[i];
        value *v = i < a->npos ? a->pos[i] : NULL;
        for (int k = 0; k < a->nkw; k++) if (!strcmp(a->kwnames[k], p->s)) {
            if (v) { lang_raise(I, "TypeError", "<lambda>() got multiple values for argument '%s'", p->s); goto done; }
            v = a->kw[k];
        }
        if (!v && p->b) {
            value *d = eval_expr(I, fn->u.lambda.closure, p->b);
            if (!d) goto done;
            dict_set_str(e->vars, p->s, d);
            continue;
        }
        if (!v) { lang_raise(I, "TypeError", "<lambda>() missing required argument: '%s'", p->s); goto done; }
        dict_set_str(e->vars, p->s, incref(v));
    }
    for (int k = 0; k < a->nkw; k++) {
        bool known = false;
        for (int i = 0; i < l->n_items; i++) if (!strcmp(a->kwnames[k], l->items[i]->s)) known = true;
        if (!known) { lang_raise(I, "TypeError", "<lambda>() got an unexpected keyword argument '%s'", a->kwnames[k]); goto done; }
    }
    I->call_depth++;
    r = eval_expr(I, e, l->a);
    I->call_depth--;
done:
    I->source = caller_source;
    env_release(e);
    return r;
}

value *call_value(interp *I, value *fn, args *a)
{
    if (lang_check_interrupt(I)) return NULL;
    switch (fn->type) {
    case V_BUILTIN: {
        if (I->call_depth >= MAX_CALL_DEPTH) return lang_raise(I, "RecursionError", "maximum recursion depth exceeded (%d)", MAX_CALL_DEPTH);
        I->call_depth++;
        value *r = fn->u.builtin.def->fn(I, fn->u.builtin.self, a);
        I->call_depth--;
        if (!r && !I->error) lang_raise(I, "MemoryError", "out of memory");
        return r;
    }
    case V_LAMBDA: return call_lambda(I, fn, a);
    case V_OBJECT:
        if (fn->u.obj.type->call) return fn->u.obj.type->call(I, fn, a);
        break;
    default: break;
    }
    return lang_raise(I, "TypeError", "'%s' object is not callable", type_name(fn));
}

static value *eval_call(interp *I, env *e, node *n)
{
    value *fn = eval_expr(I, e, n->a);
    if (!fn) return NULL;
    argbuf b;
    memset(&b, 0, sizeof b);
    value *r = NULL;
    for (int i = 0; i < n->n_items; i++) {
        node *arg = n->items[i];
        value *v = eval_expr(I, e, arg->a);
        if (!v || own(&b, v)) { decref(v); goto done; }
        if (arg->op == 1) {
            value *items = to_list(I, v);
            if (!items) { place(I, arg); goto done; }
            own(&b, items);
            for (size_t k = 0; k < items->u.list.n; k++) if (add_pos(&b, items->u.list.items[k])) goto oom;
        } else if (arg->op == 2) {
            if (v->type != V_DICT) { lang_raise(I, "TypeError", "argument after ** must be a dict, not %s", type_name(v)); place(I, arg); goto done; }
            size_t k = 0;
            value *key, *val;
            while (dict_next(v->u.d, &k, &key, &val)) {
                if (key->type != V_STR) { lang_raise(I, "TypeError", "keywords must be strings"); place(I, arg); goto done; }
                if (add_kw(I, &b, key->u.str.s, val)) { place(I, arg); goto done; }
            }
        } else if (arg->s) {
            if (add_kw(I, &b, arg->s, v)) { place(I, arg); goto done; }
        } else if (add_pos(&b, v)) goto oom;
    }
    r = call_value(I, fn, &b.a);
    goto done;
oom:
    lang_raise(I, "MemoryError", "out of memory");
done:
    argbuf_free(&b);
    decref(fn);
    return r;
}

/* ---- comprehensions --------------------------------------------------------- */

static int comp_loop(interp *I, env *e, node *comp, int level, value *out)
{
    if (level == comp->n_items) {
        if (comp->kind == N_DICTCOMP) {
            value *k = eval_expr(I, e, comp->a);
            if (!k) return -1;
            value *v = eval_expr(I, e, comp->b);
            if (!v) { decref(k); return -1; }
            int rc = dict_set(I, out->u.d, k, v);
            decref(k);
            decref(v);
            if (rc) place(I, comp->a);
            return rc;
        }
        value *x = eval_expr(I, e, comp->a);
        if (!x) return -1;
        if (list_append(out, x)) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
        return 0;
    }
    node *cf = comp->items[level];
    value *it = eval_expr(I, e, cf->b);
    if (!it) return -1;
    value *items = to_list(I, it);
    decref(it);
    if (!items) { place(I, cf->b); return -1; }
    int rc = 0;
    for (size_t i = 0; i < items->u.list.n && rc == 0; i++) {
        if (lang_check_interrupt(I)) { rc = -1; place(I, cf); break; }
        if (assign(I, e, cf->a, items->u.list.items[i])) { rc = -1; break; }
        bool keep = true;
        for (int k = 0; k < cf->n_body && keep; k++) {
            value *c = eval_expr(I, e, cf->body[k]);
            if (!c) { rc = -1; break; }
            int t = truthy(I, c);
            decref(c);
            if (t < 0) { rc = -1; place(I, cf->body[k]); break; }
            keep = t;
        }
        if (rc == 0 && keep) rc = comp_loop(I, e, comp, level + 1, out);
    }
    decref(items);
    return rc;
}

static value *eval_comp(interp *I, env *e, node *n)
{
    env *scope = env_new(e);
    if (!scope) return lang_raise(I, "MemoryError", "out of memory");
    value *out = n->kind == N_DICTCOMP ? v_dict() : v_list(0);
    if (!out) { env_release(scope); return lang_raise(I, "MemoryError", "out of memory"); }
    if (comp_loop(I, scope, n, 0, out)) { decref(out); out = NULL; }
    env_release(scope);
    return out;
}

/* ---- f-strings --------------------------------------------------------------- */

static value *eval_fstr(interp *I, env *e, node *n)
{
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);
    if (!buf) return lang_raise(I, "MemoryError", "out of memory");
    for (int i = 0; i < n->n_items; i++) {
        node *p = n->items[i];
        char *piece = NULL;
        size_t plen;
        if (p->kind == N_STR) {
            piece = p->s;
            plen = p->slen;
        } else {
            value *v = eval_expr(I, e, p->a);
            if (!v) { free(buf); return NULL; }
            char *spec = p->s;
            char *dyn = NULL;
            if (p->b) {
                value *sv = eval_fstr(I, e, p->b);
                if (!sv) { decref(v); free(buf); return NULL; }
                dyn = strdup(sv->u.str.s);
                decref(sv);
                spec = dyn;
            }
            if (p->op == 'r' || p->op == 'a') {
                char *r = repr_of(v);
                decref(v);
                v = r ? v_str_take(r, strlen(r)) : NULL;
                if (!v) { free(dyn); free(buf); return lang_raise(I, "MemoryError", "out of memory"); }
            } else if (p->op == 's') {
                char *r = str_of(v);
                decref(v);
                v = r ? v_str_take(r, strlen(r)) : NULL;
                if (!v) { free(dyn); free(buf); return lang_raise(I, "MemoryError", "out of memory"); }
            }
            piece = format_value(I, v, spec);
            decref(v);
            free(dyn);
            if (!piece) { free(buf); place(I, p); return NULL; }
            plen = strlen(piece);
        }
        if (len + plen + 1 > cap) {
            while (len + plen + 1 > cap) cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) { if (p->kind != N_STR) free(piece); free(buf); return lang_raise(I, "MemoryError", "out of memory"); }
            buf = nb;
        }
        memcpy(buf + len, piece, plen);
        len += plen;
        if (p->kind != N_STR) free(piece);
    }
    buf[len] = 0;
    return v_str_take(buf, len);
}

/* ---- expressions ------------------------------------------------------------ */

static value *eval_compare(interp *I, env *e, node *n)
{
    value *left = eval_expr(I, e, n->items[0]);
    if (!left) return NULL;
    value *result = NULL;
    for (int i = 0; i < n->n_items - 1; i++) {
        value *right = eval_expr(I, e, n->items[i + 1]);
        if (!right) { decref(left); decref(result); return NULL; }
        int op = n->ops[i];
        value *r = NULL;
        if ((left->type == V_TENSOR || right->type == V_TENSOR) && op <= CMP_NE) {
            r = tensor_compare(I, op, left, right);
        } else {
            int t;
            switch (op) {
            case CMP_EQ: t = values_equal(I, left, right); break;
            case CMP_NE: t = values_equal(I, left, right); if (t >= 0) t = !t; break;
            case CMP_IN: t = contains(I, right, left); break;
            case CMP_NOT_IN: t = contains(I, right, left); if (t >= 0) t = !t; break;
            case CMP_IS: case CMP_IS_NOT: {
                bool same = left == right || (left->type == right->type &&
                            (left->type == V_NONE || left->type == V_BOOL ? left->u.b == right->u.b || left->type == V_NONE : false));
                t = op == CMP_IS ? same : !same;
                break;
            }
            default: t = values_compare(I, left, right, op);
            }
            if (t >= 0) r = v_bool(t);
        }
        decref(left);
        if (!r) { decref(right); decref(result); I->eline ? (void)0 : (void)(I->eline = n->aline, I->ecol = n->acol); return NULL; }
        decref(result);
        result = r;
        if (i < n->n_items - 2) {
            int t = truthy(I, r);
            if (t < 0) { decref(right); decref(result); return NULL; }
            if (!t) { decref(right); return result; }
        }
        left = right;
    }
    decref(left);
    return result;
}

static value *eval_subscript_index(interp *I, env *e, node *b)
{
    if (b->kind == N_SLICE) {
        value *sl = calloc(1, sizeof *sl);
        if (!sl) return lang_raise(I, "MemoryError", "out of memory");
        sl->type = V_SLICE;
        sl->refcount = 1;
        node *parts[3] = {b->a, b->b, b->c};
        value **dst[3] = {&sl->u.slice.start, &sl->u.slice.stop, &sl->u.slice.step};
        for (int i = 0; i < 3; i++) *dst[i] = v_none();
        for (int i = 0; i < 3; i++) {
            if (!parts[i]) continue;
            value *v = eval_expr(I, e, parts[i]);
            if (!v) { decref(sl); return NULL; }
            *dst[i] = v;
        }
        return sl;
    }
    if (b->kind == N_TUPLE) {
        value *t = v_tuple((size_t)b->n_items);
        if (!t) return lang_raise(I, "MemoryError", "out of memory");
        for (int i = 0; i < b->n_items; i++) {
            value *x = eval_subscript_index(I, e, b->items[i]);
            if (!x) { decref(t); return NULL; }
            tuple_set(t, (size_t)i, x);
        }
        return t;
    }
    return eval_expr(I, e, b);
}

static value *eval_inner(interp *I, env *e, node *n)
{
    switch (n->kind) {
    case N_INT: return v_int(n->ival);
    case N_FLOAT: return v_float(n->fval);
    case N_STR: return v_strn(n->s, n->slen);
    case N_FSTR: return eval_fstr(I, e, n);
    case N_CONST: return n->op == 0 ? v_none() : n->op == 1 ? v_bool(true) : n->op == 2 ? v_bool(false) : &v_ellipsis_s;
    case N_NAME: {
        value *v = lookup_name(I, e, n->s);
        if (!v) return lang_raise(I, "NameError", "name '%s' is not defined", n->s);
        return incref(v);
    }
    case N_LIST: case N_TUPLE: {
        value *l = v_list((size_t)n->n_items);
        if (!l) return lang_raise(I, "MemoryError", "out of memory");
        for (int i = 0; i < n->n_items; i++) {
            node *it = n->items[i];
            value *x = eval_expr(I, e, it->kind == N_STARRED ? it->a : it);
            if (!x) { decref(l); return NULL; }
            if (it->kind == N_STARRED) {
                value *xs = to_list(I, x);
                decref(x);
                if (!xs) { decref(l); place(I, it); return NULL; }
                for (size_t k = 0; k < xs->u.list.n; k++) list_append(l, incref(xs->u.list.items[k]));
                decref(xs);
            } else if (list_append(l, x)) { decref(l); return lang_raise(I, "MemoryError", "out of memory"); }
        }
        if (n->kind == N_TUPLE) l->type = V_TUPLE;
        return l;
    }
    case N_DICT: {
        value *d = v_dict();
        if (!d) return lang_raise(I, "MemoryError", "out of memory");
        for (int i = 0; i + 1 < n->n_items; i += 2) {
            value *k = eval_expr(I, e, n->items[i]);
            if (!k) { decref(d); return NULL; }
            value *v = eval_expr(I, e, n->items[i + 1]);
            if (!v) { decref(k); decref(d); return NULL; }
            int rc = dict_set(I, d->u.d, k, v);
            decref(k);
            decref(v);
            if (rc) { decref(d); place(I, n->items[i]); return NULL; }
        }
        return d;
    }
    case N_BINOP: {
        value *a = eval_expr(I, e, n->a);
        if (!a) return NULL;
        value *b = eval_expr(I, e, n->b);
        if (!b) { decref(a); return NULL; }
        value *r = binary_op(I, n->op, a, b);
        decref(a);
        decref(b);
        return r;
    }
    case N_UNARY: {
        value *a = eval_expr(I, e, n->a);
        if (!a) return NULL;
        value *r = unary_op(I, n->op, a);
        decref(a);
        return r;
    }
    case N_AND: case N_OR: {
        value *a = eval_expr(I, e, n->a);
        if (!a) return NULL;
        int t = truthy(I, a);
        if (t < 0) { decref(a); return NULL; }
        if ((n->kind == N_AND) != (t != 0)) return a;
        decref(a);
        return eval_expr(I, e, n->b);
    }
    case N_COMPARE: return eval_compare(I, e, n);
    case N_IFEXP: {
        value *c = eval_expr(I, e, n->a);
        if (!c) return NULL;
        int t = truthy(I, c);
        decref(c);
        if (t < 0) return NULL;
        return eval_expr(I, e, t ? n->b : n->c);
    }
    case N_CALL: return eval_call(I, e, n);
    case N_ATTR: {
        value *o = eval_expr(I, e, n->a);
        if (!o) return NULL;
        value *r = get_attr(I, o, n->s);
        decref(o);
        return r;
    }
    case N_SUBSCRIPT: {
        value *o = eval_expr(I, e, n->a);
        if (!o) return NULL;
        value *k = eval_subscript_index(I, e, n->b);
        if (!k) { decref(o); return NULL; }
        value *r = get_item(I, o, k);
        decref(o);
        decref(k);
        return r;
    }
    case N_SLICE: return eval_subscript_index(I, e, n);
    case N_LISTCOMP: case N_DICTCOMP: return eval_comp(I, e, n);
    case N_LAMBDA: {
        value *v = calloc(1, sizeof *v);
        if (!v) return lang_raise(I, "MemoryError", "out of memory");
        v->type = V_LAMBDA;
        v->refcount = 1;
        v->u.lambda.fn = n;
        v->u.lambda.closure = e;
        v->u.lambda.source = cell_source_retain(I->source);
        if (e) e->refcount++;
        gc_track_value(v);
        return v;
    }
    case N_STARRED: return lang_raise(I, "SyntaxError", "can't use starred expression here");
    default: return lang_raise(I, "SyntaxError", "not an expression");
    }
}

value *eval_expr(interp *I, env *e, node *n)
{
    value *r = eval_inner(I, e, n);
    if (!r) {
        if (!I->error) lang_raise(I, "MemoryError", "out of memory");
        place(I, n);
    }
    return r;
}

/* ---- statements ---------------------------------------------------------------- */

static int exec_stmt(interp *I, env *e, node *s);

static int exec_body(interp *I, env *e, node **stmts, int n)
{
    for (int i = 0; i < n; i++) {
        int r = exec_stmt(I, e, stmts[i]);
        if (r) return r;
    }
    return FLOW_OK;
}

static int exec_for(interp *I, env *e, node *s)
{
    value *it = eval_expr(I, e, s->b);
    if (!it) return FLOW_ERR;
    int rc = FLOW_OK;
    bool broke = false;
    if (it->type == V_RANGE) {
        int64_t n = length_of(I, it);
        if (n < 0) rc = FLOW_ERR;
        for (int64_t i = 0; i < n; i++) {
            if (lang_check_interrupt(I)) { place(I, s); rc = FLOW_ERR; break; }
            value *x = v_int(range_item(it, i));
            if (!x) { lang_raise(I, "MemoryError", "out of memory"); rc = FLOW_ERR; break; }
            int a = assign(I, e, s->a, x);
            decref(x);
            if (a) { rc = FLOW_ERR; break; }
            int r = exec_body(I, e, s->body, s->n_body);
            if (r == FLOW_ERR) { rc = r; break; }
            if (r == FLOW_BREAK) { broke = true; break; }
        }
    } else {
        value *items = it->type == V_LIST ? incref(it) : to_list(I, it);
        if (!items) { decref(it); place(I, s->b); return FLOW_ERR; }
        for (size_t i = 0; i < items->u.list.n; i++) {
            if (lang_check_interrupt(I)) { place(I, s); rc = FLOW_ERR; break; }
            value *x = incref(items->u.list.items[i]);
            int a = assign(I, e, s->a, x);
            decref(x);
            if (a) { rc = FLOW_ERR; break; }
            int r = exec_body(I, e, s->body, s->n_body);
            if (r == FLOW_ERR) { rc = r; break; }
            if (r == FLOW_BREAK) { broke = true; break; }
        }
        decref(items);
    }
    decref(it);
    if (rc == FLOW_OK && !broke && s->n_orelse) rc = exec_body(I, e, s->orelse, s->n_orelse);
    return rc;
}

static int exec_stmt(interp *I, env *e, node *s)
{
    switch (s->kind) {
    case N_EXPR: {
        value *v = eval_expr(I, e, s->a);
        if (!v) return FLOW_ERR;
        decref(v);
        return FLOW_OK;
    }
    case N_ASSIGN: {
        value *v = eval_expr(I, e, s->a);
        if (!v) return FLOW_ERR;
        int rc = FLOW_OK;
        for (int i = 0; i < s->n_items && rc == FLOW_OK; i++)
            if (assign(I, e, s->items[i], v)) rc = FLOW_ERR;
        decref(v);
        return rc;
    }
    case N_AUGASSIGN: {
        node *t = s->a;
        value *obj = NULL, *key = NULL, *cur;
        if (t->kind == N_SUBSCRIPT) {
            obj = eval_expr(I, e, t->a);
            if (!obj) return FLOW_ERR;
            key = eval_subscript_index(I, e, t->b);
            if (!key) { decref(obj); place(I, t); return FLOW_ERR; }
            cur = get_item(I, obj, key);
        } else if (t->kind == N_NAME) {
            cur = eval_expr(I, e, t);
        } else {
            lang_raise(I, "AttributeError", "cannot set attribute '%s' (lens objects are read-only)", t->s);
            place(I, t);
            return FLOW_ERR;
        }
        if (!cur) { decref(obj); decref(key); place(I, t); return FLOW_ERR; }
        value *rhs = eval_expr(I, e, s->b);
        if (!rhs) { decref(cur); decref(obj); decref(key); return FLOW_ERR; }
        value *r;
        if (s->op == OP_ADD && cur->type == V_LIST && cur->refcount >= 1 && rhs->type != V_TENSOR) {
            /* list += iterable extends in place, like Python */
            value *items = to_list(I, rhs);
            if (items) {
                for (size_t i = 0; i < items->u.list.n; i++) list_append(cur, incref(items->u.list.items[i]));
                decref(items);
                r = incref(cur);
            } else r = NULL;
        } else {
            r = binary_op(I, s->op, cur, rhs);
        }
        decref(cur);
        decref(rhs);
        int rc = FLOW_OK;
        if (!r) { place(I, s); rc = FLOW_ERR; }
        else if (obj) { if (set_item(I, obj, key, r)) { place(I, s); rc = FLOW_ERR; } }
        else if (bind_name(I, e, t->s, r)) rc = FLOW_ERR;
        decref(r);
        decref(obj);
        decref(key);
        return rc;
    }
    case N_IF: {
        value *c = eval_expr(I, e, s->a);
        if (!c) return FLOW_ERR;
        int t = truthy(I, c);
        decref(c);
        if (t < 0) { place(I, s->a); return FLOW_ERR; }
        return t ? exec_body(I, e, s->body, s->n_body) : exec_body(I, e, s->orelse, s->n_orelse);
    }
    case N_WHILE: {
        for (;;) {
            if (lang_check_interrupt(I)) { place(I, s); return FLOW_ERR; }
            value *c = eval_expr(I, e, s->a);
            if (!c) return FLOW_ERR;
            int t = truthy(I, c);
            decref(c);
            if (t < 0) { place(I, s->a); return FLOW_ERR; }
            if (!t) return exec_body(I, e, s->orelse, s->n_orelse);
            int r = exec_body(I, e, s->body, s->n_body);
            if (r == FLOW_ERR) return r;
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
                value k = {.type = V_STR, .refcount = -1};
                k.u.str.s = t->s;
                k.u.str.len = strlen(t->s);
                if (dict_del(e ? e->vars : I->globals, &k)) {
                    lang_raise(I, "NameError", "name '%s' is not defined", t->s);
                    place(I, t);
                    return FLOW_ERR;
                }
            } else {
                value *obj = eval_expr(I, e, t->a);
                if (!obj) return FLOW_ERR;
                value *key = eval_subscript_index(I, e, t->b);
                if (!key) { decref(obj); return FLOW_ERR; }
                int rc = del_item(I, obj, key);
                decref(obj);
                decref(key);
                if (rc) { place(I, t); return FLOW_ERR; }
            }
        }
        return FLOW_OK;
    case N_IMPORT:
        lang_raise(I, "ImportError", "lens cells have no imports%s%s%s: load, tensor, arange, zeros, einsum, "
                   "topk, softmax, cat, stack, save, load_tensors and the rest are always available "
                   "(help() lists them)", s->s ? " ('" : "", s->s ? s->s : "", s->s ? "' is not needed)" : "");
        place(I, s);
        return FLOW_ERR;
    case N_ASSERT: {
        value *c = eval_expr(I, e, s->a);
        if (!c) return FLOW_ERR;
        int t = truthy(I, c);
        decref(c);
        if (t < 0) { place(I, s); return FLOW_ERR; }
        if (!t) {
            char *msg = NULL;
            if (s->b) {
                value *m = eval_expr(I, e, s->b);
                if (!m) return FLOW_ERR;
                msg = str_of(m);
                decref(m);
            }
            lang_raise(I, "AssertionError", "%s", msg ? msg : "");
            free(msg);
            place(I, s);
            return FLOW_ERR;
        }
        return FLOW_OK;
    }
    default: {
        value *v = eval_expr(I, e, s);
        if (!v) return FLOW_ERR;
        decref(v);
        return FLOW_OK;
    }
    }
}

int exec_block(interp *I, env *e, node **stmts, int n)
{
    for (int i = 0; i < n; i++) {
        int r = exec_stmt(I, e, stmts[i]);
        if (r == FLOW_ERR) return -1;
        if (r == FLOW_BREAK || r == FLOW_CONTINUE) {
            lang_raise(I, "SyntaxError", "'%s' outside loop", r == FLOW_BREAK ? "break" : "continue");
            place(I, stmts[i]);
            return -1;
        }
    }
    return 0;
}
