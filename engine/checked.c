/* checked.c — element and byte counts of shapes, overflow-checked (see lens/checked.h).
 * Owns: the rule that a shape's nonzero dims multiply to at most LENS_MAX_NUMEL.
 * Does not own: allocation (tensor.c) or the memory limit (memory.c). */
#include "lens/checked.h"

#include <stdio.h>

static int too_large(int ndim, const int64_t *shape, lens_error *err)
{
    char b[256];
    return lens_fail_kind(err, LENS_ERR_TOO_LARGE,
                          "tensor too large: shape %s has more than 2^60 elements",
                          lens_shape_str(ndim, shape, b, sizeof b));
}

int lens_shape_numel(int ndim, const int64_t *shape, int64_t *numel, lens_error *err)
{
    if (ndim < 0 || ndim > LENS_MAX_DIMS)
        return lens_fail(err, "a tensor has at most %d dimensions, not %d", LENS_MAX_DIMS, ndim);
    int64_t nonzero = 1;
    bool empty = false;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) {
            char b[256];
            return lens_fail(err, "negative dimension %lld in the shape %s", (long long)shape[d],
                             lens_shape_str(ndim, shape, b, sizeof b));
        }
        if (shape[d] == 0) { empty = true; continue; }
        if (!lens_mul_i64(nonzero, shape[d], &nonzero) || nonzero > LENS_MAX_NUMEL)
            return too_large(ndim, shape, err);
    }
    *numel = empty ? 0 : nonzero;
    return 0;
}

int lens_shape_bytes(lens_dtype dt, int ndim, const int64_t *shape, size_t *bytes, lens_error *err)
{
    int64_t n;
    if (lens_shape_numel(ndim, shape, &n, err)) return -1;
    *bytes = (size_t)n * lens_dtype_size(dt);   /* <= 2^63: LENS_MAX_NUMEL * 8 */
    return 0;
}
