/* kernel/lang/eval.c — the evaluator of expressions: scopes and name lookup
 * with Python's rules, calls, comprehensions, f-strings, assignment targets.
 * Every error raised below a node gets that node's anchor position if it has
 * none yet. Statements are exec.c's; user functions are function.c's. */
#include "eval.h"
#include "did_you_mean.h"

#include <stdlib.h>
#include <string.h>

#include "function.h"
#include "gc.h"
#include "scope.h"

env *lang_env_new(env *parent)
{
    env *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->vars = lang_dict_new();
    if (!e->vars) { free(e); return NULL; }
    e->parent = parent;
    if (parent) parent->refcount++;
    e->refcount = 1;
    lang_gc_track_env(e);
    return e;
}

env *lang_env_new_function(env *parent, const scope_info *scope)
{
    size_t n = (size_t)scope->n_locals;
    env *e = calloc(1, sizeof *e + n * sizeof(value *));
    if (!e) return NULL;
    e->scope = scope;
    e->n_slots = scope->n_locals;
    e->parent = parent;
    if (parent) parent->refcount++;
    e->refcount = 1;
    lang_gc_track_env(e);
    return e;
}

void lang_env_release(env *e)
{
    while (e && --e->refcount == 0) {
        lang_gc_untrack_env(e);
        env *p = e->parent;
        for (int i = 0; i < e->n_slots; i++) lang_decref(e->slots[i]);
        lang_dict_free(e->vars);
        lang_decref(e->retval);
        free(e);
        e = p;
    }
}

void lang_env_visit(env *e, void (*on_value)(value *v, void *ctx), void (*on_env)(env *p, void *ctx), void *ctx)
{
    for (int i = 0; i < e->n_slots; i++) if (e->slots[i]) on_value(e->slots[i], ctx);
    size_t it = 0;
    value *k, *v;
    while (e->vars && lang_dict_next(e->vars, &it, &k, &v)) on_value(v, ctx);
    if (e->retval) on_value(e->retval, ctx);
    if (e->parent) on_env(e->parent, ctx);
}

void lang_env_clear(env *e)
{
    for (int i = 0; i < e->n_slots; i++) {
        value *old = e->slots[i];
        e->slots[i] = NULL;
        lang_decref(old);
    }
    dict *vars = e->vars;
    e->vars = NULL;
    lang_dict_free(vars);
    value *retval = e->retval;
    e->retval = NULL;
    lang_decref(retval);
    env *p = e->parent;
    e->parent = NULL;
    lang_env_release(p);
}

static value *lookup_global(interp *I, const char *name)
{
    value *v = lang_dict_get_str(I->globals, name);
    return v ? v : lang_dict_get_str(I->builtins, name);
}

/* A name node remembers where its name sits in the globals (low 32 bits of
 * ival) and the builtins (high 32 bits), so a loop's lookups skip hashing. */
static value **global_slot(dict *d, node *at, bool builtins)
{
    uint64_t h = (uint64_t)at->ival;
    size_t hint = (size_t)(builtins ? h >> 32 : h & 0xffffffffu);
    value **slot = lang_dict_slot_str(d, at->s, at->slen ? at->slen : strlen(at->s), &hint);
    if (slot && hint <= 0xffffffffu)
        at->ival = (int64_t)(builtins ? (h & 0xffffffffu) | ((uint64_t)hint << 32) : (h & ~(uint64_t)0xffffffffu) | hint);
    return slot;
}

static value *lookup_global_at(interp *I, const char *name, node *at)
{
    if (!at || at->kind != N_NAME) return lookup_global(I, name);
    value **slot = global_slot(I->globals, at, false);
    if (slot && *slot) return *slot;
    slot = global_slot(I->builtins, at, true);
    return slot ? *slot : NULL;
}

/* The slot index of a name node inside its function (scope.c's annotation in
 * op: 0 not annotated, 1 not a local, k + 2 local slot k), or -1 to search. */
