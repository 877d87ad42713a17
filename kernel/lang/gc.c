/* kernel/lang/gc.c — the cycle collector (trial deletion over tracked
 * containers).
 *
 * Owns: the set of tracked containers (container values and closure scopes),
 * the per-type knowledge of which references a container holds (visit) and
 * how to drop them (clear), and the collection itself.
 * Does not own: reference counting and freeing (value.c decref, eval.c
 * env_release), nor when a collection runs (session.c at the end of a cell,
 * value.c lang_check_interrupt when one is due).
 *
 * A collection: (1) every tracked container's scratch count starts at its
 * reference count; (2) every reference from one tracked container to another
 * is subtracted; (3) containers left with a positive count are referenced from
 * outside (variables, the C stack, untracked holders) and everything they
 * reach is alive; (4) the rest is garbage: each is held once more, its
 * references are dropped, and releasing the holds frees it. Nothing recurses
 * on the C stack: reachability uses an explicit worklist, and the frees go
 * through decref's own worklist. */
#include "gc.h"

#include <stdint.h>
#include <stdlib.h>

#include "eval.h"

enum { KIND_VALUE, KIND_ENV };

typedef struct gc_entry {
    void *obj;          /* NULL: empty slot; TOMBSTONE: removed */
    intptr_t refs;      /* scratch count during a collection */
    unsigned char kind;
    bool reachable;
} gc_entry;

static char tombstone_mark;
#define TOMBSTONE ((void *)&tombstone_mark)

/* open-addressing set keyed by address */
static gc_entry *table;
static size_t table_cap, table_live, table_tombs;
static size_t survivors;        /* tracked count after the last collection */
static bool collecting;
#define GC_MIN_TRIGGER 10000

static size_t slot_of(const void *p, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)p;
    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 20) & (cap - 1);
}

static gc_entry *find(const void *p)
{
    if (!table_cap) return NULL;
    for (size_t s = slot_of(p, table_cap);; s = (s + 1) & (table_cap - 1)) {
        if (table[s].obj == p) return &table[s];
        if (!table[s].obj) return NULL;
    }
}

static int rehash(size_t cap)
{
    gc_entry *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < table_cap; i++) {
        void *p = table[i].obj;
        if (!p || p == TOMBSTONE) continue;
        size_t s = slot_of(p, cap);
        while (t[s].obj) s = (s + 1) & (cap - 1);
        t[s] = table[i];
    }
    free(table);
    table = t;
    table_cap = cap;
    table_tombs = 0;
    return 0;
}

/* An object that cannot be tracked (out of memory) is simply never collected:
 * untracked containers count as outside references, which is always safe. */
static void track(void *p, unsigned char kind)
{
    if ((table_live + table_tombs + 1) * 2 > table_cap) {
        size_t cap = table_cap ? table_cap : 1024;
        while ((table_live + 1) * 4 > cap) cap *= 2;
        if (rehash(cap)) return;
    }
    size_t s = slot_of(p, table_cap);
    while (table[s].obj && table[s].obj != TOMBSTONE) s = (s + 1) & (table_cap - 1);
    if (table[s].obj == TOMBSTONE) table_tombs--;
    table[s] = (gc_entry){.obj = p, .kind = kind};
    table_live++;
}

static void untrack(void *p)
{
    gc_entry *e = find(p);
    if (!e) return;
    e->obj = TOMBSTONE;
    table_live--;
    table_tombs++;
}

bool gc_value_is_container(const value *v)
{
    switch (v->type) {
    case V_LIST: case V_TUPLE: case V_DICT: case V_LAMBDA: case V_BUILTIN: return true;
    default: return false;
    }
}

void gc_track_value(value *v) { if (v && gc_value_is_container(v)) track(v, KIND_VALUE); }
void gc_untrack_value(value *v) { if (table_live) untrack(v); }
void gc_track_env(env *e) { if (e) track(e, KIND_ENV); }
void gc_untrack_env(env *e) { if (table_live) untrack(e); }
size_t gc_tracked_count(void) { return table_live; }

bool gc_collection_due(void)
{
    return !collecting && table_live >= GC_MIN_TRIGGER && table_live > 2 * survivors;
}

/* ---- the per-type knowledge: the one place a new container type joins -------- */

typedef void (*visit_fn)(void *child, unsigned char kind, void *ctx);

static void visit_dict(dict *d, visit_fn fn, void *ctx)
{
    size_t i = 0;
    value *k, *x;
    while (dict_next(d, &i, &k, &x)) { fn(k, KIND_VALUE, ctx); fn(x, KIND_VALUE, ctx); }
}

