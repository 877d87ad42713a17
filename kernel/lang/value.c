/* kernel/lang/value.c — values: constructors, reference counting, dicts,
 * repr/str, equality, hashing, arithmetic on numbers, strings and sequences,
 * indexing, and the format-spec mini-language. Tensor operations are
 * delegated to builtins_tensor.c; methods to methods.c; cycles to gc.c.
 *
 * Nothing here recurses without bound on user data: freeing goes through a
 * worklist, comparison and hashing stop at LANG_MAX_NESTING levels with a
 * RecursionError, repr prints a container met again as [...] / {...}. */
#include "value.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "builtins.h"
#include "code.h"
#include "gc.h"
#include "lens/checked.h"
#include "lens/memory.h"
#include "lens/tensor_ops.h"

/* Memory accounting: every string's bytes and list/tuple/dict array is reserved
 * against the session's memory limit (lens/memory.h) before it is allocated and
 * released when freed; a refusal is noted for mem_raise. (The fixed-size value
 * structs themselves are not counted: they are allocated in several files.) */
static bool mem_take(size_t bytes, const char *what)
{
    lens_error e;
    if (!lens_mem_reserve(bytes, what, &e)) return true;
    lens_note_alloc_failure(&e);
    return false;
}

/* MemoryError with the sizes of the last refusal ("out of memory" when none). */
static value *mem_raise(interp *I)
{
    lens_error e;
    lens_fail_alloc(&e);
    return lang_raise(I, "MemoryError", "%s", e.msg);
}

value v_none_s = {.type = V_NONE, .refcount = -1};
value v_true_s = {.type = V_BOOL, .refcount = -1, .u.b = true};
value v_false_s = {.type = V_BOOL, .refcount = -1, .u.b = false};
value v_ellipsis_s = {.type = V_ELLIPSIS, .refcount = -1};

volatile sig_atomic_t lang_interrupted;

value *lang_raise(interp *I, const char *ename, const char *fmt, ...)
{
    if (I->error) return NULL;
    I->error = true;
    snprintf(I->ename, sizeof I->ename, "%s", ename);
    va_list ap;
    va_start(ap, fmt);
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(I->emsg);
    I->emsg = strdup(buf);
    I->eline = I->ecol = 0;
    return NULL;
}

bool lang_check_interrupt(interp *I)
{
    /* the evaluator's safe points: a cycle collection runs here when one is due */
    if (gc_collection_due()) gc_collect();
    if (!lang_interrupted) return false;
    lang_interrupted = 0;
    lang_raise(I, "KeyboardInterrupt", "interrupted");
    return true;
}

void lang_clear_error(interp *I)
{
    I->error = false;
    I->ename[0] = 0;
    free(I->emsg);
    I->emsg = NULL;
    I->eline = I->ecol = 0;
    decref(I->exc);
    I->exc = NULL;
    for (int i = 0; i < I->n_frames; i++) {
        lang_code_release(I->frames[i].code);
        free(I->frames[i].name);
    }
    free(I->frames);
    I->frames = NULL;
    I->n_frames = 0;
}

/* ---- constructors --------------------------------------------------------- */

static value *alloc_value(vtype t)
{
    value *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->type = t;
    v->refcount = 1;
    gc_track_value(v);
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
    if (!mem_take(n + 1, "a string")) { free(s); return NULL; }
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
        if (cap > SIZE_MAX / sizeof(value *) || !mem_take(cap * sizeof(value *), "a list")) { decref(v); return NULL; }
        v->u.list.cap = cap;   /* decref releases it */
        v->u.list.items = calloc(cap, sizeof(value *));
        if (!v->u.list.items) { decref(v); return NULL; }
    }
    return v;
}

value *v_tuple(size_t n)
{
    value *v = alloc_value(V_TUPLE);
    if (!v) return NULL;
    if (n > SIZE_MAX / sizeof(value *) || !mem_take(n * sizeof(value *), "a tuple")) { decref(v); return NULL; }
    v->u.list.cap = n;   /* decref releases it */
    v->u.list.items = calloc(n ? n : 1, sizeof(value *));
    if (!v->u.list.items) { decref(v); return NULL; }
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
        if (t && x) tuple_set(t, (size_t)i, x);
        else if (x) decref(x);
        else if (t) { decref(t); t = NULL; }
    }
    va_end(ap);
    return t;
}

value *v_dict(void)
{
    value *v = alloc_value(V_DICT);
    if (!v) return NULL;
    v->u.d = dict_new();
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
    v->u.builtin.self = self ? incref(self) : NULL;
    return v;
}

value *v_object(const lang_type *type, void *data)
{
    value *v = alloc_value(V_OBJECT);
    if (!v) { if (type->free) type->free(data); return NULL; }
    v->u.obj.type = type;
    v->u.obj.data = data;
    gc_track_value(v);   /* when the type holds values (visit) */
    return v;
}

value *incref(value *v)
{
    if (v && v->refcount >= 0) v->refcount++;
    return v;
}

/* Values whose count reached zero wait here, linked through their `fields`
 * slot (unused once dead), so that freeing a deeply nested or long chain of
 * containers is a loop rather than a C recursion. */
static value *dead_values;
static bool freeing_values;

static void free_contents(value *v)
{
    switch (v->type) {
    case V_STR: free(v->u.str.s); lens_mem_release(v->u.str.len + 1); break;
    case V_LIST: case V_TUPLE:
        for (size_t i = 0; i < v->u.list.n; i++) decref(v->u.list.items[i]);
        free(v->u.list.items);
        lens_mem_release(v->u.list.cap * sizeof(value *));
        break;
    case V_DICT: dict_free(v->u.d); break;
    case V_SLICE: decref(v->u.slice.start); decref(v->u.slice.stop); decref(v->u.slice.step); break;
    case V_TENSOR: lens_tensor_free(v->u.tensor.t); break;
    case V_BUILTIN: decref(v->u.builtin.self); break;
    case V_OBJECT: if (v->u.obj.type->free) v->u.obj.type->free(v->u.obj.data); break;
    default: break;
    }
}

void decref(value *v)
{
    if (!v || v->refcount < 0) return;
    if (--v->refcount > 0) return;
    if (v->gc.next) gc_untrack_value(v);
    v->fields = (const char *const *)(void *)dead_values;
    dead_values = v;
    if (freeing_values) return;
    freeing_values = true;
    while (dead_values) {
        value *d = dead_values;
        dead_values = (value *)(void *)d->fields;
        free_contents(d);
        free(d);
    }
    freeing_values = false;
}

int list_append(value *list, value *item)
{
    if (!item) return -1;
    if (list->u.list.n == list->u.list.cap) {
        size_t cap = list->u.list.cap ? list->u.list.cap * 2 : 4;
        size_t more = (cap - list->u.list.cap) * sizeof(value *);
        if (!mem_take(more, "a list")) { decref(item); return -1; }
        value **items = realloc(list->u.list.items, cap * sizeof *items);
        if (!items) { lens_mem_release(more); decref(item); return -1; }
        list->u.list.items = items;
        list->u.list.cap = cap;
    }
    list->u.list.items[list->u.list.n++] = item;
    return 0;
}

void tuple_set(value *tup, size_t i, value *item)
{
    decref(tup->u.list.items[i]);
    tup->u.list.items[i] = item;
}

/* ---- dict: insertion-ordered entries + open-addressing index ------------- */

typedef struct dentry { value *key, *val; uint64_t hash; } dentry;

struct dict {
    dentry *e;
    size_t n, cap;      /* entries used (including deleted holes), allocated */
    size_t live;
    int64_t *index;     /* -1 empty, else entry position */
    size_t icap;        /* power of two */
};

dict *dict_new(void) { return calloc(1, sizeof(dict)); }

void dict_clear(dict *d)
{
    /* detached first: the decrefs below never see a half-emptied dict */
    dentry *e = d->e;
    size_t n = d->n;
    free(d->index);
    lens_mem_release(d->cap * sizeof(dentry) + d->icap * sizeof(int64_t));
    memset(d, 0, sizeof *d);
    for (size_t i = 0; i < n; i++) { decref(e[i].key); decref(e[i].val); }
    free(e);
}

void dict_free(dict *d)
{
    if (!d) return;
    dict_clear(d);
    free(d);
}

size_t dict_len(const dict *d) { return d->live; }

