/* kernel/lang/gc.c — the cycle collector (trial deletion over tracked
 * containers).
 *
 * Owns: the lists of tracked containers (container values and closure scopes),
 * the per-type knowledge of which references a container holds (visit) and
 * how to drop them (clear), and the collection itself.
 * Does not own: reference counting and freeing (value.c decref, eval.c
 * env_release), nor when a collection runs (session.c at the end of a cell
 * when the tracked count grew, value.c lang_check_interrupt when one is due).
 *
 * Tracked containers sit in two intrusive lists (values, scopes), so tracking
 * and untracking are O(1) and touch only neighbours. A collection: (1) every
 * reference from one tracked container to another is subtracted from the
 * target's reference count, in place (nothing else runs meanwhile); (2) what
 * keeps a positive count is referenced from outside (variables, the C stack,
 * untracked holders): it and everything it reaches is alive, found with the
 * lists themselves as the work queue (no C recursion) and marked by a
 * negative count; (3) the counts are restored; (4) the rest is garbage: each
 * is held once more, its references are dropped, and releasing the holds
 * frees it (through decref's own worklist). */
#include "gc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "eval.h"

enum { KIND_VALUE, KIND_ENV };

static gc_link values = {&values, &values};   /* circular, with a sentinel head */
static gc_link scopes = {&scopes, &scopes};
static size_t tracked;          /* values + scopes in the lists */
static size_t survivors;        /* tracked after the last collection */
static bool collecting;
#define GC_GROWTH_DIVISOR 4     /* gc_collect_if_grown: growth by survivors / 4 */
#ifndef GC_MIN_TRIGGER
#define GC_MIN_TRIGGER 10000   /* a build may lower it to exercise collections */
#endif

static void link_tail(gc_link *list, gc_link *l)
{
    l->prev = list->prev;
    l->next = list;
    list->prev->next = l;
    list->prev = l;
}

static void unlink_node(gc_link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
}

static void move_tail(gc_link *list, gc_link *l) { unlink_node(l); link_tail(list, l); }

static void splice_tail(gc_link *dst, gc_link *src)
{
    if (src->next == src) return;
    src->next->prev = dst->prev;
    dst->prev->next = src->next;
    src->prev->next = dst;
    dst->prev = src->prev;
    src->next = src->prev = src;
}

static value *value_of(gc_link *l) { return (value *)(void *)((char *)l - offsetof(value, gc)); }
static env *scope_of(gc_link *l) { return (env *)(void *)((char *)l - offsetof(env, gc)); }
static gc_link *link_of(void *obj, int kind) { return kind == KIND_ENV ? &((env *)obj)->gc : &((value *)obj)->gc; }
static int *count_of(void *obj, int kind) { return kind == KIND_ENV ? &((env *)obj)->refcount : &((value *)obj)->refcount; }

bool lang_gc_value_is_container(const value *v)
{
    switch (v->type) {
    case V_LIST: case V_TUPLE: case V_DICT: case V_BUILTIN: return true;
    case V_OBJECT: return v->u.obj.type && v->u.obj.type->visit && v->u.obj.type->clear;
    default: return false;
    }
}

void lang_gc_track_value(value *v)
{
    if (!v || v->gc.next || !lang_gc_value_is_container(v)) return;
    link_tail(&values, &v->gc);
    tracked++;
}

void lang_gc_untrack_value(value *v)
{
    if (!v->gc.next) return;
    unlink_node(&v->gc);
    v->gc.next = v->gc.prev = NULL;
    if (--tracked < survivors) survivors = tracked;   /* growth counts from the low point */
}

void lang_gc_track_env(env *e)
{
    if (!e || e->gc.next) return;
    link_tail(&scopes, &e->gc);
    tracked++;
}

void lang_gc_untrack_env(env *e)
{
    if (!e || !e->gc.next) return;
    unlink_node(&e->gc);
    e->gc.next = e->gc.prev = NULL;
    if (--tracked < survivors) survivors = tracked;
}

