/* backend_cuda_loader.c — finds and opens the CUDA backend library at run time.
 *
 * Owns: lens_backend_cuda() (the cached result of the first attempt and its
 * reason), the library search path and the ABI check, and forwarding the
 * precision switch. Does not own: anything CUDA (kernels/ builds liblens-cuda.so;
 * this file never includes a CUDA header, so build/lens loads without CUDA
 * libraries) or choosing between backends (the registry).
 *
 * Without an NVIDIA driver (libcuda.so.1) nothing more is loaded. Search order
 * for liblens-cuda.so: the folder of the running executable, then
 * $LENS_LIB_DIR, then the executable's ../lib (an installed PREFIX/bin/lens finds
 * PREFIX/lib). A build made without nvcc has no library to look for.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_cuda.h"

static void *loaded_handle;   /* the library whose table lens_backend_cuda returned; never closed */
static void *refused_handle;  /* a backend library that found no usable device; kept loaded */

const lens_backend *lens_cuda_load_library(const char *path, lens_error *err)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        lens_fail(err, "cannot load the CUDA backend %s: %s", path, why ? why : "unknown error");
        return NULL;
    }
    const int *abi = (const int *)dlsym(h, LENS_CUDA_ABI_SYMBOL);
    lens_cuda_open_fn open_fn = NULL;
    void *sym = dlsym(h, LENS_CUDA_OPEN_SYMBOL);
    memcpy(&open_fn, &sym, sizeof open_fn);   /* object to function pointer, as POSIX allows */
    if (!abi || !open_fn) {
        lens_fail(err, "%s is not a lens CUDA backend (it has no %s)", path,
                  abi ? LENS_CUDA_OPEN_SYMBOL : LENS_CUDA_ABI_SYMBOL);
        dlclose(h);
        return NULL;
    }
    if (*abi != LENS_CUDA_ABI_VERSION) {
        lens_fail(err, "%s has backend ABI version %d but this lens needs %d: rebuild both with `make`",
                  path, *abi, LENS_CUDA_ABI_VERSION);
        dlclose(h);
        return NULL;
    }
    lens_fail(err, "%s did not open and gave no reason (its lens_error differs from this lens's: rebuild both)", path);
    const lens_backend *b = open_fn(LENS_CUDA_ABI_VERSION, sizeof(lens_backend), sizeof(lens_error), err);
    /* The backend library stays loaded even when no device is usable: unloading
     * cuBLAS would orphan what its static initialisers allocated. dlopen counts
     * references, so loading it again returns the same handle. */
    if (!b) {
        if (!refused_handle) refused_handle = h;
        return NULL;
    }
    if (!loaded_handle) loaded_handle = h;
    return b;
}

#ifdef LENS_HAVE_CUDA
/* Folder of the running executable into out (no trailing slash); 0 or -1. */
static int exe_dir(char *out, size_t cap)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash) return -1;
    *slash = 0;
    if ((size_t)snprintf(out, cap, "%s", buf) >= cap) return -1;
    return 0;
}

/* Appends dir to the list of places looked in (for the message). */
static void note_place(char *tried, size_t cap, const char *dir)
{
    size_t len = strlen(tried);
    if (len < cap) snprintf(tried + len, cap - len, "%s%s", len ? ", " : "", dir);
}

/* The driver is looked for first: without one, the backend library (whose
 * cuBLAS takes most of a second to load) is never opened, so a machine without
 * a GPU pays well under a millisecond to learn it. The driver stays loaded.
 * $LENS_CUDA_DRIVER names another file to probe (a driver outside the loader's
 * path; the tests). */
static bool driver_present(lens_error *err)
{
    static void *driver;
    const char *name = getenv("LENS_CUDA_DRIVER");
    if (!name || !*name) name = "libcuda.so.1";
    if (!driver) driver = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
    if (driver) return true;
    lens_fail(err, "no NVIDIA driver is installed (%s cannot be loaded)", name);
    return false;
}

/* The first candidate file that exists is opened; its failure is the answer. */
static const lens_backend *find_and_open(lens_error *err)
{
    if (!driver_present(err)) return NULL;
    char dirs[3][PATH_MAX];
    int ndirs = 0;
    char exe[PATH_MAX];
    bool have_exe = exe_dir(exe, sizeof exe) == 0;
    if (have_exe) snprintf(dirs[ndirs++], PATH_MAX, "%s", exe);
    const char *env = getenv("LENS_LIB_DIR");
    if (env && *env && strlen(env) < PATH_MAX) snprintf(dirs[ndirs++], PATH_MAX, "%s", env);
    if (have_exe && strlen(exe) + 4 < PATH_MAX) snprintf(dirs[ndirs++], PATH_MAX, "%s/../lib", exe);

    char tried[2048] = "";
    for (int i = 0; i < ndirs; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", dirs[i], LENS_CUDA_LIBRARY);
        note_place(tried, sizeof tried, dirs[i]);
        if (access(path, F_OK) == 0) return lens_cuda_load_library(path, err);
    }
    lens_fail(err, "the CUDA backend library %s was not found (looked in %s; set LENS_LIB_DIR to its folder)",
              LENS_CUDA_LIBRARY, tried[0] ? tried : "no folder");
    return NULL;
}
#endif

#ifdef LENS_HAVE_CUDA
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const lens_backend *cached;
static lens_error cached_err;

static void load_once(void)
{
    cached = find_and_open(&cached_err);
}

const lens_backend *lens_backend_cuda(lens_error *err)
{
    pthread_once(&once, load_once);
    if (!cached && err) *err = cached_err;
    return cached;
}
#endif

int lens_backend_cuda_set_precision(const char *precision, lens_error *err)
{
    if (!lens_backend_cuda(err)) return -1;
    lens_cuda_precision_fn fn = NULL;
    void *sym = dlsym(loaded_handle, LENS_CUDA_PRECISION_SYMBOL);
    memcpy(&fn, &sym, sizeof fn);
    if (!fn) return lens_fail(err, "the CUDA backend has no precision switch (%s)", LENS_CUDA_PRECISION_SYMBOL);
    return fn(precision, err);
}
