/* kernel/lang/builtins_tensor.c — tensors in the language: arithmetic with
 * broadcasting (tensor op tensor, tensor op number), comparisons, indexing and
 * slicing (ints, slices, None, ..., one int tensor/list or one bool mask along
 * one axis), assignment into views, attributes (shape, ndim, dtype, T), the torch-like
 * methods and the tensor builtins (tensor, arange, zeros, einsum, topk, ...).
 * The math itself is the engine's (lens/tensor_ops.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "builtins.h"
#include "builtins_device.h"
#include "lens/tensor_ops.h"
#include "tensor_dtype.h"

#define T(v) ((v)->u.tensor.t)

static const char *const topk_field_names[] = {"values", "indices"};
/* torch.return_types.topk: (values, indices) */
static const lang_tuple_class topk_class = {"topk", "topk(", ")", topk_field_names, 2};

static value *engine_fail(interp *I, lens_error *err)
{
    const char *m = err->msg;
    const char *ename = "RuntimeError";
    if (strstr(m, "out of range") || strstr(m, "index")) ename = "IndexError";
    if (strstr(m, "shape") || strstr(m, "broadcast") || strstr(m, "size")) ename = "RuntimeError";
    if (err->kind == LENS_ERR_TOO_LARGE) ename = "ValueError";   /* numpy: "array is too big" */
    if (err->kind == LENS_ERR_MEMORY) ename = "MemoryError";
    if (err->kind == LENS_ERR_DTYPE) ename = "NotImplementedError";
    if (err->kind == LENS_ERR_TYPE) ename = "TypeError";
    return lang_raise(I, ename, "%s", m);
}

/* Raises why the last tensor constructor failed (over the memory limit, too large). */
static value *alloc_fail(interp *I)
{
    lens_error err;
    lens_fail_alloc(&err);
    return engine_fail(I, &err);
}

static value *wrap(interp *I, lens_tensor *t, lens_error *err)
{
    if (!t) return engine_fail(I, err);
    return v_tensor(t);
}

/* ---- conversion ------------------------------------------------------------- */

/* *leaves_at: the depth where numbers were found (-1 before the first), so that
 * [1, []] and [1, [2, 3]] are refused instead of sized from their last item. */
/* *kind: the dtype the leaves promote to as torch infers it (bool < int64 < float32). */
static int infer_shape(interp *I, value *v, int depth, int64_t *shape, int *ndim, lens_dtype *kind,
                       int *leaves_at)
{
    if (depth >= LENS_MAX_DIMS) { lang_raise(I, "ValueError", "too many dimensions (at most %d)", LENS_MAX_DIMS); return -1; }
    bool sequence = v->type == V_LIST || v->type == V_TUPLE || (v->type == V_TENSOR && T(v)->ndim > 0);
    if (sequence && *leaves_at >= 0 && *leaves_at <= depth) {
        lang_raise(I, "ValueError", "expected a number at dim %d, got a sequence", *leaves_at);
        return -1;
    }
    if (v->type == V_LIST || v->type == V_TUPLE) {
        int64_t n = (int64_t)v->u.list.n;
        if (*ndim <= depth) { *ndim = depth + 1; shape[depth] = n; }
        else if (shape[depth] != n) { lang_raise(I, "ValueError", "expected a sequence of length %lld at dim %d (got %lld)", (long long)shape[depth], depth, (long long)n); return -1; }
        for (int64_t i = 0; i < n; i++)
            if (infer_shape(I, v->u.list.items[i], depth + 1, shape, ndim, kind, leaves_at)) return -1;
        return 0;
    }
    if (v->type == V_TENSOR) {
        const lens_tensor *t = T(v);
        if (depth + t->ndim > LENS_MAX_DIMS) { lang_raise(I, "ValueError", "too many dimensions"); return -1; }
        if (*ndim <= depth) { *ndim = depth + t->ndim; for (int k = 0; k < t->ndim; k++) shape[depth + k] = t->shape[k]; }
        else {
            if (depth + t->ndim != *ndim) { lang_raise(I, "ValueError", "tensors in the list have different shapes"); return -1; }
            for (int k = 0; k < t->ndim; k++)
                if (depth + k >= *ndim || shape[depth + k] != t->shape[k]) { lang_raise(I, "ValueError", "tensors in the list have different shapes"); return -1; }
        }
        if (t->dtype == LENS_F32 || (t->dtype == LENS_I64 && *kind == LENS_BOOL)) *kind = t->dtype;
        *leaves_at = depth + t->ndim;
        return 0;
    }
    if (!lang_is_number(v)) { lang_raise(I, "TypeError", "tensor() needs numbers or nested lists of numbers, not %s", lang_type_name(v)); return -1; }
    if (*ndim > depth) { lang_raise(I, "ValueError", "expected a sequence at dim %d, got a number", depth); return -1; }
    if (v->type == V_FLOAT) *kind = LENS_F32;
    else if (v->type == V_INT && *kind == LENS_BOOL) *kind = LENS_I64;
    *leaves_at = depth;
    return 0;
}

static void store_value(lens_tensor *t, int64_t pos, double d)
{
    if (t->dtype == LENS_F32) lens_tensor_f32(t)[pos] = (float)d;
    else if (t->dtype == LENS_BOOL) lens_tensor_bool(t)[pos] = d != 0;
    else lens_tensor_i64(t)[pos] = (int64_t)d;
}

static void fill_values(value *v, lens_tensor *t, int64_t *pos)
{
    if (v->type == V_LIST || v->type == V_TUPLE) {
        for (size_t i = 0; i < v->u.list.n; i++) fill_values(v->u.list.items[i], t, pos);
        return;
    }
    if (v->type == V_TENSOR) {
        int64_t n = lens_tensor_numel(T(v));
        for (int64_t i = 0; i < n; i++) {
            store_value(t, (*pos)++, lens_tensor_flat_f64(T(v), i));
        }
        return;
    }
    if (t->dtype == LENS_I64 && v->type == V_INT) lens_tensor_i64(t)[(*pos)++] = v->u.i;   /* exact beyond 2^53 */
    else store_value(t, (*pos)++, lang_num_as_double(v));
}

lens_tensor *lang_tensor_from_value(interp *I, value *v, int dtype)
{
    if (v->type == V_TENSOR) {
        if (dtype < 0 || (int)T(v)->dtype == dtype) return lens_tensor_ref(T(v));
        return lens_tensor_to_dtype(T(v), (lens_dtype)dtype);
    }
    int64_t shape[LENS_MAX_DIMS] = {0};
    int ndim = 0;
    lens_dtype kind = LENS_BOOL;
    int leaves_at = -1;
    if (infer_shape(I, v, 0, shape, &ndim, &kind, &leaves_at)) return NULL;
    if (leaves_at < 0) kind = LENS_F32;   /* torch.tensor([]) is float32 */
    lens_dtype dt = dtype >= 0 ? (lens_dtype)dtype : kind;
    lens_tensor *t = lens_tensor_new(dt, ndim, shape);
    if (!t) { alloc_fail(I); return NULL; }
    int64_t pos = 0;
    fill_values(v, t, &pos);
    return t;
}

value *lang_tensor_item(interp *I, const lens_tensor *t)
{
    if (lens_tensor_numel(t) != 1)
        return lang_raise(I, "RuntimeError", "a Tensor with %lld elements cannot be converted to Scalar", (long long)lens_tensor_numel(t));
    int64_t idx[LENS_MAX_DIMS] = {0};
    if (t->dtype == LENS_I64) return v_int(lens_tensor_get_i64(t, idx));
    if (t->dtype == LENS_BOOL) return v_bool(lens_tensor_get_i64(t, idx) != 0);
    return v_float(lens_tensor_get_f64(t, idx));
}

static cJSON *tensor_bundle(value *v)
{
    const lens_tensor *t = v->u.tensor.t;
    cJSON *b = cJSON_CreateObject();
    if (!b) return NULL;
    char *r = lens_tensor_repr(t);
    cJSON_AddStringToObject(b, "text/plain", r ? r : "tensor(?)");
    free(r);
    if (t->ndim >= 1 && t->ndim <= 2 && lens_tensor_numel(t) <= 2000) {
        char *h = lens_tensor_html(t);
        if (h) cJSON_AddStringToObject(b, "text/html", h);
        free(h);
    }
    return b;
}

/* ---- arithmetic ------------------------------------------------------------------ */

static int binop_code(int op, lens_binop *out)
{
    switch (op) {
    case OP_ADD: *out = LENS_OP_ADD; return 0;
    case OP_SUB: *out = LENS_OP_SUB; return 0;
    case OP_MUL: *out = LENS_OP_MUL; return 0;
    case OP_DIV: *out = LENS_OP_DIV; return 0;
    case OP_FLOORDIV: *out = LENS_OP_FLOORDIV; return 0;
    case OP_MOD: *out = LENS_OP_MOD; return 0;
    case OP_POW: *out = LENS_OP_POW; return 0;
    case OP_AND: *out = LENS_OP_AND; return 0;
    case OP_OR: *out = LENS_OP_OR; return 0;
    case OP_XOR: *out = LENS_OP_XOR; return 0;
    default: return -1;
    }
}

static value *tensor_op(interp *I, lens_binop bop, value *a, value *b, const char *sym)
{
    lens_error err;
    /* ints and floats as 0-d int64 / float32; a Python bool goes below, as a 0-d bool */
    if (a->type == V_TENSOR && lang_is_number(b) && b->type != V_BOOL)
        return wrap(I, lens_binary_scalar(bop, T(a), lang_num_as_double(b), b->type != V_FLOAT, false, &err), &err);
    if (b->type == V_TENSOR && lang_is_number(a) && a->type != V_BOOL)
        return wrap(I, lens_binary_scalar(bop, T(b), lang_num_as_double(a), a->type != V_FLOAT, true, &err), &err);
    if ((a->type != V_TENSOR && a->type != V_LIST && a->type != V_TUPLE && a->type != V_BOOL) ||
        (b->type != V_TENSOR && b->type != V_LIST && b->type != V_TUPLE && b->type != V_BOOL))
        return lang_raise(I, "TypeError", "unsupported operand type(s) for %s: '%s' and '%s'", sym, lang_type_name(a), lang_type_name(b));
    lens_tensor *ta = lang_tensor_from_value(I, a, -1);
    if (!ta) return NULL;
    lens_tensor *tb = lang_tensor_from_value(I, b, -1);
    if (!tb) { lens_tensor_free(ta); return NULL; }
    lens_tensor *r = lens_binary(bop, ta, tb, &err);
    lens_tensor_free(ta);
    lens_tensor_free(tb);
    return wrap(I, r, &err);
}

