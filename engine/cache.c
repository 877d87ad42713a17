/* cache.c — lens_cache: an ordered map from hook name to activation tensor. */
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"

lens_cache *lens_cache_new(void) { return calloc(1, sizeof(lens_cache)); }

int lens_cache_add(lens_cache *c, const char *name, lens_tensor *t)
{
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        char **names = realloc(c->names, (size_t)cap * sizeof *names);
        if (!names) return -1;
        c->names = names;
        lens_tensor **ts = realloc(c->tensors, (size_t)cap * sizeof *ts);
        if (!ts) return -1;
        c->tensors = ts;
        c->cap = cap;
    }
    char *dup = strdup(name);
    if (!dup) return -1;
    c->names[c->n] = dup;
    c->tensors[c->n++] = t;
    return 0;
}

int lens_cache_count(const lens_cache *c) { return c ? c->n : 0; }
const char *lens_cache_name(const lens_cache *c, int i) { return c->names[i]; }
const lens_tensor *lens_cache_at(const lens_cache *c, int i) { return c->tensors[i]; }

const lens_tensor *lens_cache_get(const lens_cache *c, const char *name)
{
    if (!c) return NULL;
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->names[i], name)) return c->tensors[i];
    return NULL;
}

void lens_cache_free(lens_cache *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        free(c->names[i]);
        lens_tensor_free(c->tensors[i]);
    }
    free(c->names);
    free(c->tensors);
    free(c);
}
