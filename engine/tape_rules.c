/* tape_rules.c — the derivative of each operation the tape records: given the
 * gradient of a result, the gradients of its inputs, written with the engine's
 * own tensor operations (the tape is inactive while they run).
 *
 * Owns: the backward rules, the reduction of a broadcast gradient to its input's
 * shape. Does not own: the order they run in or where gradients accumulate (tape.c). */
#include <stdlib.h>
#include <string.h>

#include "tape_internal.h"
#include "tensor_iter.h"

typedef struct rule_ctx {
    const tape_node *nd;
    const lens_tensor *g;     /* the result's gradient, contiguous */
    lens_error *err;
} rule_ctx;

static lens_tensor *bin(lens_binop op, const lens_tensor *a, const lens_tensor *b, lens_error *err)
{
    return a && b ? lens_binary(op, a, b, err) : NULL;
}

static lens_tensor *bin_scalar(lens_binop op, const lens_tensor *a, double v, lens_error *err)
{
    return a ? lens_binary_scalar(op, a, v, false, false, err) : NULL;
}

/* Frees every tensor of a NULL-terminated list except keep. */
static lens_tensor *keep_only(lens_tensor *keep, lens_tensor **drop, int n)
{
    for (int i = 0; i < n; i++)
        if (drop[i] != keep) lens_tensor_free(drop[i]);
    return keep;
}

/* g (consumed), broadcast from shape: summed over the dims broadcasting added or
 * stretched, then given exactly that shape. */
static lens_tensor *sum_to(lens_tensor *g, int nd, const int64_t *shape, lens_error *err)
{
    if (!g) return NULL;
    int lead = g->ndim - nd, dims[LENS_MAX_DIMS], k = 0;
    for (int d = 0; d < g->ndim; d++) {
        int td = d - lead;
        if (td < 0 || (shape[td] == 1 && g->shape[d] != 1)) dims[k++] = d;
    }
    lens_tensor *r = g;
    if (k) {
        r = lens_reduce_dims(LENS_RED_SUM, g, k, dims, true, err);
        lens_tensor_free(g);
        if (!r) return NULL;
    }
    int64_t one = 1;
    lens_tensor *s = lens_tensor_reshape(r, nd, nd ? shape : &one, err);
    lens_tensor_free(r);
    return s;
}

static lens_tensor *zeros_of(const lens_tensor *t, lens_error *err)
{
    return lens_zeros(LENS_F32, t->ndim, t->shape, err);
}

static int binary_rule(const rule_ctx *c, const bool *need, lens_tensor **gin)
{
    const lens_tensor *a = c->nd->in[0], *b = c->nd->in[1], *g = c->g, *y = c->nd->out;
    lens_error *err = c->err;
    lens_tensor *ga = NULL, *gb = NULL, *t[4] = {0};
    switch ((lens_binop)c->nd->op) {
    case LENS_OP_ADD:
    case LENS_OP_SUB:
        if (need[0]) ga = lens_tensor_clone(g);
        if (need[1]) gb = c->nd->op == LENS_OP_ADD ? lens_tensor_clone(g) : lens_unary(LENS_OP_NEG, g, err);
        break;
    case LENS_OP_MUL:
        if (need[0]) ga = bin(LENS_OP_MUL, g, b, err);
        if (need[1]) gb = bin(LENS_OP_MUL, g, a, err);
        break;
    case LENS_OP_DIV:   /* d(a/b)/db = -(a/b)/b */
        if (need[0]) ga = bin(LENS_OP_DIV, g, b, err);
        if (need[1]) {
            t[0] = bin(LENS_OP_MUL, g, y, err);
            t[1] = bin(LENS_OP_DIV, t[0], b, err);
            gb = t[1] ? lens_unary(LENS_OP_NEG, t[1], err) : NULL;
        }
        break;
    case LENS_OP_POW:   /* d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log a */
        if (need[0]) {
            t[0] = lens_tensor_to_f32(b);
            t[1] = bin_scalar(LENS_OP_SUB, t[0], 1, err);
            t[2] = bin(LENS_OP_POW, a, t[1], err);
            t[3] = bin(LENS_OP_MUL, t[2], t[0], err);
            ga = bin(LENS_OP_MUL, g, t[3], err);
            keep_only(NULL, t, 4);
            memset(t, 0, sizeof t);
        }
        if (need[1]) {
            t[0] = lens_unary(LENS_OP_LOG, a, err);
            t[1] = bin(LENS_OP_MUL, y, t[0], err);
            gb = bin(LENS_OP_MUL, g, t[1], err);
        }
        break;
    default:
        return lens_fail(err, "no derivative for this binary operation");
    }
    keep_only(NULL, t, 4);
    if ((need[0] && !ga) || (need[1] && !gb)) {
        lens_tensor_free(ga); lens_tensor_free(gb);
        return lens_fail_alloc(err);
    }
    if (need[0] && !(gin[0] = sum_to(ga, a->ndim, a->shape, err))) { lens_tensor_free(gb); return -1; }
    if (need[1] && !(gin[1] = sum_to(gb, b->ndim, b->shape, err))) return -1;
    return 0;
}

