/* device_tensor.h — the engine's few primitives for tensors whose bytes live on
 * a backend (backend.h): device pointers for operations, owned and borrowed
 * device buffers, explicit transfers, and copies between views done by the
 * backend. forward.c, lazy_logits.c, patching.c and the analyses use these
 * instead of reading device memory.
 *
 * Owns: nothing beyond the tensors it returns (caller frees). Does not own: the
 * backends' memory operations (backend.h) or the general tensor operations
 * (tensor_ops_*.c). On a host-addressable backend (cpu) every function keeps
 * today's zero-copy behaviour: uploads of host tensors are references. */
#ifndef LENS_DEVICE_TENSOR_H
#define LENS_DEVICE_TENSOR_H

#include "backend.h"

/* The address of element 0 of t, in its backend's memory; it is only passed to
 * that backend's operations, never dereferenced by host code. */
static inline float *lens_dev_f32(const lens_tensor *t)
{
    return (float *)t->storage->data + t->offset;
}
static inline const float *lens_dev_f32_opt(const lens_tensor *t) { return t ? lens_dev_f32(t) : NULL; }
static inline int64_t *lens_dev_i64(const lens_tensor *t)
{
    return (int64_t *)t->storage->data + t->offset;
}

/* A contiguous tensor over be's memory at data, borrowed (the caller keeps the
 * memory alive longer than the tensor); NULL when out of memory. */
lens_tensor *lens_dev_wrap(const lens_backend *be, lens_dtype dt, int ndim, const int64_t *shape, void *data);
/* A new zero-filled contiguous tensor in be's memory (on the cpu: lens_tensor_new,
 * counted against the memory limit); NULL with err filled. */
lens_tensor *lens_dev_new(const lens_backend *be, lens_dtype dt, int ndim, const int64_t *shape, lens_error *err);
/* t on be: another reference when it is there already and contiguous, else a
 * contiguous copy (uploaded from the host, or copied on the device). */
lens_tensor *lens_dev_on(const lens_backend *be, const lens_tensor *t, lens_error *err);
/* A contiguous host tensor with t's values: a reference when t is a contiguous
 * host tensor, else a download (computing lazily computed contents first). */
lens_tensor *lens_dev_host(const lens_tensor *t, lens_error *err);
/* dst = src elementwise (same shape and dtype), dst in be's memory, src in be's
 * memory or on the host; done by the backend (one strided copy, or a copy per
 * contiguous run). */
int lens_dev_copy_view(const lens_backend *be, const lens_tensor *dst, const lens_tensor *src, lens_error *err);

#endif