static int dict_reindex(dict *d, size_t icap)
{
    /* compact holes first */
    size_t j = 0;
    for (size_t i = 0; i < d->n; i++) if (d->e[i].key) d->e[j++] = d->e[i];
    d->n = j;
    if (!mem_take(icap * sizeof(int64_t), "a dict")) return -1;
    int64_t *idx = malloc(icap * sizeof *idx);
    if (!idx) { lens_mem_release(icap * sizeof(int64_t)); return -1; }
    for (size_t i = 0; i < icap; i++) idx[i] = -1;
    for (size_t i = 0; i < d->n; i++) {
        size_t h = d->e[i].hash & (icap - 1);
        while (idx[h] >= 0) h = (h + 1) & (icap - 1);
        idx[h] = (int64_t)i;
    }
    free(d->index);
    lens_mem_release(d->icap * sizeof(int64_t));
    d->index = idx;
    d->icap = icap;
    return 0;
}

static int64_t dict_find(const dict *d, value *key, uint64_t h, size_t *slot)
{
    if (!d->icap) return -1;
    size_t s = h & (d->icap - 1);
    while (d->index[s] >= 0) {
        dentry *e = &d->e[d->index[s]];
        /* identity first, as Python: a NaN key finds itself */
        if (e->key && e->hash == h && (e->key == key || values_equal(NULL, e->key, key) == 1)) {
            if (slot) *slot = s;
            return d->index[s];
        }
        s = (s + 1) & (d->icap - 1);
    }
    if (slot) *slot = s;
    return -1;
}

value *dict_get(dict *d, value *key)
{
    int64_t i = dict_find(d, key, value_hash(key), NULL);
    return i >= 0 ? d->e[i].val : NULL;
}

value *dict_get_str(dict *d, const char *key)
{
    value k = {.type = V_STR, .refcount = -1};
    k.u.str.s = (char *)key;
    k.u.str.len = strlen(key);
    return dict_get(d, &k);
}

value **dict_slot_str(dict *d, const char *key, size_t len, size_t *hint)
{
    if (*hint < d->n) {
        dentry *e = &d->e[*hint];
        if (e->key && e->key->type == V_STR && e->key->u.str.len == len && !memcmp(e->key->u.str.s, key, len))
            return &e->val;
    }
    value k = {.type = V_STR, .refcount = -1};
    k.u.str.s = (char *)key;
    k.u.str.len = len;
    int64_t i = dict_find(d, &k, value_hash(&k), NULL);
    if (i < 0) return NULL;
    *hint = (size_t)i;
    return &d->e[i].val;
}

static int dict_insert(dict *d, value *key, value *val)
{
    /* key and val: references owned by the caller are transferred */
    uint64_t h = value_hash(key);
    int64_t i = dict_find(d, key, h, NULL);
    if (i >= 0) {
        decref(d->e[i].val);
        d->e[i].val = val;
        decref(key);
        return 0;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        if (!mem_take((cap - d->cap) * sizeof(dentry), "a dict")) { decref(key); decref(val); return -1; }
        dentry *e = realloc(d->e, cap * sizeof *e);
        if (!e) { lens_mem_release((cap - d->cap) * sizeof *e); decref(key); decref(val); return -1; }
        d->e = e;
        d->cap = cap;
    }
    if ((d->n + 1) * 2 > d->icap) {
        if (dict_reindex(d, d->icap ? d->icap * 2 : 16)) { decref(key); decref(val); return -1; }
        if (d->n == d->cap) return dict_insert(d, key, val);
    }
    size_t slot;
    dict_find(d, key, h, &slot);
    d->e[d->n] = (dentry){key, val, h};
    d->index[slot] = (int64_t)d->n;
    d->n++;
    d->live++;
    return 0;
}

int dict_set(interp *I, dict *d, value *key, value *val)
{
    if (!hashable(key)) {
        if (I) check_hashable(I, key);
        return -1;
    }
    return dict_insert(d, incref(key), incref(val));
}

int dict_set_str(dict *d, const char *key, value *val)
{
    if (!val) return -1;
    value *k = v_str(key);
    if (!k) { decref(val); return -1; }
    return dict_insert(d, k, val);
}

int dict_del(dict *d, value *key)
{
    int64_t i = dict_find(d, key, value_hash(key), NULL);
    if (i < 0) return -1;
    decref(d->e[i].key);
    decref(d->e[i].val);
    d->e[i].key = d->e[i].val = NULL;
    d->live--;
    return dict_reindex(d, d->icap);
}

bool dict_next(const dict *d, size_t *i, value **key, value **val)
{
    while (*i < d->n) {
        dentry *e = &d->e[(*i)++];
        if (e->key) {
            if (key) *key = e->key;
            if (val) *val = e->val;
            return true;
        }
    }
    return false;
}

/* ---- type names, truth, hashing ---------------------------------------- */

const char *type_name(const value *v)
{
    switch (v->type) {
    case V_NONE: return "NoneType";
    case V_BOOL: return "bool";
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_STR: return "str";
    case V_LIST: return "list";
    case V_TUPLE: return "tuple";
    case V_DICT: return "dict";
    case V_RANGE: return "range";
    case V_SLICE: return "slice";
    case V_TENSOR: return "Tensor";
    case V_BUILTIN: return v->u.builtin.self ? "method" : "builtin_function";
    case V_OBJECT: return v->u.obj.type->name;
    case V_ELLIPSIS: return "ellipsis";
    }
    return "?";
}

bool is_number(const value *v) { return v->type == V_BOOL || v->type == V_INT || v->type == V_FLOAT; }

double num_as_double(const value *v)
{
    return v->type == V_FLOAT ? v->u.f : v->type == V_INT ? (double)v->u.i : v->u.b ? 1.0 : 0.0;
}

static int64_t num_as_int(const value *v) { return v->type == V_INT ? v->u.i : v->u.b ? 1 : 0; }

int truthy(interp *I, value *v)
{
    switch (v->type) {
    case V_NONE: return 0;
    case V_BOOL: return v->u.b;
    case V_INT: return v->u.i != 0;
    case V_FLOAT: return v->u.f != 0;
    case V_STR: return v->u.str.len != 0;
    case V_LIST: case V_TUPLE: return v->u.list.n != 0;
    case V_DICT: return dict_len(v->u.d) != 0;
    case V_RANGE: { int64_t n = length_of(I, v); return n < 0 ? -1 : n > 0; }
    case V_TENSOR: {
        if (lens_tensor_numel(v->u.tensor.t) != 1) {
            lang_raise(I, "RuntimeError", "Boolean value of Tensor with more than one value is ambiguous");
            return -1;
        }
        value *x = tensor_item(I, v->u.tensor.t);
        if (!x) return -1;
        int r = truthy(I, x);
        decref(x);
        return r;
    }
    case V_OBJECT:
        if (v->u.obj.type->len) return v->u.obj.type->len(v) != 0;
        return 1;
    default: return 1;
    }
}

/* 1 hashable, 0 not (*bad: the unhashable part), -1 nested deeper than LANG_MAX_NESTING */
static int hashable_at(const value *v, int depth, const value **bad)
{
    switch (v->type) {
    case V_NONE: case V_BOOL: case V_INT: case V_FLOAT: case V_STR: case V_ELLIPSIS: return 1;
    case V_TUPLE:
        if (depth >= LANG_MAX_NESTING) return -1;
        for (size_t i = 0; i < v->u.list.n; i++) {
            int r = hashable_at(v->u.list.items[i], depth + 1, bad);
            if (r != 1) return r;
        }
        return 1;
    default: *bad = v; return 0;
    }
}

bool hashable(const value *v) { const value *bad; return hashable_at(v, 0, &bad) == 1; }

int check_hashable(interp *I, value *key)
{
    const value *bad = key;
    int r = hashable_at(key, 0, &bad);
    if (r == 1) return 0;
    if (r < 0) lang_raise(I, "RecursionError", "maximum recursion depth exceeded while hashing a nested tuple");
    else lang_raise(I, "TypeError", "unhashable type: '%s'", type_name(bad));
    return -1;
}

static uint64_t hash_at(const value *v, int depth)
{
    uint64_t h = 1469598103934665603ULL;
    switch (v->type) {
    case V_NONE: return 0x9e3779b97f4a7c15ULL;
    case V_BOOL: case V_INT: case V_FLOAT: {
        double d = num_as_double(v);
        /* equal numbers hash alike: an integral float hashes as its int */
        if (v->type == V_FLOAT && (d != floor(d) || !(fabs(d) < 9.2e18))) {
            uint64_t b;
            memcpy(&b, &d, sizeof b);
            return b * 0x9e3779b97f4a7c15ULL;
        }
        int64_t i = v->type == V_FLOAT ? (int64_t)d : num_as_int(v);
        return (uint64_t)i * 0x9e3779b97f4a7c15ULL;
    }
    case V_STR:
        for (size_t i = 0; i < v->u.str.len; i++) { h ^= (unsigned char)v->u.str.s[i]; h *= 1099511628211ULL; }
        return h;
    case V_TUPLE:
        /* keys are never nested deeper (check_hashable); the bound keeps this total */
        if (depth >= LANG_MAX_NESTING) return h;
        for (size_t i = 0; i < v->u.list.n; i++) { h ^= hash_at(v->u.list.items[i], depth + 1); h *= 1099511628211ULL; }
        return h;
    default: return (uint64_t)(uintptr_t)v;
    }
}