size_t lang_gc_tracked_count(void) { return tracked; }

bool lang_gc_collection_due(void)
{
    return !collecting && tracked >= GC_MIN_TRIGGER && tracked > 2 * survivors;
}

size_t lang_gc_collect_if_grown(void)
{
    return tracked > survivors + survivors / GC_GROWTH_DIVISOR ? lang_gc_collect() : 0;
}

/* ---- the per-type knowledge: the one place a new container type joins -------- */

typedef void (*visit_fn)(void *child, int kind, void *ctx);

static void visit_dict(dict *d, visit_fn fn, void *ctx)
{
    size_t i = 0;
    value *k, *x;
    while (lang_dict_next(d, &i, &k, &x)) { fn(k, KIND_VALUE, ctx); fn(x, KIND_VALUE, ctx); }
}

/* env_visit and the object types' visit hooks report values and scopes
 * separately: these pass them on with their kind. */
typedef struct kind_visit { visit_fn fn; void *ctx; } kind_visit;
static void visit_value_child(value *child, void *ctx)
{
    kind_visit *kv = ctx;
    if (child) kv->fn(child, KIND_VALUE, kv->ctx);
}
static void visit_env_child(env *child, void *ctx)
{
    kind_visit *kv = ctx;
    if (child) kv->fn(child, KIND_ENV, kv->ctx);
}

/* Calls fn on every reference the container holds. */
static void visit_children(void *obj, int kind, visit_fn fn, void *ctx)
{
    kind_visit kv = {fn, ctx};
    if (kind == KIND_ENV) {
        lang_env_visit(obj, visit_value_child, visit_env_child, &kv);
        return;
    }
    value *v = obj;
    switch (v->type) {
    case V_LIST: case V_TUPLE:
        for (size_t i = 0; i < v->u.list.n; i++) fn(v->u.list.items[i], KIND_VALUE, ctx);
        break;
    case V_DICT: visit_dict(v->u.d, fn, ctx); break;
    case V_BUILTIN: if (v->u.builtin.self) fn(v->u.builtin.self, KIND_VALUE, ctx); break;
    case V_OBJECT: v->u.obj.type->visit(v, visit_value_child, visit_env_child, &kv); break;
    default: break;
    }
}

/* Drops every reference the container holds (it stays a valid, empty value). */
static void clear_references(void *obj, int kind)
{
    if (kind == KIND_ENV) {
        lang_env_clear(obj);
        return;
    }
    value *v = obj;
    switch (v->type) {
    case V_LIST: case V_TUPLE: {
        size_t n = v->u.list.n;
        v->u.list.n = 0;
        for (size_t i = 0; i < n; i++) lang_decref(v->u.list.items[i]);
        break;
    }
    case V_DICT: lang_dict_clear(v->u.d); break;
    case V_BUILTIN: { value *s = v->u.builtin.self; v->u.builtin.self = NULL; lang_decref(s); break; }
    case V_OBJECT: v->u.obj.type->clear(v); break;
    default: break;
    }
}

/* ---- the collection ------------------------------------------------------------ */

static bool is_tracked(void *obj, int kind) { return link_of(obj, kind)->next != NULL; }

static void subtract_internal(void *child, int kind, void *ctx)
{
    (void)ctx;
    if (is_tracked(child, kind)) (*count_of(child, kind))--;
}

static void add_internal(void *child, int kind, void *ctx)
{
    (void)ctx;
    if (is_tracked(child, kind)) (*count_of(child, kind))++;
}

/* While marking, a reachable container's count is -(external count) - 1. */
typedef struct reach { gc_link values, scopes; } reach;

static void mark(void *obj, int kind, reach *r)
{
    int *c = count_of(obj, kind);
    *c = -*c - 1;
    move_tail(kind == KIND_ENV ? &r->scopes : &r->values, link_of(obj, kind));
}

