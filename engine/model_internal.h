/* model_internal.h — the engine's private view of a model: weights in the
 * layout the forward pass multiplies with, and the hook table. Not part of the
 * public API (engine/include/lens/ is).
 *
 * Weight layout (row-major, x @ W):
 *   W_E, W_Ut        [d_vocab, d_model]   (W_Ut is the unembedding transposed)
 *   W_pos            [n_ctx, d_model]
 *   W_Q, W_K, W_V    [d_model, H*d_head]  column h*d_head + j is head h, dim j
 *   W_O              [H*d_head, d_model]
 *   W_in [d_model, d_mlp], W_out [d_mlp, d_model]
 */
#ifndef LENS_MODEL_INTERNAL_H
#define LENS_MODEL_INTERNAL_H

#include "lens/model.h"

typedef struct lens_layer {
    lens_tensor *ln1_w, *ln1_b;   /* NULL after fold_ln */
    lens_tensor *W_Q, *W_K, *W_V, *b_Q, *b_K, *b_V;
    lens_tensor *W_O, *b_O;
    lens_tensor *ln2_w, *ln2_b;
    lens_tensor *W_in, *b_in, *W_out, *b_out;
} lens_layer;

struct lens_backend;

struct lens_model {
    lens_config cfg;
    /* Where the weights live and the forward pass runs (a load option); every
     * weight tensor below is in its memory. */
    const struct lens_backend *be;
    lens_processing proc;
    char path[4096];
    lens_tokenizer *tok;
    lens_tensor *W_E, *W_pos, *W_Ut, *b_U;
    lens_tensor *lnf_w, *lnf_b;   /* NULL after fold_ln */
    lens_layer *layers;
};

/* Hook points, in forward order within a block. */
typedef enum {
    HK_EMBED, HK_POS_EMBED,
    HK_RESID_PRE, HK_LN1_SCALE, HK_LN1_NORMALIZED, HK_Q, HK_K, HK_V, HK_ATTN_SCORES,
    HK_PATTERN, HK_Z, HK_RESULT, HK_ATTN_OUT, HK_RESID_MID, HK_LN2_SCALE,
    HK_LN2_NORMALIZED, HK_MLP_PRE, HK_MLP_POST, HK_MLP_OUT, HK_RESID_POST,
    HK_LNF_SCALE, HK_LNF_NORMALIZED, HK_UNEMBED_IN,
    HK_COUNT
} lens_hook_kind;

typedef enum { SH_BPD, SH_BP1, SH_BPHD, SH_BHPP, SH_BPHM, SH_BPF } lens_hook_shape;

typedef struct lens_hook_info {
    const char *suffix;   /* name after "blocks.L." (or the whole name for global hooks) */
    bool per_layer;
    lens_hook_shape shape;
} lens_hook_info;

extern const lens_hook_info lens_hooks[HK_COUNT];

/* Full hook name, e.g. (HK_Q, 3) -> "blocks.3.attn.hook_q". */
void lens_hook_name(lens_hook_kind kind, int layer, char *out, size_t size);
/* Shape of a hook's tensor for a batch. Returns ndim. */
int lens_hook_shape_of(const lens_config *cfg, lens_hook_kind kind, int64_t B, int64_t P,
                       int64_t *shape);
/* Parses a full hook name; returns 0 and fills kind/layer, or -1. */
int lens_hook_parse(const lens_config *cfg, const char *name, lens_hook_kind *kind, int *layer);

/* Processed weights shared between processes (weights_cache.c): load maps a
 * valid cache entry for these flags into m's (empty) weights and returns 0, else
 * -1; store writes m's processed weights as the entry and remaps m onto it. */
int lens_weights_cache_load(lens_model *m, const char *weights_path, const lens_processing *p);
int lens_weights_cache_store(lens_model *m, const char *weights_path, const lens_processing *p);

/* Weight processing (process.c), in TransformerLens's order. */
int lens_model_process(lens_model *m, const lens_processing *p, lens_error *err);

#endif
