/* cuda_blas.c — the CUDA backend's operations built on matrix products: cuBLAS
 * sgemm for matmul and its input gradient, strided-batched sgemm for per-head
 * results and batched matmul, one batched sgemm over every (batch, head) for
 * attention scores, z and the attention gradient.
 *
 * Owns: the cuBLAS handle's math mode (the precision switch) and the row-major
 * call convention. Does not own: the handle's creation (cuda_backend.c) or the
 * softmax between the products (rows.cu).
 *
 * Row-major C[M,N] = op(A)[M,K] op(B)[K,N] is, read column-major, C^T = op(B)^T
 * op(A)^T: cuBLAS is called with the operands swapped and m = N, n = M. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
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
        return lens_cu_error(err, LENS_ERR_INVALID, "unknown CUDA precision '%s' (choose float32 or tf32)",
                             precision ? precision : "(null)");
    cublasStatus_t st = cublasSetMathMode(blas, mode);
    if (st != CUBLAS_STATUS_SUCCESS)
        return lens_cu_error(err, LENS_CUDA_DEVICE_ERROR_KIND, "cuBLAS could not set precision %s: %s", precision,
                             blas_status_name(st));
    return 0;
}

/* One operand of a product: its first matrix, its row stride, and how many
 * elements apart consecutive matrices are at the outer and the inner batch level. */
typedef struct {
    const float *base;
    int64_t ld, outer, inner;
} operand;

static operand op_of(const float *base, int64_t ld, int64_t outer, int64_t inner)
{
    operand o = {base, ld < 1 ? 1 : ld, outer, inner};   /* cuBLAS wants ld >= 1, also for an empty K */
    return o;
}

/* Pointers for cublasSgemmBatched, grown on demand and kept for the process.
 * One product at a time fills and queues them (the lock): on the one stream a
 * later fill then runs only after the earlier product has read its pointers. */
static void **pointer_scratch;
static int64_t pointer_capacity;
static pthread_mutex_t pointer_lock = PTHREAD_MUTEX_INITIALIZER;

static void **pointer_arrays(int64_t n)
{
    if (n <= pointer_capacity) return pointer_scratch;
    if (pointer_scratch) {
        /* batched products queued earlier may still read the old arrays */
        if (!lens_cu_ok(cudaStreamSynchronize(lens_cu_stream()), "batched matmul pointers")) return NULL;
        lens_cu_ok(cudaFree(pointer_scratch), "batched matmul pointers");
        pointer_scratch = NULL;
        pointer_capacity = 0;
    }
    int64_t cap = n < 2 * pointer_capacity ? 2 * pointer_capacity : n;
    if (cap > INT64_MAX / (int64_t)sizeof(void *)) cap = n;
    void *p = NULL;
    if (!lens_cu_ok(cudaMalloc(&p, (size_t)cap * sizeof(void *)), "allocating batched matmul pointers")) return NULL;
    pointer_scratch = p;
    pointer_capacity = cap;
    return pointer_scratch;
}

/* Row-major, batched over outer x inner: C[o,i] = alpha op(A[o,i]) op(B[o,i]) +
 * beta C[o,i]. One level of batching is one strided-batched call; two levels
 * (attention: batch, then head) one pointer-array batched call, its pointers
 * computed on the device. Nothing synchronizes. */
