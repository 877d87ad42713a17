/* lens/analysis.h — the analyses of the seed notebook, with TransformerLens's
 * names, arguments and labels: ActivationCache's residual-stream stacks
 * (accumulated_resid, decompose_resid, stack_head_results, ...), apply_ln_to_stack
 * and logit_attrs; logit differences; test_prompt; induction scores; head names.
 *
 *     // logit difference attributed to each head at the last position
 *     lens_slice last = lens_slice_index(-1);
 *     char **labels;
 *     lens_tensor *heads = lens_stack_head_results(m, cache, -1, &last, false, false, &labels, &err);
 *     lens_tensor *attrs = lens_logit_attrs(m, cache, heads, right, wrong, &last, NULL, &err);
 *     // attrs [n_layers * n_heads, batch]; labels "L0H0", "L0H1", ...
 *     lens_labels_free(labels);
 *
 * Caches come from lens_model_run on the same model. Functions that read the
 * LayerNorm scales assume the model was loaded with fold_ln (as TransformerLens does).
 * Results are new tensors (caller frees); failures return NULL and fill err.
 */
#ifndef LENS_ANALYSIS_H
#define LENS_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include "lens/error.h"
#include "lens/model.h"
#include "lens/tensor.h"

/* ---- utils.Slice ------------------------------------------------------------ */

/* TransformerLens's Slice: everything (None), one index (an int: the dim is
 * removed), a Python slice (start, stop, step; LENS_SLICE_NONE for an omitted
 * bound), or a list of indices (the dim keeps one entry per index). */
typedef enum { LENS_SLICE_ALL, LENS_SLICE_INDEX, LENS_SLICE_RANGE, LENS_SLICE_LIST } lens_slice_kind;
#define LENS_SLICE_NONE INT64_MIN

typedef struct lens_slice {
    lens_slice_kind kind;
    int64_t index;                 /* INDEX */
    int64_t start, stop, step;     /* RANGE */
    const int64_t *list;           /* LIST: borrowed */
    int64_t n;
} lens_slice;

lens_slice lens_slice_all(void);
lens_slice lens_slice_index(int64_t i);
lens_slice lens_slice_range(int64_t start, int64_t stop, int64_t step);
/* The slice applied to dim of t (a view, or a copy for lists). s NULL = all. */
lens_tensor *lens_slice_apply(const lens_slice *s, const lens_tensor *t, int dim, lens_error *err);

/* Labels come as a NULL-terminated array of strings. */
void lens_labels_free(char **labels);
int lens_labels_count(char *const *labels);

/* ---- ActivationCache -------------------------------------------------------- */

/* layer: -1 or n_layers = the final LayerNorm (ln_final); L = block L's ln1 (ln2 with
 * mlp_input). Centres each vector of stack [..., batch?, pos?, d_model] over d_model
 * and divides by the cached scale (sliced by pos_slice and batch_slice). */
lens_tensor *lens_apply_ln_to_stack(const lens_model *m, const lens_cache *c, const lens_tensor *stack,
                                    int layer, bool mlp_input, const lens_slice *pos_slice,
                                    const lens_slice *batch_slice, lens_error *err);

/* The residual stream before each layer up to layer (-1: all, then "final_post"):
 * [components, batch, pos (sliced), d_model], labels "0_pre", "0_mid" (incl_mid), ...
 * mlp_input adds resid_mid of `layer`. apply_ln: apply_ln_to_stack at `layer`.
 * labels may be NULL. */
lens_tensor *lens_accumulated_resid(const lens_model *m, const lens_cache *c, int layer, bool incl_mid,
                                    bool mlp_input, bool apply_ln, const lens_slice *pos_slice,
                                    char ***labels, lens_error *err);

/* Each layer's output before `layer`: embed, pos_embed (incl_embeds), "L_attn_out",
 * "L_mlp_out"; mode "all", "attn" or "mlp"; mlp_input adds attn_out of `layer`. */
lens_tensor *lens_decompose_resid(const lens_model *m, const lens_cache *c, int layer, bool mlp_input,
                                  const char *mode, bool incl_embeds, bool apply_ln,
                                  const lens_slice *pos_slice, char ***labels, lens_error *err);

/* Adds blocks.L.attn.hook_result [batch, pos, head, d_model] (z · W_O per head, no b_O)
 * to the cache for every layer that lacks it (compute_head_results). */
int lens_cache_compute_head_results(const lens_model *m, lens_cache *c, lens_error *err);

/* Per-head outputs of the layers before `layer` (-1: all):
 * [layers*heads (+1 "remainder"), batch, pos (sliced), d_model], labels "L0H0", ...
 * Uses cached hook_result when present, else computes it from hook_z. */
lens_tensor *lens_stack_head_results(const lens_model *m, const lens_cache *c, int layer,
                                     const lens_slice *pos_slice, bool incl_remainder, bool apply_ln,
                                     char ***labels, lens_error *err);

/* Per-neuron outputs (post[..., n] * W_out[n]) of the layers before `layer`:
 * [layers*d_mlp, batch, pos, d_model], labels "L0N0", ... */
lens_tensor *lens_stack_neuron_results(const lens_model *m, const lens_cache *c, int layer,
                                       const lens_slice *pos_slice, bool apply_ln, char ***labels,
                                       lens_error *err);

/* Heads, then neurons (expand_neurons) or each layer's mlp_out, then embed, pos_embed
 * and "bias" (the summed b_O, and b_out when neurons are expanded): the components sum
 * to the residual stream at `layer`. */
