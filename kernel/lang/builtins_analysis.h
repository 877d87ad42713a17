/* kernel/lang/builtins_analysis.h — what the analysis builtins share with the
 * model/cache builtins (builtins_model.c): access to model and cache objects, and
 * turning hook values (patch_hook, zero_ablate, ...) into engine interventions. */
#ifndef LANG_BUILTINS_ANALYSIS_H
#define LANG_BUILTINS_ANALYSIS_H

#include "lens/analysis.h"
#include "lens/model.h"
#include "lens/patching.h"
#include "value.h"

extern const lang_builtin builtins_analysis[];   /* analyses and ActivationCache methods */
extern const lang_builtin builtins_patching[];   /* hooks, patch, normalized_logit_diff */

/* The engine model of a HookedTransformer value, or NULL for any other value. */
lens_model *lang_model_of(value *v);
/* The engine cache of an ActivationCache value (and its model value, borrowed), or NULL. */
lens_cache *lang_cache_of(value *v, value **model);

/* The engine metric of a normalized_logit_diff value, or NULL for any other value. */
const lens_metric *lang_metric_of(value *v);
/* A metric object's call metric(logits, tokens=None): the mean logit difference of
 * the logits for answer_tokens (the last real position of each prompt when tokens
 * are given), a new 0-d tensor, or NULL with the error raised (builtins_patching.c). */
lens_tensor *lang_metric_logit_diff(interp *I, args *a, const lens_tensor *answer_tokens);

/* A list of hook values -> a malloc'd array of interventions for model (the sources
 * stay borrowed from the hook values' caches). -1 with an error raised. */
int lang_hooks_to_interventions(interp *I, value *model, value *hooks, lens_intervention **out, int *n);

/* A head as an int (flat index layer * n_heads + head), a (layer, head) pair or "L9H9". */
int lang_parse_head(interp *I, const lens_config *cfg, value *v, int *layer, int *head);

/* Shows one heatmap per [n_layers, n_heads] tensor (Head across, Layer down,
 * integer ticks, titles[i]) as imshow would (builtins_figures.c). 0, or -1
 * with an error raised. */
int lang_show_head_heatmaps(interp *I, const lens_tensor *const *scores, const char *const *titles, int n);

/* Raises the engine error as the language error of its kind (engine_error.c). */
value *lang_engine_error(interp *I, const lens_error *err);

#endif
