/* cuda_memory.c — the CUDA backend's memory operations: device allocation,
 * host<->device and device<->device copies, zeroing, synchronisation and the
 * free/total device memory.
 *
 * Owns: these table entries. Does not own: what the memory holds or how much the
 * engine asks for (the engine sizes its arenas against memory_info first).
 * Each reports its own failure at once; synchronize and download (which
 * synchronizes) also report the first failure of the compute operations queued
 * since the last report. */
#include <stdio.h>

#include "cuda_internal.h"
#include "cuda_host.h"

static double mib(size_t n)
{
    return (double)n / (1024.0 * 1024.0);
}

void *lens_cu_alloc(size_t nbytes, lens_error *err)
{
    void *p = NULL;
    size_t want = nbytes ? nbytes : 1;   /* cudaMalloc returns 256-byte aligned blocks */
    cudaError_t e = cudaMalloc(&p, want);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
        lens_cu_error(err, lens_cu_kind(e),
                      "out of device memory allocating %zu bytes (%.1f MiB) on the GPU: %.1f MiB free of %.1f MiB (%s)",
                      nbytes, mib(nbytes), mib(free_b), mib(total_b), cudaGetErrorString(e));
        return NULL;
    }
    e = cudaMemsetAsync(p, 0, want, lens_cu_stream());
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        (void)cudaFree(p);   /* cleanup after the failure being reported */
        lens_cu_error(err, lens_cu_kind(e), "CUDA error zeroing %zu new bytes: %s", nbytes, cudaGetErrorString(e));
        return NULL;
    }
    return p;
}

void lens_cu_free(void *p, size_t nbytes)
{
    (void)nbytes;
    if (p) lens_cu_ok(cudaFree(p), "cudaFree");
}

static int memcpy_checked(void *dst, const void *src, size_t nbytes, enum cudaMemcpyKind kind, const char *what,
                          lens_error *err)
{
    if (!nbytes) return 0;
    cudaError_t e = cudaMemcpyAsync(dst, src, nbytes, kind, lens_cu_stream());
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return lens_cu_error(err, lens_cu_kind(e), "CUDA error in %s of %zu bytes: %s", what, nbytes,
                             cudaGetErrorString(e));
    }
    return 0;
}

/* From pageable host memory the runtime stages the source before returning, so
 * the caller may reuse host_src at once. */
int lens_cu_upload(void *dst, const void *host_src, size_t nbytes, lens_error *err)
{
    return memcpy_checked(dst, host_src, nbytes, cudaMemcpyHostToDevice, "upload", err);
}

int lens_cu_synchronize(lens_error *err)
{
    cudaError_t e = cudaStreamSynchronize(lens_cu_stream());
    if (e != cudaSuccess) lens_cu_ok(e, "a queued operation (reported at synchronize)");
    return lens_cu_take_failure(err);
}

int lens_cu_download(void *host_dst, const void *src, size_t nbytes, lens_error *err)
{
    if (lens_cu_failed()) return lens_cu_synchronize(err);
    if (memcpy_checked(host_dst, src, nbytes, cudaMemcpyDeviceToHost, "download", err)) return -1;
    return lens_cu_synchronize(err);
}

int lens_cu_copy(void *dst, const void *src, size_t nbytes, lens_error *err)
{
    return memcpy_checked(dst, src, nbytes, cudaMemcpyDeviceToDevice, "device copy", err);
}

int lens_cu_memset_zero(void *dst, size_t nbytes, lens_error *err)
{
    if (!nbytes) return 0;
    cudaError_t e = cudaMemsetAsync(dst, 0, nbytes, lens_cu_stream());
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return lens_cu_error(err, lens_cu_kind(e), "CUDA error zeroing %zu bytes: %s", nbytes, cudaGetErrorString(e));
    }
    return 0;
}

int lens_cu_memory_info(size_t *free_bytes, size_t *total_bytes, lens_error *err)
{
    cudaError_t e = cudaMemGetInfo(free_bytes, total_bytes);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return lens_cu_error(err, lens_cu_kind(e), "CUDA error reading the free device memory: %s",
                             cudaGetErrorString(e));
    }
    return 0;
}
