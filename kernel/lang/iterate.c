/* kernel/lang/iterate.c — the iterator protocol: walking an iterable one item
 * at a time, so that `for x in tqdm(range(n))` runs its body as the items come
 * (and its bar moves) instead of after the whole iterable was made into a list.
 *
 * Owns: lang_iter_open / next / close and the walk of each kind (ranges by
 * counting, lists and tuples live by index, iterators through their lang_type's
 * next hook, everything else over a snapshot from lang_to_list).
 * Does not own: the iterators themselves (their types: tqdm in progress_iter.c),
 * what a for loop or a comprehension does with the items (exec.c, eval.c). */
#include "value.h"

int lang_iter_open(interp *I, value *v, lang_iter *it)
{
    *it = (lang_iter){0};
    switch (v->type) {
    case V_RANGE: {
        int64_t n = lang_length_of(I, v);
        if (n < 0) return -1;
        *it = (lang_iter){lang_incref(v), 0, n, LANG_WALK_RANGE};
        return 0;
    }
    case V_LIST: case V_TUPLE:
        *it = (lang_iter){lang_incref(v), 0, 0, LANG_WALK_INDEX};
        return 0;
    default: break;
    }
    const lang_type *t = lang_type_of(v);
    if (t && t->iter) {
        value *r = t->iter(I, v);
        if (!r) return -1;
        const lang_type *rt = lang_type_of(r);
        if (!rt || !rt->next) {
            lang_raise(I, "TypeError", "iter() returned non-iterator of type '%s'", lang_type_name(r));
            lang_decref(r);
            return -1;
        }
        *it = (lang_iter){r, 0, 0, LANG_WALK_ITERATOR};
        return 0;
    }
    if (t && t->next) {
        *it = (lang_iter){lang_incref(v), 0, 0, LANG_WALK_ITERATOR};
        return 0;
    }
    value *items = lang_to_list(I, v);
    if (!items) return -1;
    *it = (lang_iter){items, 0, 0, LANG_WALK_INDEX};
    return 0;
}

int lang_iter_next_item(interp *I, lang_iter *it, value **item)
{
    *item = NULL;
    switch (it->how) {
    case LANG_WALK_RANGE:
        if (it->i >= it->n) return 0;
        if (!(*item = v_int(lang_range_item(it->src, it->i++)))) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
        return 1;
    case LANG_WALK_INDEX:
        /* the length is read every time: a list that grows while walked is walked to its new end */
        if (!it->src || (size_t)it->i >= it->src->u.list.n) return 0;
        *item = lang_incref(it->src->u.list.items[it->i++]);
        return 1;
    default: {
        int r = lang_type_of(it->src)->next(I, it->src, item);
        if (r < 0 && !I->error) lang_raise(I, "MemoryError", "out of memory");
        return r;
    }
    }
}

void lang_iter_close(lang_iter *it)
{
    lang_decref(it->src);
    it->src = NULL;
}
