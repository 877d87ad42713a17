/* cache_internal.h — how the forward pass fills a lens_cache. */
#ifndef LENS_CACHE_INTERNAL_H
#define LENS_CACHE_INTERNAL_H

#include "lens/model.h"

struct lens_cache {
    int n, cap;
    char **names;
    lens_tensor **tensors;
};

lens_cache *lens_cache_new(void);
/* Takes ownership of t. */
int lens_cache_add(lens_cache *c, const char *name, lens_tensor *t);

/* A [elems] float tensor over an activation arena (arena_pool.c): a pooled
 * mapping that fits, else a fresh one; its contents are unspecified (a run
 * writes every element it caches). When the storage's last reference goes the
 * mapping returns to the pool. NULL when out of memory. */
lens_tensor *lens_arena_take(int64_t elems);

#endif
