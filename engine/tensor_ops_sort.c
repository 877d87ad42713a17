/* tensor_ops_sort.c — ordering along a dim: max/min with indices, topk, sort, argsort
 * (see lens/tensor_ops.h). Each row is sorted with qsort on (value, index) so that
 * ties keep the lower index first; NaN orders above every number, like torch. */
#include "lens/tensor_ops.h"

#include <math.h>
#include <stdlib.h>

#include "tensor_device.h"
#include "tape_record.h"
#include "tensor_iter.h"

int lens_max_dim(const lens_tensor *t, int dim, bool keepdim, bool largest,
                 lens_tensor **values, lens_tensor **indices, lens_error *err)
{
    lens_tensor *v = NULL, *i = NULL;
    if (values) {
        v = lens_reduce(largest ? LENS_RED_MAX : LENS_RED_MIN, t, dim, keepdim, err);
        if (!v) return -1;
    }
    if (indices) {   /* torch.max(mask, dim) has indices although mask.argmax() refuses bool */
        lens_tensor *w = t->dtype == LENS_BOOL ? lens_tensor_to_dtype(t, LENS_I64) : lens_tensor_ref(t);
        i = w ? lens_reduce(largest ? LENS_RED_ARGMAX : LENS_RED_ARGMIN, w, dim, keepdim, err) : NULL;
        if (!w) lens_fail_alloc(err);
        lens_tensor_free(w);
        if (!i) { lens_tensor_free(v); return -1; }
    }
    if (values) *values = v;
    if (indices) *indices = i;
    return 0;
}

typedef struct { double f; int64_t l; int64_t idx; } sort_item;

