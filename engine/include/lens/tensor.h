/* lens/tensor.h — the engine's n-dimensional array.
 *
 * A tensor is a small heap object with a dtype, a device, a shape and strides
 * (in elements) over a reference-counted storage. Views (slices, transposes,
 * reshapes of contiguous data) share the storage; freeing a tensor drops its
 * reference, and the storage goes when the last tensor over it goes.
 *
 *     int64_t shape[2] = {4, 11};
 *     lens_tensor *t = lens_tensor_new(LENS_I64, 2, shape);   // zero-filled
 *     lens_tensor_i64(t)[0] = 50256;                          // contiguous access
 *     lens_tensor *row = lens_tensor_select(t, 0, 1);         // view of t[1]
 *     lens_tensor_free(row);
 *     lens_tensor_free(t);
 *
 * Element access by index is lens_tensor_offset(t, idx) from the data pointer.
 *
 * Devices. A storage lives on the host (LENS_CPU) or in a backend's memory (the
 * simulated device LENS_SIM, a CUDA device LENS_CUDA; engine/backend.h). Host code
 * never reads device memory: lens_tensor_data / _f32 / _i64 of a device tensor
 * return NULL, and a device tensor's values reach the host only through
 * lens_tensor_host (an explicit download into a new host tensor). Backend calls
 * take lens_tensor_device_ptr. lens_tensor_to_device moves data anywhere.
 */
#ifndef LENS_TENSOR_H
#define LENS_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lens/error.h"
#include "lens/memory.h"

#define LENS_MAX_DIMS 8

/* float32, int64, and bool (one byte per element holding 0 or 1, as torch.bool). */
typedef enum { LENS_F32 = 0, LENS_I64 = 1, LENS_BOOL = 2 } lens_dtype;
/* Where a storage's bytes live: host memory, the simulated device (backend_sim.c:
 * memory host code cannot touch) or a CUDA device (kernels/). */
typedef enum { LENS_CPU = 0, LENS_CUDA = 1, LENS_SIM = 2 } lens_device;

struct lens_tensor;
struct lens_backend;

/* "cpu", "cuda" or "sim", as torch names device types. */
const char *lens_device_name(lens_device d);

typedef struct lens_storage {
    void *data;
    size_t nbytes;
    size_t reserved;                /* bytes counted against the memory limit (lens/memory.h) */
    lens_device device;
    int refcount;
    /* If set, called instead of free(data) when the last reference goes
     * (memory-mapped weights, device memory). */
    void (*release)(void *data, size_t nbytes, void *ctx);
    void *release_ctx;
    /* If set, the contents are computed on demand (logits from a forward pass):
     * lens_tensor_data calls ensure(view) first, which computes what that view
     * covers (its state is release_ctx). Read sparse parts through narrow views. */
    void (*ensure)(const struct lens_tensor *view);
} lens_storage;

typedef struct lens_tensor {
    lens_storage *storage;
    int64_t offset;                 /* first element, in elements */
    lens_dtype dtype;
    int ndim;                       /* 0 for a scalar */
    int64_t shape[LENS_MAX_DIMS];
    int64_t strides[LENS_MAX_DIMS]; /* in elements; may be 0 (broadcast) or negative */
} lens_tensor;

/* Bytes per element: 4, 8, 1. */
size_t lens_dtype_size(lens_dtype dt);
/* "float32", "int64", "bool" (torch's names without "torch."). */
const char *lens_dtype_name(lens_dtype dt);

/* The same in a backend's memory (be NULL or host-addressable: on the host, as
 * lens_tensor_new); the bytes are counted against the same limit. */
lens_tensor *lens_tensor_new_on(const struct lens_backend *be, lens_dtype dt, int ndim, const int64_t *shape);
/* New contiguous zero-filled tensor, its bytes counted against the memory limit
 * (lens/memory.h). NULL when the shape is invalid (negative dim, ndim > 8, more than
 * LENS_MAX_NUMEL elements: lens/checked.h), over the limit, or out of memory;
 * lens_fail_alloc(err) then says which, with the sizes. */
lens_tensor *lens_tensor_new(lens_dtype dt, int ndim, const int64_t *shape);
/* Same, taking the shape as arguments: lens_tensor_new_v(LENS_F32, 2, 4, 11). */
lens_tensor *lens_tensor_new_v(lens_dtype dt, int ndim, ...);
/* New tensor that copies `data` (contiguous, ndim/shape as given). */
lens_tensor *lens_tensor_from_f32(int ndim, const int64_t *shape, const float *data);
lens_tensor *lens_tensor_from_i64(int ndim, const int64_t *shape, const int64_t *data);
/* Wraps external memory without copying; release(data, nbytes, ctx) runs when the last
 * reference goes (release may be NULL: memory owned elsewhere and outliving the tensor). */
