/* shared_prefix.h — which rows of a batch a forward pass must compute when
 * prompts begin with the same tokens (shared_prefix.c).
 *
 * Attention is causal and positions are absolute, so every activation at
 * position t of a prompt depends only on its tokens 0..t: two prompts that
 * agree on tokens 0..t have the same activations at positions 0..t. Templated
 * batches (the seed's 100 prompts share "<bos>So", then a name, then part of a
 * template) repeat 40 % of their (prompt, position) rows. A plan names the rows
 * that are the first of their prefix (computed) and, for every row, the computed
 * row it equals; forward.c computes the first and copies the rest.
 *
 * Owns: the plan's two index arrays (host memory). Does not own: the tokens, or
 * running the plan (forward.c). */
#ifndef LENS_SHARED_PREFIX_H
#define LENS_SHARED_PREFIX_H

#include <stdint.h>

#include "lens/error.h"

typedef struct lens_prefix_plan {
    int64_t rows;       /* B * P: the batch's (prompt, position) rows, prompt-major */
    int64_t computed;   /* rows that are the first (lowest prompt) with their prefix */
    int64_t *compact;   /* [computed]: the row each computed row is, ascending */
    int64_t *expand;    /* [rows]: the computed row (index into compact) each row equals */
} lens_prefix_plan;

/* The plan for ids [B, P] (host, row-major). O(B P + B log B P) time. -1 with
 * err when the arrays cannot be allocated. */
int lens_prefix_plan_make(const int64_t *ids, int64_t B, int64_t P, lens_prefix_plan *plan, lens_error *err);
void lens_prefix_plan_free(lens_prefix_plan *plan);

#endif