/* A bool index: a bool tensor of at least one dim, or a non-empty list of bools (torch). */
static bool is_mask(const value *k)
{
    if (k->type == V_TENSOR) return k->u.tensor.t->dtype == LENS_BOOL && k->u.tensor.t->ndim > 0;
    if (k->type != V_LIST || !k->u.list.n) return false;
    for (size_t i = 0; i < k->u.list.n; i++) if (k->u.list.items[i]->type != V_BOOL) return false;
    return true;
}

static value *tensor_binary(interp *I, int op, value *a, value *b)
{
    if (op == OP_MATMUL) {
        if (a->type != V_TENSOR || b->type != V_TENSOR)
            return lang_raise(I, "TypeError", "unsupported operand type(s) for @: '%s' and '%s'", lang_type_name(a), lang_type_name(b));
        lens_error err;
        return wrap(I, lens_matmul(T(a), T(b), &err), &err);
    }
    lens_binop bop;
    if (binop_code(op, &bop))
        return lang_raise(I, "TypeError", "unsupported operand type(s) for %s: '%s' and '%s'", lang_binop_symbol(op), lang_type_name(a), lang_type_name(b));
    return tensor_op(I, bop, a, b, lang_binop_symbol(op));
}

static value *tensor_compare(interp *I, int cmp, value *a, value *b)
{
    static const lens_binop codes[] = {LENS_OP_LT, LENS_OP_GT, LENS_OP_LE, LENS_OP_GE, LENS_OP_EQ, LENS_OP_NE};
    static const char *const sym[] = {"<", ">", "<=", ">=", "==", "!="};
    if (cmp > CMP_NE) return lang_raise(I, "TypeError", "unsupported comparison");
    if ((a->type == V_NONE || b->type == V_NONE) && (cmp == CMP_EQ || cmp == CMP_NE)) return v_bool(cmp == CMP_NE);
    return tensor_op(I, codes[cmp], a, b, sym[cmp]);
}

static value *tensor_unary(interp *I, int op, value *a)
{
    lens_error err;
    if (op == '-') return wrap(I, lens_unary(LENS_OP_NEG, T(a), &err), &err);
    if (op == '+') return wrap(I, lens_tensor_clone(T(a)), &err);
    if (op == '~') return wrap(I, lens_unary(LENS_OP_NOT, T(a), &err), &err);
    return lang_raise(I, "TypeError", "bad operand type for unary %c: 'Tensor'", op);
}

/* ---- indexing ------------------------------------------------------------------------ */

int lang_slice_indices(interp *I, value *sl, int64_t n, int64_t *start, int64_t *stop, int64_t *step);

static bool is_index_array(value *k)
{
    return (k->type == V_TENSOR && T(k)->ndim > 0) || k->type == V_LIST;
}

/* cur[..., mask, ...] with the bool mask's dims starting at dim d: those dims are
 * flattened into one, and the entries where the mask is true are kept. */
static lens_tensor *mask_select(interp *I, const lens_tensor *cur, int d, value *k)
{
    lens_tensor *m = lang_tensor_from_value(I, k, LENS_BOOL);
    if (!m) return NULL;
    lens_tensor *r = NULL, *flat = NULL, *mflat = NULL, *idx = NULL;
    lens_error err;
    bool fits = m->ndim >= 1 && d + m->ndim <= cur->ndim;
    for (int i = 0; fits && i < m->ndim; i++) fits = m->shape[i] == cur->shape[d + i];
    if (!fits) {
        char a[128], b[128];
        lang_raise(I, "IndexError", "the mask of shape %s does not match the indexed dims of the tensor of shape %s",
                   lens_shape_str(m->ndim, m->shape, a, sizeof a), lens_shape_str(cur->ndim, cur->shape, b, sizeof b));
        goto done;
    }
    int64_t shape[LENS_MAX_DIMS], n = 1;
    int nd = 0;
    for (int i = 0; i < d; i++) shape[nd++] = cur->shape[i];
    for (int i = 0; i < m->ndim; i++) n *= m->shape[i];
    shape[nd++] = n;
    for (int i = d + m->ndim; i < cur->ndim; i++) shape[nd++] = cur->shape[i];
    if (!(flat = lens_tensor_reshape(cur, nd, shape, &err)) || !(mflat = lens_tensor_reshape(m, 1, &n, &err))) {
        engine_fail(I, &err);
        goto done;
    }
    lens_tensor *mc = lens_tensor_host_contiguous(mflat, &err);
    if (!mc) { engine_fail(I, &err); goto done; }
    const uint8_t *mv = lens_tensor_bool(mc);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) count += mv[i];
    idx = lens_tensor_new(LENS_I64, 1, &count);
    if (idx) {
        int64_t *iv = lens_tensor_i64(idx), o = 0;
        for (int64_t i = 0; i < n; i++) if (mv[i]) iv[o++] = i;
    }
    lens_tensor_free(mc);
    if (!idx) { lang_raise(I, "MemoryError", "out of memory"); goto done; }
    if (!(r = lens_index_select(flat, d, idx, &err))) engine_fail(I, &err);
done:
    lens_tensor_free(m);
    lens_tensor_free(flat);
    lens_tensor_free(mflat);
    lens_tensor_free(idx);
    return r;
}

/* Applies a key to t; returns a view where possible (basic indexing). */
static lens_tensor *index_tensor(interp *I, const lens_tensor *t, value *key, bool *advanced_used)
{
    value **items = &key;
    size_t n = 1;
    if (key->type == V_TUPLE) { items = key->u.list.items; n = key->u.list.n; }
    int consumed = 0, ell = -1;
    for (size_t i = 0; i < n; i++) {
        value *k = items[i];
        if (k->type == V_ELLIPSIS) {
            if (ell >= 0) { lang_raise(I, "IndexError", "an index can only have a single ellipsis ('...')"); return NULL; }
            ell = (int)i;
        } else if (k->type != V_NONE) consumed++;
    }
    if (consumed > t->ndim) {
        lang_raise(I, "IndexError", "too many indices for tensor of dimension %d", t->ndim);
        return NULL;
    }
    lens_tensor *cur = lens_tensor_ref(t);
    lens_error err;
    int d = 0;
    int n_adv = 0;
    for (size_t i = 0; i < n && cur; i++) {
        value *k = items[i];
        lens_tensor *next = NULL;
        if (k->type == V_ELLIPSIS) {
            d += t->ndim - consumed;
            continue;
        } else if (k->type == V_NONE) {
            next = lens_tensor_unsqueeze(cur, d, &err);
            if (!next) { engine_fail(I, &err); }
            d++;
        } else if (k->type == V_SLICE) {
            int64_t s, e, st;
            if (lang_slice_indices(I, k, cur->shape[d], &s, &e, &st)) { lens_tensor_free(cur); return NULL; }
            if (st < 0) { lens_tensor_free(cur); lang_raise(I, "ValueError", "step must be greater than zero (like torch)"); return NULL; }
            int64_t len = e > s ? (e - s - 1) / st + 1 : 0;   /* no e - s + st: st may be huge */
            int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
            memcpy(shape, cur->shape, sizeof shape);
            memcpy(strides, cur->strides, sizeof strides);
            shape[d] = len;
            if (len > 1) strides[d] = cur->strides[d] * st;   /* (len - 1) * st < size: fits */
            next = lens_tensor_view(cur, cur->ndim, shape, strides, cur->offset + (len ? s * cur->strides[d] : 0));
            if (!next) alloc_fail(I);
            d++;
        } else if (k->type == V_INT || k->type == V_BOOL || (k->type == V_TENSOR && T(k)->ndim == 0)) {
            int64_t idx;
            if (lang_arg_int(I, k, "tensor index", &idx)) { lens_tensor_free(cur); return NULL; }
            int64_t size = cur->shape[d];
            if (idx < -size || idx >= size) {
                lens_tensor_free(cur);
                lang_raise(I, "IndexError", "index %lld is out of bounds for dimension %d with size %lld",
                           (long long)idx, d, (long long)size);
                return NULL;
            }
            next = lens_tensor_select(cur, d, idx < 0 ? idx + size : idx);
            if (!next) alloc_fail(I);
        } else if (is_mask(k)) {
            /* torch: a mask over the next m dims selects the positions where it is true;
             * those dims become one of that many entries */
            if (++n_adv > 1) {
                lens_tensor_free(cur);
                lang_raise(I, "IndexError", "only one tensor or list index per subscript is supported (index one axis at a time)");
                return NULL;
            }
            next = mask_select(I, cur, d, k);
            if (!next) { lens_tensor_free(cur); return NULL; }
            d++;
            if (advanced_used) *advanced_used = true;
        } else if (is_index_array(k)) {
            if (++n_adv > 1) {
                lens_tensor_free(cur);
                lang_raise(I, "IndexError", "only one tensor or list index per subscript is supported (index one axis at a time)");
                return NULL;
            }
            lens_tensor *idx = lang_tensor_from_value(I, k, -1);
            if (!idx) { lens_tensor_free(cur); return NULL; }
            if (idx->dtype != LENS_I64) {
                lens_tensor_free(idx);
                lens_tensor_free(cur);
                lang_raise(I, "IndexError", "tensors used as indices must be int64 (long)");
                return NULL;
            }
            next = lens_index_select(cur, d, idx, &err);
            if (!next) engine_fail(I, &err);
            d += idx->ndim;
            lens_tensor_free(idx);
            if (advanced_used) *advanced_used = true;
        } else {
            lens_tensor_free(cur);
            lang_raise(I, "IndexError", "only integers, slices (`:`), ellipsis (`...`), None and integer tensors or lists are valid indices (got %s)", lang_type_name(k));
            return NULL;
        }
        lens_tensor_free(cur);
        cur = next;
    }
    return cur;
}

static value *tensor_getitem(interp *I, value *t, value *key)
{
    lens_tensor *r = index_tensor(I, T(t), key, NULL);
    return r ? v_tensor(r) : NULL;
}

/* x[mask] = v with a mask over x's leading dims and a number (or a tensor that
 * broadcasts to x): x becomes where(mask, v, x), in place. */