static int hint_of(const node *n) { return n && n->kind == N_NAME && n->op >= 2 ? n->op - 2 : -1; }
static bool hint_nonlocal(const node *n) { return n && n->kind == N_NAME && n->op == 1; }

/* Python's lookup: the innermost scope, enclosing function scopes, globals
 * (at call time), builtins. *unbound is set to the scope where the name is a
 * local that has no value yet (then NULL is returned). at: the name node
 * (its slot annotation applies to the first function scope), or NULL. */
static value *resolve(interp *I, env *e, const char *name, node *at, env **unbound)
{
    *unbound = NULL;
    bool first = true;
    for (; e; e = e->parent) {
        if (!e->scope) {
            value *v = e->vars ? lang_dict_get_str(e->vars, name) : NULL;
            if (v) return v;
            continue;
        }
        int i = -1;
        if (first && hint_of(at) >= 0) i = hint_of(at);
        else if (!(first && hint_nonlocal(at))) i = lang_scope_local_index(e->scope, name);
        first = false;
        if (i >= 0) {
            if (e->slots[i]) return e->slots[i];
            *unbound = e;
            return NULL;
        }
        if (lang_scope_is_global(e->scope, name)) break;
        if (e->vars) {
            value *v = lang_dict_get_str(e->vars, name);
            if (v) return v;
        }
    }
    return lookup_global_at(I, name, at);
}

value *lang_lookup_name(interp *I, env *e, const char *name)
{
    env *unbound;
    return resolve(I, e, name, NULL, &unbound);
}

static value *eval_name(interp *I, env *e, node *n)
{
    env *unbound;
    value *v = resolve(I, e, n->s, n, &unbound);
    if (v) return lang_incref(v);
    if (unbound && unbound == e)
        return lang_raise(I, "UnboundLocalError", "cannot access local variable '%s' where it is not associated with a value", n->s);
    if (unbound)
        return lang_raise(I, "NameError", "cannot access free variable '%s' where it is not associated with a value in enclosing scope", n->s);
    return lang_name_error(I, n->s);
}

void lang_eval_place(interp *I, node *n)
{
    if (I->error && !I->eline) {
        I->eline = n->aline;
        I->ecol = n->acol;
    }
}

/* Where a name is bound from scope e: a function scope's slot (returned), or
 * a dict (*d): globals, a comprehension's scope. */
static value **binding_place(interp *I, env *e, const char *name, int hint, dict **d)
{
    *d = NULL;
    if (!e) { *d = I->globals; return NULL; }
    if (!e->scope) { *d = e->vars; return NULL; }
    int i = hint >= 0 ? hint : lang_scope_local_index(e->scope, name);
    if (i >= 0) return &e->slots[i];
    if (lang_scope_is_nonlocal(e->scope, name)) {
        for (env *p = e->parent; p; p = p->parent) {
            if (!p->scope) continue;
            int j = lang_scope_local_index(p->scope, name);
            if (j >= 0) return &p->slots[j];
        }
    }
    if (lang_scope_is_global(e->scope, name) || lang_scope_is_nonlocal(e->scope, name)) { *d = I->globals; return NULL; }
    /* a name scope.c did not see bound here: kept beside the slots */
    if (!e->vars) e->vars = lang_dict_new();
    *d = e->vars;
    return NULL;
}

static int set_in_dict(interp *I, dict *d, const char *name, value *v)
{
    if (!d) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
    if (lang_dict_get_str(d, name)) {
        /* rebinding: the existing key is reused, so no key string is made */
        value k = {.type = V_STR, .refcount = -1};
        k.u.str.s = (char *)name;
        k.u.str.len = strlen(name);
        return lang_dict_set(I, d, &k, v);
    }
    if (lang_dict_set_str(d, name, lang_incref(v))) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
    return 0;
}

