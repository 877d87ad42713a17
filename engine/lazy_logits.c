/* lazy_logits.c — the logits a forward pass returns, computed on demand from
 * its final residual (unembed.hook_in): a [B, P, d_vocab] tensor whose storage
 * computes a row (one position of one prompt) the first time a view covering it
 * is read, in one matrix product for all the rows that view needs. Reading
 * logits[:, -1] unembeds one position per prompt; reading the whole tensor
 * unembeds every position, once. The numbers are the unembedding's, row by row,
 * as a full product gives them to its float rounding (OpenBLAS rounds a row by
 * its place in the product).
 *
 * The rows are computed on the backend the forward pass ran on, and the logits
 * are a tensor in its memory (on a device, reading them downloads the rows a
 * view covers after computing them there).
 *
 * Owns: the logits' memory (mapped on the cpu, untouched rows cost nothing), a
 * copy of the final residual and references to W_U and b_U (so the logits
 * outlive the model). Does not own: which views callers make (sparse readers
 * use narrow views). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backend.h"
#include "cache_internal.h"
#include "device_tensor.h"
#include "lens/memory.h"

#define GATHER_ROWS 256          /* scattered rows are unembedded this many at a time, */
#define OUT_BLOCK (256 * 1024)   /* through a block of this many floats of their logits */

typedef struct lazy_logits {
    const lens_backend *be;      /* where final, W_Ut, b_U and data are */
    lens_tensor *final;          /* [R, d] contiguous */
    lens_tensor *W_Ut, *b_U;     /* [V, d], [V] */
    int64_t R, d, V;
    float *data;                 /* [R, V] */
    size_t bytes;
    unsigned char *done;         /* [R] */
    atomic_llong n_done;         /* rows computed (each once) */
    pthread_mutex_t lock;
    /* the last view found complete: its geometry, so element-by-element readers
     * (which call lens_tensor_data per element) skip the row scan */
    lens_tensor last_view;
    bool have_last_view;
} lazy_logits;

static void lazy_release(void *data, size_t nbytes, void *ctx)
{
    (void)data; (void)nbytes;
    lazy_logits *L = ctx;
    if (L->data) {
        if (L->be->host_addressable) munmap(L->data, L->bytes);
        else L->be->free(L->data, L->bytes);
    }
    lens_tensor_free(L->final);
    lens_tensor_free(L->W_Ut);
    lens_tensor_free(L->b_U);
    free(L->done);
    pthread_mutex_destroy(&L->lock);
    free(L);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Scratch rows on L's backend (NULL when short of memory). */
static float *scratch_rows(const lazy_logits *L, int64_t rows, int64_t cols)
{
    size_t bytes = (size_t)rows * (size_t)cols * sizeof(float);
    if (L->be->host_addressable) return malloc(bytes);
    lens_error ignored;
    return L->be->alloc(bytes, &ignored);
}

static void scratch_free(const lazy_logits *L, float *p, int64_t rows, int64_t cols)
{
    if (!p) return;
    if (L->be->host_addressable) free(p);
    else L->be->free(p, (size_t)rows * (size_t)cols * sizeof(float));
}

/* One row of n floats from src to dst on L's backend. */
static void copy_row(const lazy_logits *L, float *dst, const float *src, int64_t n)
{
    lens_error ignored;   /* a failed copy on a device is reported by its next synchronize */
    L->be->copy(dst, src, (size_t)n * sizeof(float), &ignored);
}

/* Scattered rows in[0..k) (gathered, [k, d]) -> their logits rows[0..k), a
 * block of vocabulary columns at a time through out [k, cols] (cols * k <=
 * OUT_BLOCK floats), so no [k, d_vocab] buffer is ever needed. */
static void unembed_gathered(lazy_logits *L, const float *in, float *out, const int64_t *rows, int64_t k)
{
    const float *W = lens_dev_f32(L->W_Ut), *b = lens_dev_f32(L->b_U);
    int64_t cols = OUT_BLOCK / k / 64 * 64, step = k > 1 ? rows[1] - rows[0] : 1;
    if (cols < 64) cols = 64;
    for (int64_t j = 2; j < k && step; j++)
        if (rows[j] - rows[j - 1] != step) step = 0;   /* evenly spaced rows (logits[:, -1]): one copy a block */
    for (int64_t v0 = 0; v0 < L->V; v0 += cols) {
        int64_t w = L->V - v0 < cols ? L->V - v0 : cols;
        L->be->matmul(out, in, W + v0 * L->d, b + v0, k, L->d, w, true);
        if (step) {
            int64_t shape[2] = {k, w}, dst_strides[2] = {step * L->V, 1}, src_strides[2] = {w, 1};
            L->be->copy_strided(L->data + rows[0] * L->V + v0, dst_strides, out, src_strides, 2, shape, sizeof(float));
        } else
            for (int64_t j = 0; j < k; j++) copy_row(L, L->data + rows[j] * L->V + v0, out + j * w, w);
    }
}

/* Computes the rows listed (ascending, none done yet); lock held. Runs of
 * consecutive rows are unembedded straight into place; scattered rows are
 * gathered GATHER_ROWS at a time. */
static void compute_rows(lazy_logits *L, const int64_t *rows, int64_t n)
{
    const lens_backend *be = L->be;
    const float *fin = lens_dev_f32(L->final), *W = lens_dev_f32(L->W_Ut), *b = lens_dev_f32(L->b_U);
    float *in = NULL, *out = NULL;
    for (int64_t i = 0; i < n;) {
        int64_t run = 1;
        while (i + run < n && rows[i + run] == rows[i] + run) run++;
        if (run >= 8 || run == n - i) {
            be->matmul(L->data + rows[i] * L->V, fin + rows[i] * L->d, W, b, run, L->d, L->V, true);
            i += run;
            continue;
        }
        if (!in) {
            in = scratch_rows(L, GATHER_ROWS, L->d);
            out = scratch_rows(L, 1, OUT_BLOCK);
            if (!in || !out) {   /* short of memory: one row at a time, in place */
                scratch_free(L, in, GATHER_ROWS, L->d);
                scratch_free(L, out, 1, OUT_BLOCK);
                for (int64_t j = i; j < n; j++)
                    be->matmul(L->data + rows[j] * L->V, fin + rows[j] * L->d, W, b, 1, L->d, L->V, true);
                return;
            }
        }
        int64_t k = 0;   /* scattered rows (up to the next long run) gathered together */
        while (i + k < n && k < GATHER_ROWS) {
            if (k > 0 && i + k + 7 < n && rows[i + k + 7] == rows[i + k] + 7) break;
            copy_row(L, in + k * L->d, fin + rows[i + k] * L->d, L->d);
            k++;
        }
        unembed_gathered(L, in, out, rows + i, k);
        i += k;
    }
    scratch_free(L, in, GATHER_ROWS, L->d);
    scratch_free(L, out, 1, OUT_BLOCK);
}

/* Makes sure every row in rows[0..n) is computed; lock held. */
static void ensure_rows_locked(lazy_logits *L, int64_t *rows, int64_t n)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (rows[i] >= 0 && rows[i] < L->R && !L->done[rows[i]]) {
            L->done[rows[i]] = 1;   /* also dedupes the list */
            rows[m++] = rows[i];
        }
    if (!m) return;
    qsort(rows, (size_t)m, sizeof *rows, cmp_i64);
#ifdef MADV_HUGEPAGE
    if (L->be->host_addressable && m > L->R / 2 && atomic_load(&L->n_done) == 0)
        madvise(L->data, L->bytes, MADV_HUGEPAGE);
#endif
    compute_rows(L, rows, m);
    atomic_fetch_add(&L->n_done, (long long)m);
}

