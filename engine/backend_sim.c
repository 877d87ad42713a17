/* backend_sim.c — the simulated device: a backend whose memory host code cannot
 * touch, for proving on machines without a GPU that the engine reaches device
 * data only through backend operations.
 *
 * Its memory is one reserved mapping of its own, kept PROT_NONE except while one
 * of its operations runs: each operation makes the blocks its pointers fall in
 * readable and writable (found in the table of allocated blocks; a block opened
 * by several running operations stays open until the last one ends), runs the
 * cpu implementation and protects them again, so any host read or write of a
 * "device" pointer faults at once, and an operation costs what its own blocks
 * cost, not the whole mapping. Every
 * operation also checks that the device pointers it is given lie inside the
 * mapping: a host pointer handed to a device operation is refused (memory
 * operations fail at once, compute operations record the failure for the next
 * synchronize, as a GPU would report it) instead of silently working.
 *
 * Owns: the sim table, its allocator (page-granular first fit over the mapping,
 * freed pages returned to the system so new blocks are zero), the table of
 * allocated blocks and the protect/unprotect bracket. Does not own: the arithmetic (the cpu backend's) or
 * the memory limit (callers count device bytes as host ones: memory.c). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"

#define SIM_PAGE ((size_t)4096)

typedef struct {
    size_t off, len;
} extent;

typedef struct {
    size_t off, len;
    int open;            /* running operations that use it (accessible while > 0) */
} block;

static struct {
    pthread_mutex_t lock;
    char *base;          /* the reserved mapping (NULL until the first allocation) */
    size_t reserved;     /* its size */
    size_t top;          /* bytes from base ever handed out and not given back at the end */
    extent *holes;       /* freed extents below top, sorted by offset, coalesced */
    size_t nholes, cap;
    block *blocks;       /* allocated blocks, sorted by offset */
    size_t nblocks, blocks_cap;
    lens_error failure;  /* the first failure of a compute operation since synchronize */
    bool failed;
} sim = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const lens_backend *cpu(void) { return lens_backend_cpu(); }

/* Reserves the address space once: as much as the system gives, from 1 TiB down
 * to 1 GiB (no memory is committed until pages are touched). */
static int reserve_locked(lens_error *err)
{
    if (sim.base) return 0;
    for (size_t size = (size_t)1 << 40; size >= ((size_t)1 << 30); size /= 2) {
        void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            sim.base = p;
            sim.reserved = size;
            return 0;
        }
    }
    return lens_fail_kind(err, LENS_ERR_MEMORY, "sim device: cannot reserve address space for its memory (%s)",
                          strerror(errno));
}

/* The allocated block holding p, or NULL. */
static block *block_of_locked(const void *p)
{
    const char *c = p;
    if (!sim.base || c < sim.base) return NULL;
    size_t off = (size_t)(c - sim.base), lo = 0, hi = sim.nblocks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sim.blocks[mid].off + sim.blocks[mid].len <= off) lo = mid + 1;
        else hi = mid;
    }
    return lo < sim.nblocks && sim.blocks[lo].off <= off ? &sim.blocks[lo] : NULL;
}

static int add_block_locked(size_t off, size_t len)
{
    if (sim.nblocks == sim.blocks_cap) {
        size_t cap = sim.blocks_cap ? sim.blocks_cap * 2 : 256;
        block *b = realloc(sim.blocks, cap * sizeof *b);
        if (!b) return -1;
        sim.blocks = b;
        sim.blocks_cap = cap;
    }
    size_t i = sim.nblocks;
    while (i > 0 && sim.blocks[i - 1].off > off) i--;
    memmove(&sim.blocks[i + 1], &sim.blocks[i], (sim.nblocks - i) * sizeof *sim.blocks);
    sim.blocks[i] = (block){off, len, 0};
    sim.nblocks++;
    return 0;
}

/* The bracket around every operation: the blocks of its n pointers (NULL ones
 * skipped) are accessible inside it. */
static void open_blocks(int n, const void *const *ptrs)
{
    pthread_mutex_lock(&sim.lock);
    for (int i = 0; i < n; i++) {
        block *b = ptrs[i] ? block_of_locked(ptrs[i]) : NULL;
        if (b && b->open++ == 0) mprotect(sim.base + b->off, b->len, PROT_READ | PROT_WRITE);
    }
    pthread_mutex_unlock(&sim.lock);
}

