/* patch_pass.h — one forward pass of an activation-patching sweep that computes
 * only what a patch can change (patch_pass.c).
 *
 * A patch at (layer l, position p) leaves every layer before l, and positions
 * before p of every layer, as the corrupted run computed them (attention is
 * causal). A pass scores k cells of one layer together: each cell is a replica
 * of the corrupted batch that runs blocks l.. on its rows at positions >= p
 * only (the rows of all replicas packed into one matrix, so each matmul,
 * LayerNorm and MLP step is one call over just those rows); attention takes
 * its queries, keys and values for positions < p from the corrupted run's
 * cache. The last block computes its queries and what follows attention only
 * at each prompt's last position, the one row the metric reads; that row is
 * normalised and dotted with the answers' unembedding difference.
 *
 * Owns: the pass's buffers (on the model's backend, allocated once per sweep)
 * and references to the corrupted run's cached activations it reads. Does not
 * own: the sweep's cells, metric and output map (patching.c). */
#ifndef LENS_PATCH_PASS_H
#define LENS_PATCH_PASS_H

#include "lens/model.h"
#include "model_internal.h"

typedef struct lens_patch_pass lens_patch_pass;

/* Buffers for passes of up to k_max cells over B prompts of P positions.
 * corrupted: the corrupted run's cache with every layer's hook_resid_pre,
 * attn.hook_q / _k / _v and ln_final.hook_normalized. last[B]: each prompt's
 * last position; dir [B, d] and bias [B]: the answers' unembedding and bias
 * differences (host values, copied). NULL with err filled. */
lens_patch_pass *lens_patch_pass_new(const lens_model *m, const lens_cache *corrupted, int64_t B, int64_t P,
                                     int64_t k_max, const int64_t *last, const float *dir, const float *bias,
                                     lens_error *err);
void lens_patch_pass_free(lens_patch_pass *pp);

/* The cells of one pass: hook `kind` at `layer` patched from `clean` (its
 * activation in the clean run, [B, ...]); cell i patches position pos[i] and
 * head head[i] (either LENS_ALL). */
typedef struct lens_patch_cells {
    int layer;
    lens_hook_kind kind;
    const lens_tensor *clean;
    int64_t k;
    const int64_t *pos, *head;
} lens_patch_cells;

/* Runs the pass; out[i] = the mean over prompts of the patched logit
 * difference for cell i. 0, or -1 with err filled (LENS_ERR_INTERRUPTED when
 * *interrupt became non-zero). */
int lens_patch_pass_run(lens_patch_pass *pp, const lens_patch_cells *cells, const volatile int *interrupt,
                        double *out, lens_error *err);

#endif