static void gemm(const char *what, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, operand A,
                 operand B, float beta, float *C, int64_t ldc, int64_t sCo, int64_t sCi, int64_t outer,
                 int64_t inner)
{
    if (lens_cu_failed()) return;
    int64_t batch;
    if (M < 0 || N < 0 || K < 0 || outer < 0 || inner < 0 || __builtin_mul_overflow(outer, inner, &batch)) {
        lens_cu_fail(LENS_ERR_INVALID, "%s: bad size (M=%lld N=%lld K=%lld batch %lld x %lld)", what, (long long)M,
                     (long long)N, (long long)K, (long long)outer, (long long)inner);
        return;
    }
    if (M == 0 || N == 0 || batch == 0) return;
    if (K == 0) {   /* an empty sum: C = beta C, written here rather than left to cuBLAS */
        if (beta == 0.0f)
            for (int64_t o = 0; o < outer; o++)
                for (int64_t i = 0; i < inner; i++)
                    if (!lens_cu_ok(cudaMemset2DAsync(C + o * sCo + i * sCi, (size_t)ldc * sizeof(float), 0,
                                                      (size_t)N * sizeof(float), (size_t)M, lens_cu_stream()),
                                    what))
                        return;
        return;   /* beta is 0 or 1 in every caller */
    }
    cublasOperation_t opA = tb ? CUBLAS_OP_T : CUBLAS_OP_N, opB = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t st;
    if (batch == 1) {
        st = cublasSgemm_64(blas, opA, opB, N, M, K, &alpha, B.base, B.ld, A.base, A.ld, &beta, C, ldc);
    } else if (outer == 1 || inner == 1) {
        bool by_inner = outer == 1;
        st = cublasSgemmStridedBatched_64(blas, opA, opB, N, M, K, &alpha, B.base, B.ld, by_inner ? B.inner : B.outer,
                                          A.base, A.ld, by_inner ? A.inner : A.outer, &beta, C, ldc,
                                          by_inner ? sCi : sCo, batch);
    } else {
        if (batch > INT64_MAX / 3) {
            lens_cu_fail(LENS_ERR_TOO_LARGE, "%s: %lld matrices in one batch", what, (long long)batch);
            return;
        }
        pthread_mutex_lock(&pointer_lock);
        void **arrays = pointer_arrays(3 * batch);
        if (!arrays || !lens_cu_ok(lens_cu_gemm_pointers(lens_cu_stream(), arrays, A.base, B.base, C, outer, inner,
                                                         A.outer, A.inner, B.outer, B.inner, sCo, sCi),
                                   what)) {
            pthread_mutex_unlock(&pointer_lock);
            return;
        }
        const float *const *pa = (const float *const *)arrays;
        const float *const *pb = (const float *const *)(arrays + batch);
        float *const *pc = (float *const *)(arrays + 2 * batch);
        st = cublasSgemmBatched_64(blas, opA, opB, N, M, K, &alpha, pb, B.ld, pa, A.ld, &beta, pc, ldc, batch);
        pthread_mutex_unlock(&pointer_lock);
    }
    if (st == CUBLAS_STATUS_SUCCESS)
        lens_cu_ok(cudaSuccess, what);   /* waits here under LENS_CUDA_SYNC=1 */
    else
        lens_cu_fail(st == CUBLAS_STATUS_ALLOC_FAILED ? LENS_ERR_MEMORY : LENS_CUDA_DEVICE_ERROR_KIND,
                     "cuBLAS sgemm in %s failed: %s (M=%lld N=%lld K=%lld batch %lld x %lld)", what,
                     blas_status_name(st), (long long)M, (long long)N, (long long)K, (long long)outer,
                     (long long)inner);
}

/* A single matrix (no batching). */
static operand single(const float *base, int64_t ld)
{
    return op_of(base, ld, 0, 0);
}

void lens_cu_matmul(float *out, const float *a, const float *b, const float *bias, int64_t M, int64_t K, int64_t N,
                    bool b_trans)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("matmul", M, N) || !LENS_CU_DIMS_OK("matmul", M, K)) return;
    if (bias && !lens_cu_ok(lens_cu_bias_rows(lens_cu_stream(), out, bias, M, N), "matmul bias")) return;
    gemm("matmul", false, b_trans, M, N, K, 1.0f, single(a, K), single(b, b_trans ? K : N), bias ? 1.0f : 0.0f, out,
         N, 0, 0, 1, 1);
}

/* q, k, v, z are [B,P,H,dh]: the (batch b, head h) matrix starts at b*P*H*dh +
 * h*dh with rows H*dh apart; scores and pattern [B,H,P,P] at (b*H + h)*P*P. */
static operand per_head(const float *base, int64_t P, int64_t H, int64_t dh)
{
    return op_of(base, H * dh, P * H * dh, dh);
}

static operand per_square(const float *base, int64_t P, int64_t H)
{
    return op_of(base, P, H * P * P, P * P);
}

static void scores_product(float *scores, const float *q, const float *k, int64_t B, int64_t P, int64_t H,
                           int64_t dh)
{
    float inv_scale = 1.0f / sqrtf((float)dh);
    gemm("attention scores", false, true, P, P, dh, inv_scale, per_head(q, P, H, dh), per_head(k, P, H, dh), 0.0f,
         scores, P, H * P * P, P * P, B, H);
}

/* scores [B,H,P,P] and q [B,P,H,dh] are indexed with int64 offsets: they must fit. */
static bool attention_dims_ok(const char *what, int64_t B, int64_t P, int64_t H, int64_t dh)
{
    return LENS_CU_DIMS_OK(what, B, H, P, P) && LENS_CU_DIMS_OK(what, B, P, H, dh);
}

