/* resources.c — the limits the process works within: the memory limit (whose
 * count lens/memory.h keeps), the number of threads for BLAS and the engine's
 * loops (OpenBLAS itself is kept to one thread: the tiled products of
 * backend_cpu_gemm.c share the threads), and how those threads wait
 * (passively, so idle or competing kernels do not spin).
 *
 * Owns: LENS_MEMORY_LIMIT, LENS_NUM_THREADS and the OpenMP wait policy.
 * Does not own: the threads themselves (the OpenMP runtime and OpenBLAS), the
 * count of bytes in use (memory.c). */
#include <cblas.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lens/model.h"

static size_t memory_limit_bytes;
static int num_threads;

/* "8G", "512M", "64k", "123" -> bytes; 0 when unparsable. */
static size_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0) return 0;
    switch (*end) {
    case 'k': case 'K': v *= 1024.0; break;
    case 'm': case 'M': v *= 1024.0 * 1024; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
    case 't': case 'T': v *= 1024.0 * 1024 * 1024 * 1024; break;
    default: break;
    }
    return (size_t)v;
}

size_t lens_memory_limit(void)
{
    if (memory_limit_bytes) return memory_limit_bytes;
    const char *env = getenv("LENS_MEMORY_LIMIT");
    size_t v = env ? parse_size(env) : 0;
    if (!v) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
        v = (pages > 0 && page > 0) ? (size_t)pages / 4 * 3 * (size_t)page : (size_t)8 << 30;
    }
    memory_limit_bytes = v;
    return v;
}

void lens_set_memory_limit(size_t bytes) { memory_limit_bytes = bytes; }

/* A positive integer from the environment, or 0. */
static int env_count(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    return (*end == '\0' || *end == ',') && v > 0 && v <= 4096 ? (int)v : 0;
}

/* CPUs a cgroup v2 quota allows ("max 100000" or "200000 100000"), or 0. */
static int cgroup_cpu_quota(void)
{
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (!f) return 0;
    char quota[32] = "";
    long period = 0;
    int n = fscanf(f, "%31s %ld", quota, &period);
    fclose(f);
    if (n != 2 || period <= 0 || !strcmp(quota, "max")) return 0;
    long q = strtol(quota, NULL, 10);
    return q > 0 ? (int)((q + period - 1) / period) : 0;
}

int lens_default_num_threads(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    int quota = cgroup_cpu_quota();
    if (quota > 0 && quota < n) n = quota;
    return n > LENS_MAX_DEFAULT_THREADS ? LENS_MAX_DEFAULT_THREADS : n;
}

int lens_num_threads(void)
{
    if (num_threads > 0) return num_threads;
    int n = env_count("LENS_NUM_THREADS");
    if (!n) n = env_count("OMP_NUM_THREADS");
    if (!n) n = lens_default_num_threads();
    lens_set_num_threads(n);
    return num_threads;
}

void lens_set_num_threads(int n)
{
    if (n < 1) n = 1;
    num_threads = n;
    /* The engine's tiles are the parallel work (backend_cpu_gemm.c). OpenBLAS's
     * OpenMP build sets the OpenMP thread count too, so it goes first. */
    openblas_set_num_threads(1);
    omp_set_num_threads(n);
}

bool lens_thread_wait_policy_set(void)
{
    const char *policy = getenv("OMP_WAIT_POLICY");
    return getenv("GOMP_SPINCOUNT") || (policy && *policy);
}

void lens_exec_with_passive_threads(char **argv)
{
    if (lens_thread_wait_policy_set()) return;
    /* The OpenMP runtime read its settings when the program was loaded, before
     * main: the only way to change them is to start again with them set. */
    if (setenv("OMP_WAIT_POLICY", "passive", 0)) return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on with the runtime's default waiting. */
}
