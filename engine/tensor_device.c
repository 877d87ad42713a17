/* tensor_device.c — tensors on devices: the explicit download (lens_tensor_host),
 * moving a tensor to a backend, copies between devices, and the checks tensor
 * operations share for where their inputs live (tensor_device.h).
 *
 * Owns: every transfer of tensor values between host and device memory (through
 * the backend's upload, download, copy and copy_strided; never by touching a
 * device pointer). Does not own: allocation (tensor.c, lens_tensor_new_on) or
 * the backends (backend_*.c). */
#include <stdio.h>
#include <stdlib.h>

#include "lens/memory.h"
#include "tensor_device.h"

const char *lens_device_name(lens_device d)
{
    switch (d) {
    case LENS_CPU: return "cpu";
    case LENS_CUDA: return "cuda";
    case LENS_SIM: return "sim";
    }
    return "unknown";
}

const lens_backend *lens_tensor_backend(const lens_tensor *t) { return lens_backend_of_device(t->storage->device); }

static size_t view_bytes(const lens_tensor *t) { return (size_t)lens_tensor_numel(t) * lens_dtype_size(t->dtype); }

/* A contiguous tensor on t's device with t's values (another reference when t is
 * contiguous already): the strided copy runs on the device. */
static lens_tensor *device_contiguous(const lens_tensor *t, lens_error *err)
{
    if (lens_tensor_is_contiguous(t)) return lens_tensor_ref(t);
    const lens_backend *be = lens_tensor_backend(t);
    lens_tensor *c = lens_tensor_new_on(be, t->dtype, t->ndim, t->shape);
    if (!c) {
        lens_fail_alloc(err);
        return NULL;
    }
    int64_t strides[LENS_MAX_DIMS];
    for (int d = 0; d < c->ndim; d++) strides[d] = c->strides[d];
    if (lens_tensor_numel(t))
        be->copy_strided(lens_tensor_device_ptr(c), strides, lens_tensor_device_ptr(t), t->strides, t->ndim, t->shape,
                         lens_dtype_size(t->dtype));
    return c;
}

lens_tensor *lens_tensor_host(const lens_tensor *t, lens_error *err)
{
    if (lens_tensor_on_host(t)) {
        lens_tensor *r = lens_tensor_ref(t);
        if (!r) lens_fail_alloc(err);
        return r;
    }
    const lens_backend *be = lens_tensor_backend(t);
    lens_tensor *src = device_contiguous(t, err);
    if (!src) return NULL;
    lens_tensor *h = lens_tensor_new(t->dtype, t->ndim, t->shape);
    if (!h) {
        lens_fail_alloc(err);
        lens_tensor_free(src);
        return NULL;
    }
    int rc = be->download(lens_tensor_data(h), lens_tensor_device_ptr(src), view_bytes(t), err);
    lens_tensor_free(src);
    if (rc) {
        lens_fail_context(err, "copying a tensor from %s to the host", be->name);
        lens_tensor_free(h);
        return NULL;
    }
    return h;
}

lens_tensor *lens_tensor_host_contiguous(const lens_tensor *t, lens_error *err)
{
    lens_tensor *h = lens_tensor_host(t, err);
    if (!h || lens_tensor_is_contiguous(h)) return h;
    lens_tensor *c = lens_tensor_contiguous(h);
    lens_tensor_free(h);
    if (!c) lens_fail_alloc(err);
    return c;
}

int lens_device_copy_into(lens_tensor *dst, const lens_tensor *src, lens_error *err)
{
    if (!lens_tensor_numel(dst)) return 0;
    const lens_backend *bd = lens_tensor_backend(dst);
    if (dst->storage->device == src->storage->device && dst->dtype == src->dtype) {
        bd->copy_strided(lens_tensor_device_ptr(dst), dst->strides, lens_tensor_device_ptr(src), src->strides,
                         dst->ndim, dst->shape, lens_dtype_size(dst->dtype));
        return 0;
    }
    /* Through the host: src's values there, converted to dst's dtype. */
    lens_tensor *hs = lens_tensor_host(src, err);
    if (!hs) return -1;
    if (lens_tensor_on_host(dst)) {
        int rc = lens_tensor_copy_into(dst, hs, err);
        lens_tensor_free(hs);
        return rc;
    }
    lens_tensor *conv = hs;
    if (hs->dtype != dst->dtype || !lens_tensor_is_contiguous(hs)) {
        conv = lens_tensor_new(dst->dtype, dst->ndim, dst->shape);
        if (!conv || lens_tensor_copy_into(conv, hs, err)) {
            if (!conv) lens_fail_alloc(err);
            lens_tensor_free(conv);
            lens_tensor_free(hs);
            return -1;
        }
        lens_tensor_free(hs);
    }
    int rc;
    if (lens_tensor_is_contiguous(dst)) {
        rc = bd->upload(lens_tensor_device_ptr(dst), lens_tensor_data(conv), view_bytes(dst), err);
    } else {
        lens_tensor *tmp = lens_tensor_new_on(bd, dst->dtype, dst->ndim, dst->shape);
        rc = tmp ? bd->upload(lens_tensor_device_ptr(tmp), lens_tensor_data(conv), view_bytes(dst), err)
                 : lens_fail_alloc(err);
        if (!rc)
            bd->copy_strided(lens_tensor_device_ptr(dst), dst->strides, lens_tensor_device_ptr(tmp), tmp->strides,
                             dst->ndim, dst->shape, lens_dtype_size(dst->dtype));
        lens_tensor_free(tmp);
    }
    lens_tensor_free(conv);
    if (rc) lens_fail_context(err, "copying a tensor to %s", bd->name);
    return rc;
}

