/* device_tensor.h — what the forward pass, the lazy logits, the patching
 * passes and the analyses need beyond lens/tensor.h's device functions: device
 * pointers as floats for backend operations, borrowed tensors over a backend's
 * buffers, contiguous copies on a backend, contiguous host copies.
 *
 * Owns: nothing beyond the tensors it returns (caller frees). Does not own: the
 * backends' memory (backend.h) or the tensors' device rules (tensor_device.c).
 * On a host-addressable backend (cpu) nothing is copied that needs no copy. */
#ifndef LENS_DEVICE_TENSOR_H
#define LENS_DEVICE_TENSOR_H

#include "backend.h"

/* The address of element 0 of t in its backend's memory: only passed to that
 * backend's operations, never dereferenced by host code. */
static inline float *lens_dev_f32(const lens_tensor *t) { return (float *)lens_tensor_device_ptr(t); }
static inline const float *lens_dev_f32_opt(const lens_tensor *t) { return t ? lens_dev_f32(t) : NULL; }
static inline int64_t *lens_dev_i64(const lens_tensor *t) { return (int64_t *)lens_tensor_device_ptr(t); }

/* A contiguous tensor over be's memory at data, borrowed (the caller keeps the
 * memory alive longer than the tensor); NULL when out of memory. */
lens_tensor *lens_dev_wrap(const lens_backend *be, lens_dtype dt, int ndim, const int64_t *shape, void *data);
/* t on be and contiguous: another reference when it is so already, else a copy
 * (uploaded from the host, or copied on the device). NULL with err filled. */
lens_tensor *lens_dev_on(const lens_backend *be, const lens_tensor *t, lens_error *err);

#endif
