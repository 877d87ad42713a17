/* resources.c — the limits the process works within: the memory limit (whose
 * count lens/memory.h keeps) and the number of threads for BLAS and the engine's
 * loops. */
#include <cblas.h>
#include <omp.h>
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

int lens_num_threads(void)
{
    if (num_threads > 0) return num_threads;
    const char *env = getenv("LENS_NUM_THREADS");
    int n = env ? atoi(env) : 0;
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    lens_set_num_threads(n);
    return num_threads;
}

void lens_set_num_threads(int n)
{
    if (n < 1) n = 1;
    num_threads = n;
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
}
