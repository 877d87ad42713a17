/* test_cuda_loader.c — the engine's side of the CUDA backend on any machine: the
 * library that `make` builds when nvcc is found exports the entry symbols with
 * this engine's ABI version; the loader refuses a missing file, a library that
 * is not the backend, and another ABI version (a fake library, either build) with
 * clear messages; without a usable GPU
 * (no driver, as on CI) lens_backend_cuda() returns NULL with the reason, every
 * time, and never crashes; with one, the table is complete and memory round-trips.
 * Without a driver the loader loads nothing more. A build without nvcc reports
 * that it has no CUDA.
 *
 * Each lens_backend_cuda() scenario runs in a child process, since the loader
 * decides once per process. */
#include <dlfcn.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "../../engine/backend_cuda.h"

/* The build folder: this program is BUILD/tests/test_cuda_loader. */
static void build_dir(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    for (int i = 0; i < 2; i++) {
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
    }
    snprintf(out, cap, "%s", exe);
}

/* Runs fn in a child; its exit status is the number of failed checks there. */
static int in_child(int (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) exit(fn());   /* exit, not _exit: LeakSanitizer checks the child too */
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

#define CHILD_CHECK(cond, ...)                                  \
    do {                                                        \
        if (!(cond)) {                                          \
            fprintf(stderr, "  child FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            harness_note("" __VA_ARGS__);                       \
            fprintf(stderr, "\n");                              \
            failures++;                                         \
        }                                                       \
    } while (0)

/* The version is checked before the library's open function is called. */
static void test_loader_refuses_another_abi_version(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    build_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/tests/libfake_cuda_backend.so", dir);
    lens_error err = {0};
    CHECK(lens_cuda_load_library(path, &err) == NULL);
    char want[PATH_MAX + 200];
    snprintf(want, sizeof want, "%s has backend ABI version 999 but this lens needs %d: rebuild both with `make`",
             path, LENS_CUDA_ABI_VERSION);
    CHECK(strcmp(err.msg, want) == 0, "%s", err.msg);
}

static void test_loader_refuses_missing_file(void)
{
    lens_error err = {0};
    CHECK(lens_cuda_load_library("/nonexistent/liblens-cuda.so", &err) == NULL);
    CHECK(strstr(err.msg, "cannot load the CUDA backend /nonexistent/liblens-cuda.so") != NULL, "%s", err.msg);
}

static void test_loader_refuses_a_library_that_is_not_the_backend(void)
{
    lens_error err = {0};
    CHECK(lens_cuda_load_library("libm.so.6", &err) == NULL);
    CHECK(strcmp(err.msg, "libm.so.6 is not a lens CUDA backend (it has no lens_cuda_abi_version)") == 0, "%s",
          err.msg);
}

#ifdef LENS_HAVE_CUDA

static void library_path(char *out, size_t cap)
{
    char dir[PATH_MAX];
    build_dir(dir, sizeof dir);
    snprintf(out, cap, "%s/%s", dir, LENS_CUDA_LIBRARY);
}

static void test_library_exports_entry_and_abi(void)
{
    char path[PATH_MAX + 32];
    library_path(path, sizeof path);
    CHECK(access(path, R_OK) == 0, "%s was not built", path);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL, "dlopen: %s", dlerror());
    if (!h) return;
    const int *abi = dlsym(h, LENS_CUDA_ABI_SYMBOL);
    CHECK(abi && *abi == LENS_CUDA_ABI_VERSION, "ABI %d, want %d", abi ? *abi : -1, LENS_CUDA_ABI_VERSION);
    CHECK(dlsym(h, LENS_CUDA_OPEN_SYMBOL) != NULL);
    CHECK(dlsym(h, LENS_CUDA_PRECISION_SYMBOL) != NULL);
    /* the kernels' host helpers stay private to the library */
    CHECK(dlsym(h, "lens_cu_matmul") == NULL);
    CHECK(dlsym(h, "lens_cu_stream") == NULL);
    /* not closed: unloading cuBLAS orphans its static allocations (the loader keeps it too) */
}

static void test_library_refuses_other_abi(void)
{
    char path[PATH_MAX + 32];
    library_path(path, sizeof path);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL, "dlopen: %s", dlerror());
    if (!h) return;
    lens_cuda_open_fn open_fn = NULL;
    void *sym = dlsym(h, LENS_CUDA_OPEN_SYMBOL);
    memcpy(&open_fn, &sym, sizeof open_fn);
    lens_error err = {0};
    CHECK(open_fn(LENS_CUDA_ABI_VERSION + 1, sizeof(lens_backend), sizeof(lens_error), &err) == NULL);
    CHECK(strstr(err.msg, "built for ABI 1") && strstr(err.msg, "caller has ABI 2"), "%s", err.msg);
    memset(&err, 0, sizeof err);
    CHECK(open_fn(LENS_CUDA_ABI_VERSION, sizeof(lens_backend) - 8, sizeof(lens_error), &err) == NULL);
    CHECK(strstr(err.msg, "rebuild both") != NULL, "%s", err.msg);
    /* the right ABI: a device is usable, or the library's own reason (without a
     * driver: found by the runtime, not the loader's probe) */
    memset(&err, 0, sizeof err);
    const lens_backend *b = open_fn(LENS_CUDA_ABI_VERSION, sizeof(lens_backend), sizeof(lens_error), &err);
    if (!b)
        CHECK(strcmp(err.msg, "no NVIDIA driver is installed (libcuda.so.1 cannot be loaded)") == 0 ||
                  strstr(err.msg, "no CUDA device is present") || strstr(err.msg, "cudaGetDeviceCount failed: ") ||
                  strstr(err.msg, "compute capability"),
              "%s", err.msg);
    else
        CHECK(strcmp(b->name, "cuda") == 0);
    /* a different lens_error layout: nothing is written into it */
    memset(&err, 0, sizeof err);
    CHECK(open_fn(LENS_CUDA_ABI_VERSION, sizeof(lens_backend), sizeof(lens_error) + 4, &err) == NULL);
    CHECK(err.msg[0] == 0, "%s", err.msg);
}

/* No usable device: the reason names it, and stays the same. */
static int check_no_device(const lens_error *err)
{
    int failures = 0;
    CHILD_CHECK(strstr(err->msg, "no NVIDIA driver is installed") || strstr(err->msg, "no CUDA device is present") ||
                    strstr(err->msg, "cudaGetDeviceCount failed: ") || strstr(err->msg, "compute capability"),
                "%s", err->msg);
    lens_error again = {0};
    CHILD_CHECK(lens_backend_cuda(&again) == NULL);
    CHILD_CHECK(strcmp(again.msg, err->msg) == 0, "%s / %s", again.msg, err->msg);
    lens_error perr = {0};
    CHILD_CHECK(lens_backend_cuda_set_precision("tf32", &perr) == -1);
    CHILD_CHECK(strcmp(perr.msg, err->msg) == 0, "%s", perr.msg);
    fprintf(stderr, "  (no device here: %s)\n", err->msg);
    return failures;
}

/* A usable device: a complete table, a memory round trip through one operation,
 * the precision switch. */
static int check_usable(const lens_backend *b)
{
    int failures = 0;
    lens_error err = {0};
    CHILD_CHECK(strcmp(b->name, "cuda") == 0 && b->device == LENS_CUDA && !b->host_addressable);
    void *const *entries = (void *const *)&b->alloc;
    size_t n = (sizeof *b - offsetof(lens_backend, alloc)) / sizeof(void *);
    for (size_t i = 0; i < n; i++) CHILD_CHECK(entries[i] != NULL, "table entry %zu is NULL", i);
    float host[37], back[37];
    for (int i = 0; i < 37; i++) host[i] = (float)i * 0.5f - 3.0f;
    float *dev = b->alloc(sizeof host, &err);
    CHILD_CHECK(dev != NULL, "%s", err.msg);
    if (dev) {
        CHILD_CHECK(b->upload(dev, host, sizeof host, &err) == 0, "%s", err.msg);
        b->unary_f32(LENS_OP_NEG, dev, dev, 37);
        CHILD_CHECK(b->download(back, dev, sizeof back, &err) == 0, "%s", err.msg);
        for (int i = 0; i < 37; i++) CHILD_CHECK(back[i] == -host[i], "element %d: %g", i, back[i]);
        b->free(dev, sizeof host);
    }
    lens_error perr = {0};
    CHILD_CHECK(lens_backend_cuda_set_precision("tf32", &perr) == 0, "%s", perr.msg);
    CHILD_CHECK(lens_backend_cuda_set_precision("fp8", &perr) == -1);
    CHILD_CHECK(strcmp(perr.msg, "unknown CUDA precision 'fp8' (choose float32 or tf32)") == 0, "%s", perr.msg);
    CHILD_CHECK(lens_backend_cuda_set_precision("float32", &perr) == 0, "%s", perr.msg);
    return failures;
}

/* LENS_LIB_DIR names the build folder (the program's own folder has no library). */
static int child_from_build_dir(void)
{
    char dir[PATH_MAX];
    build_dir(dir, sizeof dir);
    setenv("LENS_LIB_DIR", dir, 1);
    lens_error err = {0};
    const lens_backend *b = lens_backend_cuda(&err);
    return b ? check_usable(b) : check_no_device(&err);
}

/* Past the loader's driver probe (LENS_CUDA_DRIVER names a library that loads):
 * the backend library itself is opened and gives its reason, or the table. */
static int child_past_the_driver_probe(void)
{
    char dir[PATH_MAX];
    build_dir(dir, sizeof dir);
    setenv("LENS_LIB_DIR", dir, 1);
    setenv("LENS_CUDA_DRIVER", "libm.so.6", 1);
    lens_error err = {0};
    const lens_backend *b = lens_backend_cuda(&err);
    int failures = b ? check_usable(b) : check_no_device(&err);
    char lib[PATH_MAX + 32];
    snprintf(lib, sizeof lib, "%s/%s", dir, LENS_CUDA_LIBRARY);
    CHILD_CHECK(dlopen(lib, RTLD_NOW | RTLD_NOLOAD) != NULL, "the backend library was not loaded");
    return failures;
}

static void test_backend_cuda_library_opens_past_the_probe(void)
{
    CHECK(in_child(child_past_the_driver_probe) == 0);
}

/* Without a driver the library is never loaded. */
static int child_no_driver(void)
{
    int failures = 0;
    setenv("LENS_CUDA_DRIVER", "libnonexistent-driver.so.1", 1);
    lens_error err = {0};
    CHILD_CHECK(lens_backend_cuda(&err) == NULL);
    CHILD_CHECK(strcmp(err.msg, "no NVIDIA driver is installed (libnonexistent-driver.so.1 cannot be loaded)") == 0,
                "%s", err.msg);
    char dir[PATH_MAX], lib[PATH_MAX + 32];
    build_dir(dir, sizeof dir);
    snprintf(lib, sizeof lib, "%s/%s", dir, LENS_CUDA_LIBRARY);
    CHILD_CHECK(dlopen(lib, RTLD_NOW | RTLD_NOLOAD) == NULL, "the backend library was loaded");
    return failures;
}

static void test_backend_cuda_without_driver_loads_nothing(void)
{
    CHECK(in_child(child_no_driver) == 0);
}

static void test_backend_cuda_from_build_dir(void)
{
    CHECK(in_child(child_from_build_dir) == 0);
}

static int child_not_found(void)
{
    int failures = 0;
    setenv("LENS_LIB_DIR", "/nonexistent-lens-lib", 1);
    setenv("LENS_CUDA_DRIVER", "libm.so.6", 1);   /* past the driver probe */
    lens_error err = {0};
    CHILD_CHECK(lens_backend_cuda(&err) == NULL);
    CHILD_CHECK(strstr(err.msg, "the CUDA backend library liblens-cuda.so was not found (looked in ") &&
                    strstr(err.msg, "/nonexistent-lens-lib, ") && strstr(err.msg, "set LENS_LIB_DIR"),
                "%s", err.msg);
    return failures;
}

static void test_backend_cuda_library_not_found(void)
{
    CHECK(in_child(child_not_found) == 0);
}

#else /* built without nvcc */

static int child_without_cuda(void)
{
    int failures = 0;
    lens_error err = {0};
    CHILD_CHECK(lens_backend_cuda(&err) == NULL);
    CHILD_CHECK(strcmp(err.msg, "this build has no CUDA backend (it was compiled without nvcc)") == 0, "%s", err.msg);
    lens_error perr = {0};
    CHILD_CHECK(lens_backend_cuda_set_precision("tf32", &perr) == -1);
    CHILD_CHECK(strcmp(perr.msg, err.msg) == 0, "%s", perr.msg);
    return failures;
}

static void test_build_without_cuda_says_so(void)
{
    CHECK(in_child(child_without_cuda) == 0);
}

#endif

int main(void)
{
    RUN(test_loader_refuses_another_abi_version);
    RUN(test_loader_refuses_missing_file);
    RUN(test_loader_refuses_a_library_that_is_not_the_backend);
#ifdef LENS_HAVE_CUDA
    RUN(test_backend_cuda_without_driver_loads_nothing);   /* first: nothing of CUDA is loaded yet */
    RUN(test_library_exports_entry_and_abi);
    RUN(test_library_refuses_other_abi);
    RUN(test_backend_cuda_from_build_dir);
    RUN(test_backend_cuda_library_opens_past_the_probe);
    RUN(test_backend_cuda_library_not_found);
#else
    RUN(test_build_without_cuda_says_so);
#endif
    return harness_summary();
}
