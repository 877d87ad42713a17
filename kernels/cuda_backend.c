/* cuda_backend.c — the CUDA backend library's entry points: the ABI version, the
 * open function that checks for a usable device and returns the table, and the
 * precision switch.
 *
 * Owns: device selection (device 0), the stream and cuBLAS handle's creation,
 * the table. Does not own: finding this library (engine/backend_cuda_loader.c)
 * or the operations (cuda_memory.c, cuda_blas.c, cuda_ops.c and the .cu files).
 * Only the symbols named in engine/backend_cuda.h are exported. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_cuda.h"
#include "cuda_host.h"

#define EXPORT __attribute__((visibility("default")))

/* The kernels are built for sm_90 with compute_80 PTX (Makefile CUDA_ARCH):
 * older devices cannot run them. */
#define MIN_COMPUTE_CAPABILITY 80

EXPORT const int lens_cuda_abi_version = LENS_CUDA_ABI_VERSION;

static const lens_backend cuda_table = {
    .name = "cuda",
    .device = LENS_CUDA,
    .host_addressable = false,
    .alloc = lens_cu_alloc,
    .free = lens_cu_free,
    .upload = lens_cu_upload,
    .download = lens_cu_download,
    .copy = lens_cu_copy,
    .memset_zero = lens_cu_memset_zero,
    .synchronize = lens_cu_synchronize,
    .memory_info = lens_cu_memory_info,
    .matmul = lens_cu_matmul,
    .layernorm = lens_cu_op_layernorm,
    .attention = lens_cu_attention,
    .attn_scores = lens_cu_attn_scores,
    .attn_softmax = lens_cu_op_attn_softmax,
    .attn_z = lens_cu_attn_z,
    .head_results = lens_cu_head_results,
    .activation = lens_cu_op_activation,
    .add = lens_cu_op_add,
    .embed = lens_cu_op_embed,
    .matmul_dx = lens_cu_matmul_dx,
    .layernorm_dx = lens_cu_op_layernorm_dx,
    .attention_dx = lens_cu_attention_dx,
    .activation_dx = lens_cu_op_activation_dx,
    .copy_strided = lens_cu_op_copy_strided,
    .binary_f32 = lens_cu_op_binary,
    .unary_f32 = lens_cu_op_unary,
    .reduce_f32 = lens_cu_op_reduce,
    .softmax_rows = lens_cu_op_softmax_rows,
    .matmul_batched = lens_cu_matmul_batched,
    .fill_f32 = lens_cu_op_fill,
    .gather_rows = lens_cu_op_gather_rows,
    .compare_rows = lens_cu_op_compare_rows,
};

static bool opened;

/* A runtime failure while opening: the reason, with a hint for the usual causes. */
static int open_failed(lens_error *err, const char *what, cudaError_t e)
{
    (void)cudaGetLastError();
    if (e == cudaErrorInsufficientDriver) {
        /* the runtime says this also when there is no driver at all */
        void *driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
        if (!driver)
            return lens_cu_error(err, LENS_CUDA_DEVICE_ERROR_KIND,
                                 "no NVIDIA driver is installed (libcuda.so.1 cannot be loaded)");
        dlclose(driver);
    }
    const char *hint = "";
    if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice)
        hint = " (is an NVIDIA GPU present and its driver loaded? nvidia-smi should list it)";
    return lens_cu_error(err, lens_cu_kind(e), "%s failed: %s%s", what, cudaGetErrorString(e), hint);
}

static int open_device(lens_error *err)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) return open_failed(err, "cudaGetDeviceCount", e);
    if (count == 0) return lens_cu_error(err, LENS_CUDA_DEVICE_ERROR_KIND, "no CUDA device is present");
    struct cudaDeviceProp prop;
    if ((e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess) return open_failed(err, "cudaGetDeviceProperties", e);
    if (prop.major * 10 + prop.minor < MIN_COMPUTE_CAPABILITY)
        return lens_cu_error(err, LENS_CUDA_DEVICE_ERROR_KIND,
                             "the GPU %s has compute capability %d.%d; lens's CUDA kernels need %d.%d or newer",
                             prop.name, prop.major, prop.minor, MIN_COMPUTE_CAPABILITY / 10,
                             MIN_COMPUTE_CAPABILITY % 10);
    if ((e = cudaSetDevice(0)) != cudaSuccess) return open_failed(err, "cudaSetDevice", e);
    cudaStream_t stream;
    if ((e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)) != cudaSuccess)
        return open_failed(err, "cudaStreamCreate", e);
    cublasHandle_t handle;
    cublasStatus_t st = cublasCreate(&handle);
    if (st != CUBLAS_STATUS_SUCCESS) {
        (void)cudaStreamDestroy(stream);   /* cleanup after the failure being reported */
        return lens_cu_error(err, st == CUBLAS_STATUS_ALLOC_FAILED ? LENS_ERR_MEMORY : LENS_CUDA_DEVICE_ERROR_KIND,
                             "cublasCreate failed with status %d", (int)st);
    }
    if ((st = cublasSetStream(handle, stream)) != CUBLAS_STATUS_SUCCESS) {
        (void)cublasDestroy(handle);
        (void)cudaStreamDestroy(stream);
        return lens_cu_error(err, LENS_CUDA_DEVICE_ERROR_KIND, "cublasSetStream failed with status %d", (int)st);
    }
    lens_cu_set_stream(stream);
    lens_cu_set_blas(handle);
    const char *sync = getenv("LENS_CUDA_SYNC");
    lens_cu_set_sync_each(sync && strcmp(sync, "1") == 0);
    const char *precision = getenv("LENS_CUDA_PRECISION");
    if (lens_cu_set_precision(precision && *precision ? precision : "float32", err)) {
        lens_cu_set_blas(NULL);
        lens_cu_set_stream(NULL);
        (void)cublasDestroy(handle);
        (void)cudaStreamDestroy(stream);
        return -1;
    }
    return 0;
}

EXPORT const lens_backend *lens_cuda_backend_open(int abi_version, size_t table_size, size_t error_size,
                                                  lens_error *err)
{
    if (error_size != sizeof(lens_error)) return NULL;   /* err's layout is unknown: the loader says so */
    if (abi_version != LENS_CUDA_ABI_VERSION || table_size != sizeof(lens_backend)) {
        lens_cu_error(err, LENS_ERR_DEVICE,
                      "the CUDA backend library was built for ABI %d (table %zu bytes) but the caller has ABI %d "
                      "(table %zu bytes): rebuild both with `make`",
                      LENS_CUDA_ABI_VERSION, sizeof(lens_backend), abi_version, table_size);
        return NULL;
    }
    if (!opened && open_device(err)) return NULL;
    opened = true;
    return &cuda_table;
}

EXPORT int lens_cuda_set_precision(const char *precision, lens_error *err)
{
    if (!opened) return lens_cu_error(err, LENS_ERR_DEVICE, "the CUDA backend is not open");
    return lens_cu_set_precision(precision, err);
}
