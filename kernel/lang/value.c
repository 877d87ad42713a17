/* kernel/lang/value.c — making values and letting them go: the constructors
 * (v_*), the shared immortal None/True/False/Ellipsis, and reference counting.
 *
 * Owns: value allocation, incref/decref and freeing (through a worklist, so a
 * deeply nested container is freed by a loop, never a C recursion).
 * Does not own: what values mean (the other value_* concept files: dict.c,
 * sequence.c, compare.c, repr.c, arith.c, subscript.c, format_spec.c,
 * kinds.c), the cycle collector (gc.c), raising errors (interp_error.c). */
#include "value.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc.h"
#include "lens/memory.h"
#include "value_internal.h"

bool lang_mem_take(size_t bytes, const char *what)
{
    lens_error e;
    if (!lens_mem_reserve(bytes, what, &e)) return true;
    lens_note_alloc_failure(&e);
    return false;
}

value *lang_mem_raise(interp *I)
{
    lens_error e;
    lens_fail_alloc(&e);
    return lang_raise(I, "MemoryError", "%s", e.msg);
}

value v_none_s = {.type = V_NONE, .refcount = -1};
value v_true_s = {.type = V_BOOL, .refcount = -1, .u.b = true};
value v_false_s = {.type = V_BOOL, .refcount = -1, .u.b = false};
value v_ellipsis_s = {.type = V_ELLIPSIS, .refcount = -1};

/* ---- constructors --------------------------------------------------------- */

static value *alloc_value(vtype t)
{
    value *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->type = t;
    v->refcount = 1;
    lang_gc_track_value(v);
    return v;
}

value *v_none(void) { return &v_none_s; }
value *v_bool(bool b) { return b ? &v_true_s : &v_false_s; }
value *v_int(int64_t i) { value *v = alloc_value(V_INT); if (v) v->u.i = i; return v; }
value *v_float(double f) { value *v = alloc_value(V_FLOAT); if (v) v->u.f = f; return v; }

value *v_strn(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (!c) return NULL;
    memcpy(c, s, n);
    c[n] = 0;
    return v_str_take(c, n);
}

value *v_str(const char *s) { return v_strn(s, strlen(s)); }

value *v_str_take(char *s, size_t n)
{
    if (!s) return NULL;
    if (!lang_mem_take(n + 1, "a string")) { free(s); return NULL; }
    value *v = alloc_value(V_STR);
    if (!v) { lens_mem_release(n + 1); free(s); return NULL; }
    v->u.str.s = s;
    v->u.str.len = n;
    return v;
}

value *v_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    return v_str_take(s, (size_t)n);
}

value *v_list(size_t cap)
{
    value *v = alloc_value(V_LIST);
    if (!v) return NULL;
    if (cap) {
        if (cap > SIZE_MAX / sizeof(value *) || !lang_mem_take(cap * sizeof(value *), "a list")) { lang_decref(v); return NULL; }
        v->u.list.cap = cap;   /* decref releases it */
        v->u.list.items = calloc(cap, sizeof(value *));
        if (!v->u.list.items) { lang_decref(v); return NULL; }
    }
    return v;
}

value *v_tuple(size_t n)
{
    value *v = alloc_value(V_TUPLE);
    if (!v) return NULL;
    if (n > SIZE_MAX / sizeof(value *) || !lang_mem_take(n * sizeof(value *), "a tuple")) { lang_decref(v); return NULL; }
    v->u.list.cap = n;   /* decref releases it */
    v->u.list.items = calloc(n ? n : 1, sizeof(value *));
    if (!v->u.list.items) { lang_decref(v); return NULL; }
    for (size_t i = 0; i < n; i++) v->u.list.items[i] = &v_none_s;
    v->u.list.n = v->u.list.cap = n;
    return v;
}

value *v_tuple_of(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    value *t = v_tuple((size_t)n);
    for (int i = 0; i < n; i++) {
        value *x = va_arg(ap, value *);
        if (t && x) lang_tuple_set(t, (size_t)i, x);
        else if (x) lang_decref(x);
        else if (t) { lang_decref(t); t = NULL; }
    }
    va_end(ap);
    return t;
}

value *v_dict(void)
{
    value *v = alloc_value(V_DICT);
    if (!v) return NULL;
    v->u.d = lang_dict_new();
    if (!v->u.d) { free(v); return NULL; }
    return v;
}

value *v_range(int64_t start, int64_t stop, int64_t step)
{
    value *v = alloc_value(V_RANGE);
    if (!v) return NULL;
    v->u.range.start = start;
    v->u.range.stop = stop;
    v->u.range.step = step;
    return v;
}

value *v_tensor(lens_tensor *t)
{
    if (!t) return NULL;
    value *v = alloc_value(V_TENSOR);
    if (!v) { lens_tensor_free(t); return NULL; }
    v->u.tensor.t = t;
    return v;
}

value *v_builtin(const lang_builtin *def, value *self)
{
    value *v = alloc_value(V_BUILTIN);
    if (!v) return NULL;
    v->u.builtin.def = def;
    v->u.builtin.self = self ? lang_incref(self) : NULL;
    return v;
}

value *v_object(const lang_type *type, void *data)
{
    value *v = alloc_value(V_OBJECT);
    if (!v) { if (type->free) type->free(data); return NULL; }
    v->u.obj.type = type;
    v->u.obj.data = data;
    lang_gc_track_value(v);   /* when the type holds values (visit) */
    return v;
}

/* Values whose count reached zero wait here, linked through their `tuple_class`
 * slot (unused once dead), so that freeing a deeply nested or long chain of
 * containers is a loop rather than a C recursion. */
static value *dead_values;
static bool freeing_values;

static void free_contents(value *v)
{
    switch (v->type) {
    case V_STR: free(v->u.str.s); lens_mem_release(v->u.str.len + 1); break;
    case V_LIST: case V_TUPLE:
        for (size_t i = 0; i < v->u.list.n; i++) lang_decref(v->u.list.items[i]);
        free(v->u.list.items);
        lens_mem_release(v->u.list.cap * sizeof(value *));
        break;
    case V_DICT: lang_dict_free(v->u.d); break;
    case V_SLICE: lang_decref(v->u.slice.start); lang_decref(v->u.slice.stop); lang_decref(v->u.slice.step); break;
    case V_TENSOR: lens_tensor_free(v->u.tensor.t); break;
    case V_BUILTIN: lang_decref(v->u.builtin.self); break;
    case V_OBJECT: if (v->u.obj.type->free) v->u.obj.type->free(v->u.obj.data); break;
    default: break;
    }
}

void lang_value_release(value *v)
{
    if (v->gc.next) lang_gc_untrack_value(v);
    v->tuple_class = (const lang_tuple_class *)(void *)dead_values;
    dead_values = v;
    if (freeing_values) return;
    freeing_values = true;
    while (dead_values) {
        value *d = dead_values;
        dead_values = (value *)(void *)d->tuple_class;
        free_contents(d);
        free(d);
    }
    freeing_values = false;
}
