/* kernel/lang/builtins_grad.h — what run_with_cache (builtins_model.c) needs from
 * the gradient builtins (builtins_grad.c) for incl_bwd=True. */
#ifndef LANG_BUILTINS_GRAD_H
#define LANG_BUILTINS_GRAD_H

#include "lens/backward.h"
#include "value.h"

extern const lang_builtin builtins_grad[];   /* logit_diff_metric, attribution_patch */

/* A metric written as a function of the logits, while a backward pass runs. */
typedef struct lang_user_metric { interp *I; value *fn; } lang_user_metric;

/* The metric a backward pass differentiates, from a metric value: one made by
 * normalized_logit_diff(...) or logit_diff_metric(...) (borrowed: the value keeps
 * the answer tokens alive), or any function of the logits returning one number as
 * a tensor (differentiated through lens/tape.h; *um holds it and must outlive the
 * run). -1 with a TypeError raised for anything else. An error inside the function
 * (its exception, or one the tape gives) is raised on I when the run calls it. */
int lang_grad_metric(interp *I, value *metric, const char *fn, lang_user_metric *um, lens_grad_metric *out);

#endif
