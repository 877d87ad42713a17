/* tensor_ops_shape.c — shape and indexing ops beyond lens/tensor.h's views: flatten,
 * cat, stack, expand, diagonal, tril/triu, index_select, gather, masked_select and
 * assignment into a view (see lens/tensor_ops.h). */
#include "lens/tensor_ops.h"

#include <stdlib.h>

#include "lens/checked.h"
#include "tensor_device.h"
#include "tape_record.h"
#include "tensor_iter.h"

lens_tensor *lens_tensor_flatten(const lens_tensor *t, int start, int end, lens_error *err)
{
    if (t->ndim == 0) {
        int64_t one = 1;
        return lens_tensor_reshape(t, 1, &one, err);
    }
    int s = lens_norm_dim(start, t->ndim), e = lens_norm_dim(end, t->ndim);
    if (s < 0 || e < 0 || s > e) {
        lens_fail(err, "flatten: start_dim %d and end_dim %d are not a valid range for a %d-d tensor",
                  start, end, t->ndim);
        return NULL;
    }
    int64_t shape[LENS_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < s; d++) shape[nd++] = t->shape[d];
    int64_t m = 1;
    for (int d = s; d <= e; d++) m *= t->shape[d];
    shape[nd++] = m;
    for (int d = e + 1; d < t->ndim; d++) shape[nd++] = t->shape[d];
    return lens_tensor_reshape(t, nd, shape, err);
}

/* An operation over a list of tensors, some on a device: run on host copies, the
 * result moved to their device. */
static lens_tensor *list_on_host(lens_tensor *(*op)(int, const lens_tensor *const *, int, lens_error *), int n,
                                 const lens_tensor *const *ts, int dim, bool *ran, lens_error *err)
{
    *ran = false;
    lens_tensor **h = malloc((size_t)n * sizeof *h);
    if (!h) { lens_fail_alloc(err); *ran = true; return NULL; }
    int on_device = lens_inputs_on_host(n, ts, h, err);
    lens_tensor *r = NULL;
    if (on_device) {
        *ran = true;
        if (on_device > 0) r = op(n, (const lens_tensor *const *)h, dim, err);
        if (on_device > 0) lens_tensors_free(n, h);
        if (on_device > 0) r = lens_result_to_device(r, lens_inputs_backend(n, ts), err);
    }
    free(h);
    return r;
}

lens_tensor *lens_cat(int n, const lens_tensor *const *ts, int dim, lens_error *err)
{
    if (n <= 0) { lens_fail(err, "cat: expected a non-empty list of tensors"); return NULL; }
    bool ran;
    lens_tensor *r = list_on_host(lens_cat, n, ts, dim, &ran, err);
    if (ran) return r;
    const lens_tensor *first = ts[0];
    if (first->ndim == 0) { lens_fail(err, "cat: zero-dimensional tensors cannot be concatenated (use stack)"); return NULL; }
    int d = lens_norm_dim(dim, first->ndim);
    if (d < 0) { lens_fail(err, "cat: dimension %d out of range for %d-d tensors", dim, first->ndim); return NULL; }
    int64_t shape[LENS_MAX_DIMS];
    for (int i = 0; i < first->ndim; i++) shape[i] = first->shape[i];
    shape[d] = 0;
    lens_dtype dt = LENS_BOOL;
    for (int k = 0; k < n; k++) {
        const lens_tensor *t = ts[k];
        bool ok = t->ndim == first->ndim;
        for (int i = 0; ok && i < t->ndim; i++)
            if (i != d && t->shape[i] != first->shape[i]) ok = false;
        if (!ok) {
            char a[128], b[128];
            lens_fail(err, "cat: tensor %d has shape %s, which does not match %s outside dimension %d",
                      k, lens_shape_str(t->ndim, t->shape, a, sizeof a),
                      lens_shape_str(first->ndim, first->shape, b, sizeof b), dim);
            return NULL;
        }
        if (!lens_add_i64(shape[d], t->shape[d], &shape[d]) || shape[d] > LENS_MAX_NUMEL) {
            lens_fail_kind(err, LENS_ERR_TOO_LARGE, "cat: tensor too large: more than 2^60 elements along dimension %d", dim);
            return NULL;
        }
        if (t->dtype == LENS_F32 || (t->dtype == LENS_I64 && dt == LENS_BOOL)) dt = t->dtype;   /* torch's promotion */
    }
    lens_tensor *out = lens_tensor_new(dt, first->ndim, shape);
    if (!out) { lens_fail_alloc(err); return NULL; }
    int64_t at = 0;
    for (int k = 0; k < n; k++) {
        lens_tensor *part = lens_tensor_narrow(out, d, at, ts[k]->shape[d]);
        lens_tensor_copy_into(part, ts[k], NULL);
        lens_tensor_free(part);
        at += ts[k]->shape[d];
    }
    lens_tape_cat(n, ts, d, out);
    return out;
}

