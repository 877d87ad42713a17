/* kernel/lang/builtins_analysis.c — the seed notebook's analyses in the
 * language (lens/analysis.h underneath): ActivationCache methods with
 * TransformerLens's arguments (apply_ln_to_stack, accumulated_resid,
 * decompose_resid, stack_head_results, logit_attrs, ...), logit_diff,
 * test_prompt, induction_scores and head naming helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "builtins_device.h"
#include "builtins_analysis.h"
#include "lens/tensor_ops.h"
#include "table.h"

/* ---- argument helpers ------------------------------------------------------------ */

/* utils.Slice from a value: None, int, (start, stop[, step]), slice, list or tensor of ints. */
typedef struct slice_arg { lens_slice s; int64_t *list; } slice_arg;

static int slice_bound(interp *I, value *v, int64_t *out)
{
    if (!v || v->type == V_NONE) { *out = LENS_SLICE_NONE; return 0; }
    return lang_arg_int(I, v, "slice bound", out);
}

static int get_slice(interp *I, value *v, slice_arg *out)
{
    memset(out, 0, sizeof *out);
    out->s = lens_slice_all();
    if (!v || v->type == V_NONE) return 0;
    if (v->type == V_INT || v->type == V_BOOL) { out->s = lens_slice_index(v->u.i); return 0; }
    if (v->type == V_SLICE || (v->type == V_TUPLE && (v->u.list.n == 2 || v->u.list.n == 3))) {
        value *b[3] = {NULL, NULL, NULL};
        if (v->type == V_SLICE) { b[0] = v->u.slice.start; b[1] = v->u.slice.stop; b[2] = v->u.slice.step; }
        else for (size_t i = 0; i < v->u.list.n; i++) b[i] = v->u.list.items[i];
        int64_t s0, s1, s2;
        if (slice_bound(I, b[0], &s0) || slice_bound(I, b[1], &s1) || slice_bound(I, b[2], &s2)) return -1;
        if (s2 == 0) { lang_raise(I, "ValueError", "slice step cannot be zero"); return -1; }
        out->s = lens_slice_range(s0, s1, s2 == LENS_SLICE_NONE ? 1 : s2);
        return 0;
    }
    lens_tensor *t = lang_engine_tensor(I, v, LENS_I64);
    if (!t) return -1;
    if (t->ndim != 1) { lens_tensor_free(t); lang_raise(I, "TypeError", "pos_slice must be None, an int, a (start, stop[, step]) tuple, a slice or a 1-d list of ints"); return -1; }
    int64_t n = t->shape[0];
    out->list = malloc((size_t)(n ? n : 1) * sizeof *out->list);
    for (int64_t i = 0; out->list && i < n; i++) out->list[i] = (int64_t)lens_tensor_flat_f64(t, i);
    lens_tensor_free(t);
    if (!out->list) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
    out->s = (lens_slice){.kind = LENS_SLICE_LIST, .list = out->list, .n = n};
    return 0;
}

static int get_layer(interp *I, value *v, int def, int *out)
{
    *out = def;
    if (!v || v->type == V_NONE) return 0;
    int64_t l;
    if (lang_arg_int(I, v, "layer", &l)) return -1;
    *out = (int)l;
    return 0;
}

static int get_flag(interp *I, args *a, const char *name, bool def, bool *out)
{
    *out = def;
    value *v = lang_arg(a, name);
    return v && v->type != V_NONE ? lang_arg_bool(I, v, out) : 0;
}

/* The cache, its model and config of a method's self. */
typedef struct cache_ctx { lens_cache *c; lens_model *m; const lens_config *cfg; } cache_ctx;

static int self_cache(interp *I, value *self, cache_ctx *cx)
{
    value *mv;
    cx->c = lang_cache_of(self, &mv);
    cx->m = cx->c ? lang_model_of(mv) : NULL;
    if (!cx->m) { lang_raise(I, "TypeError", "expected an ActivationCache"); return -1; }
    cx->cfg = lens_model_config(cx->m);
    return 0;
}

static value *labels_value(char **labels)
{
    value *l = v_list(0);
    for (int i = 0; l && labels && labels[i]; i++) lang_list_append(l, v_str(labels[i]));
    return l;
}