static void close_blocks(int n, const void *const *ptrs)
{
    pthread_mutex_lock(&sim.lock);
    for (int i = 0; i < n; i++) {
        block *b = ptrs[i] ? block_of_locked(ptrs[i]) : NULL;
        if (b && b->open > 0 && --b->open == 0) mprotect(sim.base + b->off, b->len, PROT_NONE);
    }
    pthread_mutex_unlock(&sim.lock);
}

#define PTRS(...) (int)(sizeof((const void *[]){__VA_ARGS__}) / sizeof(const void *)), (const void *[]){__VA_ARGS__}

static size_t page_round(size_t n, bool *ok)
{
    size_t r = n ? n : 1;
    *ok = r <= SIZE_MAX - (SIM_PAGE - 1);
    return *ok ? (r + SIM_PAGE - 1) / SIM_PAGE * SIM_PAGE : 0;
}

static int add_hole_locked(size_t off, size_t len);

static void *sim_alloc(size_t nbytes, lens_error *err)
{
    bool ok;
    size_t len = page_round(nbytes, &ok);
    if (!ok) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "sim device: cannot allocate %zu bytes", nbytes);
        return NULL;
    }
    pthread_mutex_lock(&sim.lock);
    void *p = NULL;
    if (reserve_locked(err)) goto out;
    for (size_t i = 0; i < sim.nholes; i++) {
        extent *h = &sim.holes[i];
        if (h->len < len) continue;
        p = sim.base + h->off;
        h->off += len;
        h->len -= len;
        if (!h->len) {
            memmove(h, h + 1, (sim.nholes - i - 1) * sizeof *h);
            sim.nholes--;
        }
        break;
    }
    if (!p) {
        if (len > sim.reserved - sim.top) {
            lens_fail_kind(err, LENS_ERR_MEMORY, "sim device: out of memory allocating %zu bytes (%zu of %zu in use)",
                           nbytes, sim.top, sim.reserved);
            goto out;
        }
        p = sim.base + sim.top;
        sim.top += len;
    }
    /* Pages come zero (never touched, or given back by sim_free) and PROT_NONE. */
    if (add_block_locked((size_t)((char *)p - sim.base), len)) {
        add_hole_locked((size_t)((char *)p - sim.base), len);
        lens_fail_kind(err, LENS_ERR_MEMORY, "sim device: out of memory for its block table");
        p = NULL;
    }
out:
    pthread_mutex_unlock(&sim.lock);
    return p;
}

static bool inside(const void *p, size_t nbytes)
{
    const char *c = p;
    return sim.base && c >= sim.base && (size_t)(c - sim.base) <= sim.top && nbytes <= sim.top - (size_t)(c - sim.base);
}

/* Puts [off, off + len) back: merged with its neighbours, the top lowered when it
 * ends there. */
static int add_hole_locked(size_t off, size_t len)
{
    size_t i = 0;
    while (i < sim.nholes && sim.holes[i].off < off) i++;
    bool join_prev = i > 0 && sim.holes[i - 1].off + sim.holes[i - 1].len == off;
    bool join_next = i < sim.nholes && off + len == sim.holes[i].off;
    if (join_prev && join_next) {
        sim.holes[i - 1].len += len + sim.holes[i].len;
        memmove(&sim.holes[i], &sim.holes[i + 1], (sim.nholes - i - 1) * sizeof *sim.holes);
        sim.nholes--;
    } else if (join_prev) {
        sim.holes[i - 1].len += len;
    } else if (join_next) {
        sim.holes[i].off = off;
        sim.holes[i].len += len;
    } else {
        if (sim.nholes == sim.cap) {
            size_t cap = sim.cap ? sim.cap * 2 : 64;
            extent *h = realloc(sim.holes, cap * sizeof *h);
            if (!h) return -1;   /* the extent stays allocated: leaked, never reused */
            sim.holes = h;
            sim.cap = cap;
        }
        memmove(&sim.holes[i + 1], &sim.holes[i], (sim.nholes - i) * sizeof *sim.holes);
        sim.holes[i] = (extent){off, len};
        sim.nholes++;
    }
    if (sim.nholes && sim.holes[sim.nholes - 1].off + sim.holes[sim.nholes - 1].len == sim.top) {
        sim.top = sim.holes[sim.nholes - 1].off;
        sim.nholes--;
    }
    return 0;
}

