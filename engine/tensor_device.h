/* tensor_device.h — internal to the engine: what tensor.c and tensor_ops_*.c
 * share for tensors on devices (tensor_device.c).
 *
 * The rule for operations (lens/tensor_ops.h says it to callers): inputs must
 * be on one device, except 0-d host tensors (Python numbers), which join any
 * device; otherwise the operation fails with torch's "Expected all tensors to
 * be on the same device" error. */
#ifndef LENS_TENSOR_DEVICE_H
#define LENS_TENSOR_DEVICE_H

#include "backend.h"

/* The backend of t's storage (the cpu one for host tensors). */
const lens_backend *lens_tensor_backend(const lens_tensor *t);

/* The one device of n inputs (NULL entries skipped): *be = its backend, NULL when
 * all are on the host. -1 + err (LENS_ERR_DEVICE, a RuntimeError as in torch) for
 * two different devices. */
int lens_common_device(int n, const lens_tensor *const *in, const lens_backend **be, lens_error *err);

/* For operations that run on the host: 0 when every input is on the host (out
 * untouched); 1 with out[i] = a host copy of in[i] (a reference for host ones,
 * NULL for NULL) when some is on a device; -1 + err. Free out with
 * lens_tensors_free. */
int lens_inputs_on_host(int n, const lens_tensor *const *in, lens_tensor **out, lens_error *err);
void lens_tensors_free(int n, lens_tensor **ts);

/* The first lines of an operation that computes on the host and returns a
 * tensor (NULL on failure, its lens_error *err in scope): when one of the inputs
 * is on a device, returns CALL evaluated on their host copies h[0], h[1], ...,
 * with its result moved to the inputs' device, where torch's would be.
 *     LENS_RUN_ON_HOST_TO_DEVICE(lens_gather(h[0], dim, h[1], err), t, idx); */
#define LENS_RUN_ON_HOST_TO_DEVICE(CALL, ...)                                                    \
    do {                                                                                         \
        const lens_tensor *const in_[] = {__VA_ARGS__};                                          \
        enum { n_ = sizeof in_ / sizeof *in_ };                                                  \
        lens_tensor *h[n_];                                                                      \
        int on_device_ = lens_inputs_on_host(n_, in_, h, err);                                   \
        if (on_device_ < 0) return NULL;                                                         \
        if (on_device_ > 0) {                                                                    \
            lens_tensor *r_ = CALL;                                                              \
            lens_tensors_free(n_, h);                                                            \
            return lens_result_to_device(r_, lens_inputs_backend(n_, in_), err);                 \
        }                                                                                        \
    } while (0)

/* The same for an operation that returns 0 / -1 and its tensors through
 * out-parameters: OUTS, a parenthesised compound literal of them (NULL entries
 * are results not asked for), are moved to the inputs' device once CALL succeeds.
 *     LENS_RUN_ON_HOST_TO_DEVICE_OUTS(((lens_tensor **[]){values, indices}),
 *                                     sorted_rows(h[0], ..., values, indices, err), t); */
#define LENS_RUN_ON_HOST_TO_DEVICE_OUTS(OUTS, CALL, ...)                                         \
    do {                                                                                         \
        const lens_tensor *const in_[] = {__VA_ARGS__};                                          \
        enum { n_ = sizeof in_ / sizeof *in_ };                                                  \
        lens_tensor *h[n_];                                                                      \
        int on_device_ = lens_inputs_on_host(n_, in_, h, err);                                   \
        if (on_device_ < 0) return -1;                                                           \
        if (on_device_ > 0) {                                                                    \
            int r_ = CALL;                                                                       \
            lens_tensors_free(n_, h);                                                            \
            lens_tensor **const *outs_ = OUTS;                                                   \
            return r_ ? r_ : lens_results_to_device((int)(sizeof OUTS / sizeof *OUTS), outs_,    \
                                                    lens_inputs_backend(n_, in_), err);          \
        }                                                                                        \
    } while (0)

/* The backend of the one device of n inputs (lens_common_device succeeded on
 * them), NULL when all are on the host. */
const lens_backend *lens_inputs_backend(int n, const lens_tensor *const *in);

/* copy_into when dst or src is on a device (tensor.c checked the shapes). */
int lens_device_copy_into(lens_tensor *dst, const lens_tensor *src, lens_error *err);

/* r (a host result) moved to be's device; r is freed. NULL + err on failure. */
lens_tensor *lens_result_to_device(lens_tensor *r, const lens_backend *be, lens_error *err);
/* The same for n results *outs[i] (NULL outs[i] or *outs[i] skipped): 0, or -1 +
 * err with every one of them freed and set to NULL. */
int lens_results_to_device(int n, lens_tensor **const *outs, const lens_backend *be, lens_error *err);

#endif
