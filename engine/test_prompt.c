/* test_prompt.c — utils.test_prompt: how a model ranks the answer to a prompt,
 * with the same numbers and the same printed report as TransformerLens. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_tensor.h"
#include "lens/analysis.h"
#include "lens/tensor_ops.h"

/* A growing string. */
typedef struct sbuf { char *s; size_t n, cap; bool oom; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = true; return; }
        if (b->s && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
        size_t cap = (b->cap + (size_t)k + 64) * 2;
        char *x = realloc(b->s, cap);
        if (!x) { b->oom = true; return; }
        b->s = x;
        b->cap = cap;
    }
}

char *lens_py_str_repr(const char *s)
{
    bool has_sq = strchr(s, '\'') != NULL, has_dq = strchr(s, '"') != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    sbuf b = {0};
    sb_printf(&b, "%c", q);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\') sb_printf(&b, "\\\\");
        else if (*p == (unsigned char)q) sb_printf(&b, "\\%c", q);
        else if (*p == '\n') sb_printf(&b, "\\n");
        else if (*p == '\r') sb_printf(&b, "\\r");
        else if (*p == '\t') sb_printf(&b, "\\t");
        else if (*p < 0x20 || *p == 0x7f) sb_printf(&b, "\\x%02x", *p);
        else sb_printf(&b, "%c", *p);
    }
    sb_printf(&b, "%c", q);
    if (b.oom) { free(b.s); return NULL; }
    return b.s;
}

static void sb_repr(sbuf *b, const char *s)
{
    char *r = lens_py_str_repr(s);
    if (!r) { b->oom = true; return; }
    sb_printf(b, "%s", r);
    free(r);
}

static void sb_str_list(sbuf *b, char *const *l)
{
    sb_printf(b, "[");
    for (int i = 0; l[i]; i++) {
        if (i) sb_printf(b, ", ");
        sb_repr(b, l[i]);
    }
    sb_printf(b, "]");
}

/* Python's f"{p:6.2%}". */
static void sb_percent(sbuf *b, double p)
{
    char t[64];
    snprintf(t, sizeof t, "%.2f%%", p * 100.0);
    sb_printf(b, "%6s", t);
}

static char **str_tokens(const lens_tokenizer *tok, const int64_t *ids, int n)
{
    char **l = calloc((size_t)n + 1, sizeof *l);
    if (!l) return NULL;
    for (int i = 0; i < n; i++) {
        const char *s = lens_tokenizer_token_str(tok, ids[i]);
        if (!(l[i] = strdup(s ? s : ""))) { lens_labels_free(l); return NULL; }
    }
    return l;
}

void lens_prompt_report_free(lens_prompt_report *r)
{
    if (!r) return;
    lens_labels_free(r->prompt_str_tokens);
    if (r->answer_str_tokens)
        for (int a = 0; a < r->n_answers; a++) lens_labels_free(r->answer_str_tokens[a]);
    free(r->answer_str_tokens);
    free(r->answer_ids); free(r->ranks); free(r->answer_logits); free(r->answer_probs);
    free(r->top_ids); free(r->top_logits); free(r->top_probs);
    if (r->top_strs)
        for (int i = 0; i < r->answer_len * r->top_k; i++) free(r->top_strs[i]);
    free(r->top_strs);
    free(r->text);
    free(r);
}

