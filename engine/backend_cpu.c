/* backend_cpu.c — the CPU implementation of lens_backend: host memory, the
 * tiled sgemm of backend_cpu_gemm.c for the matrix products, OpenMP-parallel C
 * loops for the rest.
 *
 * Owns: the cpu backend table, its memory operations and forward operations.
 * Does not own: the vectorised loops (backend_cpu_rows.c), the backward
 * operations (backward_cpu.c), the general tensor operations
 * (backend_cpu_general.c), the registry (backend_select.c) or the memory limit
 * (memory.c). */
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend_cpu_internal.h"
#include "lens/memory.h"
#include "lens/model.h"

static void cpu_matmul(float *out, const float *a, const float *b, const float *bias, int64_t M,
                       int64_t K, int64_t N, bool b_trans)
{
    float beta = 0.0f;
    if (bias) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < M; i++) memcpy(out + i * N, bias, (size_t)N * sizeof *out);
        beta = 1.0f;
    }
    lens_cpu_sgemm(&(lens_sgemm){.b_trans = b_trans, .M = M, .N = N, .K = K, .alpha = 1.0f, .beta = beta,
                                 .a = a, .b = b, .c = out, .lda = K, .ldb = b_trans ? K : N, .ldc = N});
}

static void cpu_layernorm(float *normalized, float *scale, const float *x, const float *w,
                          const float *b, int64_t M, int64_t d, float eps)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < M; i++) lens_cpu_layernorm_row(normalized + i * d, scale + i, x + i * d, w, b, d, eps);
}

/* Long sequences: the tiled sgemm over every (batch, head), and the
 * elementwise passes (mask, softmax) parallel over (batch, head). Short ones:
 * the vectorised loops of backend_cpu_rows.c, parallel over (batch, head). */
#define BLAS_ATTENTION_MIN_P 64

/* Scores above the diagonal (keys after the query) are -inf, as TransformerLens caches them. */
static void mask_one(float *sc, int64_t P)
{
    for (int64_t i = 0; i < P; i++)
        for (int64_t j = i + 1; j < P; j++) sc[i * P + j] = -INFINITY;
}

static void cpu_attn_scores(float *scores, const float *q, const float *k, int64_t B, int64_t P,
                            int64_t H, int64_t dh)
{
    int64_t ld = H * dh;
    float inv_scale = 1.0f / sqrtf((float)dh);
    if (P < BLAS_ATTENTION_MIN_P) {
#pragma omp parallel for schedule(static)
        for (int64_t bh = 0; bh < B * H; bh++) {
            int64_t off = (bh / H) * P * ld + (bh % H) * dh;
            lens_cpu_attn_scores_one(scores + bh * P * P, q + off, k + off, P, ld, dh, inv_scale);
        }
        return;
    }
    /* One product per batch row, its heads dh floats apart. */
    for (int64_t b = 0; b < B; b++) {
        int64_t off = b * P * ld;
        lens_cpu_sgemm_batched(&(lens_sgemm){.b_trans = true, .M = P, .N = P, .K = dh, .alpha = inv_scale,
                                             .a = q + off, .b = k + off, .c = scores + b * H * P * P, .lda = ld,
                                             .ldb = ld, .ldc = P},
                               H, dh, dh, P * P);
    }
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; bh++) mask_one(scores + bh * P * P, P);
}

static void cpu_attn_softmax(float *pattern, const float *scores, int64_t B, int64_t P, int64_t H)
{
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; bh++) lens_cpu_attn_softmax_one(pattern + bh * P * P, scores + bh * P * P, P);
}

static void cpu_attn_z(float *z, const float *pattern, const float *v, int64_t B, int64_t P,
                       int64_t H, int64_t dh)
{
    int64_t ld = H * dh;
    if (P >= BLAS_ATTENTION_MIN_P) {
        for (int64_t b = 0; b < B; b++) {
            int64_t off = b * P * ld;
            lens_cpu_sgemm_batched(&(lens_sgemm){.M = P, .N = dh, .K = P, .alpha = 1.0f,
                                                 .a = pattern + b * H * P * P, .b = v + off, .c = z + off,
                                                 .lda = P, .ldb = ld, .ldc = ld},
                                   H, P * P, dh, dh);
        }
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t off = (bh / H) * P * ld + (bh % H) * dh;
        lens_cpu_attn_z_one(z + off, pattern + bh * P * P, v + off, P, ld, dh);
    }
}

static void cpu_attention(float *scores, float *pattern, float *z, const float *q, const float *k,
                          const float *v, int64_t B, int64_t P, int64_t H, int64_t dh)
{
    if (P >= BLAS_ATTENTION_MIN_P) {
        cpu_attn_scores(scores, q, k, B, P, H, dh);
        cpu_attn_softmax(pattern, scores, B, P, H);
        cpu_attn_z(z, pattern, v, B, P, H, dh);
        return;
    }
    /* Short sequences: each (batch, head) start to end while it is in cache. */
    int64_t ld = H * dh;
    float inv_scale = 1.0f / sqrtf((float)dh);
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; bh++) {
        int64_t off = (bh / H) * P * ld + (bh % H) * dh;
        lens_cpu_attention_one(scores + bh * P * P, pattern + bh * P * P, z + off, q + off, k + off, v + off, P,
                               ld, dh, inv_scale);
    }
}