static bool same_geometry(const lens_tensor *a, const lens_tensor *b)
{
    if (a->offset != b->offset || a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d] || a->strides[d] != b->strides[d]) return false;
    return true;
}

/* The rows a view covers: its dims whose strides step whole rows are
 * enumerated; when the rest could leave a row (reshaped views), every row
 * between its first and last element. Returns the count (rows malloc'd) or -1. */
static int64_t rows_of_view(const lazy_logits *L, const lens_tensor *v, int64_t **rows_out)
{
    int64_t V = L->V, lo = 0, hi = 0, count = 1;
    int row_dims[LENS_MAX_DIMS], nr = 0;
    bool span = false;
    for (int d = 0; d < v->ndim; d++) {
        if (v->shape[d] == 0) { *rows_out = NULL; return 0; }
        int64_t s = v->strides[d], ext = (v->shape[d] - 1) * s;
        if (v->shape[d] > 1 && s != 0 && s % V == 0) {
            row_dims[nr++] = d;
            if (count > L->R) span = true; else count *= v->shape[d];
        } else if (ext < 0) lo += ext;
        else hi += ext;
    }
    int64_t col = ((v->offset % V) + V) % V;
    if (col + lo < 0 || col + hi >= V || count > L->R) span = true;
    if (span) {   /* every row between the view's first and last element */
        int64_t first = v->offset, last = v->offset;
        for (int d = 0; d < v->ndim; d++) {
            int64_t ext = (v->shape[d] - 1) * v->strides[d];
            if (ext < 0) first += ext; else last += ext;
        }
        int64_t r0 = first / V, r1 = last / V;
        if (r0 < 0) r0 = 0;
        if (r1 >= L->R) r1 = L->R - 1;
        count = r1 >= r0 ? r1 - r0 + 1 : 0;
        int64_t *rows = malloc((size_t)(count ? count : 1) * sizeof *rows);
        if (!rows) return -1;
        for (int64_t i = 0; i < count; i++) rows[i] = r0 + i;
        *rows_out = rows;
        return count;
    }
    int64_t *rows = malloc((size_t)count * sizeof *rows);
    if (!rows) return -1;
    int64_t idx[LENS_MAX_DIMS] = {0};
    for (int64_t i = 0; i < count; i++) {
        int64_t off = v->offset;
        for (int k = 0; k < nr; k++) off += idx[k] * v->strides[row_dims[k]];
        rows[i] = off / V;
        for (int k = nr - 1; k >= 0; k--) {
            if (++idx[k] < v->shape[row_dims[k]]) break;
            idx[k] = 0;
        }
    }
    *rows_out = rows;
    return count;
}