static int mask_assign(interp *I, value *t, value *key, value *val)
{
    lens_tensor *x = T(t);
    lens_tensor *m = lang_tensor_from_value(I, key, LENS_BOOL);
    if (!m) return -1;
    lens_tensor *src = lang_is_number(val) ? (val->type == V_FLOAT ? lens_scalar_f32(val->u.f) : lens_scalar_i64(val->type == V_INT ? val->u.i : val->u.b))
                                      : lang_tensor_from_value(I, val, -1);
    lens_tensor *mb = NULL, *w = NULL;
    lens_error err;
    int rc = -1;
    bool fits = m->ndim >= 1 && m->ndim <= x->ndim;
    for (int i = 0; fits && i < m->ndim; i++) fits = m->shape[i] == x->shape[i];
    if (!src) { if (!I->error) lang_raise(I, "MemoryError", "out of memory"); goto done; }
    if (!fits) {
        char a[128], b[128];
        lang_raise(I, "IndexError", "the mask of shape %s does not match the leading dims of the tensor of shape %s",
                   lens_shape_str(m->ndim, m->shape, a, sizeof a), lens_shape_str(x->ndim, x->shape, b, sizeof b));
        goto done;
    }
    int64_t shape[LENS_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) shape[i] = i < m->ndim ? m->shape[i] : 1;
    if (!(mb = lens_tensor_reshape(m, x->ndim, shape, &err)) || !(w = lens_where(mb, src, x, &err)) ||
        lens_tensor_assign(x, w, &err)) {
        engine_fail(I, &err);
        goto done;
    }
    rc = 0;
done:
    lens_tensor_free(m);
    lens_tensor_free(src);
    lens_tensor_free(mb);
    lens_tensor_free(w);
    return rc;
}

static int tensor_setitem(interp *I, value *t, value *key, value *val)
{
    if (is_mask(key)) return mask_assign(I, t, key, val);
    bool adv = false;
    lens_tensor *view = index_tensor(I, T(t), key, &adv);
    if (!view) return -1;
    if (adv) {
        lens_tensor_free(view);
        lang_raise(I, "IndexError", "assignment through a tensor or list index is not supported; use slices and ints");
        return -1;
    }
    lens_tensor *src = lang_is_number(val) ? (val->type == V_FLOAT ? lens_scalar_f32(val->u.f) : lens_scalar_i64(val->type == V_INT ? val->u.i : val->u.b))
                                      : lang_tensor_from_value(I, val, -1);
    if (!src) { lens_tensor_free(view); if (!I->error) lang_raise(I, "MemoryError", "out of memory"); return -1; }
    lens_error err;
    int rc = lens_tensor_assign(view, src, &err);
    lens_tensor_free(view);
    lens_tensor_free(src);
    if (rc) { engine_fail(I, &err); return -1; }
    return 0;
}

/* ---- attributes ---------------------------------------------------------------- */

/* torch.Size: a tensor's shape, shown as torch.Size([2, 3]); indexing, len,
 * iteration and equality are its tuple's */
static const lang_tuple_class size_class = {"Size", "torch.Size([", "])", NULL, 0};

static value *shape_tuple(const lens_tensor *t)
{
    value *tu = v_tuple((size_t)t->ndim);
    if (!tu) return NULL;
    tu->tuple_class = &size_class;
    for (int i = 0; i < t->ndim; i++) lang_tuple_set(tu, (size_t)i, v_int(t->shape[i]));
    return tu;
}

static value *reduce_all(interp *I, value *t, lens_reduce_op op)
{
    lens_error err;
    return wrap(I, lens_reduce_all(op, T(t), &err), &err);
}

value *lang_tensor_getattr(interp *I, value *t, const char *name)
{
    const lens_tensor *x = T(t);
    lens_error err;
    if (!strcmp(name, "shape")) return shape_tuple(x);
    if (!strcmp(name, "ndim")) return v_int(x->ndim);
    if (!strcmp(name, "dtype")) return lang_dtype_value(x->dtype);
    if (!strcmp(name, "device")) return lang_tensor_device(x);
    if (!strcmp(name, "T")) {
        int perm[LENS_MAX_DIMS];
        for (int i = 0; i < x->ndim; i++) perm[i] = x->ndim - 1 - i;
        return wrap(I, lens_tensor_permute(x, perm, &err), &err);
    }
    if (!strcmp(name, "__abs__")) return wrap(I, lens_unary(LENS_OP_ABS, x, &err), &err);
    if (!strcmp(name, "__round__")) return wrap(I, lens_unary(LENS_OP_ROUND, x, &err), &err);
    if (!strcmp(name, "__sum__")) return reduce_all(I, t, LENS_RED_SUM);
    if (!strcmp(name, "__max__")) return reduce_all(I, t, LENS_RED_MAX);
    if (!strcmp(name, "__min__")) return reduce_all(I, t, LENS_RED_MIN);
    const lang_builtin *m = lang_method_find("Tensor", name);
    if (m) return v_builtin(m, t);
    return NULL;
}

/* ---- method helpers -------------------------------------------------------------- */

/* The dim argument `name` (numpy's axis= where the spec has it); *given: not absent or None. */
static int get_dim(interp *I, args *a, const char *name, int *dim, bool *given)
{
    value *v = lang_arg(a, name);
    if (!v || v->type == V_NONE) v = lang_arg(a, "axis");
    *given = v && v->type != V_NONE;
    if (!*given) return 0;
    int64_t d;
    if (lang_arg_int(I, v, name, &d)) return -1;
    *dim = (int)d;
    return 0;
}

/* A shape (or dims) from n values: n ints, or one tuple/list of ints. Entries
 * below -1 are refused unless negative_ok (dims counted from the end). */
static int ints_arg(interp *I, value **items, int n, bool negative_ok, int64_t *shape, int *ndim)
{
    if (n == 1 && (items[0]->type == V_TUPLE || items[0]->type == V_LIST)) {
        size_t len = items[0]->u.list.n;
        items = items[0]->u.list.items;
        n = len > LENS_MAX_DIMS ? LENS_MAX_DIMS + 1 : (int)len;
    }
    if (n > LENS_MAX_DIMS) { lang_raise(I, "ValueError", "too many dimensions (at most %d)", LENS_MAX_DIMS); return -1; }
    for (int i = 0; i < n; i++) {
        if (lang_arg_int(I, items[i], negative_ok ? "dim" : "shape entry", &shape[i])) return -1;
        if (!negative_ok && shape[i] < -1) { lang_raise(I, "ValueError", "negative dimension %lld", (long long)shape[i]); return -1; }
    }
    *ndim = n;
    return 0;
}

/* The shape a *size parameter collected (x.reshape(2, 3) or x.reshape((2, 3))). */
static int get_shape(interp *I, args *a, int64_t *shape, int *ndim)
{
    int n;
    value **items = lang_arg_rest(a, &n);
    return ints_arg(I, items, n, false, shape, ndim);
}


/* self, or a copy of it in the dtype= argument's dtype when one is given (torch
 * casts the input before the operation); a copy is returned in *cast to release. */
static value *input_in_dtype(interp *I, value *self, args *a, value **cast)
{
    *cast = NULL;
    int dt;
    if (lang_dtype_arg(I, lang_arg(a, "dtype"), &dt)) return NULL;
    if (dt < 0 || (int)T(self)->dtype == dt) return self;
    lens_tensor *c = lens_tensor_to_dtype(T(self), (lens_dtype)dt);
    if (!c || !(*cast = v_tensor(c))) return alloc_fail(I);
    return *cast;
}

/* t (a new reference, released here) on the device dev names, when it is given. */
static value *on_device_arg(interp *I, value *t, value *dev)
{
    if (!t || !dev || dev->type == V_NONE) return t;
    value *r = dev->type == V_STR ? lang_tensor_to_device(I, t, dev->u.str.s)
                                  : lang_raise(I, "TypeError", "device must be a string such as 'cpu', 'cuda' or 'sim', not %s",
                                               lang_type_name(dev));
    lang_decref(t);
    return r;
}

/* The reductions' specs: torch's names, and numpy's axis= for np.sum(x, axis=0). */
static const lang_param sum_params[] = {
    {"dim", LANG_OPTIONAL, "None"}, {"keepdim", LANG_OPTIONAL, "False"}, {"dtype", LANG_KEYWORD, "None"},
    {"axis", LANG_KEYWORD, "None"}, {NULL}};
static const lang_param max_params[] = {
    {"dim", LANG_OPTIONAL, "None"}, {"keepdim", LANG_OPTIONAL, "False"}, {"axis", LANG_KEYWORD, "None"}, {NULL}};
/* torch's std/var: a second positional would be unbiased, so keepdim is keyword-only */
static const lang_param std_params[] = {
    {"dim", LANG_OPTIONAL, "None"}, {"keepdim", LANG_KEYWORD, "False"}, {"axis", LANG_KEYWORD, "None"}, {NULL}};

/* The reduction op over the dim(s) (or axis) a names, or over everything. */
static value *reduction_of(interp *I, value *self, args *a, lens_reduce_op op)
{
    bool keep = false;
    value *kv = lang_arg(a, "keepdim");
    if (kv && lang_arg_bool(I, kv, &keep)) return NULL;
    value *dv = lang_arg(a, "dim");
    if (!dv || dv->type == V_NONE) dv = lang_arg(a, "axis");
    lens_error err;
    if (!dv || dv->type == V_NONE) {
        if (keep) {
            int dims[LENS_MAX_DIMS];
            for (int i = 0; i < T(self)->ndim; i++) dims[i] = i;
            return wrap(I, lens_reduce_dims(op, T(self), T(self)->ndim, dims, true, &err), &err);
        }
        return wrap(I, lens_reduce_all(op, T(self), &err), &err);
    }
    if (dv->type == V_TUPLE || dv->type == V_LIST) {
        int dims[LENS_MAX_DIMS];
        int n = (int)dv->u.list.n;
        if (n > LENS_MAX_DIMS) return lang_raise(I, "ValueError", "too many dims");
        for (int i = 0; i < n; i++) {
            int64_t d;
            if (lang_arg_int(I, dv->u.list.items[i], "dim", &d)) return NULL;
            dims[i] = (int)d;
        }
        return wrap(I, lens_reduce_dims(op, T(self), n, dims, keep, &err), &err);
    }
    int64_t d;
    if (lang_arg_int(I, dv, "dim", &d)) return NULL;
    if ((op == LENS_RED_MAX || op == LENS_RED_MIN)) {
        lens_tensor *vals, *idx;
        if (lens_max_dim(T(self), (int)d, keep, op == LENS_RED_MAX, &vals, &idx, &err)) return engine_fail(I, &err);
        value *r = v_tuple_of(2, v_tensor(vals), v_tensor(idx));
        if (r) r->tuple_class = &topk_class;
        return r;
    }
    return wrap(I, lens_reduce(op, T(self), (int)d, keep, &err), &err);
}