static lens_tensor *unary_rule(const rule_ctx *c)
{
    const lens_tensor *x = c->nd->in[0], *y = c->nd->out, *g = c->g;
    lens_error *err = c->err;
    lens_tensor *t[3] = {0}, *r = NULL;
    switch ((lens_unop)c->nd->op) {
    case LENS_OP_NEG: return lens_unary(LENS_OP_NEG, g, err);
    case LENS_OP_ABS: r = bin(LENS_OP_MUL, g, t[0] = lens_unary(LENS_OP_SIGN, x, err), err); break;
    case LENS_OP_EXP: return bin(LENS_OP_MUL, g, y, err);
    case LENS_OP_LOG: return bin(LENS_OP_DIV, g, x, err);
    case LENS_OP_SQRT: r = bin(LENS_OP_DIV, t[0] = bin_scalar(LENS_OP_MUL, g, 0.5, err), y, err); break;
    case LENS_OP_TANH:   /* 1 - y^2 */
        t[0] = bin(LENS_OP_MUL, y, y, err);
        t[1] = t[0] ? lens_binary_scalar(LENS_OP_SUB, t[0], 1, false, true, err) : NULL;
        r = bin(LENS_OP_MUL, g, t[1], err);
        break;
    case LENS_OP_SIN: r = bin(LENS_OP_MUL, g, t[0] = lens_unary(LENS_OP_COS, x, err), err); break;
    case LENS_OP_COS:
        t[0] = lens_unary(LENS_OP_SIN, x, err);
        t[1] = bin(LENS_OP_MUL, g, t[0], err);
        r = t[1] ? lens_unary(LENS_OP_NEG, t[1], err) : NULL;
        break;
    case LENS_OP_SIGMOID:   /* y (1 - y) */
        t[0] = lens_binary_scalar(LENS_OP_SUB, y, 1, false, true, err);
        t[1] = bin(LENS_OP_MUL, y, t[0], err);
        r = bin(LENS_OP_MUL, g, t[1], err);
        break;
    case LENS_OP_RELU: r = bin(LENS_OP_MUL, g, t[0] = lens_binary_scalar(LENS_OP_GT, x, 0, false, false, err), err); break;
    default:   /* floor, ceil, round, sign: flat almost everywhere */
        return zeros_of(x, err);
    }
    keep_only(NULL, t, 3);
    return r;
}

/* where(cond, a, b) and masked_fill(t, mask): the gradient goes where its input was chosen. */
static int select_rule(const rule_ctx *c, const bool *need, lens_tensor **gin)
{
    const tape_node *nd = c->nd;
    lens_tensor *zero = lens_scalar_f32(0);
    if (!zero) return lens_fail_alloc(c->err);
    bool fill = nd->rule == TAPE_MASKED_FILL;
    const lens_tensor *cond = fill ? nd->in[1] : nd->in[2];
    for (int i = 0; i < (fill ? 1 : 2); i++) {
        if (!need[i]) continue;
        bool taken_when_true = !fill && i == 0;
        lens_tensor *w = lens_where(cond, taken_when_true ? c->g : zero, taken_when_true ? zero : c->g, c->err);
        if (!(gin[i] = sum_to(w, nd->in[i]->ndim, nd->in[i]->shape, c->err))) { lens_tensor_free(zero); return -1; }
    }
    lens_tensor_free(zero);
    return 0;
}

/* sum / mean: the gradient spread back over the reduced dims. */
static lens_tensor *reduce_rule(const rule_ctx *c)
{
    const tape_node *nd = c->nd;
    const lens_tensor *t = nd->in[0];
    int64_t kshape[LENS_MAX_DIMS], count = 1, one = 1;
    for (int d = 0; d < t->ndim; d++) {
        bool reduced = nd->ndims == 0;
        for (int i = 0; i < nd->ndims; i++) reduced |= nd->dims[i] == d;
        kshape[d] = reduced ? 1 : t->shape[d];
        if (reduced) count *= t->shape[d];
    }
    lens_tensor *k = lens_tensor_reshape(c->g, t->ndim, t->ndim ? kshape : &one, c->err);
    lens_tensor *e = k ? lens_tensor_expand(k, t->ndim, t->shape, c->err) : NULL;
    lens_tensor *r = e ? (nd->op == LENS_RED_MEAN ? bin_scalar(LENS_OP_DIV, e, (double)count, c->err) : lens_tensor_clone(e))
                       : NULL;
    lens_tensor_free(k);
    lens_tensor_free(e);
    return r;
}