lens_tensor *lens_stack(int n, const lens_tensor *const *ts, int dim, lens_error *err)
{
    if (n <= 0) { lens_fail(err, "stack: expected a non-empty list of tensors"); return NULL; }
    bool ran;
    lens_tensor *r = list_on_host(lens_stack, n, ts, dim, &ran, err);
    if (ran) return r;
    for (int k = 1; k < n; k++)
        if (!lens_tensor_same_shape(ts[k], ts[0])) {
            char a[128], b[128];
            lens_fail(err, "stack: tensor %d has shape %s but tensor 0 has shape %s", k,
                      lens_shape_str(ts[k]->ndim, ts[k]->shape, a, sizeof a),
                      lens_shape_str(ts[0]->ndim, ts[0]->shape, b, sizeof b));
            return NULL;
        }
    if (ts[0]->ndim >= LENS_MAX_DIMS) { lens_fail(err, "stack: at most %d dimensions", LENS_MAX_DIMS); return NULL; }
    if (lens_norm_dim(dim, ts[0]->ndim + 1) < 0) {
        lens_fail(err, "stack: dimension %d out of range for %d-d results", dim, ts[0]->ndim + 1);
        return NULL;
    }
    lens_tensor **u = calloc((size_t)n, sizeof *u);
    if (!u) { lens_fail_alloc(err); return NULL; }
    lens_tensor *out = NULL;
    int k = 0;
    for (; k < n; k++)
        if (!(u[k] = lens_tensor_unsqueeze(ts[k], dim, err))) break;
    if (k == n) out = lens_cat(n, (const lens_tensor *const *)u, dim, err);
    for (int i = 0; i < k; i++) lens_tensor_free(u[i]);
    free(u);
    return out;
}

lens_tensor *lens_tensor_expand(const lens_tensor *t, int ndim, const int64_t *shape_in,
                                lens_error *err)
{
    char a[128], b[128];
    if (ndim < t->ndim || ndim > LENS_MAX_DIMS) {
        lens_fail(err, "expand: cannot expand a tensor of shape %s to %d dimensions",
                  lens_shape_str(t->ndim, t->shape, a, sizeof a), ndim);
        return NULL;
    }
    int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
    int lead = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) {
        int td = d - lead;
        int64_t want = shape_in[d];
        if (td < 0) {
            if (want < 0) goto bad;
            shape[d] = want;
            strides[d] = 0;
        } else if (want == -1 || want == t->shape[td]) {
            shape[d] = t->shape[td];
            strides[d] = t->strides[td];
        } else if (t->shape[td] == 1 && want >= 0) {
            shape[d] = want;
            strides[d] = 0;
        } else goto bad;
    }
    lens_tensor *v = lens_tensor_view(t, ndim, shape, strides, t->offset);
    if (!v) lens_fail_alloc(err);   /* more than LENS_MAX_NUMEL elements */
    return v;
bad:
    lens_fail(err, "expand: a tensor of shape %s cannot be expanded to %s (only size-1 dims stretch)",
              lens_shape_str(t->ndim, t->shape, a, sizeof a), lens_shape_str(ndim, shape_in, b, sizeof b));
    return NULL;
}

