/* device_tensor.c — device buffers, explicit transfers and backend-side copies
 * between views (device_tensor.h). */
#include "device_tensor.h"

#include <stdlib.h>
#include <string.h>

#include "lens/checked.h"

static void device_release(void *data, size_t nbytes, void *ctx)
{
    const lens_backend *be = ctx;
    be->free(data, nbytes);
}

lens_tensor *lens_dev_wrap(const lens_backend *be, lens_dtype dt, int ndim, const int64_t *shape, void *data)
{
    lens_tensor *t = lens_tensor_wrap(dt, ndim, shape, data, NULL, NULL);
    if (t) t->storage->device = be->device;
    return t;
}

lens_tensor *lens_dev_new(const lens_backend *be, lens_dtype dt, int ndim, const int64_t *shape, lens_error *err)
{
    if (be->host_addressable) {
        lens_tensor *t = lens_tensor_new(dt, ndim, shape);
        if (!t) lens_fail_alloc(err);
        return t;
    }
    size_t nbytes;
    if (lens_shape_bytes(dt, ndim, shape, &nbytes, err)) return NULL;
    void *data = be->alloc(nbytes ? nbytes : 1, err);
    if (!data) return NULL;
    lens_tensor *t = lens_tensor_wrap(dt, ndim, shape, data, device_release, (void *)be);
    if (!t) {
        be->free(data, nbytes ? nbytes : 1);
        lens_fail(err, "out of memory");
        return NULL;
    }
    t->storage->nbytes = nbytes ? nbytes : 1;
    t->storage->device = be->device;
    return t;
}

lens_tensor *lens_dev_on(const lens_backend *be, const lens_tensor *t, lens_error *err)
{
    if (t->storage->device == be->device && lens_tensor_is_contiguous(t)) return lens_tensor_ref(t);
    lens_tensor *d = lens_dev_new(be, t->dtype, t->ndim, t->shape, err);
    if (d && lens_dev_copy_view(be, d, t, err)) {
        lens_tensor_free(d);
        return NULL;
    }
    return d;
}

/* The element span [lo, hi] a view covers, relative to its first element. */
static void view_span(const lens_tensor *t, int64_t *lo, int64_t *hi)
{
    *lo = *hi = 0;
    for (int d = 0; d < t->ndim; d++) {
        int64_t ext = (t->shape[d] - 1) * t->strides[d];
        if (ext < 0) *lo += ext; else *hi += ext;
    }
}

lens_tensor *lens_dev_host(const lens_tensor *t, lens_error *err)
{
    if (t->storage->device == LENS_CPU) {
        lens_tensor *c = lens_tensor_contiguous(t);
        if (!c) lens_fail_alloc(err);
        return c;
    }
    const lens_backend *be = lens_backend_of_device(t->storage->device);
    if (!be) {
        lens_fail(err, "a tensor on device %d, which this build has no backend for", (int)t->storage->device);
        return NULL;
    }
    if (t->storage->ensure) t->storage->ensure(t);
    int64_t numel = lens_tensor_numel(t), lo, hi;
    size_t es = lens_dtype_size(t->dtype);
    if (numel == 0) return lens_tensor_new(t->dtype, t->ndim, t->shape);
    view_span(t, &lo, &hi);
    /* the span a view covers is inside its storage, so these sizes fit */
    int64_t span = hi - lo + 1;
    lens_tensor *buf = lens_tensor_new(t->dtype, 1, &span);
    if (!buf) { lens_fail_alloc(err); return NULL; }
    const char *src = (const char *)t->storage->data + (size_t)(t->offset + lo) * es;
    if (be->download(lens_tensor_data(buf), src, (size_t)span * es, err)) {
        lens_tensor_free(buf);
        return NULL;
    }
    lens_tensor *view = lens_tensor_view(buf, t->ndim, t->shape, t->strides, -lo);
    lens_tensor *out = view ? lens_tensor_contiguous(view) : NULL;
    if (!out) lens_fail_alloc(err);
    lens_tensor_free(view);
    lens_tensor_free(buf);
    return out;
}

/* Drops size-1 dims and merges dims that are contiguous in both views, so the
 * copy has as few, as long runs as possible. Returns the merged ndim. */
static int merge_dims(const lens_tensor *a, const lens_tensor *b, int64_t *shape, int64_t *sa, int64_t *sb)
{
    int n = 0;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] == 1) continue;
        if (n > 0 && sa[n - 1] == a->strides[d] * a->shape[d] && sb[n - 1] == b->strides[d] * a->shape[d]) {
            shape[n - 1] *= a->shape[d];
            sa[n - 1] = a->strides[d];
            sb[n - 1] = b->strides[d];
            continue;
        }
        shape[n] = a->shape[d];
        sa[n] = a->strides[d];
        sb[n] = b->strides[d];
        n++;
    }
    return n;
}

int lens_dev_copy_view(const lens_backend *be, const lens_tensor *dst, const lens_tensor *src, lens_error *err)
{
    if (!lens_tensor_same_shape(dst, src) || dst->dtype != src->dtype)
        return lens_fail(err, "internal: device copy between different shapes or dtypes");
    if (dst->storage->device != be->device)
        return lens_fail(err, "internal: device copy into a tensor that is not on %s", be->name);
    lens_tensor *host = NULL;
    bool upload = src->storage->device != be->device;
    if (upload) {   /* from the host (or another device, through the host) */
        if (!(host = lens_dev_host(src, err))) return -1;
        src = host;
    } else if (src->storage->ensure) src->storage->ensure(src);
    int64_t shape[LENS_MAX_DIMS], sd[LENS_MAX_DIMS], ss[LENS_MAX_DIMS];
    int n = merge_dims(dst, src, shape, sd, ss);
    size_t es = lens_dtype_size(dst->dtype);
    char *d0 = (char *)dst->storage->data + (size_t)dst->offset * es;
    const char *s0 = (const char *)src->storage->data + (size_t)src->offset * es;
    int rc = 0;
    bool inner = n >= 1 && sd[n - 1] == 1 && ss[n - 1] == 1;
    if (lens_tensor_numel(dst) == 0) goto done;
    if (!upload && be->copy_strided && !(n <= 1 && inner)) {
        be->copy_strided(d0, sd, s0, ss, n, shape, es);
        goto done;
    }
    /* a copy per contiguous innermost run */
    int outer = inner ? n - 1 : n;
    size_t run = inner ? (size_t)shape[n - 1] * es : es;
    int64_t idx[LENS_MAX_DIMS] = {0};
    for (;;) {
        int64_t od = 0, os = 0;
        for (int k = 0; k < outer; k++) { od += idx[k] * sd[k]; os += idx[k] * ss[k]; }
        rc = upload ? be->upload(d0 + od * (int64_t)es, s0 + os * (int64_t)es, run, err)
                    : be->copy(d0 + od * (int64_t)es, s0 + os * (int64_t)es, run, err);
        if (rc) break;
        int k = outer - 1;
        for (; k >= 0; k--) {
            if (++idx[k] < shape[k]) break;
            idx[k] = 0;
        }
        if (k < 0) break;
    }
done:
    lens_tensor_free(host);
    return rc;
}