uint64_t value_hash(const value *v) { return hash_at(v, 0); }

/* ---- repr -------------------------------------------------------------- */

typedef struct sbuf { char *s; size_t n, cap; bool oom; } sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *x = realloc(b->s, cap);
        if (!x) { b->oom = true; return; }
        b->s = x;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}
static void sb_puts(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static char *sb_done(sbuf *b)
{
    if (b->oom) { free(b->s); return NULL; }
    if (!b->s) return strdup("");
    return b->s;
}

char *float_repr(double d)
{
    char buf[64];
    if (isnan(d)) return strdup("nan");
    if (isinf(d)) return strdup(d > 0 ? "inf" : "-inf");
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    /* buf = [-]D.DDDDe[+-]XX: digits and exponent */
    char digits[32];
    int nd = 0, exp10;
    bool neg = buf[0] == '-';
    char *p = buf + (neg ? 1 : 0);
    for (; *p && *p != 'e'; p++) if (isdigit((unsigned char)*p)) digits[nd++] = *p;
    exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    sbuf b = {0};
    if (neg) sb_puts(&b, "-");
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            sb_puts(&b, "0.");
            for (int i = 0; i < -exp10 - 1; i++) sb_puts(&b, "0");
            sb_add(&b, digits, (size_t)nd);
        } else if (nd <= exp10 + 1) {
            sb_add(&b, digits, (size_t)nd);
            for (int i = nd; i <= exp10; i++) sb_puts(&b, "0");
            sb_puts(&b, ".0");
        } else {
            sb_add(&b, digits, (size_t)exp10 + 1);
            sb_puts(&b, ".");
            sb_add(&b, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
        }
    } else {
        sb_add(&b, digits, 1);
        if (nd > 1) { sb_puts(&b, "."); sb_add(&b, digits + 1, (size_t)nd - 1); }
        char e[16];
        snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
        sb_puts(&b, e);
    }
    return sb_done(&b);
}

static void str_repr_into(sbuf *b, const char *s, size_t n)
{
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    sb_add(b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        if (c == '\\') sb_puts(b, "\\\\");
        else if (c == (unsigned char)q) { tmp[0] = '\\'; tmp[1] = (char)c; sb_add(b, tmp, 2); }
        else if (c == '\n') sb_puts(b, "\\n");
        else if (c == '\t') sb_puts(b, "\\t");
        else if (c == '\r') sb_puts(b, "\\r");
        else if (c < 0x20 || c == 0x7f) { snprintf(tmp, sizeof tmp, "\\x%02x", c); sb_puts(b, tmp); }
        else sb_add(b, (const char *)&c, 1);
    }
    sb_add(b, &q, 1);
}

/* The containers being printed, outermost first: one met again is a cycle and
 * prints as [...] / {...} / (...), as in Python; past LANG_MAX_NESTING levels
 * the rest prints as "...". */
typedef struct repr_path { value *open[LANG_MAX_NESTING + 1]; int n; } repr_path;

static void repr_into(sbuf *b, value *v, repr_path *path);

static void seq_repr_into(sbuf *b, value *v, repr_path *path, const char *open, const char *close)
{
    sb_puts(b, open);
    for (size_t i = 0; i < v->u.list.n; i++) {
        if (i) sb_puts(b, ", ");
        if (v->fields && v->fields[i]) { sb_puts(b, v->fields[i]); sb_puts(b, "="); }
        repr_into(b, v->u.list.items[i], path);
    }
    if (v->type == V_TUPLE && v->u.list.n == 1 && !v->fields) sb_puts(b, ",");
    sb_puts(b, close);
}

/* Enters container v: false (and its cycle mark printed) when it is already open. */
static bool repr_enter(sbuf *b, value *v, repr_path *path)
{
    for (int i = 0; i < path->n; i++)
        if (path->open[i] == v) {
            sb_puts(b, v->type == V_DICT ? "{...}" : v->type == V_LIST ? "[...]" : "(...)");
            return false;
        }
    if (path->n >= LANG_MAX_NESTING) { sb_puts(b, "..."); return false; }
    path->open[path->n++] = v;
    return true;
}

static void repr_into(sbuf *b, value *v, repr_path *path)
{
    char tmp[64];
    bool container = v->type == V_LIST || v->type == V_TUPLE || v->type == V_DICT;
    if (container && !repr_enter(b, v, path)) return;
    switch (v->type) {
    case V_NONE: sb_puts(b, "None"); break;
    case V_BOOL: sb_puts(b, v->u.b ? "True" : "False"); break;
    case V_INT: snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i); sb_puts(b, tmp); break;
    case V_FLOAT: { char *f = float_repr(v->u.f); if (f) sb_puts(b, f); free(f); break; }
    case V_STR: str_repr_into(b, v->u.str.s, v->u.str.len); break;
    case V_LIST: seq_repr_into(b, v, path, "[", "]"); break;
    case V_TUPLE:
        if (v->fields) { sb_puts(b, "topk"); seq_repr_into(b, v, path, "(", ")"); }
        else seq_repr_into(b, v, path, "(", ")");
        break;
    case V_DICT: {
        sb_puts(b, "{");
        size_t i = 0;
        value *k, *x;
        bool first = true;
        while (dict_next(v->u.d, &i, &k, &x)) {
            if (!first) sb_puts(b, ", ");
            first = false;
            repr_into(b, k, path);
            sb_puts(b, ": ");
            repr_into(b, x, path);
        }
        sb_puts(b, "}");
        break;
    }
    case V_RANGE:
        if (v->u.range.step == 1) snprintf(tmp, sizeof tmp, "range(%lld, %lld)", (long long)v->u.range.start, (long long)v->u.range.stop);
        else snprintf(tmp, sizeof tmp, "range(%lld, %lld, %lld)", (long long)v->u.range.start, (long long)v->u.range.stop, (long long)v->u.range.step);
        sb_puts(b, tmp);
        break;
    case V_SLICE:
        sb_puts(b, "slice(");
        repr_into(b, v->u.slice.start, path); sb_puts(b, ", ");
        repr_into(b, v->u.slice.stop, path); sb_puts(b, ", ");
        repr_into(b, v->u.slice.step, path); sb_puts(b, ")");
        break;
    case V_TENSOR: { char *s = tensor_repr(v->u.tensor.t); if (s) sb_puts(b, s); else b->oom = true; free(s); break; }
    case V_BUILTIN:
        if (v->u.builtin.self) { sb_puts(b, "<method "); sb_puts(b, v->u.builtin.def->name); sb_puts(b, ">"); }
        else { sb_puts(b, "<builtin "); sb_puts(b, v->u.builtin.def->name); sb_puts(b, ">"); }
        break;
    case V_ELLIPSIS: sb_puts(b, "Ellipsis"); break;
    case V_OBJECT:
        if (v->u.obj.type->repr) { char *s = v->u.obj.type->repr(v); if (s) sb_puts(b, s); free(s); }
        else { sb_puts(b, "<"); sb_puts(b, v->u.obj.type->name); sb_puts(b, ">"); }
        break;
    }
    if (container) path->n--;
}

/* The path of the repr running on this thread: an object's repr hook that
 * calls repr_of on what it holds continues it, so a cycle through an object
 * (an exception whose args hold it) still ends in [...]. */
static _Thread_local repr_path *active_repr_path;

char *repr_of(value *v)
{
    repr_path *outer = active_repr_path;
    repr_path *path = outer ? outer : calloc(1, sizeof *path);
    if (!path) return NULL;
    active_repr_path = path;
    sbuf b = {0};
    repr_into(&b, v, path);
    active_repr_path = outer;
    if (!outer) free(path);
    return sb_done(&b);
}

char *str_of(value *v)
{
    if (v->type == V_STR) {
        char *s = malloc(v->u.str.len + 1);
        if (s) memcpy(s, v->u.str.s, v->u.str.len + 1);
        return s;
    }
    if (v->type == V_OBJECT && v->u.obj.type->str) return v->u.obj.type->str(v);
    return repr_of(v);
}

/* ---- equality and ordering --------------------------------------------- */

