/* lens/patching.h — interventions (patching, ablation, scaling) as plain data,
 * and activation-patching sweeps.
 *
 * An intervention names a hook point and which part of its activation to change
 * (a position, a head, or all of it). A set of interventions becomes a forward
 * pass's hook_fn:
 *
 *     lens_intervention iv = lens_intervention_zero("blocks.1.attn.hook_z");
 *     iv.pos = -1; iv.head = 2;                        // z[:, -1, 2, :] = 0
 *     lens_run_options o = lens_run_options_default();
 *     lens_interventions_attach(&o, &iv, 1);
 *     lens_model_run(m, tokens, &o, &logits, &cache, &err);
 *
 * A sweep patches every cell (layer x position, layer x head, layer x position x
 * head) of a hook from a clean cache into a corrupted run and scores each run with
 * the normalised logit difference. It replicates the corrupted batch once per cell
 * of a layer (several cells per forward pass), starts each pass at the patched
 * layer from the corrupted run's resid_pre, and only reads the final residual at
 * each prompt's last position (no full logits).
 */
#ifndef LENS_PATCHING_H
#define LENS_PATCHING_H

#include <stdbool.h>
#include <stdint.h>

#include "lens/analysis.h"
#include "lens/model.h"

#define LENS_ALL INT64_MIN   /* every position / every head */

typedef enum { LENS_IV_PATCH, LENS_IV_ZERO, LENS_IV_MEAN, LENS_IV_SCALE } lens_iv_kind;

typedef struct lens_intervention {
    lens_iv_kind kind;
    char hook[128];             /* full hook name, e.g. "blocks.3.hook_resid_pre" */
    int64_t pos;                /* position (negative from the end; query position for
                                   patterns) or LENS_ALL */
    int64_t head;               /* head or LENS_ALL (hooks without heads: LENS_ALL) */
    double factor;              /* SCALE */
    /* PATCH: the value to write, shaped like the activation (batch 1 broadcasts);
     * MEAN: the activations to average over the batch (NULL: the run's own). Borrowed. */
    const lens_tensor *source;
} lens_intervention;

lens_intervention lens_intervention_patch(const char *hook, const lens_tensor *source);
lens_intervention lens_intervention_zero(const char *hook);
lens_intervention lens_intervention_mean(const char *hook, const lens_tensor *over);
lens_intervention lens_intervention_scale(const char *hook, double factor);

/* hook_fn for lens_run_options: ctx is a lens_intervention_set. */
typedef struct lens_intervention_set {
    const lens_intervention *items;
    int n;
} lens_intervention_set;
int lens_interventions_hook(void *ctx, const char *hook_name, lens_tensor *activation, lens_error *err);

/* Applies one intervention to an activation of its hook (in place). */
int lens_intervention_apply(const lens_intervention *iv, const lens_config *cfg, const char *hook_name,
                            lens_tensor *activation, lens_error *err);

/* Checks names and ranges against a model before a run (clear errors up front). */
int lens_interventions_check(const lens_model *m, const lens_intervention *ivs, int n, lens_error *err);

/* ---- sweeps ------------------------------------------------------------------------ */

typedef enum { LENS_PATCH_BY_POS, LENS_PATCH_BY_HEAD, LENS_PATCH_BY_HEAD_POS } lens_patch_by;

typedef struct lens_patch_options {
    lens_patch_by by;
    int cells_per_pass;          /* 0: as many as fit in max_tokens_per_pass */
    int64_t max_tokens_per_pass; /* 0: 16384 */
    /* Called after each forward pass with cells done and the total. */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
    const volatile int *interrupt;
} lens_patch_options;

lens_patch_options lens_patch_options_default(void);

/* hook: a short name ("resid_pre", "attn_out", "mlp_out", "z", "v", "q", "k",
 * "pattern", "result", ...). clean_cache must hold that hook for every layer.
 * corrupted_tokens [batch, pos]; the metric's answer tokens [batch, 2].
 * Returns [n_layers, pos] (BY_POS), [n_layers, n_heads] (BY_HEAD: all positions of a
 * head at once) or [n_layers, pos, n_heads] (BY_HEAD_POS). */
lens_tensor *lens_patch_sweep(const lens_model *m, const lens_tensor *corrupted_tokens,
                              const lens_cache *clean_cache, const char *hook, const lens_metric *metric,
                              const lens_patch_options *opt, lens_error *err);

/* Mean logit difference of a run with interventions (one full forward pass); the
 * simple reference the sweep is checked against. */
int lens_run_logit_diff(const lens_model *m, const lens_tensor *tokens, const lens_tensor *answer_tokens,
                        const lens_intervention *ivs, int n, double *out, lens_error *err);

#endif
