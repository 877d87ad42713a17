/* tensor_ops_matmul.c — torch.matmul semantics over lens tensors: vectors, matrices and
 * broadcast batches (see lens/tensor_ops.h). float32 goes through the CPU backend's
 * tiled sgemm (backend_cpu_gemm.c) one batch matrix at a time, reading strided views
 * in place when BLAS can (row- or column-major with a valid leading dimension) and
 * copying only when it cannot. On a device, float32
 * products run as one matmul_batched of the backend over operands made contiguous
 * (and broadcast batches materialised) there; int64 ones run on the host. */
#include "lens/tensor_ops.h"

#include <stdlib.h>

#include "backend_cpu_internal.h"
#include "tensor_device.h"
#include "tape_record.h"
#include "tensor_iter.h"

/* Whether a (rows x cols) matrix with these strides can be handed to BLAS directly. */
static bool blas_layout(int64_t rows, int64_t cols, int64_t sr, int64_t sc, bool *trans, int64_t *ld)
{
    if (cols == 1) sc = 1;
    if (rows == 1) sr = cols > 1 ? cols : 1;
    if (sc == 1 && sr >= (cols > 1 ? cols : 1)) { *trans = false; *ld = sr; return true; }
    if (sr == 1 && sc >= (rows > 1 ? rows : 1)) { *trans = true; *ld = sc; return true; }
    return false;
}

/* t's matrices for bshape's batches, contiguous on t's device: t itself (stride 0,
 * one matrix for all) when it has no batch dims, else a copy expanded to every batch. */
static lens_tensor *batched_operand(const lens_tensor *t, int nb, const int64_t *bshape, int64_t *stride)
{
    int64_t rows = t->shape[t->ndim - 2], cols = t->shape[t->ndim - 1];
    if (t->ndim == 2) {
        *stride = 0;
        return lens_tensor_contiguous(t);
    }
    int64_t shape[LENS_MAX_DIMS], strides[LENS_MAX_DIMS];
    lens_tensor head = *t;
    head.ndim = t->ndim - 2;
    lens_broadcast_strides(&head, nb, bshape, strides);
    for (int d = 0; d < nb; d++) shape[d] = bshape[d];
    shape[nb] = rows;
    shape[nb + 1] = cols;
    strides[nb] = t->strides[t->ndim - 2];
    strides[nb + 1] = t->strides[t->ndim - 1];
    lens_tensor *v = lens_tensor_view(t, nb + 2, shape, strides, t->offset);
    lens_tensor *c = v ? lens_tensor_clone(v) : NULL;
    lens_tensor_free(v);
    *stride = rows * cols;
    return c;
}

static int device_matmul(const lens_backend *be, lens_tensor *o, const lens_tensor *a, const lens_tensor *b, int nb,
                         const int64_t *bshape, int64_t M, int64_t K, int64_t N, lens_error *err)
{
    int64_t batches = 1;
    for (int d = 0; d < nb; d++) batches *= bshape[d];
    if (!batches || !M || !N) return 0;
    int64_t sa, sb;
    lens_tensor *A = batched_operand(a, nb, bshape, &sa), *B = A ? batched_operand(b, nb, bshape, &sb) : NULL;
    if (B)
        be->matmul_batched(lens_tensor_device_ptr(o), lens_tensor_device_ptr(A), lens_tensor_device_ptr(B), batches, M,
                           K, N, false, false, sa, sb, M * N);
    lens_tensor_free(A);
    lens_tensor_free(B);
    return B ? 0 : lens_fail_alloc(err);
}

