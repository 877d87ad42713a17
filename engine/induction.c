/* induction.c — induction-head scores: on [BOS, r, r] with r random tokens, how
 * much each head attends to the previous token, to the same token one repeat
 * earlier (duplicate), and to the token after it (induction). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/analysis.h"
#include "lens/tensor_ops.h"

lens_tensor *lens_repeated_random_tokens(const lens_model *m, int64_t batch, int64_t seq_len, uint64_t seed,
                                         lens_error *err)
{
    const lens_config *c = lens_model_config(m);
    if (batch < 1 || seq_len < 2 || 1 + 2 * seq_len > c->n_ctx) {
        lens_fail(err, "induction: need batch >= 1 and 2 <= seq_len with 1 + 2*seq_len <= n_ctx (%d)", c->n_ctx);
        return NULL;
    }
    int64_t shape[2] = {batch, seq_len};
    lens_tensor *r = lens_randint(0, c->d_vocab, 2, shape, seed, err);
    if (!r) return NULL;
    lens_tensor *t = lens_tensor_new_v(LENS_I64, 2, batch, 1 + 2 * seq_len);
    if (!t) { lens_tensor_free(r); lens_fail_alloc(err); return NULL; }
    int64_t bos = lens_tokenizer_eos(lens_model_tokenizer(m));
    for (int64_t b = 0; b < batch; b++) {
        int64_t *row = lens_tensor_i64(t) + b * (1 + 2 * seq_len);
        const int64_t *src = lens_tensor_i64(r) + b * seq_len;
        row[0] = bos;
        memcpy(row + 1, src, (size_t)seq_len * sizeof *row);
        memcpy(row + 1 + seq_len, src, (size_t)seq_len * sizeof *row);
    }
    lens_tensor_free(r);
    return t;
}

static bool only_patterns(const char *name, void *ctx)
{
    (void)ctx;
    static const char suffix[] = "hook_pattern";
    size_t n = strlen(name), k = sizeof suffix - 1;
    return n > k && !strcmp(name + n - k, suffix);
}

int lens_induction_scores(const lens_model *m, const lens_tensor *tokens, lens_tensor **prev_token,
                          lens_tensor **duplicate, lens_tensor **induction, lens_error *err)
{
    const lens_config *c = lens_model_config(m);
    if (tokens->ndim != 2 || tokens->shape[1] < 5 || tokens->shape[1] % 2 == 0)
        return lens_fail(err, "induction scores need tokens [batch, 1 + 2*seq_len] ([BOS, r, r])");
    int64_t seq_len = (tokens->shape[1] - 1) / 2;
    lens_run_options o = lens_run_options_default();
    o.logits = false;
    o.names_filter = only_patterns;
    lens_cache *cache = NULL;
    lens_tensor *logits = NULL;
    if (lens_model_run(m, tokens, &o, &logits, &cache, err)) return -1;
    lens_tensor_free(logits);
    lens_tensor **outs[3] = {prev_token, duplicate, induction};
    int64_t offsets[3] = {-1, -seq_len, -(seq_len - 1)};
    lens_tensor *res[3] = {0};
    int rc = 0;
    for (int k = 0; k < 3 && !rc; k++) {
        if (!outs[k]) continue;
        res[k] = lens_tensor_new_v(LENS_F32, 2, (int64_t)c->n_layers, (int64_t)c->n_heads);
        if (!res[k]) { rc = lens_fail_alloc(err); break; }
        for (int l = 0; l < c->n_layers && !rc; l++) {
            char name[128];
            snprintf(name, sizeof name, "blocks.%d.attn.hook_pattern", l);
            const lens_tensor *pat = lens_cache_get(cache, name);   /* [batch, head, q, k] */
            lens_tensor *diag = lens_tensor_diagonal(pat, offsets[k], -2, -1, err);   /* [batch, head, n] */
            int dims[2] = {0, 2};
            lens_tensor *mean = diag ? lens_reduce_dims(LENS_RED_MEAN, diag, 2, dims, false, err) : NULL;
            lens_tensor *host = mean ? lens_tensor_host_contiguous(mean, err) : NULL;   /* [head], downloaded */
            if (!host) rc = -1;
            else memcpy(lens_tensor_f32(res[k]) + (size_t)l * (size_t)c->n_heads, lens_tensor_f32(host),
                        (size_t)c->n_heads * sizeof(float));
            lens_tensor_free(diag);
            lens_tensor_free(mean);
            lens_tensor_free(host);
        }
    }
    lens_cache_free(cache);
    for (int k = 0; k < 3; k++) {
        if (!outs[k]) continue;
        if (rc) { lens_tensor_free(res[k]); *outs[k] = NULL; }
        else *outs[k] = res[k];
    }
    return rc;
}