lens_tensor *lens_tensor_diagonal(const lens_tensor *t, int64_t offset, int d1, int d2,
                                  lens_error *err)
{
    int a = lens_norm_dim(d1, t->ndim), b = lens_norm_dim(d2, t->ndim);
    if (a < 0 || b < 0 || a == b) {
        lens_fail(err, "diagonal: dims %d and %d must be two different dims of a %d-d tensor", d1, d2, t->ndim);
        return NULL;
    }
    int64_t off = t->offset, len;
    if (offset >= 0) {
        len = t->shape[a] < t->shape[b] - offset ? t->shape[a] : t->shape[b] - offset;
        if (len > 0) off += offset * t->strides[b];
    } else {
        len = t->shape[a] + offset < t->shape[b] ? t->shape[a] + offset : t->shape[b];
        if (len > 0) off += -offset * t->strides[a];
    }
    if (len < 0) len = 0;
    int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (d == a || d == b) continue;
        shape[nd] = t->shape[d];
        strides[nd++] = t->strides[d];
    }
    shape[nd] = len;
    strides[nd++] = t->strides[a] + t->strides[b];
    lens_tensor *v = lens_tensor_view(t, nd, shape, strides, off);
    if (!v) lens_fail_alloc(err);
    return v;
}

static lens_tensor *tri(const lens_tensor *t, int64_t k, bool lower, lens_error *err)
{
    LENS_RUN_ON_HOST_TO_DEVICE(tri(h[0], k, lower, err), t);
    if (t->ndim < 2) {
        lens_fail(err, "%s: needs a tensor with at least 2 dims, got %d", lower ? "tril" : "triu", t->ndim);
        return NULL;
    }
    lens_tensor *out = lens_tensor_clone(t);
    if (!out) { lens_fail_alloc(err); return NULL; }
    int64_t R = t->shape[t->ndim - 2], C = t->shape[t->ndim - 1];
    int64_t mats = (R > 0 && C > 0) ? lens_tensor_numel(out) / (R * C) : 0;
    size_t es = lens_dtype_size(t->dtype);
    char *base = lens_tensor_data(out);
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < R; i++)
            for (int64_t j = 0; j < C; j++) {
                bool keep = lower ? (j - i <= k) : (j - i >= k);
                if (!keep) memset(base + ((m * R + i) * C + j) * (int64_t)es, 0, es);
            }
    lens_tape_tri(t, k, lower, out);
    return out;
}

lens_tensor *lens_tril(const lens_tensor *t, int64_t k, lens_error *err) { return tri(t, k, true, err); }
lens_tensor *lens_triu(const lens_tensor *t, int64_t k, lens_error *err) { return tri(t, k, false, err); }

/* Index tensors on the host may index data on a device (the engine's own slice
 * lists, a list written in a cell): true when *idx was such a tensor, now replaced
 * by its copy on t's device (the caller frees it; NULL with err when the copy
 * failed); false when nothing needed moving. */
static bool index_joins_device(const lens_tensor *t, const lens_tensor **idx, lens_error *err)
{
    if (lens_tensor_on_host(t) || !lens_tensor_on_host(*idx)) return false;
    *idx = lens_tensor_to_device(*idx, lens_tensor_backend(t), err);
    return true;
}

