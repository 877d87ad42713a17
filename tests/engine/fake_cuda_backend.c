/* fake_cuda_backend.c — a library shaped like liblens-cuda.so but built for
 * another backend ABI version, so test_cuda_loader can check that the loader
 * refuses it by its version before calling into it. Built by the Makefile as
 * BUILD/tests/libfake_cuda_backend.so. */
#include <stddef.h>
#include <stdio.h>

#include "lens/error.h"

__attribute__((visibility("default"))) const int lens_cuda_abi_version = 999;

__attribute__((visibility("default"))) const void *lens_cuda_backend_open(int abi, size_t table_size,
                                                                          size_t error_size, lens_error *err);

/* Never reached when the loader checks the version first; says so if it is. */
const void *lens_cuda_backend_open(int abi, size_t table_size, size_t error_size, lens_error *err)
{
    (void)abi;
    (void)table_size;
    if (err && error_size == sizeof *err) snprintf(err->msg, sizeof err->msg, "the fake backend was opened");
    return NULL;
}