/* Calls fn on every reference the container holds. */
static void visit_children(void *obj, unsigned char kind, visit_fn fn, void *ctx)
{
    if (kind == KIND_ENV) {
        env *e = obj;
        visit_dict(e->vars, fn, ctx);
        if (e->parent) fn(e->parent, KIND_ENV, ctx);
        return;
    }
    value *v = obj;
    switch (v->type) {
    case V_LIST: case V_TUPLE:
        for (size_t i = 0; i < v->u.list.n; i++) fn(v->u.list.items[i], KIND_VALUE, ctx);
        break;
    case V_DICT: visit_dict(v->u.d, fn, ctx); break;
    case V_LAMBDA: if (v->u.lambda.closure) fn(v->u.lambda.closure, KIND_ENV, ctx); break;
    case V_BUILTIN: if (v->u.builtin.self) fn(v->u.builtin.self, KIND_VALUE, ctx); break;
    default: break;
    }
}

/* Drops every reference the container holds (it stays a valid, empty value). */
static void clear_references(void *obj, unsigned char kind)
{
    if (kind == KIND_ENV) {
        env *e = obj;
        env *parent = e->parent;
        e->parent = NULL;
        dict_clear(e->vars);
        env_release(parent);
        return;
    }
    value *v = obj;
    switch (v->type) {
    case V_LIST: case V_TUPLE: {
        size_t n = v->u.list.n;
        v->u.list.n = 0;
        for (size_t i = 0; i < n; i++) decref(v->u.list.items[i]);
        break;
    }
    case V_DICT: dict_clear(v->u.d); break;
    case V_LAMBDA: { env *c = v->u.lambda.closure; v->u.lambda.closure = NULL; env_release(c); break; }
    case V_BUILTIN: { value *s = v->u.builtin.self; v->u.builtin.self = NULL; decref(s); break; }
    default: break;
    }
}

/* ---- the collection ------------------------------------------------------------ */

static int refcount_of(void *obj, unsigned char kind)
{
    return kind == KIND_ENV ? ((env *)obj)->refcount : ((value *)obj)->refcount;
}

static void subtract_internal(void *child, unsigned char kind, void *ctx)
{
    (void)kind; (void)ctx;
    gc_entry *e = find(child);
    if (e) e->refs--;
}

typedef struct worklist { gc_entry **items; size_t n, cap; bool oom; } worklist;

static void push(worklist *w, gc_entry *e)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        gc_entry **x = realloc(w->items, cap * sizeof *x);
        if (!x) { w->oom = true; return; }
        w->items = x;
        w->cap = cap;
    }
    w->items[w->n++] = e;
}

static void mark_child(void *child, unsigned char kind, void *ctx)
{
    (void)kind;
    gc_entry *e = find(child);
    if (e && !e->reachable) { e->reachable = true; push(ctx, e); }
}

size_t gc_collect(void)
{
    if (collecting || !table_live) return 0;
    collecting = true;
    for (size_t i = 0; i < table_cap; i++) {
        gc_entry *e = &table[i];
        if (!e->obj || e->obj == TOMBSTONE) continue;
        e->refs = refcount_of(e->obj, e->kind);
        e->reachable = false;
    }
    for (size_t i = 0; i < table_cap; i++) {
        gc_entry *e = &table[i];
        if (e->obj && e->obj != TOMBSTONE) visit_children(e->obj, e->kind, subtract_internal, NULL);
    }
    worklist w = {0};
    for (size_t i = 0; i < table_cap; i++) {
        gc_entry *e = &table[i];
        if (e->obj && e->obj != TOMBSTONE && e->refs > 0 && !e->reachable) { e->reachable = true; push(&w, e); }
    }
    while (w.n && !w.oom) {
        gc_entry *e = w.items[--w.n];
        visit_children(e->obj, e->kind, mark_child, &w);
    }
    size_t freed = 0;
    if (!w.oom) {
        /* the garbage, held once more while its references are dropped */
        w.n = 0;
        for (size_t i = 0; i < table_cap; i++) {
            gc_entry *e = &table[i];
            if (e->obj && e->obj != TOMBSTONE && !e->reachable) push(&w, e);
        }
        if (!w.oom) {
            size_t n = w.n;
            void **objs = malloc((n ? n : 1) * sizeof *objs);
            unsigned char *kinds = malloc(n ? n : 1);
            if (objs && kinds) {
                for (size_t i = 0; i < n; i++) {
                    objs[i] = w.items[i]->obj;
                    kinds[i] = w.items[i]->kind;
                    if (kinds[i] == KIND_ENV) ((env *)objs[i])->refcount++;
                    else incref(objs[i]);
                }
                /* from here on the table may change (frees untrack) */
                for (size_t i = 0; i < n; i++) clear_references(objs[i], kinds[i]);
                for (size_t i = 0; i < n; i++) {
                    if (kinds[i] == KIND_ENV) env_release(objs[i]);
                    else decref(objs[i]);
                }
                freed = n;
            }
            free(objs);
            free(kinds);
        }
    }
    free(w.items);
    survivors = table_live;
    collecting = false;
    return freed;
}
