/* kernel/lang/sequence.c — lists, tuples and ranges as sequences: growing a
 * list, filling a tuple, range arithmetic, len(), `in`, and iteration into a
 * list.
 *
 * Owns: list_append, tuple_set, range_count, range_item, length_of, contains,
 * to_list.
 * Does not own: indexing and slicing (subscript.c), list methods (methods.c). */
#include "value.h"

#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "lens/memory.h"
#include "value_internal.h"

int lang_list_append(value *list, value *item)
{
    if (!item) return -1;
    if (list->u.list.n == list->u.list.cap) {
        size_t cap = list->u.list.cap ? list->u.list.cap * 2 : 4;
        size_t more = (cap - list->u.list.cap) * sizeof(value *);
        if (!lang_mem_take(more, "a list")) { lang_decref(item); return -1; }
        value **items = realloc(list->u.list.items, cap * sizeof *items);
        if (!items) { lens_mem_release(more); lang_decref(item); return -1; }
        list->u.list.items = items;
        list->u.list.cap = cap;
    }
    list->u.list.items[list->u.list.n++] = item;
    return 0;
}

void lang_tuple_set(value *tup, size_t i, value *item)
{
    lang_decref(tup->u.list.items[i]);
    tup->u.list.items[i] = item;
}

uint64_t lang_range_count(int64_t start, int64_t stop, int64_t step)
{
    /* unsigned differences never overflow; step != 0 */
    if (step > 0) return stop > start ? ((uint64_t)stop - (uint64_t)start - 1) / (uint64_t)step + 1 : 0;
    return start > stop ? ((uint64_t)start - (uint64_t)stop - 1) / ((uint64_t)0 - (uint64_t)step) + 1 : 0;
}

int64_t lang_range_item(const value *r, int64_t i)
{
    /* exact for 0 <= i < len: the true result is in [start, stop), so the
     * wrapped unsigned arithmetic gives it */
    return (int64_t)((uint64_t)r->u.range.start + (uint64_t)i * (uint64_t)r->u.range.step);
}

int64_t lang_length_of(interp *I, value *v)
{
    switch (v->type) {
    case V_STR: {
        int64_t n = 0;
        for (size_t i = 0; i < v->u.str.len; i++) if (((unsigned char)v->u.str.s[i] & 0xC0) != 0x80) n++;
        return n;
    }
    case V_LIST: case V_TUPLE: return (int64_t)v->u.list.n;
    case V_DICT: return (int64_t)lang_dict_len(v->u.d);
    case V_RANGE: {
        uint64_t n = lang_range_count(v->u.range.start, v->u.range.stop, v->u.range.step);
        if (n > INT64_MAX) { lang_raise(I, "OverflowError", "range has more than 2**63 - 1 items"); return -1; }
        return (int64_t)n;
    }
    default: {
        const lang_type *t = lang_type_of(v);
        if (t && t->len) { int64_t n = t->len(v); if (n >= 0) return n; }
        break;
    }
    }
    lang_raise(I, "TypeError", "object of type '%s' has no len()", lang_type_name(v));
    return -1;
}

int lang_contains(interp *I, value *c, value *item)
{
    switch (c->type) {
    case V_STR:
        if (item->type != V_STR) {
            lang_raise(I, "TypeError", "'in <string>' requires string as left operand, not %s", lang_type_name(item));
            return -1;
        }
        if (item->u.str.len == 0) return 1;
        return memmem(c->u.str.s, c->u.str.len, item->u.str.s, item->u.str.len) != NULL;
    case V_LIST: case V_TUPLE:
        for (size_t i = 0; i < c->u.list.n; i++) {
            int r = lang_values_equal(I, c->u.list.items[i], item);
            if (r) return r;
        }
        return 0;
    case V_DICT:
        if (lang_check_hashable(I, item)) return -1;
        return lang_dict_get(c->u.d, item) != NULL;
    case V_RANGE: {
        if (item->type != V_INT && item->type != V_BOOL) return 0;
        int64_t x = lang_num_as_int(item), s = c->u.range.start, e = c->u.range.stop, st = c->u.range.step;
        if (st > 0) return x >= s && x < e && ((uint64_t)x - (uint64_t)s) % (uint64_t)st == 0;
        return x <= s && x > e && ((uint64_t)s - (uint64_t)x) % ((uint64_t)0 - (uint64_t)st) == 0;
    }
    default: {
        const lang_type *t = lang_type_of(c);
        if (t && t->contains) return t->contains(I, c, item);
        break;
    }
    }
    lang_raise(I, "TypeError", "argument of type '%s' is not iterable", lang_type_name(c));
    return -1;
}

