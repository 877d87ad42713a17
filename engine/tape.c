/* tape.c — the reverse-mode tape (lens/tape.h): which storages are variables,
 * the record of each operation on them, and the backward pass over the record
 * in reverse order with row-sparse gradients.
 *
 * Owns: the nodes, their references and gradient rows, the thread's active tape,
 * the recording calls of tape_record.h. Does not own: the derivative of each
 * operation (tape_rules.c) or the operations themselves (tensor_ops_*.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/checked.h"
#include "lens/tape.h"
#include "tape_internal.h"
#include "tape_record.h"
#include "tensor_iter.h"

const char lens_tape_supported[] =
    "indexing and views (select, slice, narrow, permute, transpose, reshape, squeeze, unsqueeze, expand), "
    "+ - * / ** and neg, abs, exp, log, sqrt, tanh, sigmoid, relu, sin, cos, sum and mean (over dims or all), "
    "softmax, log_softmax, gather, index_select, masked_select, where, masked_fill, matmul (@), einsum, cat, stack, "
    "tril, triu, clone and contiguous";

struct lens_tape {
    tape_node *nodes;
    int64_t n, cap;
    int64_t *slots;          /* open addressing: storage -> node index + 1 (0: empty) */
    int64_t nslots;
    const char *failed;      /* recording ran out of memory, or an in-place write */
};

static _Thread_local lens_tape *active;

lens_tape *lens_tape_new(void) { return calloc(1, sizeof(lens_tape)); }

static void node_clear(tape_node *nd)
{
    lens_tensor_free(nd->out);
    for (int i = 0; i < nd->n_in; i++) lens_tensor_free(nd->in[i]);
    free(nd->in);
    if (nd->rows)
        for (int64_t r = 0; r < nd->nrows; r++) free(nd->rows[r]);
    free(nd->rows);
    lens_storage *s = nd->storage;
    memset(nd, 0, sizeof *nd);
    nd->storage = s;
}

void lens_tape_free(lens_tape *tape)
{
    if (!tape) return;
    if (active == tape) active = NULL;
    for (int64_t i = 0; i < tape->n; i++) node_clear(&tape->nodes[i]);
    free(tape->nodes);
    free(tape->slots);
    free(tape);
}

lens_tape *lens_tape_activate(lens_tape *tape)
{
    lens_tape *prev = active;
    active = tape;
    return prev;
}

/* ---- storage -> node ------------------------------------------------------------------- */

static uint64_t slot_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33;
    return x;
}

static tape_node *find(const lens_tape *tape, const lens_storage *s)
{
    if (!tape || !tape->nslots || !s) return NULL;
    for (uint64_t h = slot_hash(s) & (uint64_t)(tape->nslots - 1);; h = (h + 1) & (uint64_t)(tape->nslots - 1)) {
        int64_t v = tape->slots[h];
        if (!v) return NULL;
        if (tape->nodes[v - 1].storage == s) return &tape->nodes[v - 1];
    }
}

static void slot_put(lens_tape *tape, const lens_storage *s, int64_t index)
{
    uint64_t h = slot_hash(s) & (uint64_t)(tape->nslots - 1);
    while (tape->slots[h]) h = (h + 1) & (uint64_t)(tape->nslots - 1);
    tape->slots[h] = index + 1;
}

