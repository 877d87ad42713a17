/* kernel/lang/type_object.h — classes as values (type_object.c): type(x) and
 * isinstance's class test. */
#ifndef LANG_TYPE_OBJECT_H
#define LANG_TYPE_OBJECT_H

#include "value.h"

/* The class of v (type(v)): a new reference, NULL when out of memory. */
value *lang_class_of(const value *v);
/* isinstance(x, cls) with cls a class, a builtin class (int, torch.Tensor), a
 * provided TransformerLens class (HookedTransformer, ActivationCache) or a
 * tuple of them: 1, 0, or -1 with TypeError raised. */
int lang_is_instance(interp *I, value *x, value *cls);

#endif