static int cmp_asc_f(const void *pa, const void *pb)
{
    const sort_item *a = pa, *b = pb;
    bool na = isnan(a->f), nb = isnan(b->f);
    if (na != nb) return na ? 1 : -1;
    if (!na && a->f != b->f) return a->f < b->f ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_desc_f(const void *pa, const void *pb)
{
    const sort_item *a = pa, *b = pb;
    bool na = isnan(a->f), nb = isnan(b->f);
    if (na != nb) return na ? -1 : 1;
    if (!na && a->f != b->f) return a->f > b->f ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_asc_l(const void *pa, const void *pb)
{
    const sort_item *a = pa, *b = pb;
    if (a->l != b->l) return a->l < b->l ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_desc_l(const void *pa, const void *pb)
{
    const sort_item *a = pa, *b = pb;
    if (a->l != b->l) return a->l > b->l ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Keeps the k best items of items[0..R) (best: first in cmp's order) in items[0..k),
 * sorted, with a heap whose root is the worst kept item: O(R log k) for topk of a few
 * entries out of a vocabulary-sized row. */
static void heap_sift(sort_item *h, int64_t k, int64_t i, int (*cmp)(const void *, const void *))
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < k && cmp(&h[l], &h[w]) > 0) w = l;
        if (r < k && cmp(&h[r], &h[w]) > 0) w = r;
        if (w == i) return;
        sort_item t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void select_best(sort_item *items, int64_t R, int64_t k, int (*cmp)(const void *, const void *))
{
    if (k == 0) return;
    for (int64_t i = k / 2 - 1; i >= 0; i--) heap_sift(items, k, i, cmp);
    for (int64_t j = k; j < R; j++)
        if (cmp(&items[j], &items[0]) < 0) {
            items[0] = items[j];
            heap_sift(items, k, 0, cmp);
        }
    qsort(items, (size_t)k, sizeof *items, cmp);
}

/* Sorts each row along dim and keeps the first k of each; k == -1 means all. */
static int sorted_rows(const char *name, const lens_tensor *t, int64_t k, int dim, bool descending,
                       lens_tensor **values, lens_tensor **indices, lens_error *err)
{
    LENS_RUN_ON_HOST_TO_DEVICE_OUTS(((lens_tensor **[]){values, indices}),
                                    sorted_rows(name, h[0], k, dim, descending, values, indices, err), t);
    if (values) *values = NULL;
    if (indices) *indices = NULL;
    lens_tensor *tt = t->ndim == 0 ? lens_tensor_unsqueeze(t, 0, err) : lens_tensor_ref(t);
    if (!tt) return -1;
    if (t->ndim == 0 && dim != 0 && dim != -1) {
        lens_tensor_free(tt);
        return lens_fail(err, "%s: dimension %d out of range for a 0-d tensor", name, dim);
    }
    int d = lens_norm_dim(dim, tt->ndim);
    if (d < 0) {
        lens_tensor_free(tt);
        return lens_fail(err, "%s: dimension %d out of range for a %d-d tensor", name, dim, t->ndim);
    }
    int64_t R = tt->shape[d];
    if (k < 0) k = R;
    if (k > R) {
        char b[128];
        lens_fail(err, "%s: k=%lld is larger than dimension %d of the tensor of shape %s", name,
                  (long long)k, dim, lens_shape_str(t->ndim, t->shape, b, sizeof b));
        lens_tensor_free(tt);
        return -1;
    }
    lens_tensor *rows = lens_rows_of(tt, d);
    int64_t oshape[LENS_MAX_DIMS];
    lens_tensor *vr = NULL, *ir = NULL;
    if (rows) {
        for (int i = 0; i < rows->ndim; i++) oshape[i] = rows->shape[i];
        oshape[rows->ndim - 1] = k;
        vr = lens_tensor_new(t->dtype, rows->ndim, oshape);
        ir = lens_tensor_new(LENS_I64, rows->ndim, oshape);
    }
    /* One row of items, counted against the memory limit (R <= LENS_MAX_NUMEL, so
     * R * 16 bytes fits), and only once the rows exist. */
    size_t item_bytes = (size_t)(R ? R : 1) * sizeof(sort_item);
    sort_item *items = NULL;
    bool reserved = rows && vr && ir && !lens_mem_reserve(item_bytes, "sorting", err);
    if (reserved && !(items = malloc(item_bytes))) lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory sorting %lld items", (long long)R);
    if (!items) {
        if (!reserved && (!rows || !vr || !ir)) lens_fail_alloc(err);
        if (reserved) lens_mem_release(item_bytes);
        lens_tensor_free(rows); lens_tensor_free(vr); lens_tensor_free(ir);
        lens_tensor_free(tt);
        return -1;
    }
    int64_t outer = R ? lens_tensor_numel(rows) / R : 0;
    bool isf = t->dtype == LENS_F32;
    int (*cmp)(const void *, const void *) = isf ? (descending ? cmp_desc_f : cmp_asc_f)
                                                 : (descending ? cmp_desc_l : cmp_asc_l);
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < R; j++) {
            items[j].idx = j;
            if (isf) items[j].f = lens_tensor_f32(rows)[o * R + j];
            else items[j].l = lens_load_i64(rows, o * R + j);
        }
        if (k < R / 4) select_best(items, R, k, cmp);
        else qsort(items, (size_t)R, sizeof *items, cmp);
        for (int64_t j = 0; j < k; j++) {
            lens_tensor_i64(ir)[o * k + j] = items[j].idx;
            if (isf) lens_tensor_f32(vr)[o * k + j] = (float)items[j].f;
            else if (vr->dtype == LENS_BOOL) lens_tensor_bool(vr)[o * k + j] = (uint8_t)items[j].l;
            else lens_tensor_i64(vr)[o * k + j] = items[j].l;
        }
    }
    free(items);
    lens_mem_release(item_bytes);
    lens_tensor_free(rows);
    lens_tensor *v = NULL, *ix = NULL;
    int rc = 0;
    if (t->ndim == 0) {
        /* A 0-d input gives 0-d outputs. */
        v = lens_tensor_squeeze(vr, 0, err);
        ix = lens_tensor_squeeze(ir, 0, err);
    } else {
        v = lens_rows_back(vr, d);
        ix = lens_rows_back(ir, d);
    }
    lens_tensor_free(vr);
    lens_tensor_free(ir);
    lens_tensor_free(tt);
    if (!v || !ix) { rc = lens_fail_alloc(err); lens_tensor_free(v); lens_tensor_free(ix); return rc; }
    lens_tape_no_rule(name, t, v);
    if (values) *values = v; else lens_tensor_free(v);
    if (indices) *indices = ix; else lens_tensor_free(ix);
    return 0;
}

int lens_topk(const lens_tensor *t, int64_t k, int dim, bool largest,
              lens_tensor **values, lens_tensor **indices, lens_error *err)
{
    if (t->dtype == LENS_BOOL) return lens_fail_kind(err, LENS_ERR_DTYPE, "topk does not support bool dtypes on CPU");
    if (k < 0) return lens_fail(err, "topk: k must be >= 0, got %lld", (long long)k);
    return sorted_rows("topk", t, k, dim, largest, values, indices, err);
}

int lens_sort(const lens_tensor *t, int dim, bool descending,
              lens_tensor **values, lens_tensor **indices, lens_error *err)
{
    return sorted_rows("sort", t, -1, dim, descending, values, indices, err);
}

lens_tensor *lens_argsort(const lens_tensor *t, int dim, bool descending, lens_error *err)
{
    lens_tensor *ix = NULL;
    if (lens_sort(t, dim, descending, NULL, &ix, err) < 0) return NULL;
    return ix;
}