lens_tensor *lens_index_select(const lens_tensor *t, int dim, const lens_tensor *idx,
                               lens_error *err)
{
    if (index_joins_device(t, &idx, err)) {   /* host indices into device data, as torch indexes */
        lens_tensor *r = idx ? lens_index_select(t, dim, idx, err) : NULL;
        lens_tensor_free((lens_tensor *)idx);
        return r;
    }
    LENS_RUN_ON_HOST_TO_DEVICE(lens_index_select(h[0], dim, h[1], err), t, idx);
    if (idx->dtype != LENS_I64) { lens_fail(err, "indices must be an int64 tensor, not %s", lens_dtype_name(idx->dtype)); return NULL; }
    int d = lens_norm_dim(dim, t->ndim);
    if (d < 0) { lens_fail(err, "index: dimension %d out of range for a %d-d tensor", dim, t->ndim); return NULL; }
    int nd = t->ndim - 1 + idx->ndim;
    if (nd > LENS_MAX_DIMS) { lens_fail(err, "index: the result would have more than %d dims", LENS_MAX_DIMS); return NULL; }
    int64_t n = t->shape[d], m = lens_tensor_numel(idx);
    /* Check every index first, so the error names the bad one. */
    lens_iter it;
    lens_iter_init(&it, idx->ndim, idx->shape);
    int ki = lens_iter_add(&it, idx->strides);
    int64_t *flat = malloc((size_t)(m ? m : 1) * sizeof *flat);
    if (!flat) { lens_fail_alloc(err); return NULL; }
    for (int64_t j = 0; j < m; j++, lens_iter_next(&it)) {
        int64_t v = lens_tensor_i64(idx)[it.off[ki]];
        if (v < -n || v >= n) {
            char b[128];
            lens_fail(err, "index %lld is out of bounds for dimension %d with size %lld (tensor of shape %s)",
                      (long long)v, dim, (long long)n, lens_shape_str(t->ndim, t->shape, b, sizeof b));
            free(flat);
            return NULL;
        }
        flat[j] = v < 0 ? v + n : v;
    }
    int64_t shape[LENS_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < d; i++) shape[k++] = t->shape[i];
    for (int i = 0; i < idx->ndim; i++) shape[k++] = idx->shape[i];
    for (int i = d + 1; i < t->ndim; i++) shape[k++] = t->shape[i];
    lens_tensor *out = lens_tensor_new(t->dtype, nd, shape);
    if (!out) { free(flat); lens_fail_alloc(err); return NULL; }
    /* View the result as t.shape[:d] + [m] + t.shape[d+1:] and copy one slab per index. */
    int64_t vshape[LENS_MAX_DIMS];
    k = 0;
    for (int i = 0; i < d; i++) vshape[k++] = t->shape[i];
    vshape[k++] = m;
    for (int i = d + 1; i < t->ndim; i++) vshape[k++] = t->shape[i];
    lens_tensor *ov = lens_tensor_reshape(out, t->ndim, vshape, err);
    for (int64_t j = 0; ov && j < m; j++) {
        lens_tensor *dst = lens_tensor_select(ov, d, j), *src = lens_tensor_select(t, d, flat[j]);
        if (dst && src) lens_tensor_copy_into(dst, src, NULL);
        lens_tensor_free(dst);
        lens_tensor_free(src);
    }
    lens_tensor_free(ov);
    free(flat);
    lens_tape_index(t, d, idx, false, out);
    return out;
}

