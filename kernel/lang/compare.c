/* kernel/lang/compare.c — equality, ordering and hashing of values, with
 * Python's rules (1 == 1.0 == True, and equal numbers hash alike; containers
 * compare item by item).
 *
 * Owns: values_equal, values_compare, hashable, check_hashable, value_hash.
 * Nested containers are followed at most LANG_MAX_NESTING levels (then a
 * RecursionError), so no user data drives an unbounded C recursion.
 * Does not own: tensor comparison (the tensor type's hooks). */
#include "value.h"

#include <math.h>
#include <string.h>

#include "ast.h"
#include "value_internal.h"

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

bool lang_hashable(const value *v) { const value *bad; return hashable_at(v, 0, &bad) == 1; }

int lang_check_hashable(interp *I, value *key)
{
    const value *bad = key;
    int r = hashable_at(key, 0, &bad);
    if (r == 1) return 0;
    if (r < 0) lang_raise(I, "RecursionError", "maximum recursion depth exceeded while hashing a nested tuple");
    else lang_raise(I, "TypeError", "unhashable type: '%s'", lang_type_name(bad));
    return -1;
}

static uint64_t hash_at(const value *v, int depth)
{
    uint64_t h = 1469598103934665603ULL;
    switch (v->type) {
    case V_NONE: return 0x9e3779b97f4a7c15ULL;
    case V_BOOL: case V_INT: case V_FLOAT: {
        double d = lang_num_as_double(v);
        /* equal numbers hash alike: an integral float hashes as its int */
        if (v->type == V_FLOAT && (d != floor(d) || !(fabs(d) < 9.2e18))) {
            uint64_t b;
            memcpy(&b, &d, sizeof b);
            return b * 0x9e3779b97f4a7c15ULL;
        }
        int64_t i = v->type == V_FLOAT ? (int64_t)d : lang_num_as_int(v);
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

uint64_t lang_value_hash(const value *v) { return hash_at(v, 0); }

static int too_deep_to_compare(interp *I)
{
    if (I) lang_raise(I, "RecursionError", "maximum recursion depth exceeded in comparison");
    return -1;
}

static int equal_at(interp *I, value *a, value *b, int depth)
{
    if (a == b && a->type != V_FLOAT) return 1;
    if (lang_is_number(a) && lang_is_number(b)) {
        if (a->type == V_FLOAT || b->type == V_FLOAT) return lang_num_as_double(a) == lang_num_as_double(b);
        return lang_num_as_int(a) == lang_num_as_int(b);
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
        if (lang_dict_len(a->u.d) != lang_dict_len(b->u.d)) return 0;
        if (depth >= LANG_MAX_NESTING) return too_deep_to_compare(I);
        size_t i = 0;
        value *k, *x;
        while (lang_dict_next(a->u.d, &i, &k, &x)) {
            value *y = lang_dict_get(b->u.d, k);
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

int lang_values_equal(interp *I, value *a, value *b) { return equal_at(I, a, b, 0); }

static int compare_at(interp *I, value *a, value *b, int cmp, int depth)
{
    int c; /* -1, 0, 1 */
    if (lang_is_number(a) && lang_is_number(b)) {
        if (a->type == V_FLOAT || b->type == V_FLOAT) {
            double x = lang_num_as_double(a), y = lang_num_as_double(b);
            if (isnan(x) || isnan(y)) return 0;
            c = x < y ? -1 : x > y;
        } else {
            int64_t x = lang_num_as_int(a), y = lang_num_as_int(b);
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
                   sym[cmp], lang_type_name(a), lang_type_name(b));
        return -1;
    }
    switch (cmp) {
    case CMP_LT: return c < 0;
    case CMP_GT: return c > 0;
    case CMP_LE: return c <= 0;
    default: return c >= 0;
    }
}

int lang_values_compare(interp *I, value *a, value *b, int cmp) { return compare_at(I, a, b, cmp, 0); }