/* x.sum(...) and the like: of the input cast to dtype= first when the spec has it */
static value *reduction(interp *I, value *self, args *a, lens_reduce_op op)
{
    value *cast, *x = input_in_dtype(I, self, a, &cast);
    value *r = x ? reduction_of(I, x, a, op) : NULL;
    lang_decref(cast);
    return r;
}

static value *m_sum(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_SUM); }
static value *m_mean(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_MEAN); }
static value *m_max(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_MAX); }
static value *m_min(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_MIN); }
static value *m_argmax(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_ARGMAX); }
static value *m_argmin(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_ARGMIN); }
static value *m_prod(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_PROD); }
static value *m_std(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_STD); }
static value *m_var(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_VAR); }
static value *m_any(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_ANY); }
static value *m_all(interp *I, value *s, args *a) { return reduction(I, s, a, LENS_RED_ALL); }

static const lang_param shape_params[] = {{"shape", LANG_VARARGS}, {NULL}};

static value *m_reshape(interp *I, value *self, args *a)
{
    int64_t shape[LENS_MAX_DIMS];
    int nd;
    if (get_shape(I, a, shape, &nd)) return NULL;
    lens_error err;
    return wrap(I, lens_tensor_reshape(T(self), nd, shape, &err), &err);
}

static const lang_param m_flatten_params[] = {
    {"start_dim", LANG_OPTIONAL, "0"}, {"end_dim", LANG_OPTIONAL, "-1"}, {NULL}};

static value *m_flatten(interp *I, value *self, args *a)
{
    int64_t s = 0, e = -1;
    value *v;
    if ((v = lang_arg(a, "start_dim")) && lang_arg_int(I, v, "start_dim", &s)) return NULL;
    if ((v = lang_arg(a, "end_dim")) && lang_arg_int(I, v, "end_dim", &e)) return NULL;
    lens_error err;
    return wrap(I, lens_tensor_flatten(T(self), (int)s, (int)e, &err), &err);
}

static const lang_param m_transpose_params[] = {
    {"dim0", LANG_REQUIRED}, {"dim1", LANG_REQUIRED}, {NULL}};

static value *m_transpose(interp *I, value *self, args *a)
{
    value *x = lang_arg(a, "dim0"), *y = lang_arg(a, "dim1");
    int64_t d0, d1;
    if (!x || !y) return lang_raise(I, "TypeError", "transpose(dim0, dim1) needs two dims");
    if (lang_arg_int(I, x, "dim0", &d0) || lang_arg_int(I, y, "dim1", &d1)) return NULL;
    lens_error err;
    return wrap(I, lens_tensor_transpose(T(self), (int)d0, (int)d1, &err), &err);
}

static const lang_param m_permute_params[] = {{"dims", LANG_VARARGS}, {NULL}};

static value *m_permute(interp *I, value *self, args *a)
{
    int64_t dims[LENS_MAX_DIMS];
    int n;
    value **items = lang_arg_rest(a, &n);
    if (ints_arg(I, items, n, true, dims, &n)) return NULL;
    if (n != T(self)->ndim) return lang_raise(I, "RuntimeError", "permute: number of dims don't match (%d given for a %d-d tensor)", n, T(self)->ndim);
    int perm[LENS_MAX_DIMS];
    for (int i = 0; i < n; i++) perm[i] = (int)(dims[i] < 0 ? dims[i] + n : dims[i]);
    lens_error err;
    return wrap(I, lens_tensor_permute(T(self), perm, &err), &err);
}

static const lang_param dim_none_params[] = {{"dim", LANG_OPTIONAL, "None"}, {NULL}};

static value *m_squeeze(interp *I, value *self, args *a)
{
    int dim = -99;
    bool given;
    if (get_dim(I, a, "dim", &dim, &given)) return NULL;
    lens_error err;
    return wrap(I, lens_tensor_squeeze(T(self), given ? dim : -99, &err), &err);
}

static const lang_param dim_params[] = {{"dim", LANG_REQUIRED}, {NULL}};

static value *m_unsqueeze(interp *I, value *self, args *a)
{
    int dim = 0;
    bool given;
    if (get_dim(I, a, "dim", &dim, &given)) return NULL;
    if (!given) return lang_raise(I, "TypeError", "unsqueeze() missing required argument 'dim'");
    lens_error err;
    return wrap(I, lens_tensor_unsqueeze(T(self), dim, &err), &err);
}

static const lang_param m_diagonal_params[] = {
    {"offset", LANG_OPTIONAL, "0"}, {"dim1", LANG_OPTIONAL, "0"}, {"dim2", LANG_OPTIONAL, "1"}, {NULL}};

static value *m_diagonal(interp *I, value *self, args *a)
{
    int64_t off = 0, d1 = 0, d2 = 1;
    value *v;
    if ((v = lang_arg(a, "offset")) && lang_arg_int(I, v, "offset", &off)) return NULL;
    if ((v = lang_arg(a, "dim1")) && lang_arg_int(I, v, "dim1", &d1)) return NULL;
    if ((v = lang_arg(a, "dim2")) && lang_arg_int(I, v, "dim2", &d2)) return NULL;
    lens_error err;
    return wrap(I, lens_tensor_diagonal(T(self), off, (int)d1, (int)d2, &err), &err);
}

/* lens_topk always sorts; sorted=False (any order) is satisfied by that */
static const lang_param m_topk_params[] = {
    {"k", LANG_REQUIRED}, {"dim", LANG_OPTIONAL, "-1"}, {"largest", LANG_OPTIONAL, "True"},
    {"sorted", LANG_OPTIONAL, "True"}, {NULL}};

static value *do_topk(interp *I, value *t, args *a)
{
    value *kv = lang_arg(a, "k"), *dv = lang_arg(a, "dim"), *lv = lang_arg(a, "largest"), *sv = lang_arg(a, "sorted");
    int64_t k, d = -1;
    bool largest = true, sorted = true;
    if (lang_arg_int(I, kv, "k", &k)) return NULL;
    if (dv && dv->type != V_NONE && lang_arg_int(I, dv, "dim", &d)) return NULL;
    if (lv && lang_arg_bool(I, lv, &largest)) return NULL;
    if (sv && lang_arg_bool(I, sv, &sorted)) return NULL;
    lens_tensor *vals, *idx;
    lens_error err;
    if (lens_topk(T(t), k, (int)d, largest, &vals, &idx, &err)) return engine_fail(I, &err);
    value *r = v_tuple_of(2, v_tensor(vals), v_tensor(idx));
    if (r) r->tuple_class = &topk_class;
    return r;
}

static value *m_topk(interp *I, value *self, args *a) { return do_topk(I, self, a); }

static const lang_param m_sort_params[] = {
    {"dim", LANG_OPTIONAL, "-1"}, {"descending", LANG_OPTIONAL, "False"}, {NULL}};

static value *m_sort(interp *I, value *self, args *a)
{
    int64_t d = -1;
    bool desc = false;
    value *v;
    if ((v = lang_arg(a, "dim")) && lang_arg_int(I, v, "dim", &d)) return NULL;
    if ((v = lang_arg(a, "descending")) && lang_arg_bool(I, v, &desc)) return NULL;
    lens_tensor *vals, *idx;
    lens_error err;
    if (lens_sort(T(self), (int)d, desc, &vals, &idx, &err)) return engine_fail(I, &err);
    value *r = v_tuple_of(2, v_tensor(vals), v_tensor(idx));
    if (r) r->tuple_class = &topk_class;
    return r;
}

static const lang_param m_argsort_params[] = {
    {"dim", LANG_OPTIONAL, "-1"}, {"descending", LANG_OPTIONAL, "False"}, {NULL}};

static value *m_argsort(interp *I, value *self, args *a)
{
    int64_t d = -1;
    bool desc = false;
    value *v;
    if ((v = lang_arg(a, "dim")) && lang_arg_int(I, v, "dim", &d)) return NULL;
    if ((v = lang_arg(a, "descending")) && lang_arg_bool(I, v, &desc)) return NULL;
    lens_error err;
    return wrap(I, lens_argsort(T(self), (int)d, desc, &err), &err);
}

static const lang_param m_softmax_params[] = {{"dim", LANG_REQUIRED}, {"dtype", LANG_OPTIONAL, "None"}, {NULL}};

static value *softmax_impl(interp *I, value *t, args *a, bool log)
{
    int64_t d;
    if (lang_arg_int(I, lang_arg(a, "dim"), "dim", &d)) return NULL;
    value *cast, *x = input_in_dtype(I, t, a, &cast);
    if (!x) return NULL;
    lens_error err;
    value *r = wrap(I, log ? lens_log_softmax(T(x), (int)d, &err) : lens_softmax(T(x), (int)d, &err), &err);
    lang_decref(cast);
    return r;
}
static value *m_softmax(interp *I, value *self, args *a) { return softmax_impl(I, self, a, false); }
static value *m_log_softmax(interp *I, value *self, args *a) { return softmax_impl(I, self, a, true); }

/* the methods without parameters: x.abs(), x.item(), ... */
static const lang_param no_params[] = {{NULL}};

static value *unary_m(interp *I, value *self, lens_unop op)
{
    lens_error err;
    return wrap(I, lens_unary(op, T(self), &err), &err);
}
static value *m_abs(interp *I, value *s, args *a) { (void)a; return unary_m(I, s, LENS_OP_ABS); }
static value *m_exp(interp *I, value *s, args *a) { (void)a; return unary_m(I, s, LENS_OP_EXP); }
static value *m_log(interp *I, value *s, args *a) { (void)a; return unary_m(I, s, LENS_OP_LOG); }
static value *m_sqrt(interp *I, value *s, args *a) { (void)a; return unary_m(I, s, LENS_OP_SQRT); }
static value *m_tanh(interp *I, value *s, args *a) { (void)a; return unary_m(I, s, LENS_OP_TANH); }
static value *m_relu(interp *I, value *s, args *a) { (void)a; return unary_m(I, s, LENS_OP_RELU); }
static value *m_sigmoid(interp *I, value *s, args *a) { (void)a; return unary_m(I, s, LENS_OP_SIGMOID); }
static value *m_neg(interp *I, value *s, args *a) { (void)a; return unary_m(I, s, LENS_OP_NEG); }

