/* logit_diff.c — the logit difference between two answer tokens at each
 * prompt's last real position, and the normalised metric that activation
 * patching reports. */
#include <stdlib.h>
#include <string.h>

#include "lens/analysis.h"
#include "lens/tensor_ops.h"
#include "tape_record.h"

/* Positions to read: tokens' last real ones, or the last position. */
static int64_t *last_positions(const lens_model *m, const lens_tensor *logits, const lens_tensor *tokens,
                               lens_error *err)
{
    int64_t B = logits->shape[0];
    int64_t *pos = calloc((size_t)B, sizeof *pos);
    if (!pos) { lens_fail_alloc(err); return NULL; }
    if (logits->ndim == 2) return pos;
    if (tokens) {
        if (tokens->ndim != 2 || tokens->shape[0] != B || tokens->shape[1] != logits->shape[1] ||
            tokens->dtype != LENS_I64) {
            free(pos);
            lens_fail(err, "logit_diff: tokens must be int64 [batch, pos] matching the logits' first two dims");
            return NULL;
        }
        int rc = 0;
        if (m) rc = lens_tokens_last_positions(m, tokens, pos, err);
        else {
            lens_tensor *host = lens_tensor_host_contiguous(tokens, err);
            if (!host) rc = -1;
            for (int64_t b = 0; host && b < B; b++) {
                pos[b] = 0;
                for (int64_t p = 1; p < tokens->shape[1]; p++)
                    if (lens_tensor_i64(host)[b * tokens->shape[1] + p] != LENS_GPT2_PAD) pos[b] = p;
            }
            lens_tensor_free(host);
        }
        if (rc) { free(pos); return NULL; }
    } else {
        for (int64_t b = 0; b < B; b++) pos[b] = logits->shape[1] - 1;
    }
    return pos;
}

lens_tensor *lens_logit_diff(const lens_model *m, const lens_tensor *logits, const lens_tensor *answer_tokens,
                             const lens_tensor *tokens, bool per_prompt, lens_error *err)
{
    char s1[64], s2[64];
    if (logits->dtype != LENS_F32 || (logits->ndim != 3 && logits->ndim != 2)) {
        lens_fail(err, "logit_diff: logits must be float [batch, pos, vocab] or [batch, vocab], got %s",
                  lens_shape_str(logits->ndim, logits->shape, s1, sizeof s1));
        return NULL;
    }
    int64_t B = logits->shape[0], V = logits->shape[logits->ndim - 1];
    if (answer_tokens->ndim != 2 || answer_tokens->shape[0] != B || answer_tokens->shape[1] < 2) {
        lens_fail(err, "logit_diff: answer_tokens must be [batch, 2] (correct, wrong) with batch %lld, got %s (logits %s)",
                  (long long)B, lens_shape_str(answer_tokens->ndim, answer_tokens->shape, s1, sizeof s1),
                  lens_shape_str(logits->ndim, logits->shape, s2, sizeof s2));
        return NULL;
    }
    int64_t *pos = last_positions(m, logits, tokens, err);
    if (!pos) return NULL;
    lens_tensor *out = lens_tensor_new_v(LENS_F32, 1, B);
    if (!out) { free(pos); lens_fail_alloc(err); return NULL; }
    /* logits computed on demand: unembed just these positions, in one product */
    if (logits->ndim == 3 && lens_logits_prepare_positions(logits, pos, err)) {
        free(pos);
        lens_tensor_free(out);
        return NULL;
    }
    /* the answers on the host, and each prompt's row downloaded once */
    lens_tensor *answers = lens_tensor_host(answer_tokens, err);
    if (!answers) {
        free(pos);
        lens_tensor_free(out);
        return NULL;
    }
    for (int64_t b = 0; b < B; b++) {
        double v[2];
        /* each prompt's row through its own view, so only that row is read */
        lens_tensor *prompt = lens_tensor_select(logits, 0, b);
        lens_tensor *row = !prompt ? NULL : logits->ndim == 3 ? lens_tensor_select(prompt, 0, pos[b]) : lens_tensor_ref(prompt);
        lens_tensor_free(prompt);
        bool had_row = row != NULL;
        lens_tensor *host = row ? lens_tensor_host_contiguous(row, err) : NULL;
        lens_tensor_free(row);
        if (!host) {
            if (!had_row) lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory");
            free(pos);
            lens_tensor_free(out);
            lens_tensor_free(answers);
            return NULL;
        }
        for (int k = 0; k < 2; k++) {
            int64_t tok = lens_tensor_get_i64(answers, (int64_t[]){b, k});
            if (tok < 0 || tok >= V) {
                free(pos);
                lens_tensor_free(out);
                lens_tensor_free(host);
                lens_tensor_free(answers);
                lens_fail(err, "logit_diff: answer token %lld is outside the vocabulary", (long long)tok);
                return NULL;
            }
            v[k] = lens_tensor_f32(host)[tok];
        }
        lens_tensor_free(host);
        lens_tensor_f32(out)[b] = (float)(v[0] - v[1]);
    }
    lens_tensor_free(answers);
    free(pos);
    lens_tape_no_rule("logit_diff() (logit_diff_metric(answer_tokens) is its differentiable form)", logits, out);
    if (per_prompt) return out;
    lens_tensor *mean = lens_reduce_all(LENS_RED_MEAN, out, err);
    lens_tensor_free(out);
    return mean;
}

static int mean_ld(const lens_model *m, const lens_tensor *logits, const lens_tensor *answers,
                   const lens_tensor *tokens, double *out, lens_error *err)
{
    lens_tensor *t = lens_logit_diff(m, logits, answers, tokens, false, err);
    if (!t) return -1;
    int rc = lens_tensor_item(t, out, err);
    lens_tensor_free(t);
    return rc;
}

lens_metric *lens_metric_normalized_logit_diff(const lens_model *m, const lens_tensor *answer_tokens,
                                               const lens_tensor *clean_logits, const lens_tensor *clean_tokens,
                                               const lens_tensor *corrupted_logits,
                                               const lens_tensor *corrupted_tokens, lens_error *err)
{
    lens_metric *mt = calloc(1, sizeof *mt);
    if (!mt) { lens_fail_alloc(err); return NULL; }
    if (mean_ld(m, clean_logits, answer_tokens, clean_tokens, &mt->clean, err) ||
        mean_ld(m, corrupted_logits, answer_tokens, corrupted_tokens, &mt->corrupted, err)) {
        free(mt);
        return NULL;
    }
    if (mt->clean == mt->corrupted) {
        free(mt);
        lens_fail(err, "normalized_logit_diff: the clean and corrupted runs have the same logit difference, "
                       "so the metric is undefined");
        return NULL;
    }
    mt->answer_tokens = lens_tensor_contiguous(answer_tokens);
    if (!mt->answer_tokens) { free(mt); lens_fail_alloc(err); return NULL; }
    return mt;
}

void lens_metric_free(lens_metric *mt)
{
    if (!mt) return;
    lens_tensor_free(mt->answer_tokens);
    free(mt);
}

double lens_metric_value(const lens_metric *mt, double ld)
{
    return (ld - mt->corrupted) / (mt->clean - mt->corrupted);
}
