/* kernel/lang/did_you_mean.h — the language's errors for a misspelt name,
 * attribute or cache key, with Python's "Did you mean: 'x'?" when one of the
 * names that exist is close (the distance is lens_suggest's, lens/suggest.h). */
#ifndef LANG_DID_YOU_MEAN_H
#define LANG_DID_YOU_MEAN_H

#include <stddef.h>

#include "value.h"

/* ". Did you mean: 'x'?" for the nearest candidate to word, or "" (into
 * out, size bytes). */
void lang_did_you_mean(char *out, size_t size, const char *word, const char *const *candidates, size_t n);
/* NameError "name 'x' is not defined", suggesting a variable or builtin. */
value *lang_name_error(interp *I, const char *name);
/* AttributeError "'T' object has no attribute 'x'", suggesting one of its
 * attributes and methods. */
value *lang_attr_error(interp *I, value *obj, const char *name);

#endif