static int too_deep_to_compare(interp *I)
{
    if (I) lang_raise(I, "RecursionError", "maximum recursion depth exceeded in comparison");
    return -1;
}

static int equal_at(interp *I, value *a, value *b, int depth)
{
    if (a == b && a->type != V_FLOAT) return 1;
    if (is_number(a) && is_number(b)) {
        if (a->type == V_FLOAT || b->type == V_FLOAT) return num_as_double(a) == num_as_double(b);
        return num_as_int(a) == num_as_int(b);
    }
    if (a->type != b->type) {
        if ((a->type == V_LIST || a->type == V_TUPLE) && (b->type == V_LIST || b->type == V_TUPLE)) return 0;
        return 0;
    }
    switch (a->type) {
    case V_NONE: case V_ELLIPSIS: return 1;
    case V_STR: return a->u.str.len == b->u.str.len && !memcmp(a->u.str.s, b->u.str.s, a->u.str.len);
    case V_LIST: case V_TUPLE:
        if (a->u.list.n != b->u.list.n) return 0;
        if (depth >= LANG_MAX_NESTING) return too_deep_to_compare(I);
        for (size_t i = 0; i < a->u.list.n && i < b->u.list.n; i++) {
            int r = equal_at(I, a->u.list.items[i], b->u.list.items[i], depth + 1);
            if (r != 1) return r;
        }
        return a->u.list.n == b->u.list.n;
    case V_DICT: {
        if (dict_len(a->u.d) != dict_len(b->u.d)) return 0;
        if (depth >= LANG_MAX_NESTING) return too_deep_to_compare(I);
        size_t i = 0;
        value *k, *x;
        while (dict_next(a->u.d, &i, &k, &x)) {
            value *y = dict_get(b->u.d, k);
            if (!y) return 0;
            int r = equal_at(I, x, y, depth + 1);
            if (r != 1) return r;
        }
        return 1;
    }
    case V_RANGE:
        return a->u.range.start == b->u.range.start && a->u.range.stop == b->u.range.stop &&
               a->u.range.step == b->u.range.step;
    case V_BUILTIN: return a->u.builtin.def == b->u.builtin.def && a->u.builtin.self == b->u.builtin.self;
    case V_OBJECT: return a->u.obj.data == b->u.obj.data;
    default: return 0;
    }
}

int values_equal(interp *I, value *a, value *b) { return equal_at(I, a, b, 0); }

static int compare_at(interp *I, value *a, value *b, int cmp, int depth)
{
    int c; /* -1, 0, 1 */
    if (is_number(a) && is_number(b)) {
        if (a->type == V_FLOAT || b->type == V_FLOAT) {
            double x = num_as_double(a), y = num_as_double(b);
            if (isnan(x) || isnan(y)) return 0;
            c = x < y ? -1 : x > y;
        } else {
            int64_t x = num_as_int(a), y = num_as_int(b);
            c = x < y ? -1 : x > y;
        }
    } else if (a->type == V_STR && b->type == V_STR) {
        size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
        int r = memcmp(a->u.str.s, b->u.str.s, n);
        c = r ? (r < 0 ? -1 : 1) : (a->u.str.len < b->u.str.len ? -1 : a->u.str.len > b->u.str.len);
    } else if (a->type == b->type && (a->type == V_LIST || a->type == V_TUPLE)) {
        if (depth >= LANG_MAX_NESTING) return too_deep_to_compare(I);
        size_t i;
        for (i = 0; i < a->u.list.n && i < b->u.list.n; i++) {
            int e = equal_at(I, a->u.list.items[i], b->u.list.items[i], depth + 1);
            if (e < 0) return -1;
            if (!e) return compare_at(I, a->u.list.items[i], b->u.list.items[i], cmp, depth + 1);
        }
        c = a->u.list.n < b->u.list.n ? -1 : a->u.list.n > b->u.list.n;
    } else {
        static const char *const sym[] = {"<", ">", "<=", ">="};
        lang_raise(I, "TypeError", "'%s' not supported between instances of '%s' and '%s'",
                   sym[cmp], type_name(a), type_name(b));
        return -1;
    }
    switch (cmp) {
    case CMP_LT: return c < 0;
    case CMP_GT: return c > 0;
    case CMP_LE: return c <= 0;
    default: return c >= 0;
    }
}

int values_compare(interp *I, value *a, value *b, int cmp) { return compare_at(I, a, b, cmp, 0); }

/* ---- arithmetic ---------------------------------------------------------- */

static value *int_pow(interp *I, int64_t base, int64_t e)
{
    if (e < 0) {
        if (base == 0) return lang_raise(I, "ZeroDivisionError", "0.0 cannot be raised to a negative power");
        return v_float(pow((double)base, (double)e));
    }
    int64_t r = 1;
    while (e > 0) {
        if (e & 1) {
            if (__builtin_mul_overflow(r, base, &r)) goto overflow;
        }
        e >>= 1;
        if (e && __builtin_mul_overflow(base, base, &base)) goto overflow;
    }
    return v_int(r);
overflow:
    return lang_raise(I, "OverflowError", "integer result too large (lens integers are 64-bit; use a float)");
}

static value *number_op(interp *I, int op, value *a, value *b)
{
    bool fl = a->type == V_FLOAT || b->type == V_FLOAT;
    if (op == OP_DIV) {
        double y = num_as_double(b);
        if (y == 0) return lang_raise(I, "ZeroDivisionError", "division by zero");
        return v_float(num_as_double(a) / y);
    }
    if (fl) {
        double x = num_as_double(a), y = num_as_double(b);
        switch (op) {
        case OP_ADD: return v_float(x + y);
        case OP_SUB: return v_float(x - y);
        case OP_MUL: return v_float(x * y);
        case OP_FLOORDIV:
            if (y == 0) return lang_raise(I, "ZeroDivisionError", "float floor division by zero");
            return v_float(floor(x / y));
        case OP_MOD: {
            if (y == 0) return lang_raise(I, "ZeroDivisionError", "float modulo");
            double m = fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0))) m += y;
            return v_float(m);
        }
        case OP_POW:
            if (x == 0 && y < 0) return lang_raise(I, "ZeroDivisionError", "0.0 cannot be raised to a negative power");
            if (x < 0 && y != floor(y)) return lang_raise(I, "ValueError", "negative number cannot be raised to a fractional power (complex numbers are not supported)");
            return v_float(pow(x, y));
        default: break;
        }
        return NULL;
    }
    int64_t x = num_as_int(a), y = num_as_int(b), r;
    switch (op) {
    case OP_ADD: if (__builtin_add_overflow(x, y, &r)) goto overflow; return v_int(r);
    case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) goto overflow; return v_int(r);
    case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) goto overflow; return v_int(r);
    case OP_FLOORDIV: case OP_MOD: {
        if (y == 0) return lang_raise(I, "ZeroDivisionError", "integer division or modulo by zero");
        if (y == -1) { if (op == OP_MOD) return v_int(0); if (x == INT64_MIN) goto overflow; }
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) { q--; m += y; }
        return v_int(op == OP_FLOORDIV ? q : m);
    }
    case OP_POW: return int_pow(I, x, y);
    case OP_AND: return a->type == V_BOOL && b->type == V_BOOL ? v_bool(x & y) : v_int(x & y);
    case OP_OR: return a->type == V_BOOL && b->type == V_BOOL ? v_bool(x | y) : v_int(x | y);
    case OP_XOR: return a->type == V_BOOL && b->type == V_BOOL ? v_bool(x ^ y) : v_int(x ^ y);
    case OP_LSHIFT: {
        if (y < 0) return lang_raise(I, "ValueError", "negative shift count");
        if (x == 0) return v_int(0);
        /* x * 2**y must fit: shift the magnitude as unsigned, then check */
        if (y == 63 && x == -1) return v_int(INT64_MIN);
        if (y >= 63) goto overflow;
        int64_t p = (int64_t)1 << y;
        if (__builtin_mul_overflow(x, p, &r)) goto overflow;
        return v_int(r);
    }
    case OP_RSHIFT:
        if (y < 0) return lang_raise(I, "ValueError", "negative shift count");
        return v_int(y >= 64 ? (x < 0 ? -1 : 0) : x >> y);
    default: return NULL;
    }
overflow:
    return lang_raise(I, "OverflowError", "integer result too large (lens integers are 64-bit; use a float)");
}