static void mark_child(void *child, int kind, void *ctx)
{
    if (is_tracked(child, kind) && *count_of(child, kind) >= 0) mark(child, kind, ctx);
}

static void for_each(gc_link *list, int kind, visit_fn fn)
{
    for (gc_link *l = list->next; l != list; l = l->next)
        visit_children(kind == KIND_ENV ? (void *)scope_of(l) : (void *)value_of(l), kind, fn, NULL);
}

static void *obj_of(gc_link *l, int kind) { return kind == KIND_ENV ? (void *)scope_of(l) : (void *)value_of(l); }

size_t lang_gc_collect(void)
{
    if (collecting || !tracked) return 0;
    collecting = true;
    /* (1) internal references off the counts */
    for_each(&values, KIND_VALUE, subtract_internal);
    for_each(&scopes, KIND_ENV, subtract_internal);
    /* (2) roots, then everything they reach, into the reach lists */
    reach r = {{&r.values, &r.values}, {&r.scopes, &r.scopes}};
    for (int kind = KIND_VALUE; kind <= KIND_ENV; kind++) {
        gc_link *list = kind == KIND_ENV ? &scopes : &values;
        for (gc_link *l = list->next, *next; l != list; l = next) {
            next = l->next;
            void *obj = obj_of(l, kind);
            if (*count_of(obj, kind) > 0) mark(obj, kind, &r);
        }
    }
    /* the reach lists are the work queues: cv, ce = the last one scanned */
    gc_link *cv = &r.values, *ce = &r.scopes;
    while (cv->next != &r.values || ce->next != &r.scopes) {
        while (cv->next != &r.values) { cv = cv->next; visit_children(value_of(cv), KIND_VALUE, mark_child, &r); }
        while (ce->next != &r.scopes) { ce = ce->next; visit_children(scope_of(ce), KIND_ENV, mark_child, &r); }
    }
    /* (3) the counts back: decode the marks, add the internal references again */
    for (gc_link *l = r.values.next; l != &r.values; l = l->next) { int *c = &value_of(l)->refcount; *c = -*c - 1; }
    for (gc_link *l = r.scopes.next; l != &r.scopes; l = l->next) { int *c = &scope_of(l)->refcount; *c = -*c - 1; }
    for_each(&values, KIND_VALUE, add_internal);
    for_each(&scopes, KIND_ENV, add_internal);
    for_each(&r.values, KIND_VALUE, add_internal);
    for_each(&r.scopes, KIND_ENV, add_internal);
    /* (4) what is left in the main lists is garbage */
    gc_link garbage[2] = {{&garbage[0], &garbage[0]}, {&garbage[1], &garbage[1]}};
    splice_tail(&garbage[KIND_VALUE], &values);
    splice_tail(&garbage[KIND_ENV], &scopes);
    splice_tail(&values, &r.values);
    splice_tail(&scopes, &r.scopes);
    size_t freed = 0;
    for (int kind = KIND_VALUE; kind <= KIND_ENV; kind++)
        for (gc_link *l = garbage[kind].next; l != &garbage[kind]; l = l->next) { (*count_of(obj_of(l, kind), kind))++; freed++; }
    /* frees of other values unlink them from the main lists, never from these */
    for (int kind = KIND_VALUE; kind <= KIND_ENV; kind++)
        for (gc_link *l = garbage[kind].next; l != &garbage[kind]; l = l->next) clear_references(obj_of(l, kind), kind);
    for (int kind = KIND_VALUE; kind <= KIND_ENV; kind++) {
        gc_link *list = kind == KIND_ENV ? &scopes : &values;
        while (garbage[kind].next != &garbage[kind]) {
            gc_link *l = garbage[kind].next;
            move_tail(list, l);   /* an ordinary tracked container again, then released */
            if (kind == KIND_ENV) lang_env_release(scope_of(l));
            else lang_decref(value_of(l));
        }
    }
    survivors = tracked;
    collecting = false;
    return freed;
}