static int bind_at(interp *I, env *e, const char *name, int hint, value *v, node *at)
{
    dict *d;
    value **slot = binding_place(I, e, name, hint, &d);
    if (!slot && d && d == I->globals && at && at->kind == N_NAME) slot = global_slot(d, at, false);
    if (slot) {
        value *old = *slot;
        *slot = lang_incref(v);
        lang_decref(old);
        return 0;
    }
    return set_in_dict(I, d, name, v);
}

int lang_unbind_name(interp *I, env *e, const char *name)
{
    dict *d;
    value **slot = binding_place(I, e, name, -1, &d);
    if (slot) {
        if (!*slot) return -1;
        value *old = *slot;
        *slot = NULL;
        lang_decref(old);
        return 0;
    }
    if (!d) return -1;
    value k = {.type = V_STR, .refcount = -1};
    k.u.str.s = (char *)name;
    k.u.str.len = strlen(name);
    return lang_dict_del(d, &k);
}

int lang_bind_name(interp *I, env *e, const char *name, value *v)
{
    return bind_at(I, e, name, -1, v, NULL);
}


static int assign_unpack(interp *I, env *e, node *t, value *v)
{
    value *items = lang_to_list(I, v);
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
                for (size_t k = 0; k < take; k++) rest->u.list.items[rest->u.list.n++] = lang_incref(items->u.list.items[j++]);
                rc = lang_assign_target(I, e, t->items[i]->a, rest);
                lang_decref(rest);
            } else {
                rc = lang_assign_target(I, e, t->items[i], items->u.list.items[j++]);
            }
        }
    }
    lang_decref(items);
    return rc;
}