static value *seq_repeat(interp *I, value *seq, int64_t n)
{
    if (n < 0) n = 0;
    /* an empty sequence stays empty however many times it is repeated */
    if ((seq->type == V_STR ? seq->u.str.len : seq->u.list.n) == 0) n = 0;
    if (seq->type == V_STR) {
        size_t len = seq->u.str.len, total;
        if (!lens_mul_size(len, (size_t)n, &total) || total >= SIZE_MAX / 2)
            return lang_raise(I, "MemoryError", "a string of %zu * %lld bytes is too large", len, (long long)n);
        if (!mem_take(total + 1, "a string")) return mem_raise(I);   /* checked before malloc */
        lens_mem_release(total + 1);                                  /* v_str_take counts it */
        char *s = malloc(total + 1);
        if (!s) return lang_raise(I, "MemoryError", "out of memory");
        for (int64_t i = 0; i < n; i++) memcpy(s + (size_t)i * len, seq->u.str.s, len);
        s[len * (size_t)n] = 0;
        return v_str_take(s, len * (size_t)n);
    }
    size_t len = seq->u.list.n, total;
    if (!lens_mul_size(len, (size_t)n, &total) || total > SIZE_MAX / sizeof(value *))
        return lang_raise(I, "MemoryError", "a %s of %zu * %lld items is too large", type_name(seq), len, (long long)n);
    value *r = seq->type == V_LIST ? v_list(total) : v_tuple(total);
    if (!r) return mem_raise(I);
    for (int64_t i = 0; i < n; i++)
        for (size_t j = 0; j < len; j++) {
            if (((size_t)i * len + j) % 4096 == 4095 && lang_check_interrupt(I)) { decref(r); return NULL; }
            if (seq->type == V_LIST) r->u.list.items[r->u.list.n++] = incref(seq->u.list.items[j]);
            else tuple_set(r, (size_t)i * len + j, incref(seq->u.list.items[j]));
        }
    return r;
}

char *percent_format(interp *I, const char *fmt, size_t n, value *args);   /* methods.c */

value *binary_op(interp *I, int op, value *a, value *b)
{
    if (a->type == V_TENSOR || b->type == V_TENSOR) return tensor_binary(I, op, a, b);
    if (is_number(a) && is_number(b) && op != OP_MATMUL) {
        if ((op == OP_AND || op == OP_OR || op == OP_XOR || op == OP_LSHIFT || op == OP_RSHIFT) &&
            (a->type == V_FLOAT || b->type == V_FLOAT))
            goto unsupported;
        value *r = number_op(I, op, a, b);
        if (!r && !I->error) return lang_raise(I, "MemoryError", "out of memory");
        return r;
    }
    if (op == OP_ADD && a->type == b->type) {
        if (a->type == V_STR) {
            size_t n = a->u.str.len + b->u.str.len;
            if (!mem_take(n + 1, "a string")) return mem_raise(I);   /* checked before malloc */
            lens_mem_release(n + 1);                                  /* v_str_take counts it */
            char *s = malloc(n + 1);
            if (!s) return lang_raise(I, "MemoryError", "out of memory");
            memcpy(s, a->u.str.s, a->u.str.len);
            memcpy(s + a->u.str.len, b->u.str.s, b->u.str.len + 1);
            return v_str_take(s, n);
        }
        if (a->type == V_LIST || a->type == V_TUPLE) {
            size_t n = a->u.list.n + b->u.list.n;
            value *r = a->type == V_LIST ? v_list(n) : v_tuple(n);
            if (!r) return mem_raise(I);
            for (size_t i = 0; i < n; i++) {
                value *x = incref(i < a->u.list.n ? a->u.list.items[i] : b->u.list.items[i - a->u.list.n]);
                if (a->type == V_LIST) r->u.list.items[r->u.list.n++] = x;
                else tuple_set(r, i, x);
            }
            return r;
        }
    }
    if (op == OP_MUL) {
        value *seq = (a->type == V_STR || a->type == V_LIST || a->type == V_TUPLE) ? a : b;
        value *cnt = seq == a ? b : a;
        if ((seq->type == V_STR || seq->type == V_LIST || seq->type == V_TUPLE) &&
            (cnt->type == V_INT || cnt->type == V_BOOL))
            return seq_repeat(I, seq, num_as_int(cnt));
    }
    if (op == OP_MOD && a->type == V_STR) {
        char *s = percent_format(I, a->u.str.s, a->u.str.len, b);
        return s ? v_str_take(s, strlen(s)) : NULL;
    }
    if (op == OP_OR && a->type == V_DICT && b->type == V_DICT) {
        value *r = v_dict();
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        for (int k = 0; k < 2; k++) {
            size_t i = 0;
            value *key, *val;
            while (dict_next((k ? b : a)->u.d, &i, &key, &val)) dict_set(I, r->u.d, key, val);
        }
        return r;
    }
unsupported:
    return lang_raise(I, "TypeError", "unsupported operand type(s) for %s: '%s' and '%s'",
                      binop_symbol(op), type_name(a), type_name(b));
}

value *unary_op(interp *I, int op, value *a)
{
    if (op == 'n') {
        int t = truthy(I, a);
        return t < 0 ? NULL : v_bool(!t);
    }
    if (a->type == V_TENSOR) return tensor_unary(I, op, a);
    if (a->type == V_FLOAT) {
        if (op == '-') return v_float(-a->u.f);
        if (op == '+') return v_float(a->u.f);
    } else if (a->type == V_INT || a->type == V_BOOL) {
        int64_t x = num_as_int(a);
        if (op == '-') {
            if (x == INT64_MIN) return lang_raise(I, "OverflowError", "integer result too large");
            return v_int(-x);
        }
        if (op == '+') return v_int(x);
        if (op == '~') return v_int(~x);
    }
    return lang_raise(I, "TypeError", "bad operand type for unary %c: '%s'", op, type_name(a));
}

/* ---- containers ------------------------------------------------------------ */

uint64_t range_count(int64_t start, int64_t stop, int64_t step)
{
    /* unsigned differences never overflow; step != 0 */
    if (step > 0) return stop > start ? ((uint64_t)stop - (uint64_t)start - 1) / (uint64_t)step + 1 : 0;
    return start > stop ? ((uint64_t)start - (uint64_t)stop - 1) / ((uint64_t)0 - (uint64_t)step) + 1 : 0;
}

int64_t range_item(const value *r, int64_t i)
{
    /* exact for 0 <= i < len: the true result is in [start, stop), so the
     * wrapped unsigned arithmetic gives it */
    return (int64_t)((uint64_t)r->u.range.start + (uint64_t)i * (uint64_t)r->u.range.step);
}

int64_t length_of(interp *I, value *v)
{
    switch (v->type) {
    case V_STR: {
        int64_t n = 0;
        for (size_t i = 0; i < v->u.str.len; i++) if (((unsigned char)v->u.str.s[i] & 0xC0) != 0x80) n++;
        return n;
    }
    case V_LIST: case V_TUPLE: return (int64_t)v->u.list.n;
    case V_DICT: return (int64_t)dict_len(v->u.d);
    case V_RANGE: {
        uint64_t n = range_count(v->u.range.start, v->u.range.stop, v->u.range.step);
        if (n > INT64_MAX) { lang_raise(I, "OverflowError", "range has more than 2**63 - 1 items"); return -1; }
        return (int64_t)n;
    }
    case V_TENSOR:
        if (v->u.tensor.t->ndim == 0) { lang_raise(I, "TypeError", "len() of a 0-d tensor"); return -1; }
        return v->u.tensor.t->shape[0];
    case V_OBJECT:
        if (v->u.obj.type->len) { int64_t n = v->u.obj.type->len(v); if (n >= 0) return n; }
        break;
    default: break;
    }
    lang_raise(I, "TypeError", "object of type '%s' has no len()", type_name(v));
    return -1;
}

