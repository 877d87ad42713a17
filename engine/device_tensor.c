/* device_tensor.c — borrowed device tensors and contiguous copies on a backend
 * or the host (device_tensor.h). */
#include "device_tensor.h"

lens_tensor *lens_dev_wrap(const lens_backend *be, lens_dtype dt, int ndim, const int64_t *shape, void *data)
{
    lens_tensor *t = lens_tensor_wrap(dt, ndim, shape, data, NULL, NULL);
    if (t) t->storage->device = be->device;
    return t;
}

lens_tensor *lens_dev_on(const lens_backend *be, const lens_tensor *t, lens_error *err)
{
    lens_tensor *d = lens_tensor_to_device(t, be, err);
    if (!d || lens_tensor_is_contiguous(d)) return d;
    lens_tensor *c = lens_tensor_contiguous(d);
    lens_tensor_free(d);
    if (!c) lens_fail_alloc(err);
    return c;
}