static void format_report(lens_prompt_report *r, sbuf *b)
{
    int A = r->n_answers;
    sb_printf(b, "Tokenized prompt: ");
    sb_str_list(b, r->prompt_str_tokens);
    if (A > 1) {
        sb_printf(b, "\nTokenized answers: [");
        for (int a = 0; a < A; a++) {
            if (a) sb_printf(b, ", ");
            sb_str_list(b, r->answer_str_tokens[a]);
        }
        sb_printf(b, "]\n");
    } else {
        sb_printf(b, "\nTokenized answer: ");
        sb_str_list(b, r->answer_str_tokens[0]);
        sb_printf(b, "\n");
    }
    for (int i = 0; i < r->answer_len; i++) {
        sb_printf(b, "Performance on answer token%s:\n", A > 1 ? "s" : "");
        for (int a = 0; a < A; a++) {
            int k = i * A + a;
            sb_printf(b, "Rank: %-8lld Logit: %5.2f Prob: ", (long long)r->ranks[k], (double)r->answer_logits[k]);
            sb_percent(b, r->answer_probs[k]);
            sb_printf(b, " Token: |%s|\n", r->answer_str_tokens[a][i]);
        }
        for (int j = 0; j < r->top_k; j++) {
            int k = i * r->top_k + j;
            sb_printf(b, "Top %dth token. Logit: %5.2f Prob: ", j, (double)r->top_logits[k]);
            sb_percent(b, r->top_probs[k]);
            sb_printf(b, " Token: |%s|\n", r->top_strs[k]);
        }
    }
    sb_printf(b, "Ranks of the answer tokens: [");
    for (int i = 0; i < r->answer_len; i++) {
        if (i) sb_printf(b, ", ");
        if (A > 1) sb_printf(b, "[");
        for (int a = 0; a < A; a++) {
            if (a) sb_printf(b, ", ");
            sb_printf(b, "(");
            sb_repr(b, r->answer_str_tokens[a][i]);
            sb_printf(b, ", %lld)", (long long)r->ranks[i * A + a]);
        }
        if (A > 1) sb_printf(b, "]");
    }
    sb_printf(b, "]\n");
}

