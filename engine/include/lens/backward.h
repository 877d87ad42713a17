/* lens/backward.h — gradients of a scalar metric with respect to activations
 * (a backward pass through GPT-2 over the processed weights), and attribution
 * patching built on them.
 *
 *     lens_grad_metric g = lens_grad_metric_normalized(metric);   // patch()'s metric
 *     lens_run_options o = lens_run_options_default();
 *     o.names_regex = "hook_resid_pre$";                          // which hooks (fwd and grad)
 *     lens_tensor *logits; lens_cache *cache, *grads; double value;
 *     lens_model_run_backward(m, tokens, &o, &g, &logits, &cache, &grads, &value, &err);
 *     const lens_tensor *d = lens_cache_get(grads, "blocks.0.hook_resid_pre_grad");
 *
 *     // attribution patching: (clean - corrupted) . grad, patch()'s shapes
 *     lens_tensor *map = lens_attribution_patch(m, corrupted_tokens, clean_cache, "z", metric,
 *                                               LENS_PATCH_BY_HEAD, &err);   // [n_layers, n_heads]
 *
 * A gradient is the total derivative of the metric with respect to the hook's
 * activation taken as a free variable (through everything downstream of it),
 * what TransformerLens's backward hooks receive; gradient caches name it
 * "<hook name>_grad" as TransformerLens's run_with_cache(incl_bwd=True) does.
 * ln1.hook_normalized's gradient is the sum over its three uses (query, key and
 * value inputs). Only activation gradients are computed, never weight gradients.
 */
#ifndef LENS_BACKWARD_H
#define LENS_BACKWARD_H

#include <stdbool.h>

#include "lens/analysis.h"
#include "lens/model.h"
#include "lens/patching.h"

/* A metric computed by the caller from the forward pass's logits [B, P, d_vocab]
 * (lazy: only the rows it reads are unembedded): it sets *value and the gradient
 * of the metric with respect to the rows of logits it read, *n rows (indices
 * b * P + p, ascending, malloc'd into *rows) with their gradients in *grad
 * [n, d_vocab]; the backward pass frees both. lens/tape.h computes them for a
 * metric written with tensor operations. -1 + err on failure. */
typedef int (*lens_logits_metric_fn)(void *ctx, const lens_tensor *logits, double *value, int64_t *n, int64_t **rows,
                                     lens_tensor **grad, lens_error *err);

/* The metric differentiated: with logits_fn, that function of the logits; else
 * scale * LD + offset, where LD is the mean over the batch of
 * logits[b, last_b, answer[b, 0]] - logits[b, last_b, answer[b, 1]] at each
 * prompt's last real position (as lens_logit_diff reads it). */
typedef struct lens_grad_metric {
    const lens_tensor *answer_tokens;   /* [batch, 2] int64, borrowed */
    double scale, offset;
    lens_logits_metric_fn logits_fn;
    void *ctx;
} lens_grad_metric;

/* The mean logit difference itself (logit_diff). */
lens_grad_metric lens_grad_metric_logit_diff(const lens_tensor *answer_tokens);
/* patch()'s normalised metric (LD - corrupted) / (clean - corrupted). */
lens_grad_metric lens_grad_metric_normalized(const lens_metric *mt);
/* A function of the logits. */
lens_grad_metric lens_grad_metric_of_logits(lens_logits_metric_fn fn, void *ctx);

/* A forward pass on tokens, then the backward pass from the metric. opt chooses,
 * as for lens_model_run, the hooks whose activations go into *cache and, by the
 * same names_regex / names_filter, the hooks whose gradients go into *grad_cache
 * (hook_result's only with include_attn_result); opt->logits whether *logits is
 * computed; opt->hook_fn, start_layer and stop_at_layer must be unset. Any of
 * logits, cache, grad_cache, value may be NULL. *value gets the metric. The memory
 * of the forward activations the backward pass needs, the caches and the logits
 * is estimated first and the run refused beyond opt->memory_limit (0: the limit). */
int lens_model_run_backward(const lens_model *m, const lens_tensor *tokens, const lens_run_options *opt,
                            const lens_grad_metric *metric, lens_tensor **logits, lens_cache **cache,
                            lens_cache **grad_cache, double *value, lens_error *err);

/* Estimated bytes of lens_model_run_backward for B x P tokens. */
size_t lens_backward_estimate_bytes(const lens_model *m, int64_t batch, int64_t pos, const lens_run_options *opt);

/* Attribution patching: the first-order estimate of lens_patch_sweep's map,
 * attr[cell] = sum over the cell of (clean - corrupted activation) * dmetric/dactivation,
 * from one forward and one backward pass on the corrupted tokens (the gradient at the
 * corrupted run). hook, clean_cache and by as for lens_patch_sweep, same shapes:
 * [n_layers, pos] (BY_POS), [n_layers, n_heads] (BY_HEAD: every position of a head)
 * or [n_layers, pos, n_heads] (BY_HEAD_POS). Each cell estimates the patched run's
 * metric minus the corrupted run's (0 for patch()'s metric, so it estimates
 * patch()'s cell itself). The sums run on the model's backend; the map, float32,
 * is returned on the host (the only download). */
lens_tensor *lens_attribution_patch(const lens_model *m, const lens_tensor *corrupted_tokens,
                                    const lens_cache *clean_cache, const char *hook, const lens_metric *metric,
                                    lens_patch_by by, lens_error *err);
/* The same with any differentiable metric (a builtin one or a function of the logits). */
lens_tensor *lens_attribution_patch_grad(const lens_model *m, const lens_tensor *corrupted_tokens,
                                         const lens_cache *clean_cache, const char *hook,
                                         const lens_grad_metric *metric, lens_patch_by by, lens_error *err);

#endif