static void cpu_head_results(float *result, const float *z, const float *W_O, int64_t BP,
                             int64_t H, int64_t dh, int64_t d)
{
    /* For each head: result[:, h, :] = z[:, h, :] @ W_O[h] with row strides. */
    lens_cpu_sgemm_batched(&(lens_sgemm){.M = BP, .N = d, .K = dh, .alpha = 1.0f, .a = z, .b = W_O,
                                         .c = result, .lda = H * dh, .ldb = d, .ldc = H * d},
                           H, dh, dh * d, d);
}

/* gelu_new in the vectorised loop of backend_cpu_rows.c, a block of elements per task. */
#define ACTIVATION_BLOCK 4096

static void cpu_activation(float *out, const float *x, int64_t n, lens_activation act)
{
    switch (act) {
    case LENS_ACT_GELU_NEW:
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i += ACTIVATION_BLOCK)
            lens_cpu_gelu_new(out + i, x + i, n - i < ACTIVATION_BLOCK ? n - i : ACTIVATION_BLOCK);
        break;
    case LENS_ACT_GELU:
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
        break;
    case LENS_ACT_RELU:
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
        break;
    }
}

static void cpu_add(float *out, const float *a, const float *b, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

static void cpu_embed(float *embed, float *pos, const int64_t *tokens, const float *W_E,
                      const float *W_pos, int64_t B, int64_t P, int64_t d)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < B * P; i++) {
        memcpy(embed + i * d, W_E + tokens[i] * d, (size_t)d * sizeof *embed);
        memcpy(pos + i * d, W_pos + (i % P) * d, (size_t)d * sizeof *pos);
    }
}

static void cpu_gather_rows(float *dst, const float *src, const int64_t *rows, int64_t n, int64_t width)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) memcpy(dst + i * width, src + rows[i] * width, (size_t)width * sizeof *dst);
}

static void cpu_compare_rows(float *differ, const float *x, const int64_t *rows_a, const int64_t *rows_b, int64_t n,
                             int64_t width)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        differ[i] = memcmp(x + rows_a[i] * width, x + rows_b[i] * width, (size_t)width * sizeof *x) ? 1.0f : 0.0f;
}

/* ---- memory: plain host memory ------------------------------------------ */

static void *cpu_alloc(size_t nbytes, lens_error *err)
{
    void *p = NULL;
    size_t rounded = (nbytes + 255) / 256 * 256;
    /* No block can exceed PTRDIFF_MAX bytes: refused before the allocator sees it. */
    if (nbytes > PTRDIFF_MAX - 255 || posix_memalign(&p, 256, rounded ? rounded : 256)) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory allocating %zu bytes", nbytes);
        return NULL;
    }
    memset(p, 0, rounded ? rounded : 256);
    return p;
}

static void cpu_free(void *p, size_t nbytes)
{
    (void)nbytes;
    free(p);
}

static int cpu_memcpy(void *dst, const void *src, size_t nbytes, lens_error *err)
{
    (void)err;
    if (nbytes) memmove(dst, src, nbytes);
    return 0;
}

static int cpu_memset_zero(void *dst, size_t nbytes, lens_error *err)
{
    (void)err;
    if (nbytes) memset(dst, 0, nbytes);
    return 0;
}

static int cpu_synchronize(lens_error *err)
{
    (void)err;
    return 0;
}

static int cpu_memory_info(size_t *free_bytes, size_t *total_bytes, lens_error *err)
{
    (void)err;
    size_t limit = lens_memory_limit(), used = lens_mem_in_use();
    *total_bytes = limit;
    *free_bytes = used < limit ? limit - used : 0;
    return 0;
}

const lens_backend *lens_backend_cpu(void)
{
    static const lens_backend cpu = {
        .name = "cpu",
        .device = LENS_CPU,
        .host_addressable = true,
        .alloc = cpu_alloc,
        .free = cpu_free,
        .upload = cpu_memcpy,
        .download = cpu_memcpy,
        .copy = cpu_memcpy,
        .memset_zero = cpu_memset_zero,
        .synchronize = cpu_synchronize,
        .memory_info = cpu_memory_info,
        .matmul = cpu_matmul,
        .layernorm = cpu_layernorm,
        .attention = cpu_attention,
        .attn_scores = cpu_attn_scores,
        .attn_softmax = cpu_attn_softmax,
        .attn_z = cpu_attn_z,
        .head_results = cpu_head_results,
        .activation = cpu_activation,
        .add = cpu_add,
        .embed = cpu_embed,
        .matmul_dx = lens_cpu_matmul_dx,
        .layernorm_dx = lens_cpu_layernorm_dx,
        .attention_dx = lens_cpu_attention_dx,
        .activation_dx = lens_cpu_activation_dx,
        .copy_strided = lens_cpu_copy_strided,
        .binary_f32 = lens_cpu_binary_f32,
        .unary_f32 = lens_cpu_unary_f32,
        .reduce_f32 = lens_cpu_reduce_f32,
        .softmax_rows = lens_cpu_softmax_rows,
        .matmul_batched = lens_cpu_matmul_batched,
        .fill_f32 = lens_cpu_fill_f32,
        .gather_rows = cpu_gather_rows,
        .compare_rows = cpu_compare_rows,
    };
    return &cpu;
}