lens_prompt_report *lens_test_prompt(const lens_model *m, const char *prompt, const char *const *answers,
                                     int n_answers, bool prepend_space, bool prepend_bos, int top_k,
                                     lens_error *err)
{
    if (n_answers < 1) { lens_fail(err, "test_prompt needs at least one answer"); return NULL; }
    const lens_tokenizer *tok = lens_model_tokenizer(m);
    int64_t V = lens_model_config(m)->d_vocab;
    if (top_k < 0) top_k = 0;
    if (top_k > V) top_k = (int)V;
    lens_prompt_report *r = calloc(1, sizeof *r);
    lens_tensor *ptoks = NULL, *tokens = NULL, *logits = NULL;
    int64_t **aids = calloc((size_t)n_answers, sizeof *aids);
    size_t *alen = calloc((size_t)n_answers, sizeof *alen);
    if (!r || !aids || !alen) { lens_fail_oom(err); goto fail; }
    r->n_answers = n_answers;
    r->top_k = top_k;
    ptoks = lens_model_to_tokens(m, &prompt, 1, prepend_bos, err);
    if (!ptoks) goto fail;
    int P = (int)ptoks->shape[1];
    r->n_prompt = P;
    if (!(r->prompt_str_tokens = str_tokens(tok, lens_tensor_i64(ptoks), P))) goto oom;
    r->answer_str_tokens = calloc((size_t)n_answers, sizeof *r->answer_str_tokens);
    if (!r->answer_str_tokens) goto oom;
    for (int a = 0; a < n_answers; a++) {
        char *ans = NULL;
        if (asprintf(&ans, "%s%s", prepend_space && answers[a][0] != ' ' ? " " : "", answers[a]) < 0) goto oom;
        int rc = lens_tokenizer_encode(tok, ans, &aids[a], &alen[a], err);
        free(ans);
        if (rc) goto fail;
        if (alen[a] == 0) { lens_fail(err, "test_prompt: answer %d is empty", a); goto fail; }
        if (!(r->answer_str_tokens[a] = str_tokens(tok, aids[a], (int)alen[a]))) goto oom;
    }
    int L = n_answers > 1 ? 1 : (int)alen[0];
    r->answer_len = L;
    tokens = lens_tensor_new_v(LENS_I64, 2, (int64_t)n_answers, (int64_t)(P + L));
    if (!tokens) goto oom;
    for (int a = 0; a < n_answers; a++) {
        int64_t *row = lens_tensor_i64(tokens) + (size_t)a * (size_t)(P + L);
        memcpy(row, lens_tensor_i64(ptoks), (size_t)P * sizeof *row);
        memcpy(row + P, aids[a], (size_t)L * sizeof *row);
    }
    lens_run_options o = lens_run_options_default();
    if (lens_model_run(m, tokens, &o, &logits, NULL, err)) goto fail;
    size_t na = (size_t)L * (size_t)n_answers, nt = (size_t)L * (size_t)top_k;
    r->answer_ids = calloc(na, sizeof *r->answer_ids);
    r->ranks = calloc(na, sizeof *r->ranks);
    r->answer_logits = calloc(na, sizeof(float));
    r->answer_probs = calloc(na, sizeof(float));
    r->top_ids = calloc(nt + 1, sizeof *r->top_ids);
    r->top_logits = calloc(nt + 1, sizeof(float));
    r->top_probs = calloc(nt + 1, sizeof(float));
    r->top_strs = calloc(nt + 1, sizeof(char *));
    if (!r->answer_ids || !r->ranks || !r->answer_logits || !r->answer_probs || !r->top_ids ||
        !r->top_logits || !r->top_probs || !r->top_strs) goto oom;
    for (int i = 0; i < L; i++) {
        for (int a = 0; a < n_answers; a++) {
            lens_tensor *row = lens_tensor_select(logits, 0, a);
            lens_tensor *lrow = row ? lens_tensor_select(row, 0, P + i - 1) : NULL;
            lens_tensor *dprobs = lrow ? lens_softmax(lrow, -1, err) : NULL;
            lens_tensor_free(row);
            /* the one row and its probabilities, downloaded (a reference on the cpu) */
            lens_tensor *hrow = dprobs ? lens_tensor_host_contiguous(lrow, err) : NULL;
            lens_tensor *probs = hrow ? lens_tensor_host_contiguous(dprobs, err) : NULL;
            lens_tensor_free(dprobs);
            lens_tensor_free(lrow);
            lrow = hrow;
            if (!probs) { lens_tensor_free(lrow); goto fail; }
            const float *lg = lens_tensor_f32(lrow), *pr = lens_tensor_f32(probs);
            int64_t id = aids[a][i];
            int k = i * n_answers + a;
            r->answer_ids[k] = id;
            r->answer_logits[k] = lg[id];
            r->answer_probs[k] = pr[id];
            int64_t rank = 0;
            for (int64_t v = 0; v < V; v++)
                if (pr[v] > pr[id] || (pr[v] == pr[id] && v < id)) rank++;
            r->ranks[k] = rank;
            if (a == 0 && top_k > 0) {
                lens_tensor *vals, *idx;
                if (lens_topk(probs, top_k, -1, true, &vals, &idx, err)) {
                    lens_tensor_free(probs); lens_tensor_free(lrow);
                    goto fail;
                }
                for (int j = 0; j < top_k; j++) {
                    int64_t t = lens_tensor_i64(idx)[j];
                    r->top_ids[i * top_k + j] = t;
                    r->top_probs[i * top_k + j] = lens_tensor_f32(vals)[j];
                    r->top_logits[i * top_k + j] = lg[t];
                    r->top_strs[i * top_k + j] = lens_tokenizer_decode(tok, &t, 1, err);
                    if (!r->top_strs[i * top_k + j]) r->top_strs[i * top_k + j] = strdup("");
                }
                lens_tensor_free(vals);
                lens_tensor_free(idx);
            }
            lens_tensor_free(probs);
            lens_tensor_free(lrow);
        }
    }
    sbuf b = {0};
    format_report(r, &b);
    if (b.oom) { free(b.s); goto oom; }
    r->text = b.s;
    goto done;
oom:
    lens_fail_oom(err);
fail:
    lens_prompt_report_free(r);
    r = NULL;
done:
    for (int a = 0; aids && a < n_answers; a++) free(aids[a]);
    free(aids);
    free(alen);
    lens_tensor_free(ptoks);
    lens_tensor_free(tokens);
    lens_tensor_free(logits);
    return r;
}