lens_tensor *lens_matmul(const lens_tensor *a_in, const lens_tensor *b_in, lens_error *err)
{
    const lens_backend *be;
    if (lens_common_device(2, (const lens_tensor *[]){a_in, b_in}, &be, err)) return NULL;
    if (be && a_in->dtype == LENS_I64 && b_in->dtype == LENS_I64) {
        lens_tensor *h[2];
        if (lens_inputs_on_host(2, (const lens_tensor *[]){a_in, b_in}, h, err) < 0) return NULL;
        lens_tensor *r = lens_matmul(h[0], h[1], err);
        lens_tensor_free(h[0]);
        lens_tensor_free(h[1]);
        return lens_result_to_device(r, be, err);
    }
    char sa_[128], sb_[128];
    if (a_in->ndim == 0 || b_in->ndim == 0) {
        lens_fail(err, "matmul: both arguments need at least 1 dim, got shapes %s and %s",
                  lens_shape_str(a_in->ndim, a_in->shape, sa_, sizeof sa_),
                  lens_shape_str(b_in->ndim, b_in->shape, sb_, sizeof sb_));
        return NULL;
    }
    lens_tensor *a = a_in->ndim == 1 ? lens_tensor_unsqueeze(a_in, 0, err) : lens_tensor_ref(a_in);
    lens_tensor *b = b_in->ndim == 1 ? lens_tensor_unsqueeze(b_in, -1, err) : lens_tensor_ref(b_in);
    lens_tensor *out = NULL;
    if (!a || !b) goto done;
    bool use_f32 = !(a->dtype == LENS_I64 && b->dtype == LENS_I64);
    if (use_f32 && a->dtype != LENS_F32) { lens_tensor *c = lens_tensor_to_f32(a); lens_tensor_free(a); a = c; }
    if (use_f32 && b->dtype != LENS_F32) { lens_tensor *c = lens_tensor_to_f32(b); lens_tensor_free(b); b = c; }
    if (!a || !b) { lens_fail_alloc(err); goto done; }
    int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1];
    int64_t K2 = b->shape[b->ndim - 2], N = b->shape[b->ndim - 1];
    if (K != K2) {
        lens_fail(err, "matmul: shapes %s and %s do not match (%lld vs %lld in the contracted dim)",
                  lens_shape_str(a_in->ndim, a_in->shape, sa_, sizeof sa_),
                  lens_shape_str(b_in->ndim, b_in->shape, sb_, sizeof sb_), (long long)K, (long long)K2);
        goto done;
    }
    int64_t bshape[LENS_MAX_DIMS];
    int nb = lens_broadcast_shape(a->ndim - 2, a->shape, b->ndim - 2, b->shape, bshape, err);
    if (nb < 0) { lens_fail_context(err, "matmul batch dims"); goto done; }
    if (nb + 2 > LENS_MAX_DIMS) { lens_fail(err, "matmul: too many dims"); goto done; }
    int64_t oshape[LENS_MAX_DIMS];
    for (int d = 0; d < nb; d++) oshape[d] = bshape[d];
    oshape[nb] = M;
    oshape[nb + 1] = N;
    lens_tensor *o = lens_tensor_new_on(be, use_f32 ? LENS_F32 : LENS_I64, nb + 2, oshape);
    if (!o) { lens_fail_alloc(err); lens_fail_context(err, "matmul"); goto done; }
    if (be) {
        if (device_matmul(be, o, a, b, nb, bshape, M, K, N, err)) { lens_tensor_free(o); goto done; }
        goto squeeze;
    }

    bool ta = false, tb = false;
    int64_t lda = 0, ldb = 0;
    if (use_f32) {
        /* Copy an operand whose matrices BLAS cannot read in place. */
        if (!blas_layout(M, K, a->strides[a->ndim - 2], a->strides[a->ndim - 1], &ta, &lda)) {
            lens_tensor *c = lens_tensor_clone(a); lens_tensor_free(a); a = c;
            if (a) blas_layout(M, K, a->strides[a->ndim - 2], a->strides[a->ndim - 1], &ta, &lda);
        }
        if (b && !blas_layout(K, N, b->strides[b->ndim - 2], b->strides[b->ndim - 1], &tb, &ldb)) {
            lens_tensor *c = lens_tensor_clone(b); lens_tensor_free(b); b = c;
            if (b) blas_layout(K, N, b->strides[b->ndim - 2], b->strides[b->ndim - 1], &tb, &ldb);
        }
        if (!a || !b) { lens_tensor_free(o); lens_fail_alloc(err); goto done; }
    }
    /* Batch strides: a's and b's leading dims broadcast against bshape. */
    lens_tensor ah = *a, bh = *b;
    ah.ndim = a->ndim - 2;
    bh.ndim = b->ndim - 2;
    int64_t bsa[LENS_MAX_DIMS] = {0}, bsb[LENS_MAX_DIMS] = {0};
    lens_broadcast_strides(&ah, nb, bshape, bsa);
    lens_broadcast_strides(&bh, nb, bshape, bsb);
    lens_iter it;
    lens_iter_init(&it, nb, bshape);
    int ka = lens_iter_add(&it, bsa), kb = lens_iter_add(&it, bsb);
    int64_t batches = 1;
    for (int d = 0; d < nb; d++) batches *= bshape[d];
    for (int64_t bi = 0; bi < batches && M > 0 && N > 0; bi++, lens_iter_next(&it)) {
        if (use_f32) {
            const float *pa = lens_tensor_f32(a) + it.off[ka], *pb = lens_tensor_f32(b) + it.off[kb];
            float *pc = lens_tensor_f32(o) + bi * M * N;
            if (K == 0) continue;   /* the zero-filled result is right */
            lens_cpu_sgemm(&(lens_sgemm){.a_trans = ta, .b_trans = tb, .M = M, .N = N, .K = K, .alpha = 1.0f,
                                         .a = pa, .b = pb, .c = pc, .lda = lda, .ldb = ldb, .ldc = N});
        } else {
            const int64_t *pa = lens_tensor_i64(a) + it.off[ka], *pb = lens_tensor_i64(b) + it.off[kb];
            int64_t *pc = lens_tensor_i64(o) + bi * M * N;
            int64_t ar = a->strides[a->ndim - 2], ac = a->strides[a->ndim - 1];
            int64_t br = b->strides[b->ndim - 2], bc = b->strides[b->ndim - 1];
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    uint64_t acc = 0;
                    for (int64_t k = 0; k < K; k++) acc += (uint64_t)pa[i * ar + k * ac] * (uint64_t)pb[k * br + j * bc];
                    pc[i * N + j] = (int64_t)acc;
                }
        }
    }
squeeze:
    /* Drop the dims that were added for 1-d operands. */
    out = o;
    if (b_in->ndim == 1) { lens_tensor *s = lens_tensor_squeeze(out, -1, err); lens_tensor_free(out); out = s; }
    if (out && a_in->ndim == 1) { lens_tensor *s = lens_tensor_squeeze(out, out->ndim - 1 - (b_in->ndim == 1 ? 0 : 1), err); lens_tensor_free(out); out = s; }
    lens_tape_matmul(a_in, b_in, out);
done:
    lens_tensor_free(a);
    lens_tensor_free(b);
    return out;
}
