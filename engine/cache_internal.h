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

#endif