/* A new node for storage s (not yet present); NULL when out of memory. */
static tape_node *node_add(lens_tape *tape, lens_storage *s)
{
    if (tape->n == tape->cap) {
        int64_t cap = tape->cap ? tape->cap * 2 : 16;
        tape_node *nn = realloc(tape->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return NULL;
        tape->nodes = nn;
        tape->cap = cap;
    }
    if ((tape->n + 1) * 2 > tape->nslots) {
        int64_t ns = tape->nslots ? tape->nslots * 2 : 64;
        int64_t *sl = calloc((size_t)ns, sizeof *sl);
        if (!sl) return NULL;
        free(tape->slots);
        tape->slots = sl;
        tape->nslots = ns;
        for (int64_t i = 0; i < tape->n; i++) slot_put(tape, tape->nodes[i].storage, i);
    }
    tape_node *nd = &tape->nodes[tape->n];
    memset(nd, 0, sizeof *nd);
    nd->storage = s;
    slot_put(tape, s, tape->n++);
    return nd;
}

bool lens_tape_tracks(const lens_tape *tape, const lens_tensor *t)
{
    return t && find(tape, t->storage) != NULL;
}

/* The rows of a node's gradient: one per rowlen storage elements, from t's last dim. */
static void set_rows(tape_node *nd, const lens_tensor *t)
{
    int64_t len = t->ndim && t->shape[t->ndim - 1] > 0 ? t->shape[t->ndim - 1] : 1;
    int64_t elems = (int64_t)(t->storage->nbytes / sizeof(float));
    nd->rowlen = len;
    nd->nrows = elems / len + (elems % len != 0);
}

int lens_tape_watch(lens_tape *tape, const lens_tensor *t, lens_error *err)
{
    if (t->dtype != LENS_F32) return lens_fail(err, "only float32 tensors can require grad");
    if (find(tape, t->storage)) return 0;
    tape_node *nd = node_add(tape, t->storage);
    if (!nd || !(nd->out = lens_tensor_ref(t))) return lens_fail_oom(err);
    nd->rule = TAPE_LEAF;
    set_rows(nd, t);
    return 0;
}

/* ---- recording ------------------------------------------------------------------------- */

/* The node recording out = rule(in...), or NULL when there is nothing to record
 * (no active tape, no input reads a variable, a non-float or empty result, or a
 * view of an input). A result already recorded by an operation this one called
 * takes this one's rule (the outermost operation knows every input). */
static tape_node *record(const lens_tensor *out, int n, const lens_tensor *const *in, tape_rule rule)
{
    lens_tape *tape = active;
    if (!tape || !out || out->dtype != LENS_F32 || lens_tensor_numel(out) == 0) return NULL;
    bool reads = false;
    for (int i = 0; i < n; i++) {
        if (in[i] && in[i]->storage == out->storage) return NULL;
        if (in[i] && find(tape, in[i]->storage)) reads = true;
    }
    if (!reads) return NULL;
    bool on_host = lens_tensor_on_host(out);
    for (int i = 0; i < n; i++) on_host = on_host && (!in[i] || lens_tensor_on_host(in[i]));
    if (!on_host) {
        tape->failed = "attribution through a user metric: its operations ran on a device, and gradients of "
                       "user metrics are taken on the host only (on a device, use the builtin metrics: "
                       "logit_diff_metric, normalized_logit_diff)";
        return NULL;
    }
    tape_node *nd = find(tape, out->storage);
    if (nd && nd->rule == TAPE_LEAF) return NULL;
    if (nd) node_clear(nd);
    else if (!(nd = node_add(tape, out->storage))) { tape->failed = "recording ran out of memory"; return NULL; }
    nd->rule = rule;
    nd->out = lens_tensor_ref(out);
    nd->in = calloc((size_t)n, sizeof *nd->in);
    bool ok = nd->out && nd->in;
    for (int i = 0; ok && i < n; i++) ok = !in[i] || (nd->in[i] = lens_tensor_ref(in[i]));
    nd->n_in = nd->in ? n : 0;
    if (!ok) { tape->failed = "recording ran out of memory"; nd->rule = TAPE_NO_RULE; nd->name = "(out of memory)"; }
    set_rows(nd, out);
    return nd;
}

/* Binary operations with a derivative: + - * / ** (everything else is recorded without). */
static bool binary_has_rule(lens_binop op)
{
    return op == LENS_OP_ADD || op == LENS_OP_SUB || op == LENS_OP_MUL || op == LENS_OP_DIV || op == LENS_OP_POW;
}

static const char *binary_name(lens_binop op)
{
    static const char *const names[] = {
        [LENS_OP_FLOORDIV] = "floor division (//)", [LENS_OP_MOD] = "modulo (%)",
        [LENS_OP_MAXIMUM] = "maximum", [LENS_OP_MINIMUM] = "minimum"};
    return (size_t)op < sizeof names / sizeof *names && names[op] ? names[op] : "a comparison";
}

void lens_tape_binary(lens_binop op, const lens_tensor *a, const lens_tensor *b, const lens_tensor *out)
{
    tape_node *nd = record(out, 2, (const lens_tensor *[]){a, b}, binary_has_rule(op) ? TAPE_BINARY : TAPE_NO_RULE);
    if (!nd) return;
    nd->op = (int)op;
    if (nd->rule == TAPE_NO_RULE) nd->name = binary_name(op);
}

void lens_tape_unary(lens_unop op, const lens_tensor *t, const lens_tensor *out)
{
    tape_node *nd = record(out, 1, &t, TAPE_UNARY);
    if (nd) nd->op = (int)op;
}

void lens_tape_where(const lens_tensor *cond, const lens_tensor *a, const lens_tensor *b, const lens_tensor *out)
{
    record(out, 3, (const lens_tensor *[]){a, b, cond}, TAPE_WHERE);
}

void lens_tape_masked_fill(const lens_tensor *t, const lens_tensor *mask, const lens_tensor *out)
{
    record(out, 2, (const lens_tensor *[]){t, mask}, TAPE_MASKED_FILL);
}

void lens_tape_reduce(lens_reduce_op op, const lens_tensor *t, int ndims, const int *dims, bool keepdim,
                      const lens_tensor *out)
{
    static const char *const names[] = {
        [LENS_RED_MAX] = "max", [LENS_RED_MIN] = "min", [LENS_RED_PROD] = "prod", [LENS_RED_VAR] = "var",
        [LENS_RED_STD] = "std"};
    bool rule = op == LENS_RED_SUM || op == LENS_RED_MEAN;
    if (ndims < 0 || ndims > LENS_MAX_DIMS) return;
    tape_node *nd = record(out, 1, &t, rule ? TAPE_REDUCE : TAPE_NO_RULE);
    if (!nd) return;
    nd->op = (int)op;
    nd->flag = keepdim;
    nd->ndims = ndims;
    for (int i = 0; i < ndims; i++) nd->dims[i] = lens_norm_dim(dims[i], t->ndim);
    if (!rule) nd->name = (size_t)op < sizeof names / sizeof *names && names[op] ? names[op] : "a reduction";
}

void lens_tape_softmax(const lens_tensor *t, int dim, bool log, const lens_tensor *out)
{
    tape_node *nd = record(out, 1, &t, TAPE_SOFTMAX);
    if (!nd) return;
    nd->dim = t->ndim ? lens_norm_dim(dim, t->ndim) : 0;
    nd->flag = log;
}

void lens_tape_index(const lens_tensor *t, int dim, const lens_tensor *idx, bool gather, const lens_tensor *out)
{
    /* gathering from a 0-d tensor (with a 0-d index) copies it */
    tape_rule rule = t->ndim == 0 ? TAPE_COPY : gather ? TAPE_GATHER : TAPE_INDEX_SELECT;
    tape_node *nd = record(out, 2, (const lens_tensor *[]){t, idx}, rule);
    if (nd) nd->dim = lens_norm_dim(dim, t->ndim);
}

void lens_tape_masked_select(const lens_tensor *t, const lens_tensor *mask, const lens_tensor *out)
{
    record(out, 2, (const lens_tensor *[]){t, mask}, TAPE_MASKED_SELECT);
}

void lens_tape_matmul(const lens_tensor *a, const lens_tensor *b, const lens_tensor *out)
{
    record(out, 2, (const lens_tensor *[]){a, b}, TAPE_MATMUL);
}

void lens_tape_cat(int n, const lens_tensor *const *ts, int dim, const lens_tensor *out)
{
    tape_node *nd = record(out, n, ts, TAPE_CAT);
    if (nd) nd->dim = lens_norm_dim(dim, out->ndim);
}

void lens_tape_copy(const lens_tensor *t, const lens_tensor *out)
{
    record(out, 1, &t, TAPE_COPY);
}

void lens_tape_tri(const lens_tensor *t, int64_t k, bool lower, const lens_tensor *out)
{
    tape_node *nd = record(out, 1, &t, TAPE_TRI);
    if (!nd) return;
    nd->k = k;
    nd->flag = lower;
}

void lens_tape_no_rule(const char *name, const lens_tensor *t, const lens_tensor *out)
{
    tape_node *nd = record(out, 1, &t, TAPE_NO_RULE);
    if (nd) nd->name = name;
}

void lens_tape_write(const lens_tensor *dst)
{
    if (active && dst && find(active, dst->storage)) active->failed = "attribution through a user metric: an in-place assignment (t[...] = x) into a tensor computed "
                         "from the logits has no gradient; build a new tensor instead (where, cat, stack)";
}

/* ---- gradients ----------------------------------------------------------------------- */

static float *row_of(tape_node *nd, int64_t r)
{
    if (!nd->rows && !(nd->rows = calloc((size_t)nd->nrows, sizeof *nd->rows))) return NULL;
    if (!nd->rows[r]) nd->rows[r] = calloc((size_t)nd->rowlen, sizeof(float));
    return nd->rows[r];
}

static bool has_grad(const tape_node *nd)
{
    if (!nd->rows) return false;
    for (int64_t r = 0; r < nd->nrows; r++)
        if (nd->rows[r]) return true;
    return false;
}

/* node's gradient += g (contiguous, v's shape) through the view v of its storage. */
static int scatter_add(tape_node *nd, const lens_tensor *v, const float *g, lens_error *err)
{
    lens_iter it;
    lens_iter_init(&it, v->ndim, v->shape);
    lens_iter_add(&it, v->strides);
    int64_t n = lens_tensor_numel(v);
    for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) {
        int64_t e = v->offset + it.off[0];
        float *row = row_of(nd, e / nd->rowlen);
        if (!row) return lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory (gradient rows)");
        row[e % nd->rowlen] += g[i];
    }
    return 0;
}