int contains(interp *I, value *c, value *item)
{
    switch (c->type) {
    case V_STR:
        if (item->type != V_STR) {
            lang_raise(I, "TypeError", "'in <string>' requires string as left operand, not %s", type_name(item));
            return -1;
        }
        if (item->u.str.len == 0) return 1;
        return memmem(c->u.str.s, c->u.str.len, item->u.str.s, item->u.str.len) != NULL;
    case V_LIST: case V_TUPLE:
        for (size_t i = 0; i < c->u.list.n; i++) {
            int r = values_equal(I, c->u.list.items[i], item);
            if (r) return r;
        }
        return 0;
    case V_DICT:
        if (check_hashable(I, item)) return -1;
        return dict_get(c->u.d, item) != NULL;
    case V_RANGE: {
        if (item->type != V_INT && item->type != V_BOOL) return 0;
        int64_t x = num_as_int(item), s = c->u.range.start, e = c->u.range.stop, st = c->u.range.step;
        if (st > 0) return x >= s && x < e && ((uint64_t)x - (uint64_t)s) % (uint64_t)st == 0;
        return x <= s && x > e && ((uint64_t)s - (uint64_t)x) % ((uint64_t)0 - (uint64_t)st) == 0;
    }
    case V_TENSOR: {
        value *eq = tensor_compare(I, CMP_EQ, c, item);
        if (!eq) return -1;
        const lens_tensor *t = eq->u.tensor.t;
        lens_error herr;
        lens_tensor *ct = lens_tensor_host_contiguous(t, &herr);
        int found = 0;
        if (ct) {
            int64_t n = lens_tensor_numel(ct);
            if (ct->dtype == LENS_I64) { for (int64_t i = 0; i < n && !found; i++) if (lens_tensor_i64(ct)[i]) found = 1; }
            else { for (int64_t i = 0; i < n && !found; i++) if (lens_tensor_f32(ct)[i] != 0) found = 1; }
            lens_tensor_free(ct);
        }
        decref(eq);
        return found;
    }
    case V_OBJECT:
        if (c->u.obj.type->contains) return c->u.obj.type->contains(I, c, item);
        break;
    default: break;
    }
    lang_raise(I, "TypeError", "argument of type '%s' is not iterable", type_name(c));
    return -1;
}

/* Python slice indices for a sequence of length n. */
int slice_indices(interp *I, value *sl, int64_t n, int64_t *start, int64_t *stop, int64_t *step)
{
    int64_t st = 1;
    if (sl->u.slice.step->type != V_NONE) {
        if (arg_int(I, sl->u.slice.step, "slice step", &st)) return -1;
        if (st == 0) { lang_raise(I, "ValueError", "slice step cannot be zero"); return -1; }
        if (st == INT64_MIN) st = -INT64_MAX;   /* as Python clamps it: -st must exist */
    }
    int64_t lo = st > 0 ? 0 : -1, hi = st > 0 ? n : n - 1;
    int64_t s = st > 0 ? lo : hi, e = st > 0 ? hi : lo;
    if (sl->u.slice.start->type != V_NONE) {
        if (arg_int(I, sl->u.slice.start, "slice index", &s)) return -1;
        if (s < 0) { s += n; if (s < lo) s = lo; }
        else if (s > hi) s = hi;
    }
    if (sl->u.slice.stop->type != V_NONE) {
        if (arg_int(I, sl->u.slice.stop, "slice index", &e)) return -1;
        if (e < 0) { e += n; if (e < lo) e = lo; }
        else if (e > hi) e = hi;
    }
    *start = s;
    *stop = e;
    *step = st;
    return 0;
}

static int64_t slice_len(int64_t s, int64_t e, int64_t st)
{
    /* s and e are clamped indices (-1 .. n), so the count fits */
    return (int64_t)range_count(s, e, st);
}

/* byte offset of code point i in a UTF-8 string */
static size_t utf8_offset(const char *s, size_t len, int64_t cp)
{
    size_t i = 0;
    while (i < len && cp > 0) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
        cp--;
    }
    return i;
}

static int norm_index(interp *I, value *key, int64_t n, int64_t *out, const char *what)
{
    int64_t i;
    if (key->type != V_INT && key->type != V_BOOL) {
        if (key->type == V_TENSOR && lens_tensor_numel(key->u.tensor.t) == 1 && key->u.tensor.t->dtype == LENS_I64) {
            int64_t zero[LENS_MAX_DIMS] = {0};
            i = lens_tensor_get_i64(key->u.tensor.t, zero);
        } else {
            lang_raise(I, "TypeError", "%s indices must be integers or slices, not %s", what, type_name(key));
            return -1;
        }
    } else i = num_as_int(key);
    if (i < 0) i += n;
    if (i < 0 || i >= n) { lang_raise(I, "IndexError", "%s index out of range", what); return -1; }
    *out = i;
    return 0;
}

value *get_item(interp *I, value *obj, value *key)
{
    switch (obj->type) {
    case V_LIST: case V_TUPLE: {
        int64_t n = (int64_t)obj->u.list.n;
        const char *what = obj->type == V_LIST ? "list" : "tuple";
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (slice_indices(I, key, n, &s, &e, &st)) return NULL;
            int64_t m = slice_len(s, e, st);
            value *r = obj->type == V_LIST ? v_list((size_t)m) : v_tuple((size_t)m);
            if (!r) return lang_raise(I, "MemoryError", "out of memory");
            for (int64_t k = 0; k < m; k++) {
                value *x = incref(obj->u.list.items[s + k * st]);
                if (obj->type == V_LIST) r->u.list.items[r->u.list.n++] = x;
                else tuple_set(r, (size_t)k, x);
            }
            return r;
        }
        int64_t i;
        if (norm_index(I, key, n, &i, what)) return NULL;
        return incref(obj->u.list.items[i]);
    }
    case V_STR: {
        int64_t n = length_of(I, obj);
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (slice_indices(I, key, n, &s, &e, &st)) return NULL;
            int64_t m = slice_len(s, e, st);
            /* byte offsets of the code points, found once (n + 1 of them; an
             * ASCII string needs none) */
            const char *text = obj->u.str.s;
            size_t len = obj->u.str.len, *offs = NULL;
            if ((size_t)n != len) {
                offs = malloc(((size_t)n + 1) * sizeof *offs);
                if (!offs) return lang_raise(I, "MemoryError", "out of memory");
                size_t c = 0;
                for (size_t i = 0; i < len; i++) if (((unsigned char)text[i] & 0xC0) != 0x80) offs[c++] = i;
                offs[c] = len;
            }
            sbuf b = {0};
            for (int64_t k = 0; k < m; k++) {
                size_t cp = (size_t)(s + k * st);
                size_t o = offs ? offs[cp] : cp, o2 = offs ? offs[cp + 1] : cp + 1;
                sb_add(&b, text + o, o2 - o);
            }
            free(offs);
            char *r = sb_done(&b);
            return r ? v_str_take(r, b.n) : lang_raise(I, "MemoryError", "out of memory");
        }
        int64_t i;
        if (norm_index(I, key, n, &i, "string")) return NULL;
        size_t o = utf8_offset(obj->u.str.s, obj->u.str.len, i);
        size_t o2 = utf8_offset(obj->u.str.s, obj->u.str.len, i + 1);
        return v_strn(obj->u.str.s + o, o2 - o);
    }
    case V_RANGE: {
        int64_t n = length_of(I, obj);
        if (n < 0) return NULL;
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (slice_indices(I, key, n, &s, &e, &st)) return NULL;
            /* the result is range(start + s*step, start + e*step, step*st), with
             * the step as given (slice_indices clamps -2**63 for sequences) */
            if (key->u.slice.step->type != V_NONE && arg_int(I, key->u.slice.step, "slice step", &st)) return NULL;
            int64_t rs, rst, re, off, eoff;
            if (__builtin_mul_overflow(s, obj->u.range.step, &off) || __builtin_add_overflow(obj->u.range.start, off, &rs) ||
                __builtin_mul_overflow(e, obj->u.range.step, &eoff) || __builtin_add_overflow(obj->u.range.start, eoff, &re) ||
                __builtin_mul_overflow(obj->u.range.step, st, &rst))
                return lang_raise(I, "OverflowError", "range slice bounds do not fit in 64 bits");
            return v_range(rs, re, rst);
        }
        int64_t i;
        if (norm_index(I, key, n, &i, "range object")) return NULL;
        return v_int(range_item(obj, i));
    }
    case V_DICT: {
        if (check_hashable(I, key)) return NULL;
        value *x = dict_get(obj->u.d, key);
        if (!x) {
            char *r = repr_of(key);
            lang_raise(I, "KeyError", "%s", r ? r : "?");
            free(r);
            return NULL;
        }
        return incref(x);
    }
    case V_TENSOR: return tensor_getitem(I, obj, key);
    case V_OBJECT:
        if (obj->u.obj.type->getitem) return obj->u.obj.type->getitem(I, obj, key);
        break;
    default: break;
    }
    return lang_raise(I, "TypeError", "'%s' object is not subscriptable", type_name(obj));
}

