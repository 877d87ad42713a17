/* tensor.c — allocation (on the host or in a backend's memory), views and copies
 * of lens_tensor (see lens/tensor.h). Moving tensors between devices lives in
 * tensor_device.c; arithmetic in tensor_ops_*.c; model math behind the backend. */
#include "lens/tensor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backend.h"
#include "lens/checked.h"
#include "lens/memory.h"
#include "tensor_device.h"
#include "tape_record.h"
#include "tensor_iter.h"

size_t lens_dtype_size(lens_dtype dt) { return dt == LENS_I64 ? 8 : dt == LENS_BOOL ? 1 : 4; }
const char *lens_dtype_name(lens_dtype dt) { return dt == LENS_I64 ? "int64" : dt == LENS_BOOL ? "bool" : "float32"; }

static void set_contiguous_strides(lens_tensor *t)
{
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        t->strides[d] = s;
        s *= t->shape[d];
    }
}

static lens_tensor *tensor_over(lens_storage *st, lens_dtype dt, int ndim, const int64_t *shape)
{
    lens_tensor *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->storage = st;
    t->dtype = dt;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    set_contiguous_strides(t);
    return t;
}

/* Large tensors (activation caches, logits) come straight from mmap with
 * transparent huge pages requested: they are zero already, and first touch
 * faults 2 MiB at a time instead of 4 KiB, which is most of the cost of
 * filling a fresh multi-gigabyte cache. */
#define LARGE_TENSOR_BYTES ((size_t)4 << 20)

static void unmap_release(void *data, size_t nbytes, void *ctx)
{
    (void)ctx;
    munmap(data, nbytes);
}

static void *alloc_zeroed(size_t nbytes, bool *mapped)
{
    *mapped = false;
    if (nbytes >= LARGE_TENSOR_BYTES) {
        void *p = mmap(NULL, nbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
            madvise(p, nbytes, MADV_HUGEPAGE);
#endif
            *mapped = true;
            return p;
        }
    }
    return calloc(nbytes ? nbytes : 1, 1);
}

/* Validates a shape for a new tensor object: the reason goes to lens_fail_alloc. */
static bool shape_ok(lens_dtype dt, int ndim, const int64_t *shape, size_t *nbytes)
{
    lens_error why;
    if (lens_shape_bytes(dt, ndim, shape, nbytes, &why)) {
        lens_note_alloc_failure(&why);
        return false;
    }
    return true;
}

static void storage_free(lens_storage *st)
{
    if (st->release) st->release(st->data, st->nbytes, st->release_ctx);
    else free(st->data);
    lens_mem_release(st->reserved);
    free(st);
}

static void device_release(void *data, size_t nbytes, void *ctx)
{
    const lens_backend *be = ctx;
    be->free(data, nbytes);
}

lens_tensor *lens_tensor_new_on(const lens_backend *be, lens_dtype dt, int ndim, const int64_t *shape)
{
    bool host = !be || be->host_addressable;
    size_t nbytes;
    if (!shape_ok(dt, ndim, shape, &nbytes)) return NULL;
    lens_error why;
    char what[220], b[160];
    if (lens_mem_reserve(nbytes, NULL, NULL)) {   /* the message only when refused */
        snprintf(what, sizeof what, "a %s tensor of shape %s%s%s", lens_dtype_name(dt),
                 lens_shape_str(ndim, shape, b, sizeof b), host ? "" : " on ", host ? "" : be->name);
        if (lens_mem_reserve(nbytes, what, &why)) {
            lens_note_alloc_failure(&why);
            return NULL;
        }
    }
    lens_storage *st = calloc(1, sizeof *st);
    bool mapped = false;
    why.kind = LENS_ERR_OTHER;
    if (st) {
        st->nbytes = nbytes;
        st->reserved = nbytes;
        st->refcount = 1;
        if (host) {
            st->data = alloc_zeroed(nbytes, &mapped);
            st->device = LENS_CPU;
            if (mapped) st->release = unmap_release;
        } else {
            st->data = be->alloc(nbytes, &why);
            st->device = be->device;
            st->release = device_release;
            st->release_ctx = (void *)be;
        }
    }
    if (!st || !st->data) {
        free(st);
        lens_mem_release(nbytes);
        if (why.kind == LENS_ERR_OTHER)
            lens_fail_kind(&why, LENS_ERR_MEMORY, "out of memory allocating a %s tensor of shape %s%s%s",
                           lens_dtype_name(dt), lens_shape_str(ndim, shape, b, sizeof b), host ? "" : " on ",
                           host ? "" : be->name);
        lens_note_alloc_failure(&why);
        return NULL;
    }
    lens_tensor *t = tensor_over(st, dt, ndim, shape);
    if (!t) storage_free(st);
    return t;
}

