/* memory.c — the process's memory budget (see lens/memory.h).
 * Owns: the count of reserved bytes, the MemoryError text, and the per-thread
 * reason the last tensor constructor failed. Does not own: the limit's value
 * (resources.c reads $LENS_MEMORY_LIMIT) or any allocation. */
#include "lens/memory.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lens/model.h"

static _Atomic size_t in_use;

const char *lens_human_bytes(size_t b, char *out, size_t size)
{
    if (b >= ((size_t)1 << 30)) snprintf(out, size, "%.2f GiB", (double)b / (double)((size_t)1 << 30));
    else if (b >= ((size_t)1 << 20)) snprintf(out, size, "%.1f MiB", (double)b / (double)(1 << 20));
    else snprintf(out, size, "%zu bytes", b);
    return out;
}

int lens_mem_reserve(size_t bytes, const char *what, lens_error *err)
{
    size_t limit = lens_memory_limit();
    size_t cur = atomic_load(&in_use);
    for (;;) {
        if (bytes > limit || cur > limit - bytes) {
            char a[32], b[32], c[32];
            return lens_fail_kind(err, LENS_ERR_MEMORY,
                                  "cannot allocate %s for %s: %s of the %s memory limit is in use "
                                  "(LENS_MEMORY_LIMIT)",
                                  lens_human_bytes(bytes, a, sizeof a), what ? what : "memory",
                                  lens_human_bytes(cur, b, sizeof b), lens_human_bytes(limit, c, sizeof c));
        }
        if (atomic_compare_exchange_weak(&in_use, &cur, cur + bytes)) return 0;
    }
}

void lens_mem_release(size_t bytes)
{
    /* Saturates at 0: a release without its reservation must not turn the count
     * into a huge number that refuses every later allocation. */
    size_t cur = atomic_load(&in_use);
    while (!atomic_compare_exchange_weak(&in_use, &cur, cur > bytes ? cur - bytes : 0)) {}
}

size_t lens_mem_in_use(void) { return atomic_load(&in_use); }

static _Thread_local lens_error last_failure;

void lens_note_alloc_failure(const lens_error *why)
{
    last_failure = *why;
}

int lens_fail_alloc(lens_error *err)
{
    if (!err) return -1;   /* the reason stays for a caller further up */
    if (!last_failure.msg[0]) return lens_fail_oom(err);
    *err = last_failure;
    last_failure.msg[0] = 0;
    return -1;
}