/* tensor, or (tensor, labels) when return_labels */
static value *stack_result(interp *I, lens_tensor *t, char **labels, bool return_labels, lens_error *err)
{
    if (!t) { lens_labels_free(labels); return lang_engine_error(I, err); }
    value *tv = v_tensor(t);
    if (!return_labels) { lens_labels_free(labels); return tv; }
    value *lv = labels_value(labels);
    lens_labels_free(labels);
    return v_tuple_of(2, tv, lv);
}

/* Tokens for logit_attrs / directions: a str (one token), an int, or int tensors and lists. */
static lens_tensor *token_arg(interp *I, lens_model *m, value *v)
{
    if (v->type == V_STR) {
        int64_t *ids;
        size_t n;
        lens_error err;
        if (lens_tokenizer_encode(lens_model_tokenizer(m), v->u.str.s, &ids, &n, &err)) { lang_engine_error(I, &err); return NULL; }
        int64_t id = n == 1 ? ids[0] : -1;
        free(ids);
        if (id < 0) { lang_raise(I, "ValueError", "'%s' is not a single token", v->u.str.s); return NULL; }
        return lens_scalar_i64(id);
    }
    return lang_engine_tensor(I, v, LENS_I64);
}

/* ---- ActivationCache methods ---------------------------------------------------------- */

static const lang_param c_apply_ln_to_stack_params[] = {
    {"residual_stack", LANG_REQUIRED}, {"layer", LANG_OPTIONAL, "None"}, {"mlp_input", LANG_OPTIONAL, "False"},
    {"pos_slice", LANG_OPTIONAL, "None"}, {"batch_slice", LANG_OPTIONAL, "None"}, {NULL}};

static value *c_apply_ln_to_stack(interp *I, value *self, args *a)
{
    cache_ctx cx;
    if (self_cache(I, self, &cx)) return NULL;
    value *sv = lang_arg(a, "residual_stack");
    int layer;
    bool mlp_input;
    slice_arg ps, bs;
    if (get_layer(I, lang_arg(a, "layer"), -1, &layer) || get_flag(I, a, "mlp_input", false, &mlp_input)) return NULL;
    if (get_slice(I, lang_arg(a, "pos_slice"), &ps)) return NULL;
    if (get_slice(I, lang_arg(a, "batch_slice"), &bs)) { free(ps.list); return NULL; }
    lens_tensor *st = lang_engine_tensor(I, sv, LENS_F32);
    lens_error err;
    lens_tensor *r = st ? lens_apply_ln_to_stack(cx.m, cx.c, st, layer, mlp_input, &ps.s, &bs.s, &err) : NULL;
    lens_tensor_free(st);
    free(ps.list);
    free(bs.list);
    if (!st) return NULL;
    return r ? v_tensor(r) : lang_engine_error(I, &err);
}

static const lang_param c_accumulated_resid_params[] = {
    {"layer", LANG_OPTIONAL, "None"}, {"incl_mid", LANG_OPTIONAL, "False"}, {"apply_ln", LANG_OPTIONAL, "False"},
    {"pos_slice", LANG_OPTIONAL, "None"}, {"mlp_input", LANG_OPTIONAL, "False"}, {"return_labels", LANG_OPTIONAL, "False"}, {NULL}};

static value *c_accumulated_resid(interp *I, value *self, args *a)
{
    cache_ctx cx;
    if (self_cache(I, self, &cx)) return NULL;
    int layer;
    bool incl_mid, apply_ln, mlp_input, ret;
    slice_arg ps;
    if (get_layer(I, lang_arg(a, "layer"), -1, &layer) || get_flag(I, a, "incl_mid", false, &incl_mid) ||
        get_flag(I, a, "apply_ln", false, &apply_ln) || get_flag(I, a, "mlp_input", false, &mlp_input) ||
        get_flag(I, a, "return_labels", false, &ret) || get_slice(I, lang_arg(a, "pos_slice"), &ps)) return NULL;
    lens_error err;
    char **labels = NULL;
    lens_tensor *r = lens_accumulated_resid(cx.m, cx.c, layer, incl_mid, mlp_input, apply_ln, &ps.s, &labels, &err);
    free(ps.list);
    return stack_result(I, r, labels, ret, &err);
}

