/* cuda_blas.c — the CUDA backend's operations built on matrix products: cuBLAS
 * sgemm for matmul and its input gradient, strided-batched sgemm for attention
 * scores, z, per-head results, the attention gradient and batched matmul.
 *
 * Owns: the cuBLAS handle's math mode (the precision switch) and the row-major
 * call convention. Does not own: the handle's creation (cuda_backend.c) or the
 * softmax between the products (rows.cu).
 *
 * Row-major C[M,N] = op(A)[M,K] op(B)[K,N] is, read column-major, C^T = op(B)^T
 * op(A)^T: cuBLAS is called with the operands swapped and m = N, n = M. */
#include <math.h>
#include <string.h>

#include "cuda_host.h"

static cublasHandle_t blas;

void lens_cu_set_blas(cublasHandle_t handle)
{
    blas = handle;
}

static const char *blas_status_name(cublasStatus_t st)
{
    switch (st) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "unknown cuBLAS status";
    }
}

int lens_cu_set_precision(const char *precision, lens_error *err)
{
    cublasMath_t mode;
    if (precision && strcmp(precision, "float32") == 0)
        mode = CUBLAS_DEFAULT_MATH;
    else if (precision && strcmp(precision, "tf32") == 0)
        mode = CUBLAS_TF32_TENSOR_OP_MATH;
    else
        return lens_cu_error(err, LENS_ERR_OTHER, "unknown CUDA precision '%s' (choose float32 or tf32)",
                             precision ? precision : "(null)");
    cublasStatus_t st = cublasSetMathMode(blas, mode);
    if (st != CUBLAS_STATUS_SUCCESS)
        return lens_cu_error(err, LENS_CUDA_DEVICE_ERROR_KIND, "cuBLAS could not set precision %s: %s", precision,
                             blas_status_name(st));
    return 0;
}

/* Row-major, batched: C[b] = alpha op(A[b]) op(B[b]) + beta C[b], batches sA/sB/sC
 * elements apart. lda/ldb/ldc are the row strides of the stored matrices. */
static void gemm(const char *what, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                 int64_t lda, int64_t sA, const float *B, int64_t ldb, int64_t sB, float beta, float *C, int64_t ldc,
                 int64_t sC, int64_t batch)
{
    if (lens_cu_failed()) return;
    if (M < 0 || N < 0 || K < 0 || batch < 0) {
        lens_cu_fail(LENS_ERR_OTHER, "%s: negative size (M=%lld N=%lld K=%lld batch=%lld)", what, (long long)M,
                     (long long)N, (long long)K, (long long)batch);
        return;
    }
    if (M == 0 || N == 0 || batch == 0) return;
    /* cuBLAS wants every leading dimension >= 1, also for an empty K */
    lda = lda < 1 ? 1 : lda;
    ldb = ldb < 1 ? 1 : ldb;
    cublasOperation_t opA = tb ? CUBLAS_OP_T : CUBLAS_OP_N, opB = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t st;
    if (batch == 1)
        st = cublasSgemm_64(blas, opA, opB, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc);
    else
        st = cublasSgemmStridedBatched_64(blas, opA, opB, N, M, K, &alpha, B, ldb, sB, A, lda, sA, &beta, C, ldc, sC,
                                          batch);
    if (st != CUBLAS_STATUS_SUCCESS)
        lens_cu_fail(st == CUBLAS_STATUS_ALLOC_FAILED ? LENS_ERR_MEMORY : LENS_CUDA_DEVICE_ERROR_KIND,
                     "cuBLAS sgemm in %s failed: %s (M=%lld N=%lld K=%lld batch=%lld)", what, blas_status_name(st),
                     (long long)M, (long long)N, (long long)K, (long long)batch);
}

void lens_cu_matmul(float *out, const float *a, const float *b, const float *bias, int64_t M, int64_t K, int64_t N,
                    bool b_trans)
{
    if (lens_cu_failed()) return;
    if (bias && !lens_cu_ok(lens_cu_bias_rows(lens_cu_stream(), out, bias, M, N), "matmul bias")) return;
    gemm("matmul", false, b_trans, M, N, K, 1.0f, a, K, 0, b, b_trans ? K : N, 0, bias ? 1.0f : 0.0f, out, N, 0, 1);
}

/* q, k, v, z are [B,P,H,dh]: for one batch b the head-h matrix starts at
 * b*P*H*dh + h*dh with rows H*dh apart, so each batch is one strided-batched call
 * over its H heads. */
