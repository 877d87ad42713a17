/* kernel/lang/builtins_model.c — models and activation caches as language
 * objects (placeholder until the model bindings land). */
#include "builtins.h"
#include "lang_internal.h"

void model_state_free(interp *I) { (void)I; }

const lang_builtin builtins_model[] = {
    {NULL, NULL, NULL, NULL},
};
