/* kernel/lang/arena.c — the bump allocator (see arena.h). */
#include "arena.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN ((size_t)16 << 10)

struct arena_chunk {
    arena_chunk *next;
    size_t used, cap;
    _Alignas(8) char data[];
};

void *lang_arena_alloc(arena *a, size_t n)
{
    if (n > SIZE_MAX / 2) return NULL;
    n = (n + 7) & ~(size_t)7;
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        bool big = n > CHUNK_MIN / 4;
        size_t cap = big ? n : CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->used = 0;
        c->cap = cap;
        if (big && a->head) {
            /* a large piece gets its own chunk behind the current one, which keeps serving small pieces */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *lang_arena_strndup(arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX) return NULL;
    char *d = lang_arena_alloc(a, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *lang_arena_strdup(arena *a, const char *s) { return lang_arena_strndup(a, s, strlen(s)); }

void *lang_arena_grow(arena *a, void *old, size_t old_n, size_t new_n, size_t elem)
{
    if (elem && new_n > SIZE_MAX / elem) return NULL;
    void *p = lang_arena_alloc(a, new_n * elem);
    if (p && old_n) memcpy(p, old, old_n * elem);
    return p;
}

void lang_arena_free(arena *a)
{
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
