/* lens/checked.h — size arithmetic that cannot wrap.
 *
 * Owns: the one way lens computes a size (element count, byte count, offset)
 * from numbers it did not choose itself — shapes typed in a cell, dimensions
 * read from a safetensors header or config.json, counts from tokenizer files.
 * Does not own: what the size is then used for (allocation and the memory
 * limit are lens/memory.h's).
 *
 *     size_t bytes;
 *     if (lens_shape_bytes(LENS_F32, ndim, shape, &bytes, err)) return NULL;  // refuses 2**62 elements
 *     int64_t n;
 *     if (!lens_mul_i64(rows, cols, &n)) return lens_fail_kind(err, LENS_ERR_TOO_LARGE, "...");
 *
 * The element count of every tensor is at most LENS_MAX_NUMEL, so its byte count
 * (8 bytes an element at most) fits an int64_t and any product of some of its dims
 * fits too. A shape is refused when the product of its nonzero dims exceeds that,
 * even when another dim is 0 (so no reduction or reshape of an empty tensor can
 * wrap either).
 */
#ifndef LENS_CHECKED_H
#define LENS_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lens/error.h"
#include "lens/tensor.h"

#define LENS_MAX_NUMEL ((int64_t)1 << 60)

/* a*b, a+b into *out; false (and *out unspecified) when the result overflows. */
static inline bool lens_mul_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool lens_add_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool lens_mul_size(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool lens_add_size(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }

/* Element count of a shape into *numel. Fails (LENS_ERR_TOO_LARGE, or a plain error
 * for a negative dim) with a message naming the shape. */
int lens_shape_numel(int ndim, const int64_t *shape, int64_t *numel, lens_error *err);
/* Byte count of a contiguous tensor of that dtype and shape. */
int lens_shape_bytes(lens_dtype dt, int ndim, const int64_t *shape, size_t *bytes, lens_error *err);

#endif
