/* kernel/lang/builtins_grad.h — what run_with_cache (builtins_model.c) needs from
 * the gradient builtins (builtins_grad.c) for incl_bwd=True. */
#ifndef LANG_BUILTINS_GRAD_H
#define LANG_BUILTINS_GRAD_H

#include "lens/backward.h"
#include "value.h"

extern const lang_builtin builtins_grad[];   /* logit_diff_metric, attribution_patch */

/* The metric a backward pass differentiates, from a metric value: one made by
 * normalized_logit_diff(...) or logit_diff_metric(...) (borrowed: the value keeps
 * the answer tokens alive). -1 with a TypeError raised for anything else. */
int lang_grad_metric(interp *I, value *metric, const char *fn, lens_grad_metric *out);

#endif