value *lang_to_list(interp *I, value *v)
{
    switch (v->type) {
    case V_LIST: case V_TUPLE: {
        value *r = v_list(v->u.list.n);
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        for (size_t i = 0; i < v->u.list.n; i++) r->u.list.items[r->u.list.n++] = lang_incref(v->u.list.items[i]);
        return r;
    }
    case V_STR: {
        value *r = v_list(0);
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        for (size_t i = 0; i < v->u.str.len;) {
            size_t j = i + 1;
            while (j < v->u.str.len && ((unsigned char)v->u.str.s[j] & 0xC0) == 0x80) j++;
            if (lang_list_append(r, v_strn(v->u.str.s + i, j - i))) { lang_decref(r); return lang_raise(I, "MemoryError", "out of memory"); }
            i = j;
        }
        return r;
    }
    case V_DICT: {
        value *r = v_list(lang_dict_len(v->u.d));
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        size_t i = 0;
        value *k;
        while (lang_dict_next(v->u.d, &i, &k, NULL)) r->u.list.items[r->u.list.n++] = lang_incref(k);
        return r;
    }
    case V_RANGE: {
        int64_t n = lang_length_of(I, v);
        if (n < 0) return NULL;
        if (n > (1LL << 28)) return lang_raise(I, "MemoryError", "range too large to materialize");
        value *r = v_list((size_t)n);
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        for (int64_t i = 0; i < n; i++) {
            if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { lang_decref(r); return NULL; }
            value *x = v_int(lang_range_item(v, i));
            if (!x) { lang_decref(r); return lang_raise(I, "MemoryError", "out of memory"); }
            r->u.list.items[r->u.list.n++] = x;
        }
        return r;
    }
    default: {
        const lang_type *t = lang_type_of(v);
        if (t && (t->iter || t->next)) {
            /* an iterator: drained item by item */
            lang_iter it;
            value *r = lang_iter_open(I, v, &it) ? NULL : v_list(0);
            value *x = NULL;
            int got = 0;
            while (r && (got = lang_iter_next(I, &it, &x)) == 1)
                if (lang_list_append(r, x)) { got = -1; lang_raise(I, "MemoryError", "out of memory"); break; }
            lang_iter_close(&it);
            if (got < 0 || !r) { lang_decref(r); return I->error ? NULL : lang_raise(I, "MemoryError", "out of memory"); }
            return r;
        }
        /* the sequence protocol: len() and item 0, 1, ... (tensors: along dim 0) */
        if (t && t->len && t->getitem) {
            int64_t n = t->len(v);
            if (n < 0) break;
            value *r = v_list(0);
            if (!r) return lang_raise(I, "MemoryError", "out of memory");
            for (int64_t i = 0; i < n; i++) {
                if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { lang_decref(r); return NULL; }
                value *k = v_int(i);
                value *x = k ? t->getitem(I, v, k) : NULL;
                lang_decref(k);
                if (!x || lang_list_append(r, x)) { lang_decref(r); return I->error ? NULL : lang_raise(I, "MemoryError", "out of memory"); }
            }
            return r;
        }
        break;
    }
    }
    return lang_raise(I, "TypeError", "'%s' object is not iterable", lang_type_name(v));
}
