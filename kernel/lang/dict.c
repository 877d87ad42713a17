/* kernel/lang/dict.c — the dict: insertion-ordered entries with an
 * open-addressing index, as CPython keeps them.
 *
 * Owns: struct dict, its entries and index, and their memory accounting.
 * Does not own: hashing and equality of keys (compare.c), the dict methods
 * (methods.c). */
#include "value.h"

#include <stdlib.h>
#include <string.h>

#include "lens/memory.h"
#include "value_internal.h"

typedef struct dentry { value *key, *val; uint64_t hash; } dentry;

struct dict {
    dentry *e;
    size_t n, cap;      /* entries used (including deleted holes), allocated */
    size_t live;
    int64_t *index;     /* -1 empty, else entry position */
    size_t icap;        /* power of two */
};

dict *lang_dict_new(void) { return calloc(1, sizeof(dict)); }

void lang_dict_clear(dict *d)
{
    /* detached first: the decrefs below never see a half-emptied dict */
    dentry *e = d->e;
    size_t n = d->n;
    free(d->index);
    lens_mem_release(d->cap * sizeof(dentry) + d->icap * sizeof(int64_t));
    memset(d, 0, sizeof *d);
    for (size_t i = 0; i < n; i++) { lang_decref(e[i].key); lang_decref(e[i].val); }
    free(e);
}

void lang_dict_free(dict *d)
{
    if (!d) return;
    lang_dict_clear(d);
    free(d);
}

size_t lang_dict_len(const dict *d) { return d->live; }

static int dict_reindex(dict *d, size_t icap)
{
    /* compact holes first */
    size_t j = 0;
    for (size_t i = 0; i < d->n; i++) if (d->e[i].key) d->e[j++] = d->e[i];
    d->n = j;
    if (!lang_mem_take(icap * sizeof(int64_t), "a dict")) return -1;
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
        if (e->key && e->hash == h && (e->key == key || lang_values_equal(NULL, e->key, key) == 1)) {
            if (slot) *slot = s;
            return d->index[s];
        }
        s = (s + 1) & (d->icap - 1);
    }
    if (slot) *slot = s;
    return -1;
}

value *lang_dict_get(dict *d, value *key)
{
    int64_t i = dict_find(d, key, lang_value_hash(key), NULL);
    return i >= 0 ? d->e[i].val : NULL;
}

value *lang_dict_get_str(dict *d, const char *key)
{
    value k = {.type = V_STR, .refcount = -1};
    k.u.str.s = (char *)key;
    k.u.str.len = strlen(key);
    return lang_dict_get(d, &k);
}

value **lang_dict_slot_str(dict *d, const char *key, size_t len, size_t *hint)
{
    if (*hint < d->n) {
        dentry *e = &d->e[*hint];
        if (e->key && e->key->type == V_STR && e->key->u.str.len == len && !memcmp(e->key->u.str.s, key, len))
            return &e->val;
    }
    value k = {.type = V_STR, .refcount = -1};
    k.u.str.s = (char *)key;
    k.u.str.len = len;
    int64_t i = dict_find(d, &k, lang_value_hash(&k), NULL);
    if (i < 0) return NULL;
    *hint = (size_t)i;
    return &d->e[i].val;
}

static int dict_insert(dict *d, value *key, value *val)
{
    /* key and val: references owned by the caller are transferred */
    uint64_t h = lang_value_hash(key);
    int64_t i = dict_find(d, key, h, NULL);
    if (i >= 0) {
        lang_decref(d->e[i].val);
        d->e[i].val = val;
        lang_decref(key);
        return 0;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        if (!lang_mem_take((cap - d->cap) * sizeof(dentry), "a dict")) { lang_decref(key); lang_decref(val); return -1; }
        dentry *e = realloc(d->e, cap * sizeof *e);
        if (!e) { lens_mem_release((cap - d->cap) * sizeof *e); lang_decref(key); lang_decref(val); return -1; }
        d->e = e;
        d->cap = cap;
    }
    if ((d->n + 1) * 2 > d->icap) {
        if (dict_reindex(d, d->icap ? d->icap * 2 : 16)) { lang_decref(key); lang_decref(val); return -1; }
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

int lang_dict_set(interp *I, dict *d, value *key, value *val)
{
    if (!lang_hashable(key)) {
        if (I) lang_check_hashable(I, key);
        return -1;
    }
    return dict_insert(d, lang_incref(key), lang_incref(val));
}

int lang_dict_set_str(dict *d, const char *key, value *val)
{
    if (!val) return -1;
    value *k = v_str(key);
    if (!k) { lang_decref(val); return -1; }
    return dict_insert(d, k, val);
}

int lang_dict_del(dict *d, value *key)
{
    int64_t i = dict_find(d, key, lang_value_hash(key), NULL);
    if (i < 0) return -1;
    lang_decref(d->e[i].key);
    lang_decref(d->e[i].val);
    d->e[i].key = d->e[i].val = NULL;
    d->live--;
    return dict_reindex(d, d->icap);
}

bool lang_dict_next(const dict *d, size_t *i, value **key, value **val)
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