lens_tensor *lens_tensor_new(lens_dtype dt, int ndim, const int64_t *shape)
{
    return lens_tensor_new_on(NULL, dt, ndim, shape);
}

lens_tensor *lens_tensor_new_v(lens_dtype dt, int ndim, ...)
{
    int64_t shape[LENS_MAX_DIMS];
    if (ndim < 0 || ndim > LENS_MAX_DIMS) return NULL;
    va_list ap;
    va_start(ap, ndim);
    for (int d = 0; d < ndim; d++) shape[d] = va_arg(ap, int64_t);
    va_end(ap);
    return lens_tensor_new(dt, ndim, shape);
}

lens_tensor *lens_tensor_from_f32(int ndim, const int64_t *shape, const float *data)
{
    lens_tensor *t = lens_tensor_new(LENS_F32, ndim, shape);
    if (t) memcpy(t->storage->data, data, t->storage->nbytes);
    return t;
}

lens_tensor *lens_tensor_from_i64(int ndim, const int64_t *shape, const int64_t *data)
{
    lens_tensor *t = lens_tensor_new(LENS_I64, ndim, shape);
    if (t) memcpy(t->storage->data, data, t->storage->nbytes);
    return t;
}

static void noop_release(void *data, size_t nbytes, void *ctx) { (void)data; (void)nbytes; (void)ctx; }

lens_tensor *lens_tensor_wrap(lens_dtype dt, int ndim, const int64_t *shape, void *data,
                              void (*release)(void *, size_t, void *), void *ctx)
{
    size_t nbytes;
    if (!shape_ok(dt, ndim, shape, &nbytes)) return NULL;
    lens_storage *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->data = data;
    st->nbytes = nbytes;
    st->refcount = 1;
    st->release = release ? release : noop_release;
    st->release_ctx = ctx;
    st->device = LENS_CPU;
    lens_tensor *t = tensor_over(st, dt, ndim, shape);
    if (!t) free(st);
    return t;
}

void lens_tensor_free(lens_tensor *t)
{
    if (!t) return;
    lens_storage *st = t->storage;
    if (st && --st->refcount == 0) storage_free(st);
    free(t);
}

lens_tensor *lens_tensor_view(const lens_tensor *t, int ndim, const int64_t *shape,
                              const int64_t *strides, int64_t offset)
{
    size_t nbytes;
    if (!shape_ok(t->dtype, ndim, shape, &nbytes)) return NULL;
    lens_tensor *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->storage = t->storage;
    t->storage->refcount++;
    v->dtype = t->dtype;
    v->ndim = ndim;
    v->offset = offset;
    for (int d = 0; d < ndim; d++) {
        v->shape[d] = shape[d];
        v->strides[d] = strides[d];
    }
    return v;
}

lens_tensor *lens_tensor_ref(const lens_tensor *t)
{
    return lens_tensor_view(t, t->ndim, t->shape, t->strides, t->offset);
}

int64_t lens_tensor_numel(const lens_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

bool lens_tensor_is_contiguous(const lens_tensor *t)
{
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->strides[d] != s) return false;
        s *= t->shape[d];
    }
    return true;
}