static value *tolist_rec(interp *I, const lens_tensor *t, int d, int64_t *idx)
{
    if (d == t->ndim) {
        if (t->dtype == LENS_I64) return v_int(lens_tensor_get_i64(t, idx));
        if (t->dtype == LENS_BOOL) return v_bool(lens_tensor_get_i64(t, idx) != 0);
        return v_float((double)(float)lens_tensor_get_f64(t, idx));
    }
    value *l = v_list((size_t)t->shape[d]);
    if (!l) return NULL;
    for (int64_t i = 0; i < t->shape[d]; i++) {
        idx[d] = i;
        value *x = tolist_rec(I, t, d + 1, idx);
        if (!x) { lang_decref(l); return NULL; }
        l->u.list.items[l->u.list.n++] = x;
    }
    return l;
}

static value *m_tolist(interp *I, value *self, args *a)
{
    (void)a;
    int64_t idx[LENS_MAX_DIMS] = {0};
    if (lens_tensor_numel(T(self)) > (1 << 24)) return lang_raise(I, "MemoryError", "tensor too large for tolist()");
    return tolist_rec(I, T(self), 0, idx);
}

static value *m_item(interp *I, value *self, args *a) { (void)a; return lang_tensor_item(I, T(self)); }
/* A copy as dt (torch's .float(), .long(), .bool(), .to(dtype)). */
static value *to_dtype(interp *I, value *self, lens_dtype dt)
{
    lens_error err;
    lens_tensor *t = lens_tensor_to_dtype(T(self), dt);
    if (!t) lens_fail_alloc(&err);
    return wrap(I, t, &err);
}
static value *m_float(interp *I, value *self, args *a) { (void)a; return to_dtype(I, self, LENS_F32); }
static value *m_long(interp *I, value *self, args *a) { (void)a; return to_dtype(I, self, LENS_I64); }
static value *m_bool(interp *I, value *self, args *a) { (void)a; return to_dtype(I, self, LENS_BOOL); }
static value *m_clone(interp *I, value *self, args *a) { (void)a; lens_error err; return wrap(I, lens_tensor_clone(T(self)), &err); }
static value *m_contiguous(interp *I, value *self, args *a) { (void)a; lens_error err; return wrap(I, lens_tensor_contiguous(T(self)), &err); }
static value *m_noop(interp *I, value *self, args *a) { (void)I; (void)a; return lang_incref(self); }
static value *m_numel(interp *I, value *self, args *a) { (void)I; (void)a; return v_int(lens_tensor_numel(T(self))); }
static value *m_dim(interp *I, value *self, args *a) { (void)I; (void)a; return v_int(T(self)->ndim); }

