/* tokens.c — TransformerLens's to_tokens on top of the tokenizer: BOS, batching,
 * right padding, and finding each prompt's last real token (tokens on a device
 * are read through an explicit download).
 *
 * Owns: the token tensors it returns. Does not own: the tokenizer (tokenizer.c). */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

lens_tensor *lens_model_to_tokens(const lens_model *m, const char *const *texts, int n,
                                  bool prepend_bos, lens_error *err)
{
    if (n < 1) { lens_fail(err, "to_tokens needs at least one string"); return NULL; }
    int64_t **ids = calloc((size_t)n, sizeof *ids);
    size_t *lens = calloc((size_t)n, sizeof *lens);
    lens_tensor *out = NULL;
    if (!ids || !lens) { lens_fail_oom(err); goto done; }
    size_t max_len = 0;
    for (int i = 0; i < n; i++) {
        if (lens_tokenizer_encode(m->tok, texts[i], &ids[i], &lens[i], err)) goto done;
        size_t len = lens[i] + (prepend_bos ? 1 : 0);
        if (len > max_len) max_len = len;
    }
    if (max_len == 0) { lens_fail(err, "to_tokens: the text is empty (use prepend_bos=True)"); goto done; }
    out = lens_tensor_new_v(LENS_I64, 2, (int64_t)n, (int64_t)max_len);
    if (!out) { lens_fail_oom(err); goto done; }
    int64_t eos = lens_tokenizer_eos(m->tok);
    int64_t *t = lens_tensor_i64(out);
    for (int i = 0; i < n; i++) {
        int64_t *row = t + (size_t)i * max_len;
        size_t j = 0;
        if (prepend_bos) row[j++] = eos;
        memcpy(row + j, ids[i], lens[i] * sizeof *row);
        for (j += lens[i]; j < max_len; j++) row[j] = eos;
    }
done:
    if (ids)
        for (int i = 0; i < n; i++) free(ids[i]);
    free(ids);
    free(lens);
    return out;
}

int lens_tokens_last_positions(const lens_model *m, const lens_tensor *tokens, int64_t *out, lens_error *err)
{
    lens_tensor *host = lens_tensor_host_contiguous(tokens, err);
    if (!host) return -1;
    int64_t pad = lens_tokenizer_eos(m->tok);
    int64_t B = host->shape[0], P = host->shape[1];
    const int64_t *ids = lens_tensor_i64(host);
    for (int64_t b = 0; b < B; b++) {
        int64_t last = 0;
        for (int64_t p = 1; p < P; p++)
            if (ids[b * P + p] != pad) last = p;
        out[b] = last;
    }
    lens_tensor_free(host);
    return 0;
}

int64_t lens_token_position(const lens_tensor *tokens, int64_t token, bool last, lens_error *err)
{
    if (tokens->dtype != LENS_I64 || tokens->ndim < 1 || tokens->ndim > 2 ||
        (tokens->ndim == 2 && tokens->shape[0] != 1)) {
        char s[64];
        lens_fail(err, "get_token_position needs the tokens of one prompt ([pos] or [1, pos] int64), got shape %s",
                  lens_shape_str(tokens->ndim, tokens->shape, s, sizeof s));
        return -1;
    }
    lens_tensor *host = lens_tensor_host_contiguous(tokens, err);
    if (!host) return -1;
    const int64_t *ids = lens_tensor_i64(host);
    int64_t found = -1;
    for (int64_t p = 0; p < tokens->shape[tokens->ndim - 1]; p++)
        if (ids[p] == token) {
            found = p;
            if (!last) break;
        }
    lens_tensor_free(host);
    if (found < 0) lens_fail(err, "token %lld does not occur in the input", (long long)token);
    return found;
}