static void sim_free(void *p, size_t nbytes)
{
    if (!p) return;
    bool ok;
    size_t len = page_round(nbytes, &ok);
    pthread_mutex_lock(&sim.lock);
    if (ok && inside(p, len) && ((size_t)((char *)p - sim.base) % SIM_PAGE) == 0) {
        block *b = block_of_locked(p);
        if (b && b->off == (size_t)((char *)p - sim.base)) {
            madvise(p, len, MADV_DONTNEED);   /* the pages read as zero when handed out again */
            mprotect(p, len, PROT_NONE);
            memmove(b, b + 1, (size_t)(sim.blocks + sim.nblocks - (b + 1)) * sizeof *b);
            sim.nblocks--;
            add_hole_locked((size_t)((char *)p - sim.base), len);
        }
    }
    pthread_mutex_unlock(&sim.lock);
}

static int outside(const char *op, const void *p, size_t nbytes, lens_error *err)
{
    return lens_fail_kind(err, LENS_ERR_DEVICE,
                          "sim device: %s was given %p (%zu bytes), which is not in device memory", op, p, nbytes);
}

/* A compute operation's failure, kept until synchronize reports it (the first one wins). */
static void record_failure(const char *op, const void *p)
{
    pthread_mutex_lock(&sim.lock);
    if (!sim.failed) {
        lens_fail_kind(&sim.failure, LENS_ERR_DEVICE,
                       "sim device: %s was given %p, which is not in device memory (a host pointer?)", op, p);
        sim.failed = true;
    }
    pthread_mutex_unlock(&sim.lock);
}

/* Whether every pointer argument (n of them; NULL for an absent optional one) is
 * in device memory; records the failure otherwise. */
static bool args_ok(const char *op, int n, const void *const *ptrs)
{
    pthread_mutex_lock(&sim.lock);
    const void *bad = NULL;
    for (int i = 0; i < n && !bad; i++)
        if (ptrs[i] && !inside(ptrs[i], 0)) bad = ptrs[i];
    pthread_mutex_unlock(&sim.lock);
    if (bad) record_failure(op, bad);
    return !bad;
}

#define ARGS_OK(op, ...) \
    args_ok(op, (int)(sizeof((const void *[]){__VA_ARGS__}) / sizeof(const void *)), (const void *[]){__VA_ARGS__})

static int sim_synchronize(lens_error *err)
{
    pthread_mutex_lock(&sim.lock);
    int rc = 0;
    if (sim.failed) {
        if (err) *err = sim.failure;
        sim.failed = false;
        rc = -1;
    }
    pthread_mutex_unlock(&sim.lock);
    return rc;
}

static bool range_ok(const void *p, size_t nbytes)
{
    pthread_mutex_lock(&sim.lock);
    bool ok = inside(p, nbytes);
    pthread_mutex_unlock(&sim.lock);
    return ok;
}

static int sim_upload(void *dst, const void *host_src, size_t nbytes, lens_error *err)
{
    if (!nbytes) return 0;
    if (!range_ok(dst, nbytes)) return outside("upload", dst, nbytes, err);
    if (range_ok(host_src, 0)) return outside("upload (as the host source)", host_src, nbytes, err);
    open_blocks(PTRS(dst));
    memcpy(dst, host_src, nbytes);
    close_blocks(PTRS(dst));
    return 0;
}

static int sim_download(void *host_dst, const void *src, size_t nbytes, lens_error *err)
{
    if (sim_synchronize(err)) return -1;
    if (!nbytes) return 0;
    if (!range_ok(src, nbytes)) return outside("download", src, nbytes, err);
    if (range_ok(host_dst, 0)) return outside("download (as the host destination)", host_dst, nbytes, err);
    open_blocks(PTRS(src));
    memcpy(host_dst, src, nbytes);
    close_blocks(PTRS(src));
    return 0;
}

static int sim_copy(void *dst, const void *src, size_t nbytes, lens_error *err)
{
    if (!nbytes) return 0;
    if (!range_ok(dst, nbytes)) return outside("copy (as the destination)", dst, nbytes, err);
    if (!range_ok(src, nbytes)) return outside("copy (as the source)", src, nbytes, err);
    open_blocks(PTRS(dst, src));
    memmove(dst, src, nbytes);
    close_blocks(PTRS(dst, src));
    return 0;
}

static int sim_memset_zero(void *dst, size_t nbytes, lens_error *err)
{
    if (!nbytes) return 0;
    if (!range_ok(dst, nbytes)) return outside("memset_zero", dst, nbytes, err);
    open_blocks(PTRS(dst));
    memset(dst, 0, nbytes);
    close_blocks(PTRS(dst));
    return 0;
}

static int sim_memory_info(size_t *free_bytes, size_t *total_bytes, lens_error *err)
{
    return cpu()->memory_info(free_bytes, total_bytes, err);
}

/* ---- compute: the cpu implementation inside the bracket ------------------ */