static const lang_param c_decompose_resid_params[] = {
    {"layer", LANG_OPTIONAL, "None"}, {"mlp_input", LANG_OPTIONAL, "False"}, {"mode", LANG_OPTIONAL, "'all'"},
    {"apply_ln", LANG_OPTIONAL, "False"}, {"pos_slice", LANG_OPTIONAL, "None"}, {"incl_embeds", LANG_OPTIONAL, "True"},
    {"return_labels", LANG_OPTIONAL, "False"}, {NULL}};

static value *c_decompose_resid(interp *I, value *self, args *a)
{
    cache_ctx cx;
    if (self_cache(I, self, &cx)) return NULL;
    int layer;
    bool mlp_input, apply_ln, incl_embeds, ret;
    const char *mode = "all";
    value *mv = lang_arg(a, "mode");
    if (mv && mv->type != V_NONE && !(mode = lang_arg_str(I, mv, "mode"))) return NULL;
    slice_arg ps;
    if (get_layer(I, lang_arg(a, "layer"), -1, &layer) || get_flag(I, a, "mlp_input", false, &mlp_input) ||
        get_flag(I, a, "apply_ln", false, &apply_ln) || get_flag(I, a, "incl_embeds", true, &incl_embeds) ||
        get_flag(I, a, "return_labels", false, &ret) || get_slice(I, lang_arg(a, "pos_slice"), &ps)) return NULL;
    lens_error err;
    char **labels = NULL;
    lens_tensor *r = lens_decompose_resid(cx.m, cx.c, layer, mlp_input, mode, incl_embeds, apply_ln, &ps.s, &labels, &err);
    free(ps.list);
    return stack_result(I, r, labels, ret, &err);
}

static const lang_param c_stack_head_results_params[] = {
    {"layer", LANG_OPTIONAL, "-1"}, {"return_labels", LANG_OPTIONAL, "False"}, {"incl_remainder", LANG_OPTIONAL, "False"},
    {"pos_slice", LANG_OPTIONAL, "None"}, {"apply_ln", LANG_OPTIONAL, "False"}, {NULL}};

static value *c_stack_head_results(interp *I, value *self, args *a)
{
    cache_ctx cx;
    if (self_cache(I, self, &cx)) return NULL;
    int layer;
    bool ret, rem, apply_ln;
    slice_arg ps;
    if (get_layer(I, lang_arg(a, "layer"), -1, &layer) || get_flag(I, a, "return_labels", false, &ret) ||
        get_flag(I, a, "incl_remainder", false, &rem) || get_flag(I, a, "apply_ln", false, &apply_ln) ||
        get_slice(I, lang_arg(a, "pos_slice"), &ps)) return NULL;
    lens_error err;
    char **labels = NULL;
    lens_tensor *r = lens_stack_head_results(cx.m, cx.c, layer, &ps.s, rem, apply_ln, &labels, &err);
    free(ps.list);
    return stack_result(I, r, labels, ret, &err);
}

/* upstream's neuron_slice and incl_remainder lens does not take: what follows pos_slice is keyword-only */
static const lang_param c_stack_neuron_results_params[] = {
    {"layer", LANG_REQUIRED}, {"pos_slice", LANG_OPTIONAL, "None"}, {"return_labels", LANG_KEYWORD, "False"},
    {"apply_ln", LANG_KEYWORD, "False"}, {NULL}};

static value *c_stack_neuron_results(interp *I, value *self, args *a)
{
    cache_ctx cx;
    if (self_cache(I, self, &cx)) return NULL;
    int layer;
    bool ret, apply_ln;
    slice_arg ps;
    if (get_layer(I, lang_arg(a, "layer"), -1, &layer) || get_flag(I, a, "return_labels", false, &ret) ||
        get_flag(I, a, "apply_ln", false, &apply_ln) || get_slice(I, lang_arg(a, "pos_slice"), &ps)) return NULL;
    lens_error err;
    char **labels = NULL;
    lens_tensor *r = lens_stack_neuron_results(cx.m, cx.c, layer, &ps.s, apply_ln, &labels, &err);
    free(ps.list);
    return stack_result(I, r, labels, ret, &err);
}

static const lang_param c_full_resid_params[] = {
    {"layer", LANG_OPTIONAL, "None"}, {"mlp_input", LANG_OPTIONAL, "False"}, {"expand_neurons", LANG_OPTIONAL, "True"},
    {"apply_ln", LANG_OPTIONAL, "False"}, {"pos_slice", LANG_OPTIONAL, "None"}, {"return_labels", LANG_OPTIONAL, "False"}, {NULL}};

