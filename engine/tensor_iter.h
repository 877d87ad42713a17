/* tensor_iter.h — internal to the engine: walking strided views element by element,
 * loading, storing and converting elements of any dtype, broadcast strides and dim moves.
 * Not part of the public API (engine/include/lens/ holds that). */
#ifndef LENS_TENSOR_ITER_H
#define LENS_TENSOR_ITER_H

#include <stdint.h>
#include <string.h>

#include "lens/error.h"
#include "lens/tensor.h"

#define LENS_ITER_MAX 4

/* Walks every index of a shape in row-major order, keeping one element offset per
 * operand (each with its own strides). Use:
 *     lens_iter it; lens_iter_init(&it, ndim, shape);
 *     int a = lens_iter_add(&it, ta->strides), b = lens_iter_add(&it, tb->strides);
 *     for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) use it.off[a], it.off[b];
 */
typedef struct {
    int ndim, n;
    int64_t shape[LENS_MAX_DIMS], idx[LENS_MAX_DIMS];
    int64_t strides[LENS_ITER_MAX][LENS_MAX_DIMS];
    int64_t off[LENS_ITER_MAX];
} lens_iter;

static inline void lens_iter_init(lens_iter *it, int ndim, const int64_t *shape)
{
    memset(it, 0, sizeof *it);
    it->ndim = ndim;
    for (int d = 0; d < ndim; d++) it->shape[d] = shape[d];
}

static inline int lens_iter_add(lens_iter *it, const int64_t *strides)
{
    int k = it->n++;
    for (int d = 0; d < it->ndim; d++) it->strides[k][d] = strides[d];
    return k;
}

static inline void lens_iter_next(lens_iter *it)
{
    for (int d = it->ndim - 1; d >= 0; d--) {
        if (++it->idx[d] < it->shape[d]) {
            for (int k = 0; k < it->n; k++) it->off[k] += it->strides[k][d];
            return;
        }
        for (int k = 0; k < it->n; k++) it->off[k] -= it->strides[k][d] * (it->shape[d] - 1);
        it->idx[d] = 0;
    }
}

/* Element off of data holding dt, as a double / an int64 (floats truncate toward
 * zero, as torch converts). */
static inline double lens_load_as(lens_dtype dt, const void *data, int64_t off)
{
    if (dt == LENS_F32) return (double)((const float *)data)[off];
    if (dt == LENS_BOOL) return (double)((const uint8_t *)data)[off];
    return (double)((const int64_t *)data)[off];
}

static inline double lens_load(const lens_tensor *t, int64_t off)
{
    return lens_load_as(t->dtype, lens_tensor_data(t), off);
}

static inline int64_t lens_load_i64(const lens_tensor *t, int64_t off)
{
    const void *p = lens_tensor_data(t);
    if (t->dtype == LENS_I64) return ((const int64_t *)p)[off];
    if (t->dtype == LENS_BOOL) return ((const uint8_t *)p)[off];
    return (int64_t)((const float *)p)[off];
}

/* Element doff of dst (holding ddt) set from element soff of src (holding sdt),
 * converted as torch converts: to bool means nonzero (NaN is true), float to int64
 * truncates toward zero. */
static inline void lens_convert_elem(lens_dtype ddt, void *dst, int64_t doff, lens_dtype sdt,
                                     const void *src, int64_t soff)
{
    if (ddt == sdt) {
        size_t es = lens_dtype_size(ddt);
        memcpy((char *)dst + doff * (int64_t)es, (const char *)src + soff * (int64_t)es, es);
    } else if (ddt == LENS_BOOL) {
        ((uint8_t *)dst)[doff] = sdt == LENS_I64 ? ((const int64_t *)src)[soff] != 0
                                                 : ((const float *)src)[soff] != 0.0f;
    } else if (ddt == LENS_F32) {
        ((float *)dst)[doff] = (float)lens_load_as(sdt, src, soff);
    } else {
        ((int64_t *)dst)[doff] = sdt == LENS_BOOL ? ((const uint8_t *)src)[soff]
                                                  : (int64_t)((const float *)src)[soff];
    }
}

/* Stores v into element off of t: float32 rounds, int64 truncates, bool is v != 0. */
static inline void lens_store(lens_tensor *t, int64_t off, double v)
{
    void *p = lens_tensor_data(t);
    if (t->dtype == LENS_F32) ((float *)p)[off] = (float)v;
    else if (t->dtype == LENS_BOOL) ((uint8_t *)p)[off] = v != 0;
    else ((int64_t *)p)[off] = (int64_t)v;
}

/* Strides that read t as if broadcast to (ndim, shape): dims aligned at the right,
 * 0 for dims t lacks or has as size 1. The caller has checked compatibility. */
static inline void lens_broadcast_strides(const lens_tensor *t, int ndim, const int64_t *shape,
                                          int64_t *strides)
{
    int lead = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) {
        int td = d - lead;
        if (td < 0 || (t->shape[td] == 1 && shape[d] != 1)) strides[d] = 0;
        else strides[d] = t->strides[td];
    }
}

/* Resolves a possibly negative dim against ndim dims; -1 when out of range. */
static inline int lens_norm_dim(int dim, int ndim)
{
    if (dim < 0) dim += ndim;
    return (dim < 0 || dim >= ndim) ? -1 : dim;
}

/* View of t with dim d moved to the end (other dims keep their order). */
static inline lens_tensor *lens_move_dim_last(const lens_tensor *t, int d)
{
    int perm[LENS_MAX_DIMS], k = 0;
    for (int i = 0; i < t->ndim; i++)
        if (i != d) perm[k++] = i;
    perm[k] = d;
    return lens_tensor_permute(t, perm, NULL);
}

/* Contiguous copy of t with dim d moved last (rows), and the inverse: a contiguous
 * copy of rows with its last dim moved back to position d. NULL when out of memory. */
static inline lens_tensor *lens_rows_of(const lens_tensor *t, int d)
{
    lens_tensor *v = lens_move_dim_last(t, d);
    if (!v) return NULL;
    lens_tensor *c = lens_tensor_clone(v);
    lens_tensor_free(v);
    return c;
}

static inline lens_tensor *lens_rows_back(const lens_tensor *rows, int d)
{
    int perm[LENS_MAX_DIMS], n = rows->ndim;
    for (int i = 0; i < n; i++) perm[i] = i < d ? i : i == d ? n - 1 : i - 1;
    lens_tensor *v = lens_tensor_permute(rows, perm, NULL);
    if (!v) return NULL;
    lens_tensor *c = lens_tensor_clone(v);
    lens_tensor_free(v);
    return c;
}

#endif