lens_tensor *lens_tensor_wrap(lens_dtype dt, int ndim, const int64_t *shape, void *data,
                              void (*release)(void *, size_t, void *), void *ctx);
void lens_tensor_free(lens_tensor *t);

/* A new tensor object sharing t's storage, with the given geometry (NULL, with the
 * reason for lens_fail_alloc, when the shape is invalid). */
lens_tensor *lens_tensor_view(const lens_tensor *t, int ndim, const int64_t *shape,
                              const int64_t *strides, int64_t offset);
/* Another reference to the same view (same geometry, shared storage). */
lens_tensor *lens_tensor_ref(const lens_tensor *t);

int64_t lens_tensor_numel(const lens_tensor *t);
bool lens_tensor_is_contiguous(const lens_tensor *t);
bool lens_tensor_same_shape(const lens_tensor *a, const lens_tensor *b);
/* Pointer to element 0 (storage data + offset) for host code; NULL when t lives
 * on a device (never the device pointer: use lens_tensor_host). */
void *lens_tensor_data(const lens_tensor *t);
float *lens_tensor_f32(const lens_tensor *t);
int64_t *lens_tensor_i64(const lens_tensor *t);
uint8_t *lens_tensor_bool(const lens_tensor *t);
/* Pointer to element 0 in t's own memory, host or device: only for passing to
 * the operations of t's backend. */
void *lens_tensor_device_ptr(const lens_tensor *t);
lens_device lens_tensor_device(const lens_tensor *t);
bool lens_tensor_on_host(const lens_tensor *t);
/* t's values as a host tensor: another reference to t when it is on the host,
 * else a download into a new contiguous host tensor. NULL + err when the device
 * fails (the error it reported) or memory runs out. */
lens_tensor *lens_tensor_host(const lens_tensor *t, lens_error *err);
/* The same, contiguous: for host code that walks the data pointer (another
 * reference when t is a contiguous host tensor already). */
lens_tensor *lens_tensor_host_contiguous(const lens_tensor *t, lens_error *err);
/* t's values on be's device (NULL: the host): another reference to t when it is
 * there already, else a new contiguous tensor (upload, download, or both). */
lens_tensor *lens_tensor_to_device(const lens_tensor *t, const struct lens_backend *be, lens_error *err);
/* The same by device name ("cpu", "cuda", "sim"): the registry's errors for an
 * unknown name or a device not present. */
lens_tensor *lens_tensor_to(const lens_tensor *t, const char *device, lens_error *err);
/* Element offset (relative to lens_tensor_data) of a full index. */
int64_t lens_tensor_offset(const lens_tensor *t, const int64_t *idx);

/* Contiguous copy (always a new storage, on t's device). */
lens_tensor *lens_tensor_clone(const lens_tensor *t);
/* t itself (another reference) when already contiguous, else a contiguous copy. */
lens_tensor *lens_tensor_contiguous(const lens_tensor *t);
/* Copies src into dst elementwise; shapes must match (dtype converted); either may
 * be on any device (the values move through the host when the devices differ). */
int lens_tensor_copy_into(lens_tensor *dst, const lens_tensor *src, lens_error *err);
/* Float copy of an int or bool tensor, or clone of a float one. */
lens_tensor *lens_tensor_to_f32(const lens_tensor *t);

/* Views. dim may be negative (counts from the end). Return NULL and fill err on bad args. */
lens_tensor *lens_tensor_select(const lens_tensor *t, int dim, int64_t index);          /* drops dim */
lens_tensor *lens_tensor_narrow(const lens_tensor *t, int dim, int64_t start, int64_t len);
lens_tensor *lens_tensor_slice(const lens_tensor *t, int dim, int64_t start, int64_t stop,
                               int64_t step, lens_error *err);  /* python semantics, clamps */
lens_tensor *lens_tensor_permute(const lens_tensor *t, const int *perm, lens_error *err);
lens_tensor *lens_tensor_transpose(const lens_tensor *t, int d0, int d1, lens_error *err);
/* View when the strides allow it, else a contiguous copy reshaped; one dim may be -1. */
lens_tensor *lens_tensor_reshape(const lens_tensor *t, int ndim, const int64_t *shape,
                                 lens_error *err);
lens_tensor *lens_tensor_unsqueeze(const lens_tensor *t, int dim, lens_error *err);
lens_tensor *lens_tensor_squeeze(const lens_tensor *t, int dim, lens_error *err); /* dim -99 = all */

/* "[4, 11, 64]" into buf. */
const char *lens_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);

#endif