int set_item(interp *I, value *obj, value *key, value *val)
{
    if (obj->type == V_LIST) {
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (slice_indices(I, key, (int64_t)obj->u.list.n, &s, &e, &st)) return -1;
            value *items = to_list(I, val);
            if (!items) return -1;
            if (st != 1) {
                int64_t m = slice_len(s, e, st);
                if ((size_t)m != items->u.list.n) {
                    decref(items);
                    lang_raise(I, "ValueError", "attempt to assign sequence of size %zu to extended slice of size %lld",
                               items->u.list.n, (long long)m);
                    return -1;
                }
                for (int64_t k = 0; k < m; k++) {
                    decref(obj->u.list.items[s + k * st]);
                    obj->u.list.items[s + k * st] = incref(items->u.list.items[k]);
                }
                decref(items);
                return 0;
            }
            if (e < s) e = s;
            size_t n = obj->u.list.n, m = items->u.list.n, newn = n - (size_t)(e - s) + m;
            if (!mem_take(newn * sizeof(value *), "a list")) { decref(items); mem_raise(I); return -1; }
            value **arr = malloc((newn ? newn : 1) * sizeof *arr);
            if (!arr) { lens_mem_release(newn * sizeof(value *)); decref(items); lang_raise(I, "MemoryError", "out of memory"); return -1; }
            size_t j = 0;
            for (int64_t k = 0; k < s; k++) arr[j++] = obj->u.list.items[k];
            for (size_t k = 0; k < m; k++) arr[j++] = incref(items->u.list.items[k]);
            for (int64_t k = s; k < e; k++) decref(obj->u.list.items[k]);
            for (size_t k = (size_t)e; k < n; k++) arr[j++] = obj->u.list.items[k];
            free(obj->u.list.items);
            lens_mem_release(obj->u.list.cap * sizeof(value *));
            obj->u.list.items = arr;
            obj->u.list.n = obj->u.list.cap = newn;
            decref(items);
            return 0;
        }
        int64_t i;
        if (norm_index(I, key, (int64_t)obj->u.list.n, &i, "list assignment")) return -1;
        decref(obj->u.list.items[i]);
        obj->u.list.items[i] = incref(val);
        return 0;
    }
    if (obj->type == V_DICT) return dict_set(I, obj->u.d, key, val);
    if (obj->type == V_TENSOR) return tensor_setitem(I, obj, key, val);
    lang_raise(I, "TypeError", "'%s' object does not support item assignment", type_name(obj));
    return -1;
}

int del_item(interp *I, value *obj, value *key)
{
    if (obj->type == V_LIST) {
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (slice_indices(I, key, (int64_t)obj->u.list.n, &s, &e, &st)) return -1;
            int64_t m = slice_len(s, e, st);
            bool *kill = calloc(obj->u.list.n + 1, 1);
            if (!kill) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
            for (int64_t k = 0; k < m; k++) kill[s + k * st] = true;
            size_t j = 0;
            for (size_t k = 0; k < obj->u.list.n; k++) {
                if (kill[k]) decref(obj->u.list.items[k]);
                else obj->u.list.items[j++] = obj->u.list.items[k];
            }
            obj->u.list.n = j;
            free(kill);
            return 0;
        }
        int64_t i;
        if (norm_index(I, key, (int64_t)obj->u.list.n, &i, "list assignment")) return -1;
        decref(obj->u.list.items[i]);
        memmove(obj->u.list.items + i, obj->u.list.items + i + 1, (obj->u.list.n - (size_t)i - 1) * sizeof(value *));
        obj->u.list.n--;
        return 0;
    }
    if (obj->type == V_DICT) {
        if (check_hashable(I, key)) return -1;
        if (dict_del(obj->u.d, key)) {
            char *r = repr_of(key);
            lang_raise(I, "KeyError", "%s", r ? r : "?");
            free(r);
            return -1;
        }
        return 0;
    }
    lang_raise(I, "TypeError", "'%s' object does not support item deletion", type_name(obj));
    return -1;
}

value *to_list(interp *I, value *v)
{
    switch (v->type) {
    case V_LIST: case V_TUPLE: {
        value *r = v_list(v->u.list.n);
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        for (size_t i = 0; i < v->u.list.n; i++) r->u.list.items[r->u.list.n++] = incref(v->u.list.items[i]);
        return r;
    }
    case V_STR: {
        value *r = v_list(0);
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        for (size_t i = 0; i < v->u.str.len;) {
            size_t j = i + 1;
            while (j < v->u.str.len && ((unsigned char)v->u.str.s[j] & 0xC0) == 0x80) j++;
            if (list_append(r, v_strn(v->u.str.s + i, j - i))) { decref(r); return lang_raise(I, "MemoryError", "out of memory"); }
            i = j;
        }
        return r;
    }
    case V_DICT: {
        value *r = v_list(dict_len(v->u.d));
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        size_t i = 0;
        value *k;
        while (dict_next(v->u.d, &i, &k, NULL)) r->u.list.items[r->u.list.n++] = incref(k);
        return r;
    }
    case V_RANGE: {
        int64_t n = length_of(I, v);
        if (n < 0) return NULL;
        if (n > (1LL << 28)) return lang_raise(I, "MemoryError", "range too large to materialize");
        value *r = v_list((size_t)n);
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        for (int64_t i = 0; i < n; i++) {
            if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { decref(r); return NULL; }
            value *x = v_int(range_item(v, i));
            if (!x) { decref(r); return lang_raise(I, "MemoryError", "out of memory"); }
            r->u.list.items[r->u.list.n++] = x;
        }
        return r;
    }
    case V_TENSOR: {
        const lens_tensor *t = v->u.tensor.t;
        if (t->ndim == 0) return lang_raise(I, "TypeError", "iteration over a 0-d tensor");
        /* an empty tensor may still have a huge first dimension */
        if (t->shape[0] > (1LL << 28)) return lang_raise(I, "MemoryError", "a tensor with %lld rows is too long to make a list of", (long long)t->shape[0]);
        value *r = v_list((size_t)t->shape[0]);
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        for (int64_t i = 0; i < t->shape[0]; i++) {
            if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { decref(r); return NULL; }
            lens_tensor *s = lens_tensor_select(t, 0, i);
            if (!s) { decref(r); return lang_raise(I, "MemoryError", "out of memory"); }
            r->u.list.items[r->u.list.n++] = v_tensor(s);
        }
        return r;
    }
    case V_OBJECT:
        if (v->u.obj.type->len && v->u.obj.type->getitem) {
            int64_t n = v->u.obj.type->len(v);
            value *r = v_list(0);
            if (!r) return lang_raise(I, "MemoryError", "out of memory");
            for (int64_t i = 0; i < n; i++) {
                if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { decref(r); return NULL; }
                value *k = v_int(i);
                value *x = k ? v->u.obj.type->getitem(I, v, k) : NULL;
                decref(k);
                if (!x || list_append(r, x)) { decref(r); return I->error ? NULL : lang_raise(I, "MemoryError", "out of memory"); }
            }
            return r;
        }
        break;
    default: break;
    }
    return lang_raise(I, "TypeError", "'%s' object is not iterable", type_name(v));
}

/* ---- format spec ------------------------------------------------------------ */

typedef struct fspec {
    char fill, align, sign, type, grouping;
    bool alt, zero;
    int64_t width, prec;
} fspec;

/* The widest field a format spec may ask for, and the most digits after the
 * point: results stay far below the string limits. */
#define FORMAT_MAX_WIDTH ((int64_t)1 << 28)
#define FORMAT_MAX_PRECISION 10000

static int spec_number(interp *I, const char *s, size_t n, size_t *i, int64_t *out)
{
    int64_t v = 0;
    while (*i < n && isdigit((unsigned char)s[*i])) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[*i] - '0', &v)) {
            lang_raise(I, "ValueError", "Too many decimal digits in format string");
            return -1;
        }
        (*i)++;
    }
    *out = v;
    return 0;
}

static int parse_spec(interp *I, const char *s, fspec *f)
{
    memset(f, 0, sizeof *f);
    f->fill = ' ';
    f->prec = -1;
    size_t n = strlen(s), i = 0;
    if (n >= 2 && strchr("<>=^", s[1])) { f->fill = s[0]; f->align = s[1]; i = 2; }
    else if (n >= 1 && strchr("<>=^", s[0])) { f->align = s[0]; i = 1; }
    if (i < n && strchr("+- ", s[i])) f->sign = s[i++];
    if (i < n && s[i] == '#') { f->alt = true; i++; }
    if (i < n && s[i] == '0') { f->zero = true; i++; }
    if (spec_number(I, s, n, &i, &f->width)) return -1;
    if (i < n && (s[i] == ',' || s[i] == '_')) f->grouping = s[i++];
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !isdigit((unsigned char)s[i])) { lang_raise(I, "ValueError", "Format specifier missing precision"); return -1; }
        if (spec_number(I, s, n, &i, &f->prec)) return -1;
    }
    if (i < n) f->type = s[i++];
    if (i < n) { lang_raise(I, "ValueError", "Invalid format specifier '%s'", s); return -1; }
    if (f->width > FORMAT_MAX_WIDTH) { lang_raise(I, "MemoryError", "format width %lld is too large", (long long)f->width); return -1; }
    if (f->prec > FORMAT_MAX_PRECISION) { lang_raise(I, "ValueError", "precision too big"); return -1; }
    return 0;
}