bool lens_tensor_same_shape(const lens_tensor *a, const lens_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

void *lens_tensor_data(const lens_tensor *t)
{
    if (t->storage->device != LENS_CPU) return NULL;   /* device memory: lens_tensor_host first */
    if (t->storage->ensure) t->storage->ensure(t);
    return (char *)t->storage->data + t->offset * (int64_t)lens_dtype_size(t->dtype);
}

void *lens_tensor_device_ptr(const lens_tensor *t)
{
    if (t->storage->ensure) t->storage->ensure(t);
    return (char *)t->storage->data + t->offset * (int64_t)lens_dtype_size(t->dtype);
}

lens_device lens_tensor_device(const lens_tensor *t) { return t->storage->device; }
bool lens_tensor_on_host(const lens_tensor *t) { return t->storage->device == LENS_CPU; }
float *lens_tensor_f32(const lens_tensor *t) { return (float *)lens_tensor_data(t); }
int64_t *lens_tensor_i64(const lens_tensor *t) { return (int64_t *)lens_tensor_data(t); }
uint8_t *lens_tensor_bool(const lens_tensor *t) { return (uint8_t *)lens_tensor_data(t); }

int64_t lens_tensor_offset(const lens_tensor *t, const int64_t *idx)
{
    int64_t o = 0;
    for (int d = 0; d < t->ndim; d++) o += idx[d] * t->strides[d];
    return o;
}

/* Same dtype, the last dim contiguous in both: one memmove per row (the walk over
 * the other dims, lens_iter, with the last dropped). */
static void copy_rows(lens_tensor *dst, const lens_tensor *src)
{
    int nd = dst->ndim;
    size_t es = lens_dtype_size(dst->dtype), row = (size_t)dst->shape[nd - 1] * es;
    int64_t rows = lens_tensor_numel(dst) / dst->shape[nd - 1];
    lens_iter it;
    lens_iter_init(&it, nd - 1, dst->shape);
    int d = lens_iter_add(&it, dst->strides), s = lens_iter_add(&it, src->strides);
    char *pd = lens_tensor_data(dst);
    const char *ps = lens_tensor_data(src);
    for (int64_t i = 0; i < rows; i++, lens_iter_next(&it))
        memmove(pd + it.off[d] * (int64_t)es, ps + it.off[s] * (int64_t)es, row);
}

static void copy_strided(lens_tensor *dst, const lens_tensor *src)
{
    int64_t n = lens_tensor_numel(dst);
    if (n == 0) return;
    int nd = dst->ndim;
    if (nd > 0 && dst->dtype == src->dtype && dst->strides[nd - 1] == 1 && src->strides[nd - 1] == 1 &&
        dst->shape[nd - 1] > 1) {
        copy_rows(dst, src);
        return;
    }
    lens_iter it;
    lens_iter_init(&it, nd, dst->shape);
    int d = lens_iter_add(&it, dst->strides), s = lens_iter_add(&it, src->strides);
    char *pd = lens_tensor_data(dst);
    const char *ps = lens_tensor_data(src);
    for (int64_t i = 0; i < n; i++, lens_iter_next(&it))
        lens_convert_elem(dst->dtype, pd, it.off[d], src->dtype, ps, it.off[s]);
}

int lens_tensor_copy_into(lens_tensor *dst, const lens_tensor *src, lens_error *err)
{
    if (!lens_tensor_same_shape(dst, src)) {
        char a[128], b[128];
        return lens_fail_kind(err, LENS_ERR_INVALID, "cannot copy a tensor of shape %s into one of shape %s",
                              lens_shape_str(src->ndim, src->shape, a, sizeof a),
                              lens_shape_str(dst->ndim, dst->shape, b, sizeof b));
    }
    if (!lens_tensor_on_host(dst) || !lens_tensor_on_host(src)) return lens_device_copy_into(dst, src, err);
    if (dst->dtype == src->dtype && lens_tensor_is_contiguous(dst) && lens_tensor_is_contiguous(src)) {
        memmove(lens_tensor_data(dst), lens_tensor_data(src),
                (size_t)lens_tensor_numel(dst) * lens_dtype_size(dst->dtype));
        return 0;
    }
    copy_strided(dst, src);
    return 0;
}

/* A new tensor of t's shape, on t's device, holding t's values as dt (NULL, the
 * reason for lens_fail_alloc, when it cannot be had or the copy fails). */
static lens_tensor *copy_as(const lens_tensor *t, lens_dtype dt)
{
    lens_tensor *c = lens_tensor_new_on(lens_backend_of_device(t->storage->device), dt, t->ndim, t->shape);
    lens_error why;
    if (c && lens_tensor_copy_into(c, t, &why)) {
        lens_note_alloc_failure(&why);
        lens_tensor_free(c);
        return NULL;
    }
    if (c) lens_tape_copy(t, c);
    return c;
}

lens_tensor *lens_tensor_clone(const lens_tensor *t) { return copy_as(t, t->dtype); }

lens_tensor *lens_tensor_contiguous(const lens_tensor *t)
{
    return lens_tensor_is_contiguous(t) ? lens_tensor_ref(t) : lens_tensor_clone(t);
}

lens_tensor *lens_tensor_to_f32(const lens_tensor *t) { return copy_as(t, LENS_F32); }

lens_tensor *lens_tensor_to_dtype(const lens_tensor *t, lens_dtype dt) { return copy_as(t, dt); }

static int norm_dim(const lens_tensor *t, int dim, int extra)
{
    int n = t->ndim + extra;
    if (dim < 0) dim += n;
    return (dim < 0 || dim >= n) ? -1 : dim;
}

lens_tensor *lens_tensor_select(const lens_tensor *t, int dim, int64_t index)
{
    int d = norm_dim(t, dim, 0);
    if (d < 0) return NULL;
    if (index < 0) index += t->shape[d];
    if (index < 0 || index >= t->shape[d]) return NULL;
    int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (i == d) continue;
        shape[k] = t->shape[i];
        strides[k++] = t->strides[i];
    }
    return lens_tensor_view(t, t->ndim - 1, shape, strides, t->offset + index * t->strides[d]);
}