static value *m_size(interp *I, value *self, args *a)
{
    int dim;
    bool given;
    if (get_dim(I, a, "dim", &dim, &given)) return NULL;
    if (!given) return shape_tuple(T(self));
    int nd = T(self)->ndim;
    if (dim < -nd || dim >= nd) return lang_raise(I, "IndexError", "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -nd, nd - 1, dim);
    return v_int(T(self)->shape[dim < 0 ? dim + nd : dim]);
}

/* .cuda(), .cuda(0), .cuda("cuda:0"): lens computes on one device, so only its name is accepted */
static const lang_param cuda_params[] = {{"device", LANG_OPTIONAL, "None"}, {NULL}};

static value *m_cuda(interp *I, value *self, args *a)
{
    value *d = lang_arg(a, "device");
    bool first = !d || d->type == V_NONE || (d->type == V_INT && d->u.i == 0) ||
                 (d->type == V_STR && (!strcmp(d->u.str.s, "cuda") || !strcmp(d->u.str.s, "cuda:0")));
    if (!first) return lang_raise(I, "ValueError", "cuda(): lens computes on one device, cuda:0 (device=0)");
    return lang_tensor_cuda(I, self, a);
}

/* torch's overloads x.to(device, dtype) and x.to(dtype): a first argument naming
 * a dtype (float, torch.float32, "int64", ...) is the dtype; a device is a
 * string ("cpu", "sim", or "cuda": as .cuda(), builtins_device.c). */
static const lang_param m_to_params[] = {{"device", LANG_OPTIONAL, "None"}, {"dtype", LANG_OPTIONAL, "None"}, {NULL}};

static value *m_to(interp *I, value *self, args *a)
{
    value *dev = lang_arg(a, "device"), *dtv = lang_arg(a, "dtype");
    if (dev && lang_dtype_of(dev) >= 0) {   /* x.to(dtype) */
        if (dtv && dtv->type != V_NONE) return lang_raise(I, "TypeError", "to() got two dtypes");
        dtv = dev;
        dev = NULL;
    }
    int dt;
    if (lang_dtype_arg(I, dtv, &dt)) return NULL;
    value *r;
    if (dt < 0 || (int)T(self)->dtype == dt) r = lang_incref(self);
    else {
        lens_tensor *c = lens_tensor_to_dtype(T(self), (lens_dtype)dt);
        if (!c || !(r = v_tensor(c))) return alloc_fail(I);
    }
    return on_device_arg(I, r, dev);
}

/* dim is required but may come as numpy's axis=: np.cumsum(x, axis=0) */
static const lang_param m_cumsum_params[] = {
    {"dim", LANG_OPTIONAL, "None"}, {"dtype", LANG_KEYWORD, "None"}, {"axis", LANG_KEYWORD, "None"}, {NULL}};

static value *m_cumsum(interp *I, value *self, args *a)
{
    int dim;
    bool given;
    if (get_dim(I, a, "dim", &dim, &given)) return NULL;
    if (!given) return lang_raise(I, "TypeError", "cumsum() missing required argument 'dim'");
    value *cast, *x = input_in_dtype(I, self, a, &cast);
    if (!x) return NULL;
    lens_error err;
    value *r = wrap(I, lens_cumsum(T(x), dim, &err), &err);
    lang_decref(cast);
    return r;
}

static const lang_param m_expand_params[] = {{"size", LANG_VARARGS}, {NULL}};

static value *m_expand(interp *I, value *self, args *a)
{
    int64_t shape[LENS_MAX_DIMS];
    int nd;
    if (get_shape(I, a, shape, &nd)) return NULL;
    lens_error err;
    return wrap(I, lens_tensor_expand(T(self), nd, shape, &err), &err);
}

static const lang_param m_tril_params[] = {{"diagonal", LANG_OPTIONAL, "0"}, {NULL}};

static value *m_tril_triu(interp *I, value *self, args *a, bool upper)
{
    int64_t k = 0;
    value *v = lang_arg(a, "diagonal");
    if (v && lang_arg_int(I, v, "diagonal", &k)) return NULL;
    lens_error err;
    return wrap(I, upper ? lens_triu(T(self), k, &err) : lens_tril(T(self), k, &err), &err);
}
static value *m_tril(interp *I, value *s, args *a) { return m_tril_triu(I, s, a, false); }
static value *m_triu(interp *I, value *s, args *a) { return m_tril_triu(I, s, a, true); }

static const lang_param dim_index_params[] = {{"dim", LANG_REQUIRED}, {"index", LANG_REQUIRED}, {NULL}};

static value *m_gather(interp *I, value *self, args *a)
{
    value *dv = lang_arg(a, "dim"), *iv = lang_arg(a, "index");
    int64_t d;
    if (lang_arg_int(I, dv, "dim", &d)) return NULL;
    lens_tensor *idx = lang_tensor_from_value(I, iv, LENS_I64);
    if (!idx) return NULL;
    lens_error err;
    value *r = wrap(I, lens_gather(T(self), (int)d, idx, &err), &err);
    lens_tensor_free(idx);
    return r;
}

static value *m_index_select(interp *I, value *self, args *a)
{
    value *dv = lang_arg(a, "dim"), *iv = lang_arg(a, "index");
    int64_t d;
    if (lang_arg_int(I, dv, "dim", &d)) return NULL;
    lens_tensor *idx = lang_tensor_from_value(I, iv, LENS_I64);
    if (!idx) return NULL;
    lens_error err;
    value *r = wrap(I, lens_index_select(T(self), (int)d, idx, &err), &err);
    lens_tensor_free(idx);
    return r;
}

/* In-place writes (x.copy_(y), x.fill_(v), x.zero_()): through views too, so
 * act[:, pos].copy_(clean[:, pos]) changes act. They return the tensor. */
static value *assign_into(interp *I, value *self, value *src_value)
{
    lens_tensor *src = lang_is_number(src_value) ? (src_value->type == V_FLOAT ? lens_scalar_f32(src_value->u.f)
                                                                          : lens_scalar_i64(src_value->type == V_INT ? src_value->u.i : src_value->u.b))
                                            : lang_tensor_from_value(I, src_value, -1);
    if (!src) return I->error ? NULL : lang_raise(I, "MemoryError", "out of memory");
    lens_error err;
    int rc = lens_tensor_assign(T(self), src, &err);
    lens_tensor_free(src);
    return rc ? engine_fail(I, &err) : lang_incref(self);
}

static const lang_param m_copy__params[] = {
    {"src", LANG_REQUIRED}, {NULL}};

static value *m_copy_(interp *I, value *self, args *a)
{
    value *src = lang_arg(a, "src");
    if (!src) return lang_raise(I, "TypeError", "copy_() missing required argument 'src'");
    return assign_into(I, self, src);
}

static const lang_param m_fill__params[] = {
    {"value", LANG_REQUIRED}, {NULL}};

static value *m_fill_(interp *I, value *self, args *a)
{
    value *v = lang_arg(a, "value");
    if (!v || !lang_is_number(v)) return lang_raise(I, "TypeError", "fill_(value) takes a number");
    return assign_into(I, self, v);
}

static value *m_zero_(interp *I, value *self, args *a)
{
    (void)a;
    value *zero = v_int(0);
    value *r = zero ? assign_into(I, self, zero) : NULL;
    lang_decref(zero);
    return r;
}

static const lang_param m_masked_fill_params[] = {{"mask", LANG_REQUIRED}, {"value", LANG_REQUIRED}, {NULL}};

static value *m_masked_fill(interp *I, value *self, args *a)
{
    value *mv = lang_arg(a, "mask"), *vv = lang_arg(a, "value");
    double d;
    if (lang_arg_double(I, vv, "value", &d)) return NULL;
    lens_tensor *m = lang_tensor_from_value(I, mv, -1);
    if (!m) return NULL;
    lens_error err;
    value *r = wrap(I, lens_masked_fill(T(self), m, d, &err), &err);
    lens_tensor_free(m);
    return r;
}

/* torch's x.norm(p="fro", dim=None, keepdim=False): lens computes the 2-norm ("fro" or 2) */
static const lang_param m_norm_params[] = {
    {"p", LANG_OPTIONAL, "'fro'"}, {"dim", LANG_OPTIONAL, "None"}, {"keepdim", LANG_OPTIONAL, "False"}, {NULL}};

static value *m_norm(interp *I, value *self, args *a)
{
    value *p = lang_arg(a, "p");
    bool two = !p || p->type == V_NONE || (p->type == V_STR && !strcmp(p->u.str.s, "fro")) ||
               ((p->type == V_INT || p->type == V_FLOAT) && lang_num_as_double(p) == 2);
    if (!two) return lang_raise(I, "NotImplementedError", "norm(): lens computes the 2-norm only (p=2 or p='fro')");
    lens_error err;
    lens_tensor *sq = lens_binary(LENS_OP_MUL, T(self), T(self), &err);
    if (!sq) return engine_fail(I, &err);
    value *sv = v_tensor(sq);
    value *s = reduction_of(I, sv, a, LENS_RED_SUM);
    lang_decref(sv);
    if (!s) return NULL;
    value *r = wrap(I, lens_unary(LENS_OP_SQRT, T(s), &err), &err);
    lang_decref(s);
    return r;
}

/* ---- builtin functions ---------------------------------------------------------------- */

/* A new tensor from a creation function, in the dtype= and on the device= asked for. */
static value *created(interp *I, lens_tensor *t, lens_error *err, args *a)
{
    int dt;
    if (!t) return engine_fail(I, err);
    if (lang_dtype_arg(I, lang_arg(a, "dtype"), &dt)) { lens_tensor_free(t); return NULL; }
    if (dt >= 0 && (int)t->dtype != dt) {
        lens_tensor *c = lens_tensor_to_dtype(t, (lens_dtype)dt);
        lens_tensor_free(t);
        if (!(t = c)) return alloc_fail(I);
    }
    value *v = v_tensor(t);
    return on_device_arg(I, v ? v : alloc_fail(I), lang_arg(a, "device"));
}

static const lang_param b_tensor_params[] = {
    {"data", LANG_REQUIRED}, {"dtype", LANG_KEYWORD, "None"}, {"device", LANG_KEYWORD, "None"},
    {"requires_grad", LANG_KEYWORD, "False"}, {NULL}};

static value *b_tensor(interp *I, value *self, args *a)
{
    (void)self;
    value *d = lang_arg(a, "data");
    int dt;
    if (lang_dtype_arg(I, lang_arg(a, "dtype"), &dt)) return NULL;
    lens_tensor *t;
    if (d->type == V_TENSOR) {
        t = dt < 0 ? lens_tensor_clone(T(d)) : lens_tensor_to_dtype(T(d), (lens_dtype)dt);
        if (!t) return lang_raise(I, "MemoryError", "out of memory");
    } else if (!(t = lang_tensor_from_value(I, d, dt))) return NULL;
    value *v = v_tensor(t);
    return on_device_arg(I, v ? v : alloc_fail(I), lang_arg(a, "device"));
}

/* torch spells it arange(start=0, end, step=1): one positional argument is the end */
static const lang_param b_arange_params[] = {
    {"start", LANG_OPTIONAL, "0"}, {"end", LANG_OPTIONAL, "None"}, {"step", LANG_OPTIONAL, "1"},
    {"dtype", LANG_KEYWORD, "None"}, {"device", LANG_KEYWORD, "None"}, {NULL}};

static value *b_arange(interp *I, value *self, args *a)
{
    (void)self;
    value *vals[3] = {lang_arg(a, "start"), lang_arg(a, "end"), lang_arg(a, "step")};
    static const char *const names[3] = {"start", "end", "step"};
    if (vals[1] && vals[1]->type == V_NONE) vals[1] = NULL;
    if (!vals[1]) {
        if (vals[2]) return lang_raise(I, "TypeError", "arange() missing required argument 'end'");
        vals[1] = vals[0];   /* arange(end) */
        vals[0] = NULL;
    }
    if (!vals[1]) return lang_raise(I, "TypeError", "arange() missing required argument 'end'");
    double v[3] = {0, 0, 1};
    bool all_int = true;
    for (int i = 0; i < 3; i++) {
        if (!vals[i]) continue;
        if (lang_arg_double(I, vals[i], names[i], &v[i])) return NULL;
        if (vals[i]->type == V_FLOAT || (vals[i]->type == V_TENSOR && T(vals[i])->dtype == LENS_F32)) all_int = false;
    }
    int dt;
    if (lang_dtype_arg(I, lang_arg(a, "dtype"), &dt)) return NULL;
    if (dt < 0) dt = all_int ? LENS_I64 : LENS_F32;
    lens_error err;
    return created(I, lens_arange(v[0], v[1], v[2], (lens_dtype)dt, &err), &err, a);
}

static const lang_param b_zeros_params[] = {
    {"size", LANG_VARARGS}, {"dtype", LANG_KEYWORD, "None"}, {"device", LANG_KEYWORD, "None"}, {NULL}};

/* inferred: the dtype when dtype= is not given */
static value *filled(interp *I, args *a, value *size, double fill, lens_dtype inferred)
{
    int64_t shape[LENS_MAX_DIMS];
    int nd, dt;
    if (size ? ints_arg(I, &size, 1, false, shape, &nd) : get_shape(I, a, shape, &nd)) return NULL;
    if (lang_dtype_arg(I, lang_arg(a, "dtype"), &dt)) return NULL;
    lens_error err;
    return created(I, lens_full(dt < 0 ? inferred : (lens_dtype)dt, nd, shape, fill, &err), &err, a);
}
static value *b_zeros(interp *I, value *self, args *a) { (void)self; return filled(I, a, NULL, 0, LENS_F32); }
static value *b_ones(interp *I, value *self, args *a) { (void)self; return filled(I, a, NULL, 1, LENS_F32); }

static const lang_param b_full_params[] = {
    {"size", LANG_REQUIRED}, {"fill_value", LANG_REQUIRED}, {"dtype", LANG_KEYWORD, "None"},
    {"device", LANG_KEYWORD, "None"}, {NULL}};

static value *b_full(interp *I, value *self, args *a)
{
    (void)self;
    double fill;
    value *fv = lang_arg(a, "fill_value");
    if (lang_arg_double(I, fv, "fill_value", &fill)) return NULL;
    /* torch infers the dtype from fill_value: full(shape, True) is bool, full(shape, 3) int64 */
    lens_dtype inferred = fv->type == V_BOOL ? LENS_BOOL : fv->type == V_INT ? LENS_I64 : LENS_F32;
    return filled(I, a, lang_arg(a, "size"), fill, inferred);
}

/* lens's own seed= instead of torch's generator: the same values on every machine */
static const lang_param b_randn_params[] = {
    {"size", LANG_VARARGS}, {"seed", LANG_KEYWORD, "0"}, {"device", LANG_KEYWORD, "None"}, {NULL}};

static value *random_t(interp *I, args *a, int kind)
{
    int64_t shape[LENS_MAX_DIMS], seed = 0;
    int nd;
    if (get_shape(I, a, shape, &nd)) return NULL;
    value *sv = lang_arg(a, "seed");
    if (sv && lang_arg_int(I, sv, "seed", &seed)) return NULL;
    lens_tensor *t = kind ? lens_rand(nd, shape, (uint64_t)seed) : lens_randn(nd, shape, (uint64_t)seed);
    value *v = t ? v_tensor(t) : NULL;
    return on_device_arg(I, v ? v : alloc_fail(I), lang_arg(a, "device"));
}
static value *b_randn(interp *I, value *self, args *a) { (void)self; return random_t(I, a, 0); }
static value *b_rand(interp *I, value *self, args *a) { (void)self; return random_t(I, a, 1); }

static const lang_param b_randint_params[] = {
    {"low", LANG_REQUIRED}, {"high", LANG_REQUIRED}, {"size", LANG_REQUIRED}, {"seed", LANG_KEYWORD, "0"},
    {"device", LANG_KEYWORD, "None"}, {NULL}};

static value *b_randint(interp *I, value *self, args *a)
{
    (void)self;
    value *sz = lang_arg(a, "size");
    int64_t l, h, seed = 0;
    if (lang_arg_int(I, lang_arg(a, "low"), "low", &l) || lang_arg_int(I, lang_arg(a, "high"), "high", &h)) return NULL;
    int64_t shape[LENS_MAX_DIMS];
    int nd;
    if (ints_arg(I, &sz, 1, false, shape, &nd)) return NULL;
    value *sv = lang_arg(a, "seed");
    if (sv && lang_arg_int(I, sv, "seed", &seed)) return NULL;
    lens_error err;
    return created(I, lens_randint(l, h, nd, shape, (uint64_t)seed, &err), &err, a);
}

static lens_tensor **tensor_list(interp *I, value *v, int *n, const char *fn)
{
    value *items = lang_to_list(I, v);
    if (!items) return NULL;
    *n = (int)items->u.list.n;
    lens_tensor **ts = calloc((size_t)*n + 1, sizeof *ts);
    if (!ts) { lang_decref(items); lang_raise(I, "MemoryError", "out of memory"); return NULL; }
    for (int i = 0; i < *n; i++) {
        ts[i] = lang_tensor_from_value(I, items->u.list.items[i], -1);
        if (!ts[i]) {
            for (int j = 0; j < i; j++) lens_tensor_free(ts[j]);
            free(ts);
            lang_decref(items);
            if (!I->error) lang_raise(I, "TypeError", "%s() needs a list of tensors", fn);
            return NULL;
        }
    }
    lang_decref(items);
    return ts;
}

static const lang_param b_cat_params[] = {{"tensors", LANG_REQUIRED}, {"dim", LANG_OPTIONAL, "0"}, {NULL}};

static value *cat_stack(interp *I, args *a, bool stack)
{
    const char *fn = stack ? "stack" : "cat";
    int64_t d = 0;
    value *dv = lang_arg(a, "dim");
    if (dv && lang_arg_int(I, dv, "dim", &d)) return NULL;
    int n;
    lens_tensor **ts = tensor_list(I, lang_arg(a, "tensors"), &n, fn);
    if (!ts) return NULL;
    lens_error err;
    lens_tensor *r = n == 0 ? NULL : stack ? lens_stack(n, (const lens_tensor *const *)ts, (int)d, &err)
                                           : lens_cat(n, (const lens_tensor *const *)ts, (int)d, &err);
    if (n == 0) snprintf(err.msg, sizeof err.msg, "%s() expects a non-empty list of tensors", fn);
    for (int i = 0; i < n; i++) lens_tensor_free(ts[i]);
    free(ts);
    return wrap(I, r, &err);
}
static value *b_cat(interp *I, value *self, args *a) { (void)self; return cat_stack(I, a, false); }
static value *b_stack(interp *I, value *self, args *a) { (void)self; return cat_stack(I, a, true); }

static const lang_param b_einsum_params[] = {{"equation", LANG_REQUIRED}, {"operands", LANG_VARARGS}, {NULL}};

static value *b_einsum(interp *I, value *self, args *a)
{
    (void)self;
    const char *spec = lang_arg_str(I, lang_arg(a, "equation"), "equation");
    if (!spec) return NULL;
    int n;
    value **items = lang_arg_rest(a, &n);
    if (n == 0) return lang_raise(I, "TypeError", "einsum() needs at least one operand after the equation");
    if (n == 1 && (items[0]->type == V_LIST || items[0]->type == V_TUPLE)) { n = (int)items[0]->u.list.n; items = items[0]->u.list.items; }
    if (n > 16) return lang_raise(I, "ValueError", "einsum() takes at most 16 tensors");
    lens_tensor *ts[16];
    for (int i = 0; i < n; i++) {
        if (items[i]->type != V_TENSOR) {
            return lang_raise(I, "TypeError", "einsum() operand %d must be a tensor, not %s", i + 1, lang_type_name(items[i]));
        }
        ts[i] = T(items[i]);
    }
    lens_error err;
    return wrap(I, lens_einsum(spec, n, (const lens_tensor *const *)ts, &err), &err);
}

/* The tensor argument `name` (the binder has checked it is there). */
static value *need_tensor(interp *I, args *a, const char *name, const char *fn)
{
    value *v = lang_arg(a, name);
    if (v->type != V_TENSOR) return lang_raise(I, "TypeError", "%s() argument '%s' must be a tensor, not %s", fn, name, lang_type_name(v));
    return v;
}

static const lang_param b_topk_params[] = {
    {"input", LANG_REQUIRED}, {"k", LANG_REQUIRED}, {"dim", LANG_OPTIONAL, "-1"}, {"largest", LANG_OPTIONAL, "True"},
    {"sorted", LANG_OPTIONAL, "True"}, {NULL}};

static value *b_topk(interp *I, value *self, args *a)
{
    (void)self;
    value *t = need_tensor(I, a, "input", "topk");
    return t ? do_topk(I, t, a) : NULL;
}

static const lang_param b_softmax_params[] = {
    {"input", LANG_REQUIRED}, {"dim", LANG_REQUIRED}, {"dtype", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_softmax(interp *I, value *self, args *a)
{
    (void)self;
    value *t = need_tensor(I, a, "input", "softmax");
    return t ? softmax_impl(I, t, a, false) : NULL;
}
static value *b_log_softmax(interp *I, value *self, args *a)
{
    (void)self;
    value *t = need_tensor(I, a, "input", "log_softmax");
    return t ? softmax_impl(I, t, a, true) : NULL;
}

static const lang_param b_matmul_params[] = {{"input", LANG_REQUIRED}, {"other", LANG_REQUIRED}, {NULL}};

static value *b_matmul(interp *I, value *self, args *a)
{
    (void)self;
    value *x = need_tensor(I, a, "input", "matmul");
    value *y = x ? need_tensor(I, a, "other", "matmul") : NULL;
    return y ? tensor_binary(I, OP_MATMUL, x, y) : NULL;
}

static const lang_param b_where_params[] = {
    {"condition", LANG_REQUIRED}, {"input", LANG_REQUIRED}, {"other", LANG_REQUIRED}, {NULL}};

static value *b_where(interp *I, value *self, args *a)
{
    (void)self;
    value *vs[3] = {lang_arg(a, "condition"), lang_arg(a, "input"), lang_arg(a, "other")};
    lens_tensor *ts[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        value *v = vs[i];
        ts[i] = lang_is_number(v) ? (v->type == V_FLOAT ? lens_scalar_f32(v->u.f) : lens_scalar_i64(v->type == V_INT ? v->u.i : v->u.b))
                             : lang_tensor_from_value(I, v, -1);
        if (!ts[i]) { for (int j = 0; j < i; j++) lens_tensor_free(ts[j]); return I->error ? NULL : lang_raise(I, "MemoryError", "out of memory"); }
    }
    lens_error err;
    value *r = wrap(I, lens_where(ts[0], ts[1], ts[2], &err), &err);
    for (int i = 0; i < 3; i++) lens_tensor_free(ts[i]);
    return r;
}

static const lang_param input_params[] = {{"input", LANG_REQUIRED}, {NULL}};

static value *unary_fn(interp *I, args *a, const char *fn, lens_unop op)
{
    value *t = need_tensor(I, a, "input", fn);
    return t ? unary_m(I, t, op) : NULL;
}
static value *b_exp(interp *I, value *s, args *a) { (void)s; return unary_fn(I, a, "exp", LENS_OP_EXP); }
static value *b_log(interp *I, value *s, args *a) { (void)s; return unary_fn(I, a, "log", LENS_OP_LOG); }
static value *b_sqrt(interp *I, value *s, args *a) { (void)s; return unary_fn(I, a, "sqrt", LENS_OP_SQRT); }
static value *b_tanh(interp *I, value *s, args *a) { (void)s; return unary_fn(I, a, "tanh", LENS_OP_TANH); }

static const lang_param b_linspace_params[] = {
    {"start", LANG_REQUIRED}, {"end", LANG_REQUIRED}, {"steps", LANG_REQUIRED}, {"dtype", LANG_KEYWORD, "None"},
    {"device", LANG_KEYWORD, "None"}, {NULL}};

static value *b_linspace(interp *I, value *self, args *a)
{
    (void)self;
    double s, e;
    int64_t n;
    if (lang_arg_double(I, lang_arg(a, "start"), "start", &s) || lang_arg_double(I, lang_arg(a, "end"), "end", &e) ||
        lang_arg_int(I, lang_arg(a, "steps"), "steps", &n)) return NULL;
    lens_error err;
    return created(I, lens_linspace(s, e, n, &err), &err, a);
}

static const lang_param b_eye_params[] = {
    {"n", LANG_REQUIRED}, {"dtype", LANG_KEYWORD, "None"}, {"device", LANG_KEYWORD, "None"}, {NULL}};

static value *b_eye(interp *I, value *self, args *a)
{
    (void)self;
    int64_t n;
    if (lang_arg_int(I, lang_arg(a, "n"), "n", &n)) return NULL;
    lens_error err;
    return created(I, lens_eye(n, &err), &err, a);
}

static const lang_param b_allclose_params[] = {
    {"input", LANG_REQUIRED}, {"other", LANG_REQUIRED}, {"rtol", LANG_OPTIONAL, "1e-05"},
    {"atol", LANG_OPTIONAL, "1e-08"}, {NULL}};

static value *b_allclose(interp *I, value *self, args *a)
{
    (void)self;
    value *x = lang_arg(a, "input"), *y = lang_arg(a, "other");
    if (!x || !y) return lang_raise(I, "TypeError", "allclose(a, b, rtol=1e-5, atol=1e-8)");
    double rtol = 1e-5, atol = 1e-8;
    value *v;
    if ((v = lang_arg(a, "rtol")) && lang_arg_double(I, v, "rtol", &rtol)) return NULL;
    if ((v = lang_arg(a, "atol")) && lang_arg_double(I, v, "atol", &atol)) return NULL;
    lens_tensor *ta = lang_tensor_from_value(I, x, LENS_F32), *tb = ta ? lang_tensor_from_value(I, y, LENS_F32) : NULL;
    if (!tb) { lens_tensor_free(ta); return NULL; }
    lens_error err;
    int64_t shape[LENS_MAX_DIMS];
    int nd = lens_broadcast_shape(ta->ndim, ta->shape, tb->ndim, tb->shape, shape, &err);
    value *r = NULL;
    if (nd < 0) r = engine_fail(I, &err);
    else {
        lens_tensor *ea = lens_tensor_expand(ta, nd, shape, &err), *eb = ea ? lens_tensor_expand(tb, nd, shape, &err) : NULL;
        if (!eb) r = engine_fail(I, &err);
        else {
            bool ok = true;
            int64_t n = lens_tensor_numel(ea);
            for (int64_t i = 0; i < n && ok; i++) {
                double p = lens_tensor_flat_f64(ea, i), q = lens_tensor_flat_f64(eb, i);
                if (!(fabs(p - q) <= atol + rtol * fabs(q))) ok = false;
            }
            r = v_bool(ok);
        }
        lens_tensor_free(ea);
        lens_tensor_free(eb);
    }
    lens_tensor_free(ta);
    lens_tensor_free(tb);
    return r;
}

const lang_builtin builtins_tensor[] = {
    {"tensor", b_tensor, "A tensor from a number or nested lists of numbers, its dtype inferred as torch does (bool when every value is a bool, int64 when they are ints and bools, else float32; dtype=torch.float32/torch.int64/torch.bool forces one).", b_tensor_params},
    {"arange", b_arange, "1-d tensor of evenly spaced values in [start, end): int64 when every argument is an int; arange(end) counts from 0.", b_arange_params},
    {"zeros", b_zeros, "A tensor of zeros (float32 unless dtype says), of shape size: zeros(2, 3) or zeros((2, 3)).", b_zeros_params},
    {"ones", b_ones, "A tensor of ones (float32 unless dtype says), of shape size: ones(2, 3) or ones((2, 3)).", b_zeros_params},
    {"full", b_full, "A tensor of shape size filled with fill_value, its dtype that of fill_value (bool, int64 or float32) unless dtype says.", b_full_params},
    {"randn", b_randn, "Standard normal float32 values, deterministic for a seed (same on every machine; not torch's stream).", b_randn_params},
    {"rand", b_rand, "Uniform [0, 1) float32 values, deterministic for a seed.", b_randn_params},
    {"randint", b_randint, "int64 values uniform in [low, high), deterministic for a seed.", b_randint_params},
    {"linspace", b_linspace, "steps evenly spaced float32 values from start to end inclusive.", b_linspace_params},
    {"eye", b_eye, "The n x n identity matrix.", b_eye_params},
    {"einsum", b_einsum,
     "Einstein summation. Classic equations (\"bd,bd->b\") or fancy_einsum's named ones (\"batch d_model, batch d_model -> batch\"); "
     "an empty output (\"... -> \") sums everything. The operands may also come as one list.", b_einsum_params},
    {"topk", b_topk, "The k largest values along dim and their indices, as a tuple with .values and .indices (always sorted).", b_topk_params},
    {"softmax", b_softmax, "Softmax along dim (of the input cast to dtype when given).", b_softmax_params},
    {"log_softmax", b_log_softmax, "Log of the softmax along dim (of the input cast to dtype when given).", b_softmax_params},
    {"cat", b_cat, "Concatenates tensors along an existing dim.", b_cat_params},
    {"stack", b_stack, "Stacks same-shape tensors along a new dim.", b_cat_params},
    {"matmul", b_matmul, "Matrix product with batch broadcasting (the @ operator).", b_matmul_params},
    {"where", b_where, "Elementwise input where condition is nonzero, else other (broadcast).", b_where_params},
    {"exp", b_exp, "Elementwise exponential.", input_params},
    {"log", b_log, "Elementwise natural logarithm.", input_params},
    {"sqrt", b_sqrt, "Elementwise square root.", input_params},
    {"tanh", b_tanh, "Elementwise tanh.", input_params},
    {"allclose", b_allclose, "Whether |input - other| <= atol + rtol * |other| everywhere (broadcast).", b_allclose_params},
    {"Tensor.sum", m_sum, "Sum over dim (an int or a tuple of ints), or over everything; of the input cast to dtype when given.", sum_params},
    {"Tensor.mean", m_mean, "Mean over dim (an int or a tuple of ints), or over everything; of the input cast to dtype when given.", sum_params},
    {"Tensor.max", m_max, "Largest element; with dim, a tuple (.values, .indices) along dim.", max_params},
    {"Tensor.min", m_min, "Smallest element; with dim, a tuple (.values, .indices) along dim.", max_params},
    {"Tensor.argmax", m_argmax, "Index of the largest element (along dim, or in the flattened tensor).", max_params},
    {"Tensor.argmin", m_argmin, "Index of the smallest element (along dim, or in the flattened tensor).", max_params},
    {"Tensor.prod", m_prod, "Product over dim, or over everything; of the input cast to dtype when given.", sum_params},
    {"Tensor.std", m_std, "Standard deviation (unbiased) over dim, or over everything.", std_params},
    {"Tensor.var", m_var, "Variance (unbiased) over dim, or over everything.", std_params},
    {"Tensor.any", m_any, "Whether any element is nonzero (along dim, or in the whole tensor).", max_params},
    {"Tensor.all", m_all, "Whether every element is nonzero (along dim, or in the whole tensor).", max_params},
    {"Tensor.norm", m_norm, "Euclidean norm over dim, or over everything (p is 2 or 'fro').", m_norm_params},
    {"Tensor.reshape", m_reshape, "The same elements in a new shape (one entry may be -1); a view when possible. "
     "x.reshape(2, 3) or x.reshape((2, 3)).", shape_params},
    {"Tensor.view", m_reshape, "Like reshape.", shape_params},
    {"Tensor.flatten", m_flatten, "Merges dims start_dim..end_dim into one.", m_flatten_params},
    {"Tensor.transpose", m_transpose, "Swaps two dims (a view).", m_transpose_params},
    {"Tensor.permute", m_permute, "Reorders the dims (a view): x.permute(2, 0, 1) or x.permute((2, 0, 1)).", m_permute_params},
    {"Tensor.squeeze", m_squeeze, "Removes size-1 dims (or only dim).", dim_none_params},
    {"Tensor.unsqueeze", m_unsqueeze, "Inserts a size-1 dim at dim.", dim_params},
    {"Tensor.diagonal", m_diagonal, "The diagonal of dims dim1 and dim2 at offset (>0 above), as the last dim (a view).", m_diagonal_params},
    {"Tensor.topk", m_topk, "The k largest values along dim and their indices, as a tuple with .values and .indices (always sorted).", m_topk_params},
    {"Tensor.sort", m_sort, "Sorted values and their indices (.values, .indices).", m_sort_params},
    {"Tensor.argsort", m_argsort, "Indices that sort the tensor along dim.", m_argsort_params},
    {"Tensor.softmax", m_softmax, "Softmax along dim (of the tensor cast to dtype when given).", m_softmax_params},
    {"Tensor.log_softmax", m_log_softmax, "Log of the softmax along dim (of the tensor cast to dtype when given).", m_softmax_params},
    {"Tensor.abs", m_abs, "Elementwise absolute value.", no_params},
    {"Tensor.exp", m_exp, "Elementwise exponential.", no_params},
    {"Tensor.log", m_log, "Elementwise natural logarithm.", no_params},
    {"Tensor.sqrt", m_sqrt, "Elementwise square root.", no_params},
    {"Tensor.tanh", m_tanh, "Elementwise tanh.", no_params},
    {"Tensor.relu", m_relu, "Elementwise max(x, 0).", no_params},
    {"Tensor.sigmoid", m_sigmoid, "Elementwise logistic function.", no_params},
    {"Tensor.neg", m_neg, "Elementwise negation.", no_params},
    {"Tensor.tolist", m_tolist, "Nested lists of Python numbers.", no_params},
    {"Tensor.item", m_item, "The value of a one-element tensor as a Python number.", no_params},
    {"Tensor.float", m_float, "A float32 copy.", no_params},
    {"Tensor.long", m_long, "An int64 copy (floats truncated toward zero).", no_params},
    {"Tensor.bool", m_bool, "A bool copy: True where the element is nonzero.", no_params},
    {"Tensor.int", m_long, "An int64 copy (lens has one integer dtype).", no_params},
    {"Tensor.clone", m_clone, "A contiguous copy.", no_params},
    {"Tensor.contiguous", m_contiguous, "The tensor with contiguous memory (a copy when needed).", no_params},
    {"Tensor.cpu", lang_tensor_cpu, "The values on the host (a download from a device; the tensor itself on the host).", no_params},
    {"Tensor.cuda", m_cuda, "The tensor on the device lens computes on (a CUDA GPU when "
     "present, or LENS_DEVICE's); on a machine without one, the tensor itself, so code written for a GPU runs unchanged. "
     "device may name it (0 or \"cuda:0\"): lens computes on one device.", cuda_params},
    {"Tensor.detach", m_noop, "The tensor itself (lens has no autograd).", no_params},
    {"Tensor.numpy", lang_tensor_cpu, "The values on the host (the tensor itself when it is there).", no_params},
    {"Tensor.to", m_to, "To a device (\"cpu\", \"sim\", or \"cuda\": as .cuda()) and/or a dtype "
     "(float, long, torch.float32, \"int64\"); x.to(dtype) also works, as in torch.", m_to_params},
    {"Tensor.numel", m_numel, "Number of elements.", no_params},
    {"Tensor.dim", m_dim, "Number of dims (ndim).", no_params},
    {"Tensor.size", m_size, "The shape, or the size of one dim.", dim_none_params},
    {"Tensor.cumsum", m_cumsum, "Cumulative sum along dim (required; numpy's axis= names it too), of the tensor cast to dtype when given.", m_cumsum_params},
    {"Tensor.expand", m_expand, "A broadcast view (-1 keeps a size): x.expand(4, -1) or x.expand((4, -1)).", m_expand_params},
    {"Tensor.tril", m_tril, "Copy with elements above the diagonal zeroed.", m_tril_params},
    {"Tensor.triu", m_triu, "Copy with elements below the diagonal zeroed.", m_tril_params},
    {"Tensor.gather", m_gather, "Values at index along dim (torch.gather).", dim_index_params},
    {"Tensor.index_select", m_index_select, "Rows of dim picked by an int tensor or list.", dim_index_params},
    {"Tensor.copy_", m_copy_, "Writes src (broadcast) into this tensor in place, views included "
     "(act[:, pos, :].copy_(clean[:, pos, :]) changes act), and returns it.", m_copy__params},
    {"Tensor.fill_", m_fill_, "Sets every element to value in place and returns the tensor.", m_fill__params},
    {"Tensor.zero_", m_zero_, "Sets every element to 0 in place and returns the tensor.", no_params},
    {"Tensor.masked_fill", m_masked_fill, "Copy with value wherever the bool mask is True.", m_masked_fill_params},
    {NULL, NULL, NULL, NULL},
};

/* ---- the tensor kind, registered with the core (builtins.c) --------------------- */

static char *tensor_repr_hook(value *v) { return lens_tensor_repr(v->u.tensor.t); }

static int64_t tensor_len(value *v) { return v->u.tensor.t->ndim ? v->u.tensor.t->shape[0] : -1; }

static int tensor_truth(interp *I, value *v)
{
    if (lens_tensor_numel(T(v)) != 1) {
        lang_raise(I, "RuntimeError", "Boolean value of Tensor with more than one value is ambiguous");
        return -1;
    }
    value *x = lang_tensor_item(I, T(v));
    if (!x) return -1;
    int r = lang_truthy(I, x);
    lang_decref(x);
    return r;
}

/* `x in t`: any element equal to x */
static int tensor_contains(interp *I, value *c, value *item)
{
    value *eq = tensor_compare(I, CMP_EQ, c, item);
    if (!eq) return -1;
    if (eq->type != V_TENSOR) { int r = lang_truthy(I, eq); lang_decref(eq); return r; }
    lens_error herr;
    lens_tensor *ct = lens_tensor_host_contiguous(T(eq), &herr);
    int found = 0;
    if (ct) {
        int64_t n = lens_tensor_numel(ct);
        for (int64_t i = 0; i < n && !found; i++) found = lens_tensor_bool(ct)[i];   /* a comparison: bool */
        lens_tensor_free(ct);
    } else found = -1, lang_raise(I, "MemoryError", "out of memory");
    lang_decref(eq);
    return found;
}

/* like torch: a 0-d tensor formats as its number (f"L{layer}" with layer =
 * heads[0] // 12), and so does any one-element tensor given a spec */
static char *tensor_format(interp *I, value *v, const char *spec)
{
    if (!(T(v)->ndim == 0 || (*spec && lens_tensor_numel(T(v)) == 1))) return NULL;
    value *x = lang_tensor_item(I, T(v));
    if (!x) return NULL;
    char *r = lang_format_value(I, x, spec);
    lang_decref(x);
    return r;
}

static const char *const tensor_attrs[] = {"shape", "ndim", "dtype", "T", "device", NULL};

const lang_type lang_tensor_kind_type = {
    .name = "Tensor", .getattr = lang_tensor_getattr, .getitem = tensor_getitem, .setitem = tensor_setitem,
    .len = tensor_len, .repr = tensor_repr_hook, .to_bundle = tensor_bundle, .attrs = tensor_attrs,
    .binary = tensor_binary, .compare = tensor_compare, .unary = tensor_unary, .truth = tensor_truth,
    .contains = tensor_contains, .format = tensor_format,
};