void lens_cu_attn_scores(float *scores, const float *q, const float *k, int64_t B, int64_t P, int64_t H, int64_t dh)
{
    int64_t ld = H * dh;
    float inv_scale = 1.0f / sqrtf((float)dh);
    for (int64_t b = 0; b < B; b++)
        gemm("attention scores", false, true, P, P, dh, inv_scale, q + b * P * ld, ld, dh, k + b * P * ld, ld, dh,
             0.0f, scores + b * H * P * P, P, P * P, H);
    if (!lens_cu_failed())
        lens_cu_ok(lens_cu_attn_softmax(lens_cu_stream(), scores, NULL, B * H, P, true), "attention mask");
}

void lens_cu_attn_z(float *z, const float *pattern, const float *v, int64_t B, int64_t P, int64_t H, int64_t dh)
{
    int64_t ld = H * dh;
    for (int64_t b = 0; b < B; b++)
        gemm("attention z", false, false, P, dh, P, 1.0f, pattern + b * H * P * P, P, P * P, v + b * P * ld, ld, dh,
             0.0f, z + b * P * ld, ld, dh, H);
}

/* Scores, then one kernel that masks them and writes the pattern, then z. */
void lens_cu_attention(float *scores, float *pattern, float *z, const float *q, const float *k, const float *v,
                       int64_t B, int64_t P, int64_t H, int64_t dh)
{
    int64_t ld = H * dh;
    float inv_scale = 1.0f / sqrtf((float)dh);
    for (int64_t b = 0; b < B; b++)
        gemm("attention scores", false, true, P, P, dh, inv_scale, q + b * P * ld, ld, dh, k + b * P * ld, ld, dh,
             0.0f, scores + b * H * P * P, P, P * P, H);
    if (lens_cu_failed()) return;
    if (!lens_cu_ok(lens_cu_attn_softmax(lens_cu_stream(), scores, pattern, B * H, P, true), "attention softmax"))
        return;
    lens_cu_attn_z(z, pattern, v, B, P, H, dh);
}

/* result[:, h, :] = z[:, h, :] @ W_O[h] for every h in one call. */
void lens_cu_head_results(float *result, const float *z, const float *W_O, int64_t BP, int64_t H, int64_t dh,
                          int64_t d)
{
    gemm("head results", false, false, BP, d, dh, 1.0f, z, H * dh, dh, W_O, d, dh * d, 0.0f, result, H * d, d, H);
}

void lens_cu_matmul_dx(float *dx, const float *dy, const float *W, int64_t M, int64_t K, int64_t N, bool accumulate)
{
    gemm("matmul gradient", false, true, M, K, N, 1.0f, dy, N, 0, W, N, 0, accumulate ? 1.0f : 0.0f, dx, K, 0, 1);
}

void lens_cu_attention_dx(float *dq, float *dk, float *dv, float *dpattern, float *dscores, const float *dz,
                          const float *q, const float *k, const float *v, const float *pattern, int64_t B, int64_t P,
                          int64_t H, int64_t dh)
{
    int64_t ld = H * dh, sq = P * P;
    float inv_scale = 1.0f / sqrtf((float)dh);
    for (int64_t b = 0; b < B; b++) {
        int64_t off = b * P * ld, soff = b * H * sq;
        gemm("attention gradient (dpattern)", false, true, P, P, dh, 1.0f, dz + off, ld, dh, v + off, ld, dh, 0.0f,
             dpattern + soff, P, sq, H);
        gemm("attention gradient (dv)", true, false, P, dh, P, 1.0f, pattern + soff, P, sq, dz + off, ld, dh, 0.0f,
             dv + off, ld, dh, H);
    }
    if (lens_cu_failed()) return;
    if (!lens_cu_ok(lens_cu_attn_softmax_dx(lens_cu_stream(), dscores, dpattern, pattern, B * H, P),
                    "attention softmax gradient"))
        return;
    for (int64_t b = 0; b < B; b++) {
        int64_t off = b * P * ld, soff = b * H * sq;
        gemm("attention gradient (dq)", false, false, P, dh, P, inv_scale, dscores + soff, P, sq, k + off, ld, dh,
             0.0f, dq + off, ld, dh, H);
        gemm("attention gradient (dk)", true, false, P, dh, P, inv_scale, dscores + soff, P, sq, q + off, ld, dh,
             0.0f, dk + off, ld, dh, H);
    }
}

void lens_cu_matmul_batched(float *out, const float *a, const float *b, int64_t batch, int64_t M, int64_t K,
                            int64_t N, bool a_trans, bool b_trans, int64_t stride_a, int64_t stride_b,
                            int64_t stride_out)
{
    gemm("batched matmul", a_trans, b_trans, M, N, K, 1.0f, a, a_trans ? M : K, stride_a, b, b_trans ? K : N,
         stride_b, 0.0f, out, N, stride_out, batch);
}
