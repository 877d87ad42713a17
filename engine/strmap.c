/* strmap.c — open-addressing (linear probing) string -> int64 hash table.
 *
 * Slots hold the key's hash, its offset and length in a byte arena, and the
 * value. The table doubles when it is more than half full, so probe runs stay
 * short. There is no delete of single keys (nothing needs it); clear() empties
 * the whole map. Not thread-safe: callers that share a map lock around it.
 */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash; /* 0 marks an empty slot (real hashes are forced non-zero) */
    size_t off, len;
    int64_t value;
} slot;

struct lens_strmap {
    slot *slots;
    size_t cap;   /* power of two */
    size_t count;
    char *arena;  /* every key's bytes, back to back */
    size_t arena_len, arena_cap;
};

/* FNV-1a, 64-bit: simple and good enough for short keys. */
static uint64_t hash_bytes(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 29;
    return h ? h : 1;
}

lens_strmap *lens_strmap_new(size_t expected)
{
    lens_strmap *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    m->cap = cap;
    return m;
}

void lens_strmap_free(lens_strmap *m)
{
    if (!m) return;
    free(m->slots);
    free(m->arena);
    free(m);
}

size_t lens_strmap_count(const lens_strmap *m) { return m->count; }

void lens_strmap_clear(lens_strmap *m)
{
    memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->count = 0;
    m->arena_len = 0;
}

static slot *find_slot(const lens_strmap *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        slot *s = &m->slots[i];
        if (s->hash == 0) return s;
        /* an empty key compares without touching the arena, which is NULL while
         * every key stored is empty */
        if (s->hash == h && s->len == len && (len == 0 || memcmp(m->arena + s->off, key, len) == 0)) return s;
    }
}

static int grow(lens_strmap *m)
{
    size_t cap = m->cap * 2;
    slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        slot *s = &m->slots[i];
        if (!s->hash) continue;
        size_t j = s->hash & (cap - 1);
        while (slots[j].hash) j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int lens_strmap_put(lens_strmap *m, const char *key, size_t len, int64_t value)
{
    uint64_t h = hash_bytes(key, len);
    slot *s = find_slot(m, key, len, h);
    if (s->hash) {
        s->value = value;
        return 0;
    }
    if ((m->count + 1) * 2 > m->cap) {
        if (grow(m) < 0) return -1;
        s = find_slot(m, key, len, h);
    }
    if (m->arena_len + len > m->arena_cap) {
        size_t cap = m->arena_cap ? m->arena_cap : 4096;
        while (cap < m->arena_len + len) cap *= 2;
        char *a = realloc(m->arena, cap);
        if (!a) return -1;
        m->arena = a;
        m->arena_cap = cap;
    }
    if (len) memcpy(m->arena + m->arena_len, key, len);
    s->hash = h;
    s->off = m->arena_len;
    s->len = len;
    s->value = value;
    m->arena_len += len;
    m->count++;
    return 0;
}

int lens_strmap_get(const lens_strmap *m, const char *key, size_t len, int64_t *value)
{
    const slot *s = find_slot(m, key, len, hash_bytes(key, len));
    if (!s->hash) return 0;
    if (value) *value = s->value;
    return 1;
}
