/* arena_pool.c — the activation caches' memory: one mapping per run (huge
 * pages), kept in a small pool when its cache is freed so the next run of a
 * similar size rewrites memory that is already mapped instead of faulting in
 * (and having the kernel zero) a fresh gigabyte.
 *
 * A re-run cell `logits, cache = model.run_with_cache(...)` frees the old cache
 * only after the new one exists, so it alternates between two arenas: the pool
 * holds at most POOL_SLOTS of each kind (caches, and the scratch buffers of a
 * run's unhooked activations). Pooled arenas are marked MADV_FREE (the kernel may
 * take their pages back under memory pressure; a page it took reads as zero,
 * which is fine: a run writes every element it caches), are not pooled when
 * memory is short, and are unmapped after the pool has been idle a while.
 *
 * Each backend (backend.h) has its own pools: on the cpu an arena is a mapping
 * as described; on a device it is a block of the backend's memory (be->alloc),
 * pooled the same way and handed back with be->free.
 *
 * Owns: the pooled mappings and blocks and the thread that releases them when
 * idle. Does not own: the tensors over an arena (their storage's last reference
 * hands the block back here). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "backend.h"
#include "cache_internal.h"
#include "lens/memory.h"

#define POOL_SLOTS 2
#define HUGE_PAGE ((size_t)2 << 20)

#define DEVICES 3   /* lens_device values */

typedef struct arena { void *data; size_t bytes; } arena;
/* What an arena's storage release needs: its backend and kind (the block's size
 * is the storage's nbytes). */
typedef struct pool_key { const lens_backend *be; int kind; } pool_key;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_changed = PTHREAD_COND_INITIALIZER;
/* one pool per device and kind (LENS_ARENA_CACHE, LENS_ARENA_SCRATCH): a run takes one of each */
static arena pools[DEVICES][LENS_ARENA_KINDS][POOL_SLOTS];
static int pool_counts[DEVICES][LENS_ARENA_KINDS];
static pool_key keys[DEVICES][LENS_ARENA_KINDS];
static double pool_idle_seconds = 60.0;
static double pool_last_use;
static bool reaper_started;
static size_t arenas_mapped;   /* fresh cache arenas mapped, for lens_activation_pool_stats */

static int pooled_total(void)
{
    int n = 0;
    for (int dv = 0; dv < DEVICES; dv++)
        for (int k = 0; k < LENS_ARENA_KINDS; k++) n += pool_counts[dv][k];
    return n;
}

static void unmap_block(const lens_backend *be, void *data, size_t bytes)
{
    if (be->host_addressable) munmap(data, bytes);
    else be->free(data, bytes);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* MemAvailable in bytes, or SIZE_MAX when unknown. */
static size_t memory_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return SIZE_MAX;
    char line[256];
    size_t kib = SIZE_MAX;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %zu kB", &kib) == 1) break;
    fclose(f);
    return kib == SIZE_MAX || kib > SIZE_MAX / 1024 ? SIZE_MAX : kib * 1024;
}

/* Unmaps every pooled arena; called with pool_lock held. */
static void drain_locked(void)
{
    for (int dv = 0; dv < DEVICES; dv++)
        for (int k = 0; k < LENS_ARENA_KINDS; k++) {
            for (int i = 0; i < pool_counts[dv][k]; i++)
                unmap_block(keys[dv][k].be, pools[dv][k][i].data, pools[dv][k][i].bytes);
            pool_counts[dv][k] = 0;
        }
}

static void *reaper(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        while (pooled_total() == 0) pthread_cond_wait(&pool_changed, &pool_lock);
        double due = pool_last_use + pool_idle_seconds, t = now_seconds();
        if (t >= due) { drain_locked(); continue; }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double wake = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec + (due - t);
        ts.tv_sec = (time_t)wake;
        ts.tv_nsec = (long)((wake - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&pool_changed, &pool_lock, &ts);
    }
    return NULL;
}

/* The storage release of an arena tensor: back into the pool, or unmapped.
 * bytes: the block's size (a multiple of 2 MiB); ctx: its pool_key. */