lens_tensor *lens_full_resid_decomposition(const lens_model *m, const lens_cache *c, int layer,
                                           bool mlp_input, bool expand_neurons, bool apply_ln,
                                           const lens_slice *pos_slice, char ***labels, lens_error *err);

/* W_U[:, tokens] with d_model last: tokens [...] (int64) -> [..., d_model]. */
lens_tensor *lens_tokens_to_residual_directions(const lens_model *m, const lens_tensor *tokens,
                                                lens_error *err);

/* apply_ln_to_stack(stack, -1, pos_slice, batch_slice) · (W_U[:, tokens] - W_U[:, incorrect])
 * summed over d_model. tokens (and incorrect, may be NULL) broadcast against the stack
 * without d_model: stack [components, batch, d_model] with tokens [batch] gives
 * [components, batch]. */
lens_tensor *lens_logit_attrs(const lens_model *m, const lens_cache *c, const lens_tensor *stack,
                              const lens_tensor *tokens, const lens_tensor *incorrect,
                              const lens_slice *pos_slice, const lens_slice *batch_slice,
                              lens_error *err);

/* ---- logit differences ---------------------------------------------------- */

/* logits [batch, pos, vocab] (or [batch, vocab], already at the last position);
 * answer_tokens [batch, 2] (correct, wrong). Reads each prompt's last real token:
 * with tokens [batch, pos] given, the last non-pad position (right padding), else
 * the last position. The pad token is m's (<|endoftext|>); m may be NULL, then it is
 * GPT-2's (LENS_GPT2_PAD). Returns [batch] (per_prompt) or the 0-d mean. */
#define LENS_GPT2_PAD 50256
lens_tensor *lens_logit_diff(const lens_model *m, const lens_tensor *logits, const lens_tensor *answer_tokens,
                             const lens_tensor *tokens, bool per_prompt, lens_error *err);

/* The normalised logit-difference metric of activation patching:
 * (ld - corrupted) / (clean - corrupted), ld = mean logit difference. */
typedef struct lens_metric {
    lens_tensor *answer_tokens;    /* [batch, 2] int64 (owned) */
    double clean, corrupted;       /* mean logit differences of the two runs */
} lens_metric;

/* clean_logits / corrupted_logits as lens_logit_diff takes them; tokens may be NULL. */
lens_metric *lens_metric_normalized_logit_diff(const lens_model *m, const lens_tensor *answer_tokens,
                                               const lens_tensor *clean_logits, const lens_tensor *clean_tokens,
                                               const lens_tensor *corrupted_logits,
                                               const lens_tensor *corrupted_tokens, lens_error *err);
void lens_metric_free(lens_metric *mt);
/* The metric of a mean logit difference. */
double lens_metric_value(const lens_metric *mt, double logit_diff);

/* ---- test_prompt -------------------------------------------------------------- */

/* What utils.test_prompt computes and prints. One answer: every token of it is
 * reported (answer_len positions); several answers: only their first tokens, in one
 * batch row per answer (answer_len 1). Arrays are row-major [answer_len][n_answers]
 * and [answer_len][top_k] (top tokens of row 0). */
typedef struct lens_prompt_report {
    int n_prompt;                 /* prompt tokens (BOS included when prepended) */
    char **prompt_str_tokens;     /* NULL-terminated */
    int n_answers, answer_len, top_k;
    char ***answer_str_tokens;    /* per answer, NULL-terminated */
    int64_t *answer_ids;          /* [answer_len][n_answers] */
    int64_t *ranks;
    float *answer_logits, *answer_probs;
    int64_t *top_ids;             /* [answer_len][top_k] */
    float *top_logits, *top_probs;
    char **top_strs;              /* [answer_len * top_k], to_string of each top token */
    char *text;                   /* the printed report, exactly as TransformerLens prints it */
} lens_prompt_report;

/* prepend_space: add " " to answers not starting with one (prepend_space_to_answer). */
lens_prompt_report *lens_test_prompt(const lens_model *m, const char *prompt, const char *const *answers,
                                     int n_answers, bool prepend_space, bool prepend_bos, int top_k,
                                     lens_error *err);
void lens_prompt_report_free(lens_prompt_report *r);
/* Python's repr of a str ('...' or "..." with escapes), malloc'd. */
char *lens_py_str_repr(const char *s);

/* ---- induction ------------------------------------------------------------------- */

/* On tokens [batch, 1 + 2*seq_len] = [BOS, r, r]: per head the mean over batch and
 * diagonal of hook_pattern at offsets -1 (prev_token), -seq_len (duplicate) and
 * -(seq_len - 1) (induction). Each out is [n_layers, n_heads] (any may be NULL). */
int lens_induction_scores(const lens_model *m, const lens_tensor *tokens, lens_tensor **prev_token,
                          lens_tensor **duplicate, lens_tensor **induction, lens_error *err);
/* [batch, 1 + 2*seq_len] of BOS then seq_len random tokens repeated (seeded). */
lens_tensor *lens_repeated_random_tokens(const lens_model *m, int64_t batch, int64_t seq_len, uint64_t seed,
                                         lens_error *err);

/* ---- heads -------------------------------------------------------------------------- */

/* "L9H9" / "l9h9" -> layer, head; checked against cfg. */
int lens_head_parse(const lens_config *cfg, const char *s, int *layer, int *head, lens_error *err);
/* Flat index (layer * n_heads + head) -> layer, head. */
int lens_head_from_index(const lens_config *cfg, int64_t index, int *layer, int *head, lens_error *err);
/* "L{layer}H{head}" labels of the first n_layers layers. */
char **lens_head_labels(const lens_config *cfg, int n_layers);

#endif