lens_tensor *lens_tensor_narrow(const lens_tensor *t, int dim, int64_t start, int64_t len)
{
    int d = norm_dim(t, dim, 0);
    if (d < 0 || start < 0 || len < 0 || start > t->shape[d] - len) return NULL;
    int64_t shape[LENS_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[d] = len;
    return lens_tensor_view(t, t->ndim, shape, t->strides, t->offset + start * t->strides[d]);
}

lens_tensor *lens_tensor_slice(const lens_tensor *t, int dim, int64_t start, int64_t stop,
                               int64_t step, lens_error *err)
{
    int d = norm_dim(t, dim, 0);
    if (d < 0) { lens_fail(err, "dimension %d out of range for a %d-d tensor", dim, t->ndim); return NULL; }
    if (step == 0) { lens_fail(err, "slice step cannot be zero"); return NULL; }
    int64_t n = t->shape[d];
    /* Python's slice.indices(): start/stop already resolved by the caller may use
     * INT64_MIN/INT64_MAX as "absent". */
    int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? n : n - 1;
    if (start == INT64_MIN) start = step > 0 ? 0 : n - 1;
    else { if (start < 0) start += n; if (start < lo) start = lo; if (start > hi) start = hi; }
    if (stop == INT64_MAX) stop = step > 0 ? n : -1;
    else if (stop == INT64_MIN) stop = step > 0 ? 0 : -1;
    else { if (stop < 0) stop += n; if (stop < lo) stop = lo; if (stop > hi) stop = hi; }
    /* (distance - 1) / |step| + 1: no sum with step, which may be near INT64_MIN/MAX. */
    int64_t len = 0;
    if (step > 0 && stop > start) len = (stop - start - 1) / step + 1;
    if (step < 0 && start > stop) len = (uint64_t)(start - stop - 1) / (0 - (uint64_t)step) + 1;
    int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    memcpy(strides, t->strides, sizeof strides);
    shape[d] = len;
    if (len > 1) strides[d] = t->strides[d] * step;   /* (len - 1) * |step| < n: fits */
    int64_t off = t->offset + (len > 0 ? start * t->strides[d] : 0);
    return lens_tensor_view(t, t->ndim, shape, strides, off);
}

lens_tensor *lens_tensor_permute(const lens_tensor *t, const int *perm, lens_error *err)
{
    int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
    bool seen[LENS_MAX_DIMS] = {0};
    for (int i = 0; i < t->ndim; i++) {
        int p = norm_dim(t, perm[i], 0);
        if (p < 0 || seen[p]) { lens_fail(err, "permute: invalid permutation for a %d-d tensor", t->ndim); return NULL; }
        seen[p] = true;
        shape[i] = t->shape[p];
        strides[i] = t->strides[p];
    }
    return lens_tensor_view(t, t->ndim, shape, strides, t->offset);
}

lens_tensor *lens_tensor_transpose(const lens_tensor *t, int d0, int d1, lens_error *err)
{
    int a = norm_dim(t, d0, 0), b = norm_dim(t, d1, 0);
    if (a < 0 || b < 0) { lens_fail(err, "transpose: dimension out of range for a %d-d tensor", t->ndim); return NULL; }
    int perm[LENS_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) perm[i] = i;
    perm[a] = b;
    perm[b] = a;
    return lens_tensor_permute(t, perm, err);
}

lens_tensor *lens_tensor_reshape(const lens_tensor *t, int ndim, const int64_t *shape_in,
                                 lens_error *err)
{
    if (ndim < 0 || ndim > LENS_MAX_DIMS) { lens_fail(err, "reshape: at most %d dimensions", LENS_MAX_DIMS); return NULL; }
    int64_t shape[LENS_MAX_DIMS];
    int64_t known = 1, numel = lens_tensor_numel(t);
    int infer = -1;
    for (int d = 0; d < ndim; d++) {
        shape[d] = shape_in[d];
        if (shape[d] == -1) {
            if (infer >= 0) { lens_fail(err, "reshape: only one dimension can be -1"); return NULL; }
            infer = d;
        } else if (shape[d] < 0) {
            lens_fail(err, "reshape: invalid size %lld", (long long)shape[d]);
            return NULL;
        } else if (!lens_mul_i64(known, shape[d], &known) || known > LENS_MAX_NUMEL) {
            /* A shape this large cannot hold numel elements (numel <= LENS_MAX_NUMEL)
             * unless another dim is 0, and such a shape is refused too. */
            char b[128];
            lens_fail_kind(err, LENS_ERR_TOO_LARGE, "reshape: tensor too large: shape %s has more than 2^60 elements",
                           lens_shape_str(ndim, shape_in, b, sizeof b));
            return NULL;
        }
    }
    if (infer >= 0) {
        if (known == 0 || numel % known) goto bad;
        shape[infer] = numel / known;
    } else if (known != numel) goto bad;
    int64_t checked;
    if (lens_shape_numel(ndim, shape, &checked, err)) return NULL;
    lens_tensor *c = lens_tensor_contiguous(t);
    if (!c) { lens_fail_alloc(err); return NULL; }
    int64_t strides[LENS_MAX_DIMS];
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]; }
    lens_tensor *v = lens_tensor_view(c, ndim, shape, strides, c->offset);
    lens_tensor_free(c);
    if (!v) lens_fail_alloc(err);
    return v;