static void arena_return(void *data, size_t bytes, void *ctx)
{
    const pool_key *key = ctx;
    const lens_backend *be = key->be;
    int kind = key->kind, dv = (int)be->device;
    arena *pool = pools[dv][kind];
    int pool_n;
    pthread_mutex_lock(&pool_lock);
    pool_n = pool_counts[dv][kind];
    /* device memory is not reclaimed by the kernel: a pooled block is only
     * returned when idle (or by lens_activation_pool_release) */
    bool keep = pool_idle_seconds > 0 && (!be->host_addressable || memory_available() >= 2 * bytes);
    if (keep && pool_n == POOL_SLOTS) {   /* the oldest makes room */
        unmap_block(be, pool[0].data, pool[0].bytes);
        memmove(pool, pool + 1, sizeof pool[0] * (POOL_SLOTS - 1));
        pool_counts[dv][kind] = --pool_n;
    }
    if (keep) {
#ifdef MADV_FREE
        if (be->host_addressable) madvise(data, bytes, MADV_FREE);
#endif
        pool[pool_n++] = (arena){data, bytes};
        pool_last_use = now_seconds();
        pool_counts[dv][kind] = pool_n;
        if (!reaper_started) {
            pthread_t t;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            reaper_started = pthread_create(&t, &attr, reaper, NULL) == 0;
            pthread_attr_destroy(&attr);
        }
        pthread_cond_broadcast(&pool_changed);
    } else unmap_block(be, data, bytes);
    pthread_mutex_unlock(&pool_lock);
}

lens_tensor *lens_arena_take(const lens_backend *be, int64_t elems, lens_arena_kind kind)
{
    int dv = (int)be->device;
    if (dv < 0 || dv >= DEVICES) return NULL;
    arena *pool = pools[dv][kind];
    if (elems <= 0 || (uint64_t)elems > (SIZE_MAX - HUGE_PAGE) / sizeof(float)) return NULL;
    size_t need = ((size_t)elems * sizeof(float) + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    /* what a run holds counts against the process's memory limit, on any device
     * as tensors do (a pooled, idle arena does not); the tensor's storage gives
     * it back when freed */
    size_t want = (size_t)elems * sizeof(float);
    if (lens_mem_reserve(want, NULL, NULL)) {
        char what[96];
        lens_error why;
        snprintf(what, sizeof what, "an activation arena of %lld floats", (long long)elems);
        if (lens_mem_reserve(want, what, &why)) { lens_note_alloc_failure(&why); return NULL; }
    }
    void *data = NULL;
    size_t bytes = 0;
    pthread_mutex_lock(&pool_lock);
    keys[dv][kind] = (pool_key){be, (int)kind};
    /* The smallest pooled arena that fits and wastes at most half of itself. */
    int best = -1;
    for (int i = 0; i < pool_counts[dv][kind]; i++)
        if (pool[i].bytes >= need && pool[i].bytes / 2 <= need && (best < 0 || pool[i].bytes < pool[best].bytes))
            best = i;
    if (best >= 0) {
        data = pool[best].data;
        bytes = pool[best].bytes;
        pool[best] = pool[--pool_counts[dv][kind]];
        pool_last_use = now_seconds();
    }
    pthread_mutex_unlock(&pool_lock);
    if (!data) {
        if (be->host_addressable) {
            data = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (data == MAP_FAILED) data = NULL;
#ifdef MADV_HUGEPAGE
            else madvise(data, need, MADV_HUGEPAGE);
#endif
        } else {
            lens_error why;
            if (!(data = be->alloc(need, &why))) lens_note_alloc_failure(&why);
        }
        if (!data) { lens_mem_release(want); return NULL; }
        bytes = need;
        pthread_mutex_lock(&pool_lock);
        if (kind == LENS_ARENA_CACHE) arenas_mapped++;
        pthread_mutex_unlock(&pool_lock);
    }
    int64_t shape[1] = {elems};
    pool_key *key = &keys[dv][kind];
    lens_tensor *t = lens_tensor_wrap(LENS_F32, 1, shape, data, arena_return, key);
    if (!t) { arena_return(data, bytes, key); lens_mem_release(want); return NULL; }
    t->storage->nbytes = bytes;
    t->storage->device = be->device;
    t->storage->reserved = want;
    return t;
}

void lens_activation_pool_stats(lens_activation_pool_info *out)
{
    pthread_mutex_lock(&pool_lock);
    out->pooled = 0;
    out->pooled_bytes = 0;
    for (int dv = 0; dv < DEVICES; dv++) {
        out->pooled += pool_counts[dv][LENS_ARENA_CACHE];
        for (int i = 0; i < pool_counts[dv][LENS_ARENA_CACHE]; i++)
            out->pooled_bytes += pools[dv][LENS_ARENA_CACHE][i].bytes;
    }
    out->mapped = arenas_mapped;
    pthread_mutex_unlock(&pool_lock);
}

void lens_activation_pool_release(void)
{
    pthread_mutex_lock(&pool_lock);
    drain_locked();
    pthread_mutex_unlock(&pool_lock);
}

void lens_set_activation_pool_idle(double seconds)
{
    pthread_mutex_lock(&pool_lock);
    pool_idle_seconds = seconds;
    if (seconds <= 0) drain_locked();
    pthread_cond_broadcast(&pool_changed);
    pthread_mutex_unlock(&pool_lock);
}