static char *group_digits(const char *num, char sep)
{
    /* num: optional sign, digits, optional fraction/exponent */
    const char *p = num;
    sbuf b = {0};
    if (*p == '-' || *p == '+' || *p == ' ') sb_add(&b, p++, 1);
    size_t nd = strspn(p, "0123456789");
    for (size_t i = 0; i < nd; i++) {
        sb_add(&b, p + i, 1);
        size_t rest = nd - i - 1;
        if (rest && rest % 3 == 0) sb_add(&b, &sep, 1);
    }
    sb_puts(&b, p + nd);
    return sb_done(&b);
}

static char *pad(const char *body, const fspec *f, char default_align)
{
    size_t len = 0;
    for (const char *p = body; *p; p++) if (((unsigned char)*p & 0xC0) != 0x80) len++;
    if ((int64_t)len >= f->width) return strdup(body);
    size_t padn = (size_t)f->width - len;
    char align = f->align ? f->align : default_align;
    char fill = f->fill;
    if (f->zero && !f->align) { align = '='; fill = '0'; }
    sbuf b = {0};
    size_t left = align == '>' ? padn : align == '^' ? padn / 2 : 0, right = padn - left;
    if (align == '=') {
        const char *p = body;
        if (*p == '-' || *p == '+' || *p == ' ') sb_add(&b, p++, 1);
        for (size_t i = 0; i < padn; i++) sb_add(&b, &fill, 1);
        sb_puts(&b, p);
        return sb_done(&b);
    }
    for (size_t i = 0; i < left; i++) sb_add(&b, &fill, 1);
    sb_puts(&b, body);
    for (size_t i = 0; i < right; i++) sb_add(&b, &fill, 1);
    return sb_done(&b);
}

char *format_value(interp *I, value *v, const char *spec)
{
    /* like torch: a 0-d tensor formats as its number (f"L{layer}" with layer = heads[0] // 12) */
    bool scalar = v->type == V_TENSOR && v->u.tensor.t->ndim == 0;
    if ((!spec || !*spec) && !scalar) return str_of(v);
    if (v->type == V_TENSOR && lens_tensor_numel(v->u.tensor.t) == 1) {
        value *x = tensor_item(I, v->u.tensor.t);
        if (!x) return NULL;
        char *r = format_value(I, x, spec);
        decref(x);
        return r;
    }
    fspec f;
    if (parse_spec(I, spec, &f)) return NULL;
    char buf[512];
    char *body = NULL;
    if (v->type == V_STR || !is_number(v)) {
        if (f.type && f.type != 's') {
            lang_raise(I, "ValueError", "Unknown format code '%c' for object of type '%s'", f.type, type_name(v));
            return NULL;
        }
        char *s = str_of(v);
        if (!s) return NULL;
        if (f.prec >= 0) s[utf8_offset(s, strlen(s), f.prec)] = 0;
        char *r = pad(s, &f, '<');
        free(s);
        return r;
    }
    char type = f.type;
    bool is_int = v->type != V_FLOAT;
    if (is_int && (type == 0 || type == 'd' || type == 'n' || type == 'x' || type == 'X' || type == 'o' || type == 'b' || type == 'c')) {
        int64_t x = num_as_int(v);
        if (v->type == V_BOOL && type == 0) return pad(v->u.b ? "True" : "False", &f, '<');
        uint64_t ax = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
        char digits[80];
        if (type == 'x' || type == 'X') snprintf(digits, sizeof digits, type == 'x' ? "%s%llx" : "%s%llX", f.alt ? (type == 'x' ? "0x" : "0X") : "", (unsigned long long)ax);
        else if (type == 'o') snprintf(digits, sizeof digits, "%s%llo", f.alt ? "0o" : "", (unsigned long long)ax);
        else if (type == 'b') {
            char tmp[70]; int k = 0;
            do { tmp[k++] = (char)('0' + (ax & 1)); ax >>= 1; } while (ax);
            int j = 0;
            if (f.alt) { digits[j++] = '0'; digits[j++] = 'b'; }
            while (k) digits[j++] = tmp[--k];
            digits[j] = 0;
        } else if (type == 'c') {
            size_t k = 0;
            char tmp[8];
            if (x < 0 || x >= 0x110000) { lang_raise(I, "OverflowError", "%%c arg not in range(0x110000)"); return NULL; }
            if (x >= 0xD800 && x <= 0xDFFF) { lang_raise(I, "ValueError", "%%c arg is a surrogate (lens strings are UTF-8)"); return NULL; }
            {
                unsigned long cp = (unsigned long)x;
                if (cp < 0x80) tmp[k++] = (char)cp;
                else if (cp < 0x800) { tmp[k++] = (char)(0xC0 | (cp >> 6)); tmp[k++] = (char)(0x80 | (cp & 0x3F)); }
                else if (cp < 0x10000) { tmp[k++] = (char)(0xE0 | (cp >> 12)); tmp[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)); tmp[k++] = (char)(0x80 | (cp & 0x3F)); }
                else { tmp[k++] = (char)(0xF0 | (cp >> 18)); tmp[k++] = (char)(0x80 | ((cp >> 12) & 0x3F)); tmp[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)); tmp[k++] = (char)(0x80 | (cp & 0x3F)); }
            }
            tmp[k] = 0;
            return pad(tmp, &f, '<');
        } else snprintf(digits, sizeof digits, "%llu", (unsigned long long)ax);
        snprintf(buf, sizeof buf, "%s%s", x < 0 ? "-" : f.sign == '+' ? "+" : f.sign == ' ' ? " " : "", digits);
        if (f.grouping && (type == 0 || type == 'd' || type == 'n')) {
            char *g = group_digits(buf, f.grouping);
            char *r = g ? pad(g, &f, '>') : NULL;
            free(g);
            return r;
        }
        return pad(buf, &f, '>');
    }
    if (!type && is_int) type = 'd';
    double d = num_as_double(v);
    if (!strchr("eEfFgG%n", type ? type : 'g') && type) {
        lang_raise(I, "ValueError", "Unknown format code '%c' for object of type '%s'", type, type_name(v));
        return NULL;
    }
    const char *sign = signbit(d) && !isnan(d) ? "-" : f.sign == '+' ? "+" : f.sign == ' ' ? " " : "";
    double ad = fabs(d);
    int prec = f.prec < 0 ? 6 : (int)f.prec;   /* <= FORMAT_MAX_PRECISION */
    /* the text is as long as the number needs (1e308 in 'f' has 309 digits) */
    int n = -1;
    if (type == 0) {
        if (f.prec < 0) {
            char *r = float_repr(ad);
            n = r ? asprintf(&body, "%s%s", sign, r) : -1;
            free(r);
        } else {
            n = asprintf(&body, "%s%.*g", sign, prec ? prec : 1, ad);
            if (n >= 0 && !strpbrk(body, ".en") && isfinite(ad)) {
                char *b2 = NULL;
                n = asprintf(&b2, "%s.0", body);
                free(body);
                body = n >= 0 ? b2 : NULL;
            }
        }
    } else if (type == '%') {
        n = asprintf(&body, "%s%.*f%%", sign, prec, ad * 100);
    } else if (type == 'n') {
        n = asprintf(&body, "%s%.*g", sign, prec ? prec : 1, ad);
    } else {
        char fmt[16];
        snprintf(fmt, sizeof fmt, "%%s%%%s.*%c", f.alt ? "#" : "", type);
        n = asprintf(&body, fmt, sign, prec, ad);
    }
    if (n < 0) { lang_raise(I, "MemoryError", "out of memory"); return NULL; }
    char *r;
    if (f.grouping) {
        char *g = group_digits(body, f.grouping);
        r = g ? pad(g, &f, '>') : NULL;
        free(g);
    } else r = pad(body, &f, '>');
    free(body);
    return r;
}

/* ---- bundles ---------------------------------------------------------------- */

cJSON *value_bundle(value *v)
{
    if (v->type == V_OBJECT && v->u.obj.type->to_bundle) {
        cJSON *b = v->u.obj.type->to_bundle(v);
        if (b) return b;
    }
    if (v->type == V_TENSOR) return tensor_bundle(v->u.tensor.t);
    char *r = repr_of(v);
    if (!r) return NULL;
    cJSON *b = cJSON_CreateObject();
    if (b) cJSON_AddStringToObject(b, "text/plain", r);
    free(r);
    return b;
}
