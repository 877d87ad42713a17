/* backend_cpu_gemm.c — every single-precision matrix product of the CPU
 * backend, cut into fixed tiles of the output that the OpenMP threads take in turn.
 *
 * A tile is one single-threaded OpenBLAS sgemm over at most GEMM_TILE_ROWS x
 * GEMM_TILE_COLS outputs with the whole inner dimension. Where the tiles fall
 * depends on the product's shape only, never on the number of threads, and
 * OpenBLAS itself runs on one thread (resources.c), so each output is summed
 * by the same code in the same order however many threads share the work:
 * lens's numbers do not change with LENS_NUM_THREADS or with the machine's
 * core count (OpenBLAS's own threading splits the work by the thread count,
 * and a few percent of a GPT-2 product's outputs then differ in their last
 * bits between one thread and two). Threads take tiles from a shared counter
 * (schedule(dynamic)), so a thread the system preempts (many kernels on few
 * cores) holds up one tile, not a fixed half of the product.
 * An output's bits still depend on the product's shape (OpenBLAS blocks the
 * inner dimension by the shape): rows unembedded in a product of their own
 * (lazy_logits.c) may differ in the last bits from the same rows of a wider one.
 *
 * Owns: lens_cpu_sgemm, lens_cpu_sgemm_batched and the tile sizes.
 * Does not own: which products are computed (backend_cpu.c, backward_cpu.c,
 * backend_cpu_general.c, tensor_ops_matmul.c), the thread count
 * (resources.c). */
#include <cblas.h>
#include <omp.h>

#include "backend_cpu_internal.h"
#include "lens/model.h"

#define GEMM_TILE_ROWS 256
#define GEMM_TILE_COLS 256

static int64_t tiles_along(int64_t n, int64_t tile)
{
    return (n + tile - 1) / tile;
}

/* Tile t of the product whose matrices start at a, b, c. */
static void run_tile(const lens_sgemm *g, const float *a, const float *b, float *c, int64_t t,
                     int64_t col_tiles)
{
    int64_t i = t / col_tiles * GEMM_TILE_ROWS, j = t % col_tiles * GEMM_TILE_COLS;
    int64_t m = g->M - i < GEMM_TILE_ROWS ? g->M - i : GEMM_TILE_ROWS;
    int64_t n = g->N - j < GEMM_TILE_COLS ? g->N - j : GEMM_TILE_COLS;
    const float *ta = g->a_trans ? a + i : a + i * g->lda;   /* A is [K, M] when transposed */
    const float *tb = g->b_trans ? b + j * g->ldb : b + j;   /* B is [N, K] when transposed */
    cblas_sgemm(CblasRowMajor, g->a_trans ? CblasTrans : CblasNoTrans, g->b_trans ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)g->K, g->alpha, ta, (int)g->lda, tb, (int)g->ldb, g->beta,
                c + i * g->ldc + j, (int)g->ldc);
}

void lens_cpu_sgemm_batched(const lens_sgemm *g, int64_t batch, int64_t stride_a, int64_t stride_b,
                            int64_t stride_c)
{
    if (g->M <= 0 || g->N <= 0 || batch <= 0) return;
    lens_num_threads();   /* the first product of the process sets OpenBLAS to one thread */
    int64_t col_tiles = tiles_along(g->N, GEMM_TILE_COLS);
    int64_t per_item = tiles_along(g->M, GEMM_TILE_ROWS) * col_tiles, tasks = batch * per_item;
    /* Always inside a parallel region, even for one tile: OpenBLAS's OpenMP build
     * threads a call made outside one over omp_get_max_threads(), whatever
     * openblas_set_num_threads said. Inside a region already (a loop over heads),
     * the tiles run on the calling thread. */
#pragma omp parallel for schedule(dynamic, 1) if (!omp_in_parallel())
    for (int64_t t = 0; t < tasks; t++) {
        int64_t item = t / per_item;
        run_tile(g, g->a + item * stride_a, g->b + item * stride_b, g->c + item * stride_c, t % per_item,
                 col_tiles);
    }
}

void lens_cpu_sgemm(const lens_sgemm *g)
{
    lens_cpu_sgemm_batched(g, 1, 0, 0, 0);
}