/* The gradient of the view v of node's storage, as a new contiguous tensor. */
static lens_tensor *gather_grad(const tape_node *nd, const lens_tensor *v, lens_error *err)
{
    lens_tensor *g = lens_tensor_new(LENS_F32, v->ndim, v->shape);
    if (!g) { lens_fail_alloc(err); return NULL; }
    float *out = lens_tensor_f32(g);
    lens_iter it;
    lens_iter_init(&it, v->ndim, v->shape);
    lens_iter_add(&it, v->strides);
    int64_t n = lens_tensor_numel(v);
    for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) {
        int64_t e = v->offset + it.off[0];
        const float *row = nd->rows[e / nd->rowlen];
        out[i] = row ? row[e % nd->rowlen] : 0;
    }
    return g;
}

static int backward_node(lens_tape *tape, tape_node *nd, lens_error *err)
{
    if (nd->rule == TAPE_NO_RULE)
        return lens_fail(err, "attribution through a user metric: %s has no gradient; supported: %s", nd->name,
                         lens_tape_supported);
    lens_tensor *g = gather_grad(nd, nd->out, err);
    if (!g) return -1;
    int n = nd->n_in, rc = 0;
    bool *need = calloc((size_t)n + 1, sizeof *need);
    lens_tensor **gin = calloc((size_t)n + 1, sizeof *gin);
    if (!need || !gin) { free(need); free(gin); lens_tensor_free(g); return lens_fail_oom(err); }
    for (int i = 0; i < n; i++) need[i] = nd->in[i] && nd->in[i]->dtype == LENS_F32 && find(tape, nd->in[i]->storage);
    rc = tape_rule_apply(nd, g, need, gin, err);
    lens_tensor_free(g);
    for (int i = 0; i < n; i++) {
        if (!rc && gin[i]) {
            tape_node *src = find(tape, nd->in[i]->storage);
            lens_tensor *c = lens_tensor_contiguous(gin[i]);
            rc = c ? scatter_add(src, nd->in[i], lens_tensor_f32(c), err) : lens_fail_alloc(err);
            lens_tensor_free(c);
        }
        lens_tensor_free(gin[i]);
    }
    free(need);
    free(gin);
    return rc;
}