lens_tensor *lens_gather(const lens_tensor *t, int dim, const lens_tensor *idx, lens_error *err)
{
    if (index_joins_device(t, &idx, err)) {
        lens_tensor *r = idx ? lens_gather(t, dim, idx, err) : NULL;
        lens_tensor_free((lens_tensor *)idx);
        return r;
    }
    LENS_RUN_ON_HOST_TO_DEVICE(lens_gather(h[0], dim, h[1], err), t, idx);
    if (idx->dtype != LENS_I64) { lens_fail(err, "gather: indices must be an int64 tensor"); return NULL; }
    int d = lens_norm_dim(dim, t->ndim ? t->ndim : 1);
    if (d < 0) { lens_fail(err, "gather: dimension %d out of range for a %d-d tensor", dim, t->ndim); return NULL; }
    char a[128], b[128];
    if (idx->ndim != t->ndim) goto bad_shape;
    for (int i = 0; i < t->ndim; i++)
        if (i != d && idx->shape[i] > t->shape[i]) goto bad_shape;
    lens_tensor *out = lens_tensor_new(t->dtype, idx->ndim, idx->shape);
    if (!out) { lens_fail_alloc(err); return NULL; }
    int64_t n = lens_tensor_numel(idx), size = t->ndim ? t->shape[d] : 1;
    int64_t tstr[LENS_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) tstr[i] = i == d ? 0 : t->strides[i];
    lens_iter it;
    lens_iter_init(&it, idx->ndim, idx->shape);
    int ki = lens_iter_add(&it, idx->strides), kt = lens_iter_add(&it, tstr);
    int64_t dstride = t->ndim ? t->strides[d] : 0;
    for (int64_t j = 0; j < n; j++, lens_iter_next(&it)) {
        int64_t v = lens_tensor_i64(idx)[it.off[ki]];
        if (v < -size || v >= size) {
            lens_tensor_free(out);
            lens_fail(err, "gather: index %lld is out of bounds for dimension %d with size %lld",
                      (long long)v, dim, (long long)size);
            return NULL;
        }
        if (v < 0) v += size;
        int64_t off = it.off[kt] + v * dstride;
        lens_convert_elem(out->dtype, lens_tensor_data(out), j, t->dtype, lens_tensor_data(t), off);
    }
    lens_tape_index(t, d, idx, true, out);
    return out;
bad_shape:
    lens_fail(err, "gather: index of shape %s does not fit a tensor of shape %s along dim %d "
              "(same number of dims, no larger elsewhere)",
              lens_shape_str(idx->ndim, idx->shape, a, sizeof a),
              lens_shape_str(t->ndim, t->shape, b, sizeof b), dim);
    return NULL;
}

lens_tensor *lens_masked_select(const lens_tensor *t, const lens_tensor *mask, lens_error *err)
{
    if (mask->dtype != LENS_BOOL) {
        lens_fail(err, "masked_select: expected BoolTensor for mask");
        return NULL;
    }
    LENS_RUN_ON_HOST_TO_DEVICE(lens_masked_select(h[0], h[1], err), t, mask);
    if (!lens_tensor_same_shape(t, mask)) {
        char a[128], b[128];
        lens_fail(err, "boolean mask of shape %s does not match the tensor's shape %s",
                  lens_shape_str(mask->ndim, mask->shape, a, sizeof a),
                  lens_shape_str(t->ndim, t->shape, b, sizeof b));
        return NULL;
    }
    int64_t n = lens_tensor_numel(t), count = 0;
    lens_iter it;
    lens_iter_init(&it, t->ndim, t->shape);
    int km = lens_iter_add(&it, mask->strides);
    const uint8_t *m = lens_tensor_bool(mask);
    for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) count += m[it.off[km]];
    lens_tensor *out = lens_tensor_new(t->dtype, 1, &count);
    if (!out) { lens_fail_alloc(err); return NULL; }
    lens_iter_init(&it, t->ndim, t->shape);
    km = lens_iter_add(&it, mask->strides);
    int kt = lens_iter_add(&it, t->strides);
    int64_t o = 0;
    for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) {
        if (!m[it.off[km]]) continue;
        lens_convert_elem(out->dtype, lens_tensor_data(out), o++, t->dtype, lens_tensor_data(t), it.off[kt]);
    }
    lens_tape_masked_select(t, mask, out);
    return out;
}

int lens_tensor_assign(lens_tensor *dst, const lens_tensor *value, lens_error *err)
{
    lens_tape_write(dst);
    /* Copy the value first when it shares storage with dst (x[1:] = x[:-1]). */
    lens_tensor *src = value->storage == dst->storage ? lens_tensor_clone(value) : lens_tensor_ref(value);
    if (!src) return lens_fail_alloc(err);
    lens_tensor *e = lens_tensor_expand(src, dst->ndim, dst->shape, NULL);
    lens_tensor_free(src);
    if (!e) {
        char a[128], b[128];
        return lens_fail(err, "cannot assign a value of shape %s to a slice of shape %s",
                         lens_shape_str(value->ndim, value->shape, a, sizeof a),
                         lens_shape_str(dst->ndim, dst->shape, b, sizeof b));
    }
    int rc = lens_tensor_copy_into(dst, e, err);
    lens_tensor_free(e);
    return rc;
}
