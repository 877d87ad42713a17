/* weights.c — lens_model_weight: the model's weights under TransformerLens's
 * names and shapes, as views over the engine layout (model_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* [H, rows, cols] view of a [rows, H*cols] matrix (W_Q/W_K/W_V). */
static lens_tensor *heads_of_columns(const lens_tensor *W, int64_t H, int64_t dh)
{
    int64_t rows = W->shape[0];
    int64_t shape[3] = {H, rows, dh}, strides[3] = {dh, H * dh, 1};
    return lens_tensor_view(W, 3, shape, strides, W->offset);
}

lens_tensor *lens_model_weight(const lens_model *m, const char *name, lens_error *err)
{
    const lens_config *c = &m->cfg;
    int64_t H = c->n_heads, dh = c->d_head, d = c->d_model;
    const lens_tensor *t = NULL;
    if (!strcmp(name, "embed.W_E")) return lens_tensor_ref(m->W_E);
    if (!strcmp(name, "pos_embed.W_pos")) return lens_tensor_ref(m->W_pos);
    if (!strcmp(name, "unembed.W_U")) return lens_tensor_transpose(m->W_Ut, 0, 1, err);
    if (!strcmp(name, "unembed.b_U")) return lens_tensor_ref(m->b_U);
    if (!strcmp(name, "ln_final.w")) t = m->lnf_w;
    else if (!strcmp(name, "ln_final.b")) t = m->lnf_b;
    else if (!strncmp(name, "blocks.", 7)) {
        char *end;
        long l = strtol(name + 7, &end, 10);
        if (end == name + 7 || *end != '.' || l < 0 || l >= c->n_layers) goto unknown;
        const lens_layer *L = &m->layers[l];
        const char *w = end + 1;
        if (!strcmp(w, "attn.W_Q")) return heads_of_columns(L->W_Q, H, dh);
        if (!strcmp(w, "attn.W_K")) return heads_of_columns(L->W_K, H, dh);
        if (!strcmp(w, "attn.W_V")) return heads_of_columns(L->W_V, H, dh);
        int64_t hb[2] = {H, dh};
        if (!strcmp(w, "attn.b_Q")) return lens_tensor_reshape(L->b_Q, 2, hb, err);
        if (!strcmp(w, "attn.b_K")) return lens_tensor_reshape(L->b_K, 2, hb, err);
        if (!strcmp(w, "attn.b_V")) return lens_tensor_reshape(L->b_V, 2, hb, err);
        int64_t ho[3] = {H, dh, d};
        if (!strcmp(w, "attn.W_O")) return lens_tensor_reshape(L->W_O, 3, ho, err);
        if (!strcmp(w, "attn.b_O")) t = L->b_O;
        else if (!strcmp(w, "mlp.W_in")) t = L->W_in;
        else if (!strcmp(w, "mlp.b_in")) t = L->b_in;
        else if (!strcmp(w, "mlp.W_out")) t = L->W_out;
        else if (!strcmp(w, "mlp.b_out")) t = L->b_out;
        else if (!strcmp(w, "ln1.w")) t = L->ln1_w;
        else if (!strcmp(w, "ln1.b")) t = L->ln1_b;
        else if (!strcmp(w, "ln2.w")) t = L->ln2_w;
        else if (!strcmp(w, "ln2.b")) t = L->ln2_b;
        else goto unknown;
    } else goto unknown;
    if (!t) {
        lens_fail(err, "the model has no weight \"%s\": LayerNorm weights are folded into the "
                       "following weights when the model is loaded with fold_ln=True", name);
        return NULL;
    }
    return lens_tensor_ref(t);
unknown:
    lens_fail(err, "unknown weight \"%s\" (names as in TransformerLens: embed.W_E, pos_embed.W_pos, "
                   "blocks.L.attn.W_Q, blocks.L.mlp.W_in, unembed.W_U, ...)", name);
    return NULL;
}