int lang_assign_target(interp *I, env *e, node *t, value *v)
{
    int rc = 0;
    switch (t->kind) {
    case N_NAME: rc = bind_at(I, e, t->s, e && e->scope ? hint_of(t) : -1, v, t); break;
    case N_TUPLE: case N_LIST: rc = assign_unpack(I, e, t, v); break;
    case N_SUBSCRIPT: {
        value *obj = lang_eval_expr(I, e, t->a);
        if (!obj) return -1;
        value *key = lang_eval_expr(I, e, t->b);
        if (!key) { lang_decref(obj); return -1; }
        rc = lang_set_item(I, obj, key, v);
        lang_decref(obj);
        lang_decref(key);
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
    if (rc) lang_eval_place(I, t);
    return rc;
}

/* ---- calls ----------------------------------------------------------------- */

/* The arguments of one call: small calls use the inline arrays, larger ones
 * grow onto the heap. */
#define ARGBUF_INLINE 8

typedef struct argbuf {
    args a;
    value **owned;
    int nowned, cap_owned, cap_pos, cap_kw;
    value *owned_inline[ARGBUF_INLINE], *pos_inline[ARGBUF_INLINE], *kw_inline[ARGBUF_INLINE];
    const char *kwnames_inline[ARGBUF_INLINE];
} argbuf;

static void argbuf_init(argbuf *b)
{
    b->a = (args){b->pos_inline, 0, b->kwnames_inline, b->kw_inline, 0};
    b->owned = b->owned_inline;
    b->nowned = 0;
    b->cap_owned = b->cap_pos = b->cap_kw = ARGBUF_INLINE;
}

static void argbuf_free(argbuf *b)
{
    for (int i = 0; i < b->nowned; i++) lang_decref(b->owned[i]);
    if (b->owned != b->owned_inline) free(b->owned);
    if (b->a.pos != b->pos_inline) free(b->a.pos);
    if (b->a.kw != b->kw_inline) free(b->a.kw);
    if (b->a.kwnames != b->kwnames_inline) free((void *)b->a.kwnames);
}

/* Grows an array that starts inline; 0 ok, -1 out of memory. */
static int grow(void **arr, void *inline_arr, int *cap, size_t elem)
{
    if (*cap > (1 << 24)) return -1;
    int ncap = *cap * 2;
    void *n = *arr == inline_arr ? malloc((size_t)ncap * elem) : realloc(*arr, (size_t)ncap * elem);
    if (!n) return -1;
    if (*arr == inline_arr) memcpy(n, inline_arr, (size_t)*cap * elem);
    *arr = n;
    *cap = ncap;
    return 0;
}

static int own(argbuf *b, value *v)
{
    if (b->nowned == b->cap_owned && grow((void **)&b->owned, b->owned_inline, &b->cap_owned, sizeof(value *))) return -1;
    b->owned[b->nowned++] = v;
    return 0;
}

static int add_pos(argbuf *b, value *v)
{
    if (b->a.npos == b->cap_pos && grow((void **)&b->a.pos, b->pos_inline, &b->cap_pos, sizeof(value *))) return -1;
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
    if (b->a.nkw == b->cap_kw) {
        int cap = b->cap_kw;
        if (grow((void **)&b->a.kw, b->kw_inline, &cap, sizeof(value *)) ||
            grow((void **)&b->a.kwnames, b->kwnames_inline, &b->cap_kw, sizeof(char *))) {
            lang_raise(I, "MemoryError", "out of memory");
            return -1;
        }
    }
    b->a.kw[b->a.nkw] = v;
    b->a.kwnames[b->a.nkw++] = name;
    return 0;
}

value *lang_call_value(interp *I, value *fn, args *a)
{
    if (lang_check_interrupt(I)) return NULL;
    switch (fn->type) {
    case V_BUILTIN: {
        if (I->call_depth >= LANG_RECURSION_LIMIT) return lang_raise(I, "RecursionError", "maximum recursion depth exceeded");
        const lang_builtin *def = fn->u.builtin.def;
        if (def->params && lang_bind_args(I, def, a)) return NULL;
        I->call_depth++;
        value *r = def->fn(I, fn->u.builtin.self, a);
        I->call_depth--;
        if (!r && !I->error) lang_raise(I, "MemoryError", "out of memory");
        return r;
    }
    case V_OBJECT:
        if (fn->u.obj.type->call) return fn->u.obj.type->call(I, fn, a);
        break;
    default: break;
    }
    return lang_raise(I, "TypeError", "'%s' object is not callable", lang_type_name(fn));
}

static value *eval_call(interp *I, env *e, node *n)
{
    value *fn = lang_eval_expr(I, e, n->a);
    if (!fn) return NULL;
    argbuf b;
    argbuf_init(&b);
    value *r = NULL;
    for (int i = 0; i < n->n_items; i++) {
        node *arg = n->items[i];
        value *v = lang_eval_expr(I, e, arg->a);
        if (!v || own(&b, v)) { lang_decref(v); goto done; }
        if (arg->op == 1) {
            value *items = lang_to_list(I, v);
            if (!items) { lang_eval_place(I, arg); goto done; }
            own(&b, items);
            for (size_t k = 0; k < items->u.list.n; k++) if (add_pos(&b, items->u.list.items[k])) goto oom;
        } else if (arg->op == 2) {
            if (v->type != V_DICT) { lang_raise(I, "TypeError", "argument after ** must be a dict, not %s", lang_type_name(v)); lang_eval_place(I, arg); goto done; }
            size_t k = 0;
            value *key, *val;
            while (lang_dict_next(v->u.d, &k, &key, &val)) {
                if (key->type != V_STR) { lang_raise(I, "TypeError", "keywords must be strings"); lang_eval_place(I, arg); goto done; }
                if (add_kw(I, &b, key->u.str.s, val)) { lang_eval_place(I, arg); goto done; }
            }
        } else if (arg->s) {
            if (add_kw(I, &b, arg->s, v)) { lang_eval_place(I, arg); goto done; }
        } else if (add_pos(&b, v)) goto oom;
    }
    r = lang_call_value(I, fn, &b.a);
    goto done;
oom:
    lang_raise(I, "MemoryError", "out of memory");
done:
    argbuf_free(&b);
    lang_decref(fn);
    return r;
}

/* ---- comprehensions --------------------------------------------------------- */

static int comp_loop(interp *I, env *e, node *comp, int level, value *out)
{
    if (level == comp->n_items) {
        if (comp->kind == N_DICTCOMP) {
            value *k = lang_eval_expr(I, e, comp->a);
            if (!k) return -1;
            value *v = lang_eval_expr(I, e, comp->b);
            if (!v) { lang_decref(k); return -1; }
            int rc = lang_dict_set(I, out->u.d, k, v);
            lang_decref(k);
            lang_decref(v);
            if (rc) lang_eval_place(I, comp->a);
            return rc;
        }
        value *x = lang_eval_expr(I, e, comp->a);
        if (!x) return -1;
        if (lang_list_append(out, x)) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
        return 0;
    }
    node *cf = comp->items[level];
    value *src = lang_eval_expr(I, e, cf->b);
    if (!src) return -1;
    lang_iter it;
    int opened = lang_iter_open(I, src, &it);
    lang_decref(src);
    if (opened) { lang_iter_close(&it); lang_eval_place(I, cf->b); return -1; }
    int rc = 0;
    while (rc == 0) {
        if (lang_check_interrupt(I)) { rc = -1; lang_eval_place(I, cf); break; }
        value *x;
        int got = lang_iter_next(I, &it, &x);
        if (got < 0) { rc = -1; lang_eval_place(I, cf->b); break; }
        if (!got) break;
        int bad = lang_assign_target(I, e, cf->a, x);
        lang_decref(x);
        if (bad) { rc = -1; break; }
        bool keep = true;
        for (int k = 0; k < cf->n_body && keep; k++) {
            value *c = lang_eval_expr(I, e, cf->body[k]);
            if (!c) { rc = -1; break; }
            int t = lang_truthy(I, c);
            lang_decref(c);
            if (t < 0) { rc = -1; lang_eval_place(I, cf->body[k]); break; }
            keep = t;
        }
        if (rc == 0 && keep) rc = comp_loop(I, e, comp, level + 1, out);
    }
    lang_iter_close(&it);
    return rc;
}

static value *eval_comp(interp *I, env *e, node *n)
{
    env *scope = lang_env_new(e);
    if (!scope) return lang_raise(I, "MemoryError", "out of memory");
    value *out = n->kind == N_DICTCOMP ? v_dict() : v_list(0);
    if (!out) { lang_env_release(scope); return lang_raise(I, "MemoryError", "out of memory"); }
    if (comp_loop(I, scope, n, 0, out)) { lang_decref(out); out = NULL; }
    lang_env_release(scope);
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
            value *v = lang_eval_expr(I, e, p->a);
            if (!v) { free(buf); return NULL; }
            char *spec = p->s;
            char *dyn = NULL;
            if (p->b) {
                value *sv = eval_fstr(I, e, p->b);
                if (!sv) { lang_decref(v); free(buf); return NULL; }
                dyn = strdup(sv->u.str.s);
                lang_decref(sv);
                spec = dyn;
            }
            if (p->op == 'r' || p->op == 'a') {
                char *r = lang_repr_of(v);
                lang_decref(v);
                v = r ? v_str_take(r, strlen(r)) : NULL;
                if (!v) { free(dyn); free(buf); return lang_raise(I, "MemoryError", "out of memory"); }
            } else if (p->op == 's') {
                char *r = lang_str_of(v);
                lang_decref(v);
                v = r ? v_str_take(r, strlen(r)) : NULL;
                if (!v) { free(dyn); free(buf); return lang_raise(I, "MemoryError", "out of memory"); }
            }
            piece = lang_format_value(I, v, spec);
            lang_decref(v);
            free(dyn);
            if (!piece) { free(buf); lang_eval_place(I, p); return NULL; }
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
    value *left = lang_eval_expr(I, e, n->items[0]);
    if (!left) return NULL;
    value *result = NULL;
    for (int i = 0; i < n->n_items - 1; i++) {
        value *right = lang_eval_expr(I, e, n->items[i + 1]);
        if (!right) { lang_decref(left); lang_decref(result); return NULL; }
        int op = n->ops[i];
        value *r = NULL;
        const lang_type *tl = lang_type_of(left), *tr = lang_type_of(right);
        if (op <= CMP_NE && tl && tl->compare) {
            r = tl->compare(I, op, left, right);
        } else if (op <= CMP_NE && tr && tr->compare) {
            r = tr->compare(I, op, left, right);
        } else {
            int t;
            switch (op) {
            case CMP_EQ: t = lang_values_equal(I, left, right); break;
            case CMP_NE: t = lang_values_equal(I, left, right); if (t >= 0) t = !t; break;
            case CMP_IN: t = lang_contains(I, right, left); break;
            case CMP_NOT_IN: t = lang_contains(I, right, left); if (t >= 0) t = !t; break;
            case CMP_IS: case CMP_IS_NOT: {
                bool same = left == right || (left->type == right->type &&
                            (left->type == V_NONE || left->type == V_BOOL ? left->u.b == right->u.b || left->type == V_NONE : false));
                t = op == CMP_IS ? same : !same;
                break;
            }
            default: t = lang_values_compare(I, left, right, op);
            }
            if (t >= 0) r = v_bool(t);
        }
        lang_decref(left);
        if (!r) { lang_decref(right); lang_decref(result); I->eline ? (void)0 : (void)(I->eline = n->aline, I->ecol = n->acol); return NULL; }
        lang_decref(result);
        result = r;
        if (i < n->n_items - 2) {
            int t = lang_truthy(I, r);
            if (t < 0) { lang_decref(right); lang_decref(result); return NULL; }
            if (!t) { lang_decref(right); return result; }
        }
        left = right;
    }
    lang_decref(left);
    return result;
}

value *lang_eval_subscript_index(interp *I, env *e, node *b)
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
            value *v = lang_eval_expr(I, e, parts[i]);
            if (!v) { lang_decref(sl); return NULL; }
            *dst[i] = v;
        }
        return sl;
    }
    if (b->kind == N_TUPLE) {
        value *t = v_tuple((size_t)b->n_items);
        if (!t) return lang_raise(I, "MemoryError", "out of memory");
        for (int i = 0; i < b->n_items; i++) {
            value *x = lang_eval_subscript_index(I, e, b->items[i]);
            if (!x) { lang_decref(t); return NULL; }
            lang_tuple_set(t, (size_t)i, x);
        }
        return t;
    }
    return lang_eval_expr(I, e, b);
}

