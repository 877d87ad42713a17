/* cuda_context.c — the CUDA backend's state: its one stream, the first failure
 * of a queued operation (the sticky error), and error formatting.
 *
 * Owns: the stream handle, the kept failure and how CUDA errors become lens
 * errors. Does not own: the cuBLAS handle (cuda_blas.c) or opening the device
 * (cuda_backend.c). This library formats lens_error itself: it links nothing of
 * the engine, whose error functions live in the executable that loads it. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cuda_host.h"
#include "cuda_internal.h"

static cudaStream_t stream;
/* The engine may queue operations from several threads: the kept failure is
 * written and taken under a lock, and read as a flag without one. */
static atomic_bool failed;
static lens_error first_failure;
static pthread_mutex_t failure_lock = PTHREAD_MUTEX_INITIALIZER;

void lens_cu_set_stream(cudaStream_t s)
{
    stream = s;
}

cudaStream_t lens_cu_stream(void)
{
    return stream;
}

bool lens_cu_failed(void)
{
    return atomic_load_explicit(&failed, memory_order_acquire);
}

static void format_into(lens_error *err, lens_error_kind kind, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    err->kind = kind;
}

void lens_cu_fail(lens_error_kind kind, const char *fmt, ...)
{
    pthread_mutex_lock(&failure_lock);
    if (!atomic_load(&failed)) {   /* the first failure is the one worth reading */
        va_list ap;
        va_start(ap, fmt);
        format_into(&first_failure, kind, fmt, ap);
        va_end(ap);
        atomic_store_explicit(&failed, true, memory_order_release);
    }
    pthread_mutex_unlock(&failure_lock);
}

int lens_cu_error(lens_error *err, lens_error_kind kind, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    format_into(err, kind, fmt, ap);
    va_end(ap);
    return -1;
}

lens_error_kind lens_cu_kind(cudaError_t e)
{
    return e == cudaErrorMemoryAllocation ? LENS_ERR_MEMORY : LENS_CUDA_DEVICE_ERROR_KIND;
}

/* LENS_CUDA_SYNC=1: wait after every operation, so that a fault inside a kernel
 * is reported with the operation that caused it (slow; for finding faults). */
static bool sync_each;

void lens_cu_set_sync_each(bool on)
{
    sync_each = on;
}

bool lens_cu_ok(cudaError_t e, const char *what)
{
    if (e == cudaSuccess && sync_each) e = cudaStreamSynchronize(stream);
    if (e == cudaSuccess) return true;
    (void)cudaGetLastError();   /* a non-sticky error must not resurface at the next check */
    lens_cu_fail(lens_cu_kind(e), "CUDA error in %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    return false;
}

int lens_cu_take_failure(lens_error *err)
{
    pthread_mutex_lock(&failure_lock);
    int rc = 0;
    if (atomic_load(&failed)) {
        if (err) *err = first_failure;
        memset(&first_failure, 0, sizeof first_failure);
        atomic_store(&failed, false);
        rc = -1;
    }
    pthread_mutex_unlock(&failure_lock);
    return rc;
}

bool lens_cu_dims_ok(const char *what, int n, const int64_t *dims)
{
    int64_t product = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0) {
            lens_cu_fail(LENS_ERR_INVALID, "%s: negative size %lld", what, (long long)dims[i]);
            return false;
        }
        if (__builtin_mul_overflow(product, dims[i], &product)) {
            lens_cu_fail(LENS_ERR_TOO_LARGE, "%s: the element count overflows", what);
            return false;
        }
    }
    return true;
}