lens_tensor *lens_tensor_to_device(const lens_tensor *t, const lens_backend *be, lens_error *err)
{
    lens_device target = be ? be->device : LENS_CPU;
    if (target == t->storage->device) {
        lens_tensor *r = lens_tensor_ref(t);
        if (!r) lens_fail_alloc(err);
        return r;
    }
    if (target == LENS_CPU) return lens_tensor_host(t, err);
    lens_tensor *d = lens_tensor_new_on(be, t->dtype, t->ndim, t->shape);
    if (!d) {
        lens_fail_alloc(err);
        return NULL;
    }
    if (lens_tensor_copy_into(d, t, err)) {
        lens_tensor_free(d);
        return NULL;
    }
    return d;
}

lens_tensor *lens_tensor_to(const lens_tensor *t, const char *device, lens_error *err)
{
    const lens_backend *be = lens_backend_by_name(device, err);
    return be ? lens_tensor_to_device(t, be, err) : NULL;
}

int lens_common_device(int n, const lens_tensor *const *in, const lens_backend **be, lens_error *err)
{
    const lens_tensor *dev = NULL, *host = NULL;
    for (int i = 0; i < n; i++) {
        const lens_tensor *t = in[i];
        if (!t) continue;
        if (lens_tensor_on_host(t)) {
            if (t->ndim > 0 && !host) host = t;   /* 0-d host tensors (numbers) join any device */
        } else if (!dev) {
            dev = t;
        } else if (dev->storage->device != t->storage->device) {
            host = t;
            break;
        }
    }
    *be = dev ? lens_tensor_backend(dev) : NULL;
    if (dev && host)
        return lens_fail_kind(err, LENS_ERR_DEVICE,
                              "Expected all tensors to be on the same device, but found at least two devices, %s and %s!",
                              lens_device_name(dev->storage->device), lens_device_name(host->storage->device));
    return 0;
}

void lens_tensors_free(int n, lens_tensor **ts)
{
    for (int i = 0; i < n; i++) {
        lens_tensor_free(ts[i]);
        ts[i] = NULL;
    }
}

int lens_inputs_on_host(int n, const lens_tensor *const *in, lens_tensor **out, lens_error *err)
{
    const lens_backend *be;
    if (lens_common_device(n, in, &be, err)) return -1;
    if (!be) return 0;
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        if (in[i] && !(out[i] = lens_tensor_host(in[i], err))) {
            lens_tensors_free(i, out);
            return -1;
        }
    }
    return 1;
}

const lens_backend *lens_inputs_backend(int n, const lens_tensor *const *in)
{
    const lens_backend *be = NULL;
    return lens_common_device(n, in, &be, NULL) ? NULL : be;
}

lens_tensor *lens_result_to_device(lens_tensor *r, const lens_backend *be, lens_error *err)
{
    if (!r || !be || be->host_addressable) return r;
    lens_tensor *d = lens_tensor_to_device(r, be, err);
    lens_tensor_free(r);
    return d;
}

int lens_results_to_device(int n, lens_tensor **const *outs, const lens_backend *be, lens_error *err)
{
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (outs[i] && *outs[i] && !(*outs[i] = lens_result_to_device(*outs[i], be, err))) rc = -1;
    for (int i = 0; rc && i < n; i++)
        if (outs[i]) {
            lens_tensor_free(*outs[i]);
            *outs[i] = NULL;
        }
    return rc;
}
