/* backend_cuda.h — the contract between the engine and the CUDA backend library
 * (liblens-cuda.so, built from kernels/), and the loader's own settings.
 *
 * Owns: the library's file name, its two exported symbols and the ABI version
 * both sides are compiled with; the precision switch of the CUDA matrix products.
 * Does not own: the backend table (backend.h) or the registry that offers it.
 *
 * The engine never links CUDA: backend_cuda_loader.c dlopen()s the library on
 * the first lens_backend_cuda() call, reads LENS_CUDA_ABI_SYMBOL (an int that
 * must equal LENS_CUDA_ABI_VERSION) and calls LENS_CUDA_OPEN_SYMBOL, which
 * returns the table when a device is usable, else NULL with the reason. Bump
 * the version whenever lens_backend, lens_error or an enum the table takes
 * changes; the loader also passes both struct sizes, which the library checks.
 */
#ifndef LENS_BACKEND_CUDA_H
#define LENS_BACKEND_CUDA_H

#include <stddef.h>

#include "backend.h"

#define LENS_CUDA_ABI_VERSION 1
#define LENS_CUDA_LIBRARY "liblens-cuda.so"
#define LENS_CUDA_ABI_SYMBOL "lens_cuda_abi_version"
#define LENS_CUDA_OPEN_SYMBOL "lens_cuda_backend_open"
#define LENS_CUDA_PRECISION_SYMBOL "lens_cuda_set_precision"

/* The library's entry: the table, or NULL with err when the ABI differs or no
 * device is usable. Called once per process. */
typedef const lens_backend *(*lens_cuda_open_fn)(int abi_version, size_t table_size,
                                                 size_t error_size, lens_error *err);
/* "float32" (exact, the default) or "tf32" (tensor cores, ~1e-3 relative error in
 * the products). Affects operations queued after the call. */
typedef int (*lens_cuda_precision_fn)(const char *precision, lens_error *err);

/* Opens the library at path and asks it for the table (no caching; tests use it). */
const lens_backend *lens_cuda_load_library(const char *path, lens_error *err);
/* Sets the precision of the loaded CUDA backend; -1 with err when there is none or
 * the name is unknown. $LENS_CUDA_PRECISION gives the initial value. */
int lens_backend_cuda_set_precision(const char *precision, lens_error *err);

#endif
