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

struct lens_backend;

/* A [elems] float tensor over an activation arena (arena_pool.c) in be's memory:
 * a pooled block of that backend that fits, else a fresh one; its contents are
 * unspecified (a run writes every element it caches). When the storage's last
 * reference goes the block returns to the pool of its backend and kind. NULL when
 * out of memory (lens_fail_alloc says why). */
typedef enum { LENS_ARENA_CACHE, LENS_ARENA_SCRATCH, LENS_ARENA_KINDS } lens_arena_kind;
lens_tensor *lens_arena_take(const struct lens_backend *be, int64_t elems, lens_arena_kind kind);

/* The logits of a run, computed on demand (lazy_logits.c) on be from a copy of
 * the final residual final [B*P, d] (be's memory) and references to W_Ut [V, d]
 * and b_U [V] (on be); the logits are a tensor on be. */
lens_tensor *lens_logits_lazy(const struct lens_backend *be, const float *final, int64_t B, int64_t P,
                              const lens_tensor *W_Ut, const lens_tensor *b_U, lens_error *err);

#endif
