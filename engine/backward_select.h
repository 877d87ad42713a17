/* backward_select.h — which hooks a backward pass keeps and which forward
 * activations it reads, and its memory estimate (backward_select.c); the pass
 * itself is backward.c. Private to the engine. */
#ifndef LENS_BACKWARD_SELECT_H
#define LENS_BACKWARD_SELECT_H

#include <regex.h>

#include "lens/backward.h"
#include "model_internal.h"

/* The caller's selection (names_regex and names_filter) and the activations the
 * backward pass reads, as one names_filter for the internal forward pass. */
typedef struct selection {
    const lens_run_options *opt;
    regex_t re;
    bool have_re;
    const lens_config *cfg;
    bool *needed;             /* [HK_COUNT * (n_layers + 1)] */
} selection;

/* Compiles the caller's names_regex and marks what the backward pass reads
 * (-1 with err filled for a bad regex). */
int backward_selection_open(selection *s, const lens_model *m, const lens_run_options *opt, lens_error *err);
void backward_selection_close(selection *s);
/* Whether the caller selected hook k (full name `name`): its activation goes to the
 * caller's cache and its gradient to the gradient cache. */
bool backward_user_selects(const selection *s, const char *name, lens_hook_kind k);
/* The lowest block the backward pass must go through (n_layers: none). */
int backward_lowest_layer(const selection *s);
/* The internal forward pass's options: every needed or selected hook cached. */
lens_run_options backward_forward_options(const lens_run_options *opt, selection *s);
/* Refuses token batches whose sizes would overflow, before any size is computed. */
int backward_check_batch(const lens_config *c, const lens_tensor *tokens, lens_error *err);
/* Bytes of a run: the forward activations, the caller's cache and gradients, scratch. */
size_t backward_estimate(const lens_model *m, selection *s, int64_t B, int64_t P, const lens_run_options *opt);
/* Elements of hook k's tensor for B x P tokens. */
int64_t backward_hook_numel(const lens_config *c, lens_hook_kind k, int64_t B, int64_t P);

#endif