static value *eval_inner(interp *I, env *e, node *n)
{
    switch (n->kind) {
    case N_INT: return v_int(n->ival);
    case N_FLOAT: return v_float(n->fval);
    case N_STR: return v_strn(n->s, n->slen);
    case N_FSTR: return eval_fstr(I, e, n);
    case N_CONST: return n->op == 0 ? v_none() : n->op == 1 ? v_bool(true) : n->op == 2 ? v_bool(false) : &v_ellipsis_s;
    case N_NAME: return eval_name(I, e, n);
    case N_LIST: case N_TUPLE: {
        value *l = v_list((size_t)n->n_items);
        if (!l) return lang_raise(I, "MemoryError", "out of memory");
        for (int i = 0; i < n->n_items; i++) {
            node *it = n->items[i];
            value *x = lang_eval_expr(I, e, it->kind == N_STARRED ? it->a : it);
            if (!x) { lang_decref(l); return NULL; }
            if (it->kind == N_STARRED) {
                value *xs = lang_to_list(I, x);
                lang_decref(x);
                if (!xs) { lang_decref(l); lang_eval_place(I, it); return NULL; }
                for (size_t k = 0; k < xs->u.list.n; k++) lang_list_append(l, lang_incref(xs->u.list.items[k]));
                lang_decref(xs);
            } else if (lang_list_append(l, x)) { lang_decref(l); return lang_raise(I, "MemoryError", "out of memory"); }
        }
        if (n->kind == N_TUPLE) l->type = V_TUPLE;
        return l;
    }
    case N_DICT: {
        value *d = v_dict();
        if (!d) return lang_raise(I, "MemoryError", "out of memory");
        for (int i = 0; i + 1 < n->n_items; i += 2) {
            value *k = lang_eval_expr(I, e, n->items[i]);
            if (!k) { lang_decref(d); return NULL; }
            value *v = lang_eval_expr(I, e, n->items[i + 1]);
            if (!v) { lang_decref(k); lang_decref(d); return NULL; }
            int rc = lang_dict_set(I, d->u.d, k, v);
            lang_decref(k);
            lang_decref(v);
            if (rc) { lang_decref(d); lang_eval_place(I, n->items[i]); return NULL; }
        }
        return d;
    }
    case N_BINOP: {
        value *a = lang_eval_expr(I, e, n->a);
        if (!a) return NULL;
        value *b = lang_eval_expr(I, e, n->b);
        if (!b) { lang_decref(a); return NULL; }
        value *r = lang_binary_op(I, n->op, a, b);
        lang_decref(a);
        lang_decref(b);
        return r;
    }
    case N_UNARY: {
        value *a = lang_eval_expr(I, e, n->a);
        if (!a) return NULL;
        value *r = lang_unary_op(I, n->op, a);
        lang_decref(a);
        return r;
    }
    case N_AND: case N_OR: {
        value *a = lang_eval_expr(I, e, n->a);
        if (!a) return NULL;
        int t = lang_truthy(I, a);
        if (t < 0) { lang_decref(a); return NULL; }
        if ((n->kind == N_AND) != (t != 0)) return a;
        lang_decref(a);
        return lang_eval_expr(I, e, n->b);
    }
    case N_COMPARE: return eval_compare(I, e, n);
    case N_IFEXP: {
        value *c = lang_eval_expr(I, e, n->a);
        if (!c) return NULL;
        int t = lang_truthy(I, c);
        lang_decref(c);
        if (t < 0) return NULL;
        return lang_eval_expr(I, e, t ? n->b : n->c);
    }
    case N_CALL: return eval_call(I, e, n);
    case N_ATTR: {
        value *o = lang_eval_expr(I, e, n->a);
        if (!o) return NULL;
        value *r = lang_get_attr(I, o, n->s);
        lang_decref(o);
        return r;
    }
    case N_SUBSCRIPT: {
        value *o = lang_eval_expr(I, e, n->a);
        if (!o) return NULL;
        value *k = lang_eval_subscript_index(I, e, n->b);
        if (!k) { lang_decref(o); return NULL; }
        value *r = lang_get_item(I, o, k);
        lang_decref(o);
        lang_decref(k);
        return r;
    }
    case N_SLICE: return lang_eval_subscript_index(I, e, n);
    case N_LISTCOMP: case N_DICTCOMP: return eval_comp(I, e, n);
    case N_LAMBDA: return lang_function_new(I, e, n);
    case N_STARRED: return lang_raise(I, "SyntaxError", "can't use starred expression here");
    default: return lang_raise(I, "SyntaxError", "not an expression");
    }
}

value *lang_eval_expr(interp *I, env *e, node *n)
{
    char here;
    if (I->stack_floor && &here < I->stack_floor) {
        lang_raise(I, "RecursionError", "maximum recursion depth exceeded (the expression is nested too deeply for the stack)");
        lang_eval_place(I, n);
        return NULL;
    }
    value *r = eval_inner(I, e, n);
    if (!r) {
        if (!I->error) lang_raise(I, "MemoryError", "out of memory");
        lang_eval_place(I, n);
    }
    return r;
}