int lens_tape_backward(lens_tape *tape, const lens_tensor *result, lens_error *err)
{
    char s[64];
    if (tape->failed) return lens_fail(err, "%s", tape->failed);
    if (result->dtype != LENS_F32 || lens_tensor_numel(result) != 1)
        return lens_fail(err, "the metric must return one number (a one-element float tensor), not a %s tensor of shape %s",
                         lens_dtype_name(result->dtype), lens_shape_str(result->ndim, result->shape, s, sizeof s));
    tape_node *top = find(tape, result->storage);
    if (!top)
        return lens_fail(err, "the metric's result does not depend on the logits through tensor operations "
                              "lens can differentiate (%s)", lens_tape_supported);
    lens_tape *prev = lens_tape_activate(NULL);
    int rc = scatter_add(top, result, (const float[]){1.0f}, err);
    for (int64_t i = tape->n - 1; !rc && i >= 0; i--) {
        tape_node *nd = &tape->nodes[i];
        if (nd->rule == TAPE_LEAF || !has_grad(nd)) continue;
        rc = backward_node(tape, nd, err);
        for (int64_t r = 0; r < nd->nrows; r++) { free(nd->rows[r]); nd->rows[r] = NULL; }
    }
    lens_tape_activate(prev);
    return rc;
}

int lens_tape_rows(const lens_tape *tape, const lens_tensor *t, int64_t *n, int64_t **rows, lens_tensor **grad,
                   lens_error *err)
{
    const tape_node *nd = find(tape, t->storage);
    *n = 0; *rows = NULL; *grad = NULL;
    if (!nd || nd->rule != TAPE_LEAF) return lens_fail(err, "this tensor was not watched by the tape");
    int64_t k = 0;
    for (int64_t r = 0; nd->rows && r < nd->nrows; r++) k += nd->rows[r] != NULL;
    *rows = malloc((size_t)(k ? k : 1) * sizeof **rows);
    *grad = lens_tensor_new_v(LENS_F32, 2, k, nd->rowlen);
    if (!*rows || !*grad) {
        free(*rows); lens_tensor_free(*grad); *rows = NULL; *grad = NULL;
        return lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory (gradient rows)");
    }
    for (int64_t r = 0, j = 0; nd->rows && r < nd->nrows; r++) {
        if (!nd->rows[r]) continue;
        (*rows)[j] = r;
        memcpy(lens_tensor_f32(*grad) + j * nd->rowlen, nd->rows[r], (size_t)nd->rowlen * sizeof(float));
        j++;
    }
    *n = k;
    return 0;
}