static value *c_full_resid(interp *I, value *self, args *a)
{
    cache_ctx cx;
    if (self_cache(I, self, &cx)) return NULL;
    int layer;
    bool mlp_input, expand, apply_ln, ret;
    slice_arg ps;
    if (get_layer(I, lang_arg(a, "layer"), -1, &layer) || get_flag(I, a, "mlp_input", false, &mlp_input) ||
        get_flag(I, a, "expand_neurons", true, &expand) || get_flag(I, a, "apply_ln", false, &apply_ln) ||
        get_flag(I, a, "return_labels", false, &ret) || get_slice(I, lang_arg(a, "pos_slice"), &ps)) return NULL;
    lens_error err;
    char **labels = NULL;
    lens_tensor *r = lens_full_resid_decomposition(cx.m, cx.c, layer, mlp_input, expand, apply_ln, &ps.s, &labels, &err);
    free(ps.list);
    return stack_result(I, r, labels, ret, &err);
}

static const lang_param c_compute_head_results_params[] = {
    {NULL}};

static value *c_compute_head_results(interp *I, value *self, args *a)
{
    cache_ctx cx;
    (void)a;
    if (self_cache(I, self, &cx)) return NULL;
    lens_error err;
    if (lens_cache_compute_head_results(cx.m, cx.c, &err)) return lang_engine_error(I, &err);
    return v_none();
}

static const lang_param c_logit_attrs_params[] = {
    {"residual_stack", LANG_REQUIRED}, {"tokens", LANG_REQUIRED}, {"incorrect_tokens", LANG_OPTIONAL, "None"},
    {"pos_slice", LANG_OPTIONAL, "None"}, {"batch_slice", LANG_OPTIONAL, "None"}, {NULL}};

static value *c_logit_attrs(interp *I, value *self, args *a)
{
    cache_ctx cx;
    if (self_cache(I, self, &cx)) return NULL;
    value *sv = lang_arg(a, "residual_stack"), *tv = lang_arg(a, "tokens"), *iv = lang_arg(a, "incorrect_tokens");
    slice_arg ps, bs;
    if (get_slice(I, lang_arg(a, "pos_slice"), &ps)) return NULL;
    if (get_slice(I, lang_arg(a, "batch_slice"), &bs)) { free(ps.list); return NULL; }
    lens_tensor *st = lang_engine_tensor(I, sv, LENS_F32);
    lens_tensor *tok = st ? token_arg(I, cx.m, tv) : NULL;
    lens_tensor *bad = tok && iv && iv->type != V_NONE ? token_arg(I, cx.m, iv) : NULL;
    lens_error err;
    lens_tensor *r = NULL;
    if (tok && (bad || !iv || iv->type == V_NONE))
        r = lens_logit_attrs(cx.m, cx.c, st, tok, bad, &ps.s, &bs.s, &err);
    bool raised = I->error;
    lens_tensor_free(st); lens_tensor_free(tok); lens_tensor_free(bad);
    free(ps.list); free(bs.list);
    if (raised) return NULL;
    return r ? v_tensor(r) : lang_engine_error(I, &err);
}

/* ---- logit difference ---------------------------------------------------------------- */