static lens_tensor *softmax_rule(const rule_ctx *c)
{
    const tape_node *nd = c->nd;
    const lens_tensor *y = nd->out, *g = c->g;
    lens_error *err = c->err;
    if (y->ndim == 0) return zeros_of(y, err);   /* a softmax over one element is constant */
    lens_tensor *t[3] = {0}, *r;
    if (nd->flag) {   /* log_softmax: g - softmax * sum(g) */
        t[0] = lens_unary(LENS_OP_EXP, y, err);
        t[1] = lens_reduce(LENS_RED_SUM, g, nd->dim, true, err);
        t[2] = bin(LENS_OP_MUL, t[0], t[1], err);
        r = bin(LENS_OP_SUB, g, t[2], err);
    } else {          /* softmax: y (g - sum(g y)) */
        t[0] = bin(LENS_OP_MUL, g, y, err);
        t[1] = t[0] ? lens_reduce(LENS_RED_SUM, t[0], nd->dim, true, err) : NULL;
        t[2] = bin(LENS_OP_SUB, g, t[1], err);
        r = bin(LENS_OP_MUL, y, t[2], err);
    }
    keep_only(NULL, t, 3);
    return r;
}

static int64_t index_at(const lens_tensor *idx, int64_t off, int64_t size)
{
    int64_t v = lens_load_i64(idx, off);
    return v < 0 ? v + size : v;
}

/* index_select: out = t.shape[:dim] + idx.shape + t.shape[dim+1:]; the gradient adds back at each index. */
static lens_tensor *index_select_rule(const rule_ctx *c)
{
    const lens_tensor *t = c->nd->in[0], *idx = c->nd->in[1];
    int dim = c->nd->dim;
    lens_tensor *r = zeros_of(t, c->err);
    if (!r) return NULL;
    int64_t outer = 1, inner = 1, S = t->shape[dim], n = lens_tensor_numel(idx);
    for (int d = 0; d < dim; d++) outer *= t->shape[d];
    for (int d = dim + 1; d < t->ndim; d++) inner *= t->shape[d];
    lens_iter it;
    lens_iter_init(&it, idx->ndim, idx->shape);
    lens_iter_add(&it, idx->strides);
    const float *g = lens_tensor_f32(c->g);
    float *dst = lens_tensor_f32(r);
    for (int64_t j = 0; j < n; j++, lens_iter_next(&it)) {
        int64_t s = index_at(idx, it.off[0], S);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) dst[(o * S + s) * inner + i] += g[(o * n + j) * inner + i];
    }
    return r;
}

/* gather: out[i..] = t[i.. with dim replaced by idx[i..]]; out has idx's shape. */
static lens_tensor *gather_rule(const rule_ctx *c)
{
    const lens_tensor *t = c->nd->in[0], *idx = c->nd->in[1];
    int dim = c->nd->dim;
    lens_tensor *r = zeros_of(t, c->err);
    if (!r) return NULL;
    lens_iter it;
    lens_iter_init(&it, idx->ndim, idx->shape);
    lens_iter_add(&it, idx->strides);
    int k = lens_iter_add(&it, r->strides);
    const float *g = lens_tensor_f32(c->g);
    float *dst = lens_tensor_f32(r);
    int64_t n = lens_tensor_numel(idx);
    for (int64_t j = 0; j < n; j++, lens_iter_next(&it)) {
        int64_t s = index_at(idx, it.off[0], t->shape[dim]);
        dst[it.off[k] + (s - it.idx[dim]) * r->strides[dim]] += g[j];
    }
    return r;
}

static lens_tensor *masked_select_rule(const rule_ctx *c)
{
    const lens_tensor *t = c->nd->in[0], *mask = c->nd->in[1];
    lens_tensor *r = zeros_of(t, c->err);
    if (!r) return NULL;
    int64_t ms[LENS_MAX_DIMS];
    lens_broadcast_strides(mask, t->ndim, t->shape, ms);
    lens_iter it;
    lens_iter_init(&it, t->ndim, t->shape);
    lens_iter_add(&it, ms);
    const float *g = lens_tensor_f32(c->g);
    float *dst = lens_tensor_f32(r);
    int64_t n = lens_tensor_numel(t), j = 0, ng = lens_tensor_numel(c->g);
    for (int64_t i = 0; i < n && j < ng; i++, lens_iter_next(&it))
        if (lens_load(mask, it.off[0]) != 0) dst[i] = g[j++];
    return r;
}

/* matmul: with 1-d operands given their matrix dims back, dA = G B^T and dB = A^T G,
 * each summed over the batch dims it was broadcast along. */
