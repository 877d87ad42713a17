/* lens/safetensors.h — reading and writing safetensors files.
 *
 * A file is memory-mapped and its JSON header validated completely before any
 * tensor is touched: header length inside the file, every entry's dtype known,
 * shape non-negative and consistent with its byte size, offsets inside the data
 * area, entries not overlapping. A bad file gives an error naming the file and
 * the problem, never a crash.
 *
 *     lens_error err;
 *     lens_safetensors *st = lens_safetensors_open("model.safetensors", &err);
 *     const lens_st_entry *e = lens_safetensors_find(st, "transformer.wte.weight");
 *     lens_tensor *t = lens_st_entry_tensor(e, &err);   // F32/F16/BF16 -> float32 copy
 *     ...
 *     lens_safetensors_close(st);
 */
#ifndef LENS_SAFETENSORS_H
#define LENS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "lens/error.h"
#include "lens/tensor.h"

typedef enum {
    LENS_ST_F32, LENS_ST_F16, LENS_ST_BF16, LENS_ST_F64,
    LENS_ST_I64, LENS_ST_I32, LENS_ST_I16, LENS_ST_I8, LENS_ST_U8, LENS_ST_BOOL
} lens_st_dtype;

typedef struct lens_st_entry {
    const char *name;
    lens_st_dtype dtype;
    int ndim;
    int64_t shape[LENS_MAX_DIMS];
    size_t nbytes;
    const void *data;   /* inside the mapping; valid until close */
} lens_st_entry;

typedef struct lens_safetensors lens_safetensors;

lens_safetensors *lens_safetensors_open(const char *path, lens_error *err);
void lens_safetensors_close(lens_safetensors *st);

/* Entries are numbered in the order the header lists them; find is a binary search. */
int lens_safetensors_count(const lens_safetensors *st);
const lens_st_entry *lens_safetensors_entry(const lens_safetensors *st, int i);
const lens_st_entry *lens_safetensors_find(const lens_safetensors *st, const char *name);
/* The "__metadata__" object as JSON text ("{}" when absent); owned by st. */
const char *lens_safetensors_metadata(const lens_safetensors *st);

/* A new tensor holding the entry's values: float dtypes (F32, F16, BF16, F64) as
 * LENS_F32, BOOL as LENS_BOOL, other integer dtypes as LENS_I64. */
lens_tensor *lens_st_entry_tensor(const lens_st_entry *e, lens_error *err);
/* Converts the entry into a caller-provided float buffer of exactly numel floats. */
int lens_st_entry_read_f32(const lens_st_entry *e, float *out, size_t numel, lens_error *err);

/* "F32", "BF16", ... as written in the header. */
const char *lens_st_dtype_name(lens_st_dtype dt);
/* Exact conversions of one half-precision value (IEEE binary16, bfloat16) given as its bits. */
float lens_f16_to_f32(uint16_t bits);
float lens_bf16_to_f32(uint16_t bits);

/* Writes tensors (F32, I64 or BOOL, any strides) under the given names, with an
 * optional __metadata__ object given as JSON text of string values (may be NULL).
 * Entries are sorted by name, the data is contiguous in that order, the header is
 * padded with spaces to a multiple of 8 bytes; written through lens_write_file (an
 * exclusive temporary file renamed over path; links and special files refused). */
int lens_safetensors_write(const char *path, int n, const char *const *names,
                           const lens_tensor *const *tensors, const char *metadata_json,
                           lens_error *err);

#endif
