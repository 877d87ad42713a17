/* kernel/lang/subscript.c — x[key], x[key] = v and del x[key] on the core
 * values: integer indices (negative from the end), slices with Python's
 * clamping, strings indexed by code point, dict keys.
 *
 * Owns: slice_indices, get_item, set_item, del_item.
 * Does not own: indexing of registered types (their lang_type hooks). */
#include "value.h"

#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "lens/memory.h"
#include "lens/tensor_ops.h"
#include "value_internal.h"

/* Python slice indices for a sequence of length n. */
int lang_slice_indices(interp *I, value *sl, int64_t n, int64_t *start, int64_t *stop, int64_t *step)
{
    int64_t st = 1;
    if (sl->u.slice.step->type != V_NONE) {
        if (lang_arg_int(I, sl->u.slice.step, "slice step", &st)) return -1;
        if (st == 0) { lang_raise(I, "ValueError", "slice step cannot be zero"); return -1; }
        if (st == INT64_MIN) st = -INT64_MAX;   /* as Python clamps it: -st must exist */
    }
    int64_t lo = st > 0 ? 0 : -1, hi = st > 0 ? n : n - 1;
    int64_t s = st > 0 ? lo : hi, e = st > 0 ? hi : lo;
    if (sl->u.slice.start->type != V_NONE) {
        if (lang_arg_int(I, sl->u.slice.start, "slice index", &s)) return -1;
        if (s < 0) { s += n; if (s < lo) s = lo; }
        else if (s > hi) s = hi;
    }
    if (sl->u.slice.stop->type != V_NONE) {
        if (lang_arg_int(I, sl->u.slice.stop, "slice index", &e)) return -1;
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
    return (int64_t)lang_range_count(s, e, st);
}

static int norm_index(interp *I, value *key, int64_t n, int64_t *out, const char *what)
{
    int64_t i;
    if (key->type != V_INT && key->type != V_BOOL) {
        if (key->type == V_TENSOR && lens_tensor_numel(key->u.tensor.t) == 1 && key->u.tensor.t->dtype == LENS_I64) {
            int64_t zero[LENS_MAX_DIMS] = {0};
            i = lens_tensor_get_i64(key->u.tensor.t, zero);
        } else {
            lang_raise(I, "TypeError", "%s indices must be integers or slices, not %s", what, lang_type_name(key));
            return -1;
        }
    } else i = lang_num_as_int(key);
    if (i < 0) i += n;
    if (i < 0 || i >= n) { lang_raise(I, "IndexError", "%s index out of range", what); return -1; }
    *out = i;
    return 0;
}

value *lang_get_item(interp *I, value *obj, value *key)
{
    switch (obj->type) {
    case V_LIST: case V_TUPLE: {
        int64_t n = (int64_t)obj->u.list.n;
        const char *what = obj->type == V_LIST ? "list" : "tuple";
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (lang_slice_indices(I, key, n, &s, &e, &st)) return NULL;
            int64_t m = slice_len(s, e, st);
            value *r = obj->type == V_LIST ? v_list((size_t)m) : v_tuple((size_t)m);
            if (!r) return lang_raise(I, "MemoryError", "out of memory");
            /* a slice of a torch.Size is one (a named tuple's slice is a plain tuple) */
            if (obj->tuple_class && !obj->tuple_class->field_names) r->tuple_class = obj->tuple_class;
            for (int64_t k = 0; k < m; k++) {
                value *x = lang_incref(obj->u.list.items[s + k * st]);
                if (obj->type == V_LIST) r->u.list.items[r->u.list.n++] = x;
                else lang_tuple_set(r, (size_t)k, x);
            }
            return r;
        }
        int64_t i;
        if (norm_index(I, key, n, &i, what)) return NULL;
        return lang_incref(obj->u.list.items[i]);
    }
    case V_STR: {
        int64_t n = lang_length_of(I, obj);
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (lang_slice_indices(I, key, n, &s, &e, &st)) return NULL;
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
            dbuf b = {0};
            for (int64_t k = 0; k < m; k++) {
                size_t cp = (size_t)(s + k * st);
                size_t o = offs ? offs[cp] : cp, o2 = offs ? offs[cp + 1] : cp + 1;
                display_dbuf_append_n(&b, text + o, o2 - o);
            }
            free(offs);
            size_t rn = b.len;
            char *r = display_dbuf_take(&b);
            return r ? v_str_take(r, rn) : lang_raise(I, "MemoryError", "out of memory");
        }
        int64_t i;
        if (norm_index(I, key, n, &i, "string")) return NULL;
        size_t o = lang_utf8_offset(obj->u.str.s, obj->u.str.len, i);
        size_t o2 = lang_utf8_offset(obj->u.str.s, obj->u.str.len, i + 1);
        return v_strn(obj->u.str.s + o, o2 - o);
    }
    case V_RANGE: {
        int64_t n = lang_length_of(I, obj);
        if (n < 0) return NULL;
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (lang_slice_indices(I, key, n, &s, &e, &st)) return NULL;
            /* the result is range(start + s*step, start + e*step, step*st), with
             * the step as given (slice_indices clamps -2**63 for sequences) */
            if (key->u.slice.step->type != V_NONE && lang_arg_int(I, key->u.slice.step, "slice step", &st)) return NULL;
            int64_t rs, rst, re, off, eoff;
            if (__builtin_mul_overflow(s, obj->u.range.step, &off) || __builtin_add_overflow(obj->u.range.start, off, &rs) ||
                __builtin_mul_overflow(e, obj->u.range.step, &eoff) || __builtin_add_overflow(obj->u.range.start, eoff, &re) ||
                __builtin_mul_overflow(obj->u.range.step, st, &rst))
                return lang_raise(I, "OverflowError", "range slice bounds do not fit in 64 bits");
            return v_range(rs, re, rst);
        }
        int64_t i;
        if (norm_index(I, key, n, &i, "range object")) return NULL;
        return v_int(lang_range_item(obj, i));
    }
    case V_DICT: {
        if (lang_check_hashable(I, key)) return NULL;
        value *x = lang_dict_get(obj->u.d, key);
        if (!x) {
            char *r = lang_repr_of(key);
            lang_raise(I, "KeyError", "%s", r ? r : "?");
            free(r);
            return NULL;
        }
        return lang_incref(x);
    }
    default: {
        const lang_type *t = lang_type_of(obj);
        if (t && t->getitem) return t->getitem(I, obj, key);
        break;
    }
    }
    return lang_raise(I, "TypeError", "'%s' object is not subscriptable", lang_type_name(obj));
}