static int matmul_rule(const rule_ctx *c, const bool *need, lens_tensor **gin)
{
    const lens_tensor *a = c->nd->in[0], *b = c->nd->in[1];
    lens_error *err = c->err;
    lens_tensor *af = lens_tensor_to_f32(a), *bf = lens_tensor_to_f32(b);
    lens_tensor *A = af ? (a->ndim == 1 ? lens_tensor_unsqueeze(af, 0, err) : lens_tensor_ref(af)) : NULL;
    lens_tensor *B = bf ? (b->ndim == 1 ? lens_tensor_unsqueeze(bf, 1, err) : lens_tensor_ref(bf)) : NULL;
    lens_tensor *G = NULL, *tmp[4] = {af, bf, NULL, NULL};
    int rc = -1;
    if (!A || !B) { lens_fail_alloc(err); goto done; }
    int64_t shape[LENS_MAX_DIMS + 2];
    int nb = lens_broadcast_shape(A->ndim - 2, A->shape, B->ndim - 2, B->shape, shape, err);
    if (nb < 0) goto done;
    shape[nb] = A->shape[A->ndim - 2];
    shape[nb + 1] = B->shape[B->ndim - 1];
    if (!(G = lens_tensor_reshape(c->g, nb + 2, shape, err))) goto done;
    if (need[0]) {
        tmp[2] = lens_tensor_transpose(B, -1, -2, err);
        lens_tensor *d = tmp[2] ? lens_matmul(G, tmp[2], err) : NULL;
        lens_tensor *s = sum_to(d, A->ndim, A->shape, err);
        gin[0] = s ? lens_tensor_reshape(s, a->ndim, a->shape, err) : NULL;
        lens_tensor_free(s);
        if (!gin[0]) goto done;
    }
    if (need[1]) {
        tmp[3] = lens_tensor_transpose(A, -1, -2, err);
        lens_tensor *d = tmp[3] ? lens_matmul(tmp[3], G, err) : NULL;
        lens_tensor *s = sum_to(d, B->ndim, B->shape, err);
        gin[1] = s ? lens_tensor_reshape(s, b->ndim, b->shape, err) : NULL;
        lens_tensor_free(s);
        if (!gin[1]) goto done;
    }
    rc = 0;
done:
    keep_only(NULL, tmp, 4);
    lens_tensor_free(A);
    lens_tensor_free(B);
    lens_tensor_free(G);
    return rc;
}

/* cat: each input's part of the gradient. */
static int cat_rule(const rule_ctx *c, const bool *need, lens_tensor **gin)
{
    const tape_node *nd = c->nd;
    int64_t off = 0;
    for (int i = 0; i < nd->n_in; i++) {
        const lens_tensor *t = nd->in[i];
        int64_t len = t->shape[nd->dim];
        if (need[i]) {
            gin[i] = lens_tensor_narrow(c->g, nd->dim, off, len);
            if (!gin[i]) return lens_fail_alloc(c->err);
        }
        off += len;
    }
    return 0;
}

int tape_rule_apply(const tape_node *nd, const lens_tensor *g, const bool *need, lens_tensor **gin, lens_error *err)
{
    rule_ctx c = {.nd = nd, .g = g, .err = err};
    err->msg[0] = 0;
    lens_tensor *r = NULL;
    const lens_tensor *t = nd->in[0];
    switch (nd->rule) {
    case TAPE_BINARY: return binary_rule(&c, need, gin);
    case TAPE_WHERE:
    case TAPE_MASKED_FILL: return select_rule(&c, need, gin);
    case TAPE_MATMUL: return matmul_rule(&c, need, gin);
    case TAPE_CAT: return cat_rule(&c, need, gin);
    case TAPE_UNARY: r = need[0] ? unary_rule(&c) : NULL; break;
    case TAPE_REDUCE: r = need[0] ? reduce_rule(&c) : NULL; break;
    case TAPE_SOFTMAX: r = need[0] ? softmax_rule(&c) : NULL; break;
    case TAPE_INDEX_SELECT: r = need[0] ? index_select_rule(&c) : NULL; break;
    case TAPE_GATHER: r = need[0] ? gather_rule(&c) : NULL; break;
    case TAPE_MASKED_SELECT: r = need[0] ? masked_select_rule(&c) : NULL; break;
    case TAPE_COPY: r = need[0] ? lens_tensor_reshape(g, t->ndim, t->shape, err) : NULL; break;
    case TAPE_TRI: r = need[0] ? (nd->flag ? lens_tril(g, nd->k, err) : lens_triu(g, nd->k, err)) : NULL; break;
    default: return lens_fail(err, "no derivative for %s", nd->name ? nd->name : "this operation");
    }
    if (need[0] && !r) return err->msg[0] ? -1 : lens_fail_alloc(err);
    gin[0] = r;
    return 0;
}