bad:;
    char a[128], b[128];
    lens_fail(err, "cannot reshape a tensor of shape %s (%lld elements) into %s",
              lens_shape_str(t->ndim, t->shape, a, sizeof a), (long long)numel,
              lens_shape_str(ndim, shape_in, b, sizeof b));
    return NULL;
}

lens_tensor *lens_tensor_unsqueeze(const lens_tensor *t, int dim, lens_error *err)
{
    int d = norm_dim(t, dim, 1);
    if (d < 0 || t->ndim >= LENS_MAX_DIMS) { lens_fail(err, "unsqueeze: dimension %d out of range", dim); return NULL; }
    int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
    int k = 0;
    for (int i = 0; i <= t->ndim; i++) {
        if (i == d) {
            shape[i] = 1;
            strides[i] = (d < t->ndim) ? t->strides[d] * t->shape[d] : 1;
        } else {
            shape[i] = t->shape[k];
            strides[i] = t->strides[k++];
        }
    }
    return lens_tensor_view(t, t->ndim + 1, shape, strides, t->offset);
}

lens_tensor *lens_tensor_squeeze(const lens_tensor *t, int dim, lens_error *err)
{
    int d = dim == -99 ? -99 : norm_dim(t, dim, 0);
    if (dim != -99 && d < 0) { lens_fail(err, "squeeze: dimension %d out of range", dim); return NULL; }
    int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] == 1 && (d == -99 || i == d)) continue;
        shape[k] = t->shape[i];
        strides[k++] = t->strides[i];
    }
    return lens_tensor_view(t, k, shape, strides, t->offset);
}

const char *lens_shape_str(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (int d = 0; d < ndim && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}
