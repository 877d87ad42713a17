/* lens/memory.h — the process's memory budget.
 *
 * Owns: one count of the bytes a session holds in large allocations (every tensor's
 * storage, activation caches and logits included, and the language's strings and
 * lists) against one limit, lens_memory_limit() ($LENS_MEMORY_LIMIT, default 3/4
 * of RAM). Does not own: the allocations themselves (callers malloc after a
 * successful reservation and release exactly what they reserved when they free).
 *
 *     if (lens_mem_reserve(n, "a string", err)) return NULL;   // MemoryError text in err
 *     char *s = malloc(n);
 *     if (!s) { lens_mem_release(n); ... }
 *     ...
 *     free(s); lens_mem_release(n);
 *
 * Thread-safe (the forward pass allocates from OpenMP workers).
 */
#ifndef LENS_MEMORY_H
#define LENS_MEMORY_H

#include <stddef.h>

#include "lens/error.h"

/* Counts bytes against the limit; fails (LENS_ERR_MEMORY) with a message stating the
 * size requested, the size in use and the limit, e.g. "cannot allocate 22.35 GiB for
 * a tensor of shape [3000000000, 2]: 1.02 GiB of the 3.00 GiB memory limit is in use
 * (LENS_MEMORY_LIMIT)". what may be NULL ("memory"). */
int lens_mem_reserve(size_t bytes, const char *what, lens_error *err);
/* Gives back bytes reserved earlier. */
void lens_mem_release(size_t bytes);
/* Bytes reserved now. */
size_t lens_mem_in_use(void);

/* "1.50 GiB", "12.0 MiB", "512 bytes" into out. */
const char *lens_human_bytes(size_t bytes, char *out, size_t size);

/* The reason the last lens_tensor_new / lens_tensor_view on this thread returned
 * NULL (over the memory limit, a shape too large, out of memory), copied into err
 * with its kind; "out of memory" when there is none. Returns -1, for
 * `return lens_fail_alloc(err);` after a constructor failed. */
int lens_fail_alloc(lens_error *err);
/* Records why a constructor failed (the engine's constructors call it). */
void lens_note_alloc_failure(const lens_error *why);

#endif