void lens_cu_attn_scores(float *scores, const float *q, const float *k, int64_t B, int64_t P, int64_t H, int64_t dh)
{
    if (lens_cu_failed() || !attention_dims_ok("attention scores", B, P, H, dh)) return;
    scores_product(scores, q, k, B, P, H, dh);
    if (!lens_cu_failed())
        lens_cu_ok(lens_cu_attn_softmax(lens_cu_stream(), scores, NULL, B * H, P, true), "attention mask");
}

void lens_cu_attn_z(float *z, const float *pattern, const float *v, int64_t B, int64_t P, int64_t H, int64_t dh)
{
    if (lens_cu_failed() || !attention_dims_ok("attention z", B, P, H, dh)) return;
    gemm("attention z", false, false, P, dh, P, 1.0f, per_square(pattern, P, H), per_head(v, P, H, dh), 0.0f, z,
         H * dh, P * H * dh, dh, B, H);
}

/* Scores, then one kernel that masks them and writes the pattern, then z. */
void lens_cu_attention(float *scores, float *pattern, float *z, const float *q, const float *k, const float *v,
                       int64_t B, int64_t P, int64_t H, int64_t dh)
{
    if (lens_cu_failed() || !attention_dims_ok("attention", B, P, H, dh)) return;
    scores_product(scores, q, k, B, P, H, dh);
    if (lens_cu_failed()) return;
    if (!lens_cu_ok(lens_cu_attn_softmax(lens_cu_stream(), scores, pattern, B * H, P, true), "attention softmax"))
        return;
    lens_cu_attn_z(z, pattern, v, B, P, H, dh);
}

/* result[:, h, :] = z[:, h, :] @ W_O[h] for every h in one call. */
void lens_cu_head_results(float *result, const float *z, const float *W_O, int64_t BP, int64_t H, int64_t dh,
                          int64_t d)
{
    if (lens_cu_failed() || !LENS_CU_DIMS_OK("head results", BP, H, d) || !LENS_CU_DIMS_OK("head results", H, dh, d))
        return;
    gemm("head results", false, false, BP, d, dh, 1.0f, op_of(z, H * dh, 0, dh), op_of(W_O, d, 0, dh * d), 0.0f,
         result, H * d, 0, d, 1, H);
}

void lens_cu_matmul_dx(float *dx, const float *dy, const float *W, int64_t M, int64_t K, int64_t N, bool accumulate)
{
    gemm("matmul gradient", false, true, M, K, N, 1.0f, single(dy, N), single(W, N), accumulate ? 1.0f : 0.0f, dx, K,
         0, 0, 1, 1);
}

void lens_cu_attention_dx(float *dq, float *dk, float *dv, float *dpattern, float *dscores, const float *dz,
                          const float *q, const float *k, const float *v, const float *pattern, int64_t B, int64_t P,
                          int64_t H, int64_t dh)
{
    if (lens_cu_failed() || !attention_dims_ok("attention gradient", B, P, H, dh)) return;
    float inv_scale = 1.0f / sqrtf((float)dh);
    int64_t ld = H * dh, so = P * H * dh, sq = P * P;
    gemm("attention gradient (dpattern)", false, true, P, P, dh, 1.0f, per_head(dz, P, H, dh), per_head(v, P, H, dh),
         0.0f, dpattern, P, H * sq, sq, B, H);
    gemm("attention gradient (dv)", true, false, P, dh, P, 1.0f, per_square(pattern, P, H), per_head(dz, P, H, dh),
         0.0f, dv, ld, so, dh, B, H);
    if (lens_cu_failed()) return;
    if (!lens_cu_ok(lens_cu_attn_softmax_dx(lens_cu_stream(), dscores, dpattern, pattern, B * H, P),
                    "attention softmax gradient"))
        return;
    gemm("attention gradient (dq)", false, false, P, dh, P, inv_scale, per_square(dscores, P, H),
         per_head(k, P, H, dh), 0.0f, dq, ld, so, dh, B, H);
    gemm("attention gradient (dk)", true, false, P, dh, P, inv_scale, per_square(dscores, P, H),
         per_head(q, P, H, dh), 0.0f, dk, ld, so, dh, B, H);
}

void lens_cu_matmul_batched(float *out, const float *a, const float *b, int64_t batch, int64_t M, int64_t K,
                            int64_t N, bool a_trans, bool b_trans, int64_t stride_a, int64_t stride_b,
                            int64_t stride_out)
{
    gemm("batched matmul", a_trans, b_trans, M, N, K, 1.0f, op_of(a, a_trans ? M : K, 0, stride_a),
         op_of(b, b_trans ? K : N, 0, stride_b), 0.0f, out, N, 0, stride_out, 1, batch);
}