/* The cpu implementation with the blocks of the operation's pointers open. */
#define RUN_ON(call, ...)                 \
    do {                                  \
        open_blocks(PTRS(__VA_ARGS__));   \
        cpu()->call;                      \
        close_blocks(PTRS(__VA_ARGS__));  \
    } while (0)

static void sim_matmul(float *out, const float *a, const float *b, const float *bias, int64_t M, int64_t K,
                       int64_t N, bool b_trans)
{
    if (ARGS_OK("matmul", out, a, b, bias)) RUN_ON(matmul(out, a, b, bias, M, K, N, b_trans), out, a, b, bias);
}

static void sim_layernorm(float *normalized, float *scale, const float *x, const float *w, const float *b,
                          int64_t M, int64_t d, float eps)
{
    if (ARGS_OK("layernorm", normalized, scale, x, w, b)) RUN_ON(layernorm(normalized, scale, x, w, b, M, d, eps), normalized, scale, x, w, b);
}

static void sim_attention(float *scores, float *pattern, float *z, const float *q, const float *k, const float *v,
                          int64_t B, int64_t P, int64_t H, int64_t dh)
{
    if (ARGS_OK("attention", scores, pattern, z, q, k, v)) RUN_ON(attention(scores, pattern, z, q, k, v, B, P, H, dh), scores, pattern, z, q, k, v);
}

static void sim_attn_scores(float *scores, const float *q, const float *k, int64_t B, int64_t P, int64_t H,
                            int64_t dh)
{
    if (ARGS_OK("attn_scores", scores, q, k)) RUN_ON(attn_scores(scores, q, k, B, P, H, dh), scores, q, k);
}

static void sim_attn_softmax(float *pattern, const float *scores, int64_t B, int64_t P, int64_t H)
{
    if (ARGS_OK("attn_softmax", pattern, scores)) RUN_ON(attn_softmax(pattern, scores, B, P, H), pattern, scores);
}

static void sim_attn_z(float *z, const float *pattern, const float *v, int64_t B, int64_t P, int64_t H, int64_t dh)
{
    if (ARGS_OK("attn_z", z, pattern, v)) RUN_ON(attn_z(z, pattern, v, B, P, H, dh), z, pattern, v);
}

static void sim_head_results(float *result, const float *z, const float *W_O, int64_t BP, int64_t H, int64_t dh,
                             int64_t d)
{
    if (ARGS_OK("head_results", result, z, W_O)) RUN_ON(head_results(result, z, W_O, BP, H, dh, d), result, z, W_O);
}

static void sim_activation(float *out, const float *x, int64_t n, lens_activation act)
{
    if (ARGS_OK("activation", out, x)) RUN_ON(activation(out, x, n, act), out, x);
}

static void sim_add(float *out, const float *a, const float *b, int64_t n)
{
    if (ARGS_OK("add", out, a, b)) RUN_ON(add(out, a, b, n), out, a, b);
}

static void sim_embed(float *embed, float *pos, const int64_t *tokens, const float *W_E, const float *W_pos,
                      int64_t B, int64_t P, int64_t d)
{
    if (ARGS_OK("embed", embed, pos, tokens, W_E, W_pos)) RUN_ON(embed(embed, pos, tokens, W_E, W_pos, B, P, d), embed, pos, tokens, W_E, W_pos);
}

static void sim_matmul_dx(float *dx, const float *dy, const float *W, int64_t M, int64_t K, int64_t N, bool accumulate)
{
    if (ARGS_OK("matmul_dx", dx, dy, W)) RUN_ON(matmul_dx(dx, dy, W, M, K, N, accumulate), dx, dy, W);
}

static void sim_layernorm_dx(float *dx, float *dscale, const float *dnorm, const float *x, const float *scale,
                             const float *w, int64_t M, int64_t d)
{
    if (ARGS_OK("layernorm_dx", dx, dscale, dnorm, x, scale, w)) RUN_ON(layernorm_dx(dx, dscale, dnorm, x, scale, w, M, d), dx, dscale, dnorm, x, scale, w);
}

static void sim_attention_dx(float *dq, float *dk, float *dv, float *dpattern, float *dscores, const float *dz,
                             const float *q, const float *k, const float *v, const float *pattern, int64_t B,
                             int64_t P, int64_t H, int64_t dh)
{
    if (ARGS_OK("attention_dx", dq, dk, dv, dpattern, dscores, dz, q, k, v, pattern)) RUN_ON(attention_dx(dq, dk, dv, dpattern, dscores, dz, q, k, v, pattern, B, P, H, dh), dq, dk, dv, dpattern, dscores, dz, q, k, v, pattern);
}