static const lang_param b_logit_diff_params[] = {
    {"logits", LANG_REQUIRED}, {"answer_tokens", LANG_REQUIRED}, {"per_prompt", LANG_OPTIONAL, "False"},
    {"tokens", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_logit_diff(interp *I, value *self, args *a)
{
    (void)self;
    value *lv = lang_arg(a, "logits"), *av = lang_arg(a, "answer_tokens"), *tv = lang_arg(a, "tokens");
    bool per_prompt;
    if (get_flag(I, a, "per_prompt", false, &per_prompt)) return NULL;
    lens_tensor *logits = lang_engine_tensor(I, lv, LENS_F32);
    lens_tensor *answers = logits ? lang_engine_tensor(I, av, LENS_I64) : NULL;
    lens_tensor *tokens = answers && tv && tv->type != V_NONE ? lang_engine_tensor(I, tv, LENS_I64) : NULL;
    lens_error err;
    lens_tensor *r = NULL;
    if (answers && (tokens || !tv || tv->type == V_NONE))
        r = lens_logit_diff(NULL, logits, answers, tokens, per_prompt, &err);
    bool raised = I->error;
    lens_tensor_free(logits); lens_tensor_free(answers); lens_tensor_free(tokens);
    if (raised) return NULL;
    if (!r) return lang_engine_error(I, &err);
    return v_tensor(r);   /* per_prompt: [batch]; else a 0-d tensor, as in TransformerLens (.item() works) */
}

/* ---- test_prompt ---------------------------------------------------------------------- */

static void emit(interp *I, const char *stream, const char *text)
{
    if (I->out && I->out->stream) I->out->stream(I->out->ctx, stream, text);
}

static void display(interp *I, cJSON *bundle)
{
    if (bundle && I->out && I->out->display) I->out->display(I->out->ctx, bundle, NULL, false);
    cJSON_Delete(bundle);
}

/* The report's numbers as an HTML table: the answers, then the top tokens. */
static cJSON *report_table(const lens_prompt_report *r)
{
    int rows = r->answer_len * (r->n_answers + r->top_k), k = 0;
    char **cells = calloc((size_t)rows * 5 + 1, sizeof *cells);
    if (!cells) return NULL;
    for (int i = 0; i < r->answer_len; i++) {
        for (int a = 0; a < r->n_answers; a++, k++) {
            int x = i * r->n_answers + a;
            if (asprintf(&cells[k * 5], "answer") < 0) cells[k * 5] = NULL;
            if (asprintf(&cells[k * 5 + 1], "%lld", (long long)r->ranks[x]) < 0) cells[k * 5 + 1] = NULL;
            if (asprintf(&cells[k * 5 + 2], "%.2f", (double)r->answer_logits[x]) < 0) cells[k * 5 + 2] = NULL;
            if (asprintf(&cells[k * 5 + 3], "%.2f%%", 100.0 * r->answer_probs[x]) < 0) cells[k * 5 + 3] = NULL;
            if (asprintf(&cells[k * 5 + 4], "|%s|", r->answer_str_tokens[a][i]) < 0) cells[k * 5 + 4] = NULL;
        }
        for (int j = 0; j < r->top_k; j++, k++) {
            int x = i * r->top_k + j;
            if (asprintf(&cells[k * 5], "top %d", j) < 0) cells[k * 5] = NULL;
            if (asprintf(&cells[k * 5 + 1], "%d", j) < 0) cells[k * 5 + 1] = NULL;
            if (asprintf(&cells[k * 5 + 2], "%.2f", (double)r->top_logits[x]) < 0) cells[k * 5 + 2] = NULL;
            if (asprintf(&cells[k * 5 + 3], "%.2f%%", 100.0 * r->top_probs[x]) < 0) cells[k * 5 + 3] = NULL;
            if (asprintf(&cells[k * 5 + 4], "|%s|", r->top_strs[x]) < 0) cells[k * 5 + 4] = NULL;
        }
    }
    static const char *const headers[] = {"", "Rank", "Logit", "Prob", "Token"};
    cJSON *b = display_table_text_bundle((const char *const *)cells, rows, 5, headers, "test_prompt");
    for (int i = 0; i < rows * 5; i++) free(cells[i]);
    free(cells);
    /* the report itself is already on stdout; keep the plain-text form short */
    if (b) {
        char line[256];
        snprintf(line, sizeof line, "test_prompt: rank %lld of |%s|", (long long)r->ranks[0], r->answer_str_tokens[0][0]);
        cJSON_ReplaceItemInObject(b, "text/plain", cJSON_CreateString(line));
    }
    return b;
}

static const lang_param b_test_prompt_params[] = {
    {"prompt", LANG_REQUIRED}, {"answer", LANG_REQUIRED}, {"model", LANG_REQUIRED},
    {"prepend_space_to_answer", LANG_OPTIONAL, "True"}, {"print_details", LANG_OPTIONAL, "True"},
    {"prepend_bos", LANG_OPTIONAL, "True"}, {"top_k", LANG_OPTIONAL, "10"}, {NULL}};

static value *b_test_prompt(interp *I, value *self, args *a)
{
    (void)self;
    value *pv = lang_arg(a, "prompt"), *av = lang_arg(a, "answer"), *mv = lang_arg(a, "model");
    lens_model *m = lang_model_of(mv);
    if (!m) return lang_raise(I, "TypeError", "test_prompt: model must be a model (load(...)), not %s", lang_type_name(mv));
    const char *prompt = lang_arg_str(I, pv, "prompt");
    if (!prompt) return NULL;
    bool space, details, bos;
    int64_t top_k = 10;
    value *kv = lang_arg(a, "top_k");
    if (get_flag(I, a, "prepend_space_to_answer", true, &space) || get_flag(I, a, "print_details", true, &details) ||
        get_flag(I, a, "prepend_bos", true, &bos) || (kv && lang_arg_int(I, kv, "top_k", &top_k))) return NULL;
    if (top_k < 0 || top_k > 1000) return lang_raise(I, "ValueError", "top_k must be in 0..1000");
    const char **answers;
    int n;
    if (av->type == V_STR) { n = 1; answers = malloc(sizeof *answers); if (answers) answers[0] = av->u.str.s; }
    else if (av->type == V_LIST || av->type == V_TUPLE) {
        n = (int)av->u.list.n;
        answers = malloc((size_t)(n ? n : 1) * sizeof *answers);
        for (int i = 0; answers && i < n; i++) {
            if (av->u.list.items[i]->type != V_STR) { free(answers); return lang_raise(I, "TypeError", "test_prompt: answers must be strings"); }
            answers[i] = av->u.list.items[i]->u.str.s;
        }
    } else return lang_raise(I, "TypeError", "test_prompt: answer must be a str or a list of str");
    if (!answers) return lang_raise(I, "MemoryError", "out of memory");
    lens_error err;
    lens_prompt_report *r = lens_test_prompt(m, prompt, answers, n, space, bos, (int)top_k, &err);
    free(answers);
    if (!r) return lang_engine_error(I, &err);
    if (details) {
        emit(I, "stdout", r->text);
        display(I, report_table(r));
    } else {
        /* only the last line, as TransformerLens prints without details */
        const char *last = strstr(r->text, "Ranks of the answer tokens:");
        emit(I, "stdout", last ? last : r->text);
    }
    lens_prompt_report_free(r);
    return v_none();
}

/* ---- induction and heads -------------------------------------------------------------- */

static const lang_param b_induction_scores_params[] = {
    {"model", LANG_REQUIRED}, {"seq_len", LANG_OPTIONAL, "50"}, {"batch", LANG_OPTIONAL, "10"},
    {"seed", LANG_OPTIONAL, "0"}, {"tokens", LANG_OPTIONAL, "None"}, {"show", LANG_KEYWORD, "True"}, {NULL}};

static value *b_induction_scores(interp *I, value *self, args *a)
{
    (void)self;
    bool show = true;
    value *sv = lang_arg(a, "show");
    if (sv && lang_arg_bool(I, sv, &show)) return NULL;
    lens_model *m = lang_model_of(lang_arg(a, "model"));
    if (!m) return lang_raise(I, "TypeError", "induction_scores(model, seq_len=50, batch=10, seed=0, tokens=None, show=True)");
    int64_t seq_len = 50, batch = 10, seed = 0;
    value *v;
    if (((v = lang_arg(a, "seq_len")) && lang_arg_int(I, v, "seq_len", &seq_len)) ||
        ((v = lang_arg(a, "batch")) && lang_arg_int(I, v, "batch", &batch)) ||
        ((v = lang_arg(a, "seed")) && lang_arg_int(I, v, "seed", &seed))) return NULL;
    lens_error err;
    lens_tensor *tokens;
    v = lang_arg(a, "tokens");
    if (v && v->type != V_NONE) tokens = lang_engine_tensor(I, v, LENS_I64);
    else if (!(tokens = lens_repeated_random_tokens(m, batch, seq_len, (uint64_t)seed, &err))) return lang_engine_error(I, &err);
    if (!tokens) return NULL;
    lens_tensor *prev, *dup, *ind;
    lang_interrupted = 0;
    int rc = lens_induction_scores(m, tokens, &prev, &dup, &ind, &err);
    value *d = NULL;
    if (!rc) {
        d = v_dict();
        lang_dict_set_str(d->u.d, "prev_token", v_tensor(prev));
        lang_dict_set_str(d->u.d, "duplicate", v_tensor(dup));
        lang_dict_set_str(d->u.d, "induction", v_tensor(ind));
        lang_dict_set_str(d->u.d, "tokens", v_tensor(tokens));
        /* as the upstream notebook draws them: one heatmap per score */
        const lens_tensor *maps[] = {prev, dup, ind};
        static const char *const titles[] = {"Previous Token Scores", "Duplicate Token Scores", "Induction Scores"};
        if (show && lang_show_head_heatmaps(I, maps, titles, 3)) {
            lang_decref(d);
            return NULL;
        }
    } else lens_tensor_free(tokens);
    return rc ? lang_engine_error(I, &err) : d;
}

int lang_parse_head(interp *I, const lens_config *cfg, value *v, int *layer, int *head)
{
    lens_error err;
    int rc;
    if (v->type == V_STR) rc = lens_head_parse(cfg, v->u.str.s, layer, head, &err);
    else if ((v->type == V_TUPLE || v->type == V_LIST) && v->u.list.n == 2) {
        int64_t l, h;
        if (lang_arg_int(I, v->u.list.items[0], "layer", &l) || lang_arg_int(I, v->u.list.items[1], "head", &h)) return -1;
        rc = 0;
        if (l < 0 || l >= cfg->n_layers || h < 0 || h >= cfg->n_heads)
            rc = lens_fail(&err, "head (%lld, %lld) does not exist: the model has %d layers of %d heads",
                           (long long)l, (long long)h, cfg->n_layers, cfg->n_heads);
        *layer = (int)l;
        *head = (int)h;
    } else {
        int64_t i;
        if (v->type == V_TENSOR) {
            double d;
            if (lens_tensor_item(v->u.tensor.t, &d, &err)) { lang_engine_error(I, &err); return -1; }
            i = (int64_t)d;
        } else if (lang_arg_int(I, v, "head", &i)) return -1;
        rc = lens_head_from_index(cfg, i, layer, head, &err);
    }
    if (rc) lang_raise(I, "ValueError", "%s", err.msg);
    return rc;
}

static const lang_param b_head_labels_params[] = {
    {"model", LANG_REQUIRED}, {"heads", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_head_labels(interp *I, value *self, args *a)
{
    (void)self;
    lens_model *m = lang_model_of(lang_arg(a, "model"));
    if (!m) return lang_raise(I, "TypeError", "head_labels(model, heads=None): model must be a model");
    const lens_config *cfg = lens_model_config(m);
    value *hv = lang_arg(a, "heads");
    if (!hv || hv->type == V_NONE) {
        char **l = lens_head_labels(cfg, cfg->n_layers);
        value *r = labels_value(l);
        lens_labels_free(l);
        return r;
    }
    value *items = hv->type == V_STR || hv->type == V_INT || hv->type == V_TUPLE ? NULL : lang_to_list(I, hv);
    if (!items && hv->type != V_STR && hv->type != V_INT && hv->type != V_TUPLE) return NULL;
    value *out = v_list(0);
    size_t n = items ? items->u.list.n : 1;
    for (size_t i = 0; out && i < n; i++) {
        int l, h;
        if (lang_parse_head(I, cfg, items ? items->u.list.items[i] : hv, &l, &h)) { lang_decref(out); out = NULL; break; }
        lang_list_append(out, v_strf("L%dH%d", l, h));
    }
    lang_decref(items);
    if (out && !items) {   /* a single head gives a single label */
        value *one = lang_incref(out->u.list.items[0]);
        lang_decref(out);
        return one;
    }
    return out;
}

static const lang_param b_top_heads_params[] = {
    {"scores", LANG_REQUIRED}, {"k", LANG_OPTIONAL, "3"}, {"largest", LANG_OPTIONAL, "True"}, {NULL}};

static value *b_top_heads(interp *I, value *self, args *a)
{
    (void)self;
    value *sv = lang_arg(a, "scores");
    int64_t k = 3;
    bool largest;
    value *kv = lang_arg(a, "k");
    if ((kv && lang_arg_int(I, kv, "k", &k)) || get_flag(I, a, "largest", true, &largest)) return NULL;
    lens_tensor *s = lang_engine_tensor(I, sv, LENS_F32);
    if (!s) return NULL;
    if (s->ndim != 2) { lens_tensor_free(s); return lang_raise(I, "ValueError", "top_heads: scores must be [n_layers, n_heads]"); }
    int64_t H = s->shape[1];
    lens_error err;
    lens_tensor *flat = lens_tensor_flatten(s, 0, -1, &err), *vals = NULL, *idx = NULL;
    if (k > lens_tensor_numel(s)) k = lens_tensor_numel(s);
    int rc = flat ? lens_topk(flat, k, 0, largest, &vals, &idx, &err) : -1;
    lens_tensor_free(flat);
    lens_tensor_free(s);
    if (rc) return lang_engine_error(I, &err);
    value *out = v_list(0);
    for (int64_t i = 0; out && i < k; i++) {
        int64_t f = lens_tensor_i64(idx)[i];
        lang_list_append(out, v_tuple_of(2, v_strf("L%lldH%lld", (long long)(f / H), (long long)(f % H)),
                                    v_float(lens_tensor_f32(vals)[i])));
    }
    lens_tensor_free(vals);
    lens_tensor_free(idx);
    return out;
}

const lang_builtin builtins_analysis[] = {
    {"test_prompt", b_test_prompt, "Prints how the model ranks the answer after the prompt (rank, logit, probability) and its top_k tokens, "
     "exactly as TransformerLens's utils.test_prompt; also shows them as a table. answer may be a list of "
     "single-token answers.", b_test_prompt_params},
    {"logit_diff", b_logit_diff, "logits[answer_tokens[:, 0]] - logits[answer_tokens[:, 1]] at each prompt's last position: the mean (a float), "
     "or one per prompt. Prompts padded on the right: pass their tokens= so each prompt is read at its last real token.", b_logit_diff_params},
    {"induction_scores", b_induction_scores, "Runs [BOS, r, r] (r: seq_len random tokens, or the given tokens), shows the three scores as heatmaps "
     "over layer and head (previous-token, duplicate-token, induction; show=False skips them) and returns a "
     "dict of the [n_layers, n_heads] scores: prev_token, duplicate, induction (mean attention on the "
     "diagonals at offsets -1, -seq_len, -(seq_len-1)), plus the tokens used.", b_induction_scores_params},
    {"head_labels", b_head_labels, "\"L{layer}H{head}\" names: of every head, or of the given heads (flat indices, (layer, head) pairs or names).", b_head_labels_params},
    {"top_heads", b_top_heads, "The k heads with the largest (or smallest) scores of a [n_layers, n_heads] map, as (\"L9H9\", score) pairs.", b_top_heads_params},
    {"ActivationCache.apply_ln_to_stack", c_apply_ln_to_stack,
     "Centres each component of the stack and divides it by the cached LayerNorm scale (ln_final for layer None/-1; "
     "block layer's ln1, or ln2 with mlp_input), sliced by pos_slice and batch_slice.", c_apply_ln_to_stack_params},
    {"ActivationCache.accumulated_resid", c_accumulated_resid,
     "The residual stream before each layer (\"0_pre\", \"0_mid\" with incl_mid, ..., \"final_post\"), stacked: "
     "[components, batch, pos, d_model].", c_accumulated_resid_params},
    {"ActivationCache.decompose_resid", c_decompose_resid,
     "The outputs that add up to the residual stream: embed, pos_embed, then each layer's attn_out and mlp_out.", c_decompose_resid_params},
    {"ActivationCache.stack_head_results", c_stack_head_results,
     "Each head's output (z . W_O, labels \"L0H0\", ...): [n_layers * n_heads, batch, pos, d_model].", c_stack_head_results_params},
    {"ActivationCache.stack_neuron_results", c_stack_neuron_results,
     "Each MLP neuron's output (post * W_out row, labels \"L0N0\", ...).", c_stack_neuron_results_params},
    {"ActivationCache.get_full_resid_decomposition", c_full_resid,
     "Heads, neurons (or MLP outputs), embed, pos_embed and the summed biases: every piece of the residual stream.", c_full_resid_params},
    {"ActivationCache.compute_head_results", c_compute_head_results,
     "Adds blocks.L.attn.hook_result (each head's output) to the cache.", c_compute_head_results_params},
    {"ActivationCache.logit_attrs", c_logit_attrs,
     "Each component's direct contribution to the logit of tokens (minus incorrect_tokens'), through the final "
     "LayerNorm scale: apply_ln_to_stack(stack, -1) . (W_U[:, tokens] - W_U[:, incorrect_tokens]).", c_logit_attrs_params},
    {NULL, NULL, NULL, NULL},
};