int lang_set_item(interp *I, value *obj, value *key, value *val)
{
    if (obj->type == V_LIST) {
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (lang_slice_indices(I, key, (int64_t)obj->u.list.n, &s, &e, &st)) return -1;
            value *items = lang_to_list(I, val);
            if (!items) return -1;
            if (st != 1) {
                int64_t m = slice_len(s, e, st);
                if ((size_t)m != items->u.list.n) {
                    lang_decref(items);
                    lang_raise(I, "ValueError", "attempt to assign sequence of size %zu to extended slice of size %lld",
                               items->u.list.n, (long long)m);
                    return -1;
                }
                for (int64_t k = 0; k < m; k++) {
                    lang_decref(obj->u.list.items[s + k * st]);
                    obj->u.list.items[s + k * st] = lang_incref(items->u.list.items[k]);
                }
                lang_decref(items);
                return 0;
            }
            if (e < s) e = s;
            size_t n = obj->u.list.n, m = items->u.list.n, newn = n - (size_t)(e - s) + m;
            if (!lang_mem_take(newn * sizeof(value *), "a list")) { lang_decref(items); lang_mem_raise(I); return -1; }
            value **arr = malloc((newn ? newn : 1) * sizeof *arr);
            if (!arr) { lens_mem_release(newn * sizeof(value *)); lang_decref(items); lang_raise(I, "MemoryError", "out of memory"); return -1; }
            size_t j = 0;
            for (int64_t k = 0; k < s; k++) arr[j++] = obj->u.list.items[k];
            for (size_t k = 0; k < m; k++) arr[j++] = lang_incref(items->u.list.items[k]);
            for (int64_t k = s; k < e; k++) lang_decref(obj->u.list.items[k]);
            for (size_t k = (size_t)e; k < n; k++) arr[j++] = obj->u.list.items[k];
            free(obj->u.list.items);
            lens_mem_release(obj->u.list.cap * sizeof(value *));
            obj->u.list.items = arr;
            obj->u.list.n = obj->u.list.cap = newn;
            lang_decref(items);
            return 0;
        }
        int64_t i;
        if (norm_index(I, key, (int64_t)obj->u.list.n, &i, "list assignment")) return -1;
        lang_decref(obj->u.list.items[i]);
        obj->u.list.items[i] = lang_incref(val);
        return 0;
    }
    if (obj->type == V_DICT) return lang_dict_set(I, obj->u.d, key, val);
    const lang_type *t = lang_type_of(obj);
    if (t && t->setitem) return t->setitem(I, obj, key, val);
    lang_raise(I, "TypeError", "'%s' object does not support item assignment", lang_type_name(obj));
    return -1;
}

int lang_del_item(interp *I, value *obj, value *key)
{
    if (obj->type == V_LIST) {
        if (key->type == V_SLICE) {
            int64_t s, e, st;
            if (lang_slice_indices(I, key, (int64_t)obj->u.list.n, &s, &e, &st)) return -1;
            int64_t m = slice_len(s, e, st);
            bool *kill = calloc(obj->u.list.n + 1, 1);
            if (!kill) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
            for (int64_t k = 0; k < m; k++) kill[s + k * st] = true;
            size_t j = 0;
            for (size_t k = 0; k < obj->u.list.n; k++) {
                if (kill[k]) lang_decref(obj->u.list.items[k]);
                else obj->u.list.items[j++] = obj->u.list.items[k];
            }
            obj->u.list.n = j;
            free(kill);
            return 0;
        }
        int64_t i;
        if (norm_index(I, key, (int64_t)obj->u.list.n, &i, "list assignment")) return -1;
        lang_decref(obj->u.list.items[i]);
        memmove(obj->u.list.items + i, obj->u.list.items + i + 1, (obj->u.list.n - (size_t)i - 1) * sizeof(value *));
        obj->u.list.n--;
        return 0;
    }
    if (obj->type == V_DICT) {
        if (lang_check_hashable(I, key)) return -1;
        if (lang_dict_del(obj->u.d, key)) {
            char *r = lang_repr_of(key);
            lang_raise(I, "KeyError", "%s", r ? r : "?");
            free(r);
            return -1;
        }
        return 0;
    }
    lang_raise(I, "TypeError", "'%s' object does not support item deletion", lang_type_name(obj));
    return -1;
}