static void sim_activation_dx(float *dx, const float *dy, const float *x, int64_t n, lens_activation act)
{
    if (ARGS_OK("activation_dx", dx, dy, x)) RUN_ON(activation_dx(dx, dy, x, n, act), dx, dy, x);
}

static void sim_copy_strided(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                             int ndim, const int64_t *shape, size_t elem_size)
{
    if (ARGS_OK("copy_strided", dst, src)) RUN_ON(copy_strided(dst, dst_strides, src, src_strides, ndim, shape, elem_size), dst, src);
}

static void sim_binary_f32(lens_binop op, float *out, const float *a, const int64_t *a_strides, const float *b,
                           const int64_t *b_strides, int ndim, const int64_t *shape)
{
    if (ARGS_OK("binary_f32", out, a, b)) RUN_ON(binary_f32(op, out, a, a_strides, b, b_strides, ndim, shape), out, a, b);
}

static void sim_unary_f32(lens_unop op, float *out, const float *x, int64_t n)
{
    if (ARGS_OK("unary_f32", out, x)) RUN_ON(unary_f32(op, out, x, n), out, x);
}

static void sim_reduce_f32(lens_reduce_op op, float *out, const float *x, int64_t outer, int64_t n, int64_t inner)
{
    if (ARGS_OK("reduce_f32", out, x)) RUN_ON(reduce_f32(op, out, x, outer, n, inner), out, x);
}

static void sim_softmax_rows(float *out, const float *x, int64_t rows, int64_t n, bool log)
{
    if (ARGS_OK("softmax_rows", out, x)) RUN_ON(softmax_rows(out, x, rows, n, log), out, x);
}

static void sim_matmul_batched(float *out, const float *a, const float *b, int64_t batch, int64_t M, int64_t K,
                               int64_t N, bool a_trans, bool b_trans, int64_t stride_a, int64_t stride_b,
                               int64_t stride_out)
{
    if (ARGS_OK("matmul_batched", out, a, b)) RUN_ON(matmul_batched(out, a, b, batch, M, K, N, a_trans, b_trans, stride_a, stride_b, stride_out), out, a, b);
}

static void sim_fill_f32(float *out, float v, int64_t n)
{
    if (ARGS_OK("fill_f32", out)) RUN_ON(fill_f32(out, v, n), out);
}

static void sim_gather_rows(float *dst, const float *src, const int64_t *rows, int64_t n, int64_t width)
{
    if (ARGS_OK("gather_rows", dst, src, rows)) RUN_ON(gather_rows(dst, src, rows, n, width), dst, src, rows);
}

static void sim_compare_rows(float *differ, const float *x, const int64_t *rows_a, const int64_t *rows_b, int64_t n,
                             int64_t width)
{
    if (ARGS_OK("compare_rows", differ, x, rows_a, rows_b))
        RUN_ON(compare_rows(differ, x, rows_a, rows_b, n, width), differ, x, rows_a, rows_b);
}

const lens_backend *lens_backend_sim(void)
{
    static const lens_backend sim_table = {
        .name = "sim",
        .device = LENS_SIM,
        .host_addressable = false,
        .alloc = sim_alloc,
        .free = sim_free,
        .upload = sim_upload,
        .download = sim_download,
        .copy = sim_copy,
        .memset_zero = sim_memset_zero,
        .synchronize = sim_synchronize,
        .memory_info = sim_memory_info,
        .matmul = sim_matmul,
        .layernorm = sim_layernorm,
        .attention = sim_attention,
        .attn_scores = sim_attn_scores,
        .attn_softmax = sim_attn_softmax,
        .attn_z = sim_attn_z,
        .head_results = sim_head_results,
        .activation = sim_activation,
        .add = sim_add,
        .embed = sim_embed,
        .matmul_dx = sim_matmul_dx,
        .layernorm_dx = sim_layernorm_dx,
        .attention_dx = sim_attention_dx,
        .activation_dx = sim_activation_dx,
        .copy_strided = sim_copy_strided,
        .binary_f32 = sim_binary_f32,
        .unary_f32 = sim_unary_f32,
        .reduce_f32 = sim_reduce_f32,
        .softmax_rows = sim_softmax_rows,
        .matmul_batched = sim_matmul_batched,
        .fill_f32 = sim_fill_f32,
        .gather_rows = sim_gather_rows,
        .compare_rows = sim_compare_rows,
    };
    return &sim_table;
}