static void lazy_ensure(const lens_tensor *view)
{
    lazy_logits *L = view->storage->release_ctx;
    if (atomic_load(&L->n_done) == L->R) return;
    pthread_mutex_lock(&L->lock);
    if (!(L->have_last_view && same_geometry(&L->last_view, view))) {
        int64_t *rows = NULL;
        int64_t n = rows_of_view(L, view, &rows);
        if (n < 0) {   /* no memory for the list: every row */
            for (int64_t r = 0; r < L->R; r++)
                if (!L->done[r]) { L->done[r] = 1; compute_rows(L, &r, 1); atomic_fetch_add(&L->n_done, 1); }
        } else ensure_rows_locked(L, rows, n);
        free(rows);
        L->last_view = *view;
        L->have_last_view = true;
    }
    pthread_mutex_unlock(&L->lock);
}

lens_tensor *lens_logits_lazy(const lens_backend *be, const float *final, int64_t B, int64_t P,
                              const lens_tensor *W_Ut, const lens_tensor *b_U, lens_error *err)
{
    int64_t d = W_Ut->shape[1], V = W_Ut->shape[0], R = B * P;
    /* every row may be read: the whole buffer counts against the memory limit
     * (lens/memory.h) from the start, as the run's estimate does */
    size_t bytes = (size_t)R * (size_t)V * sizeof(float), reserved = bytes;
    if (lens_mem_reserve(reserved, "the logits", err)) return NULL;
    lazy_logits *L = calloc(1, sizeof *L);
    if (!L) { lens_mem_release(reserved); lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory allocating logits"); return NULL; }
    L->be = be;
    L->R = R; L->d = d; L->V = V;
    L->bytes = bytes;
    int64_t fshape[2] = {R, d};
    L->final = lens_tensor_new_on(be, LENS_F32, 2, fshape);
    if (!L->final) lens_fail_alloc(err);
    else if ( be->copy(lens_dev_f32(L->final), final, (size_t)R * (size_t)d * sizeof(float), err)) {
        lens_tensor_free(L->final);
        L->final = NULL;
    }
    L->W_Ut = lens_tensor_ref(W_Ut);
    L->b_U = lens_tensor_ref(b_U);
    L->done = calloc((size_t)R, 1);
    if (be->host_addressable) {
        void *data = mmap(NULL, L->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        L->data = data == MAP_FAILED ? NULL : data;
    } else {
        lens_error why;
        L->data = be->alloc(L->bytes, &why);
    }
    pthread_mutex_init(&L->lock, NULL);
    int64_t shape[3] = {B, P, V};
    lens_tensor *t = NULL;
    if (L->final && L->W_Ut && L->b_U && L->done && L->data)
        t = lens_tensor_wrap(LENS_F32, 3, shape, L->data, lazy_release, L);
    if (!t) {
        lazy_release(NULL, 0, L);
        lens_mem_release(reserved);
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory allocating logits");
        return NULL;
    }
    t->storage->reserved = reserved;   /* given back when the storage is freed */
    t->storage->device = be->device;
#ifdef MADV_NOHUGEPAGE
    if (be->host_addressable) madvise(L->data, L->bytes, MADV_NOHUGEPAGE);   /* a 2 MiB page would cover ten rows read one by one */
#endif
    t->storage->ensure = lazy_ensure;
    return t;
}

static lazy_logits *lazy_of(const lens_tensor *t)
{
    return t && t->storage && t->storage->ensure == lazy_ensure ? t->storage->release_ctx : NULL;
}

int64_t lens_logits_rows_computed(const lens_tensor *logits)
{
    lazy_logits *L = lazy_of(logits);
    return L ? (int64_t)atomic_load(&L->n_done) : -1;
}

int lens_logits_prepare_positions(const lens_tensor *logits, const int64_t *pos, lens_error *err)
{
    lazy_logits *L = lazy_of(logits);
    if (!L || logits->ndim != 3 || atomic_load(&L->n_done) == L->R) return 0;
    int64_t B = logits->shape[0], P = logits->shape[1];
    int64_t *rows = malloc((size_t)(B ? B : 1) * sizeof *rows);
    if (!rows) return lens_fail_oom(err);
    for (int64_t b = 0; b < B; b++) {
        int64_t p = pos[b] < 0 ? pos[b] + P : pos[b];
        rows[b] = p < 0 || p >= P ? -1 : (logits->offset + b * logits->strides[0] + p * logits->strides[1]) / L->V;
    }
    pthread_mutex_lock(&L->lock);
    ensure_rows_locked(L, rows, B);
    pthread_mutex_unlock(&L->lock);
    free(rows);
    return 0;
}
