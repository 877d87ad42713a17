/* process.c — TransformerLens's weight processing, in its order: fold_ln,
 * center_writing_weights, center_unembed, fold_value_biases,
 * refactor_factored_attn_matrices. Operates on the engine layout
 * (model_internal.h). The SVDs use LAPACK (from OpenBLAS) in double precision. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* LAPACK (Fortran interface, column-major). */
extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
                    double *work, const int *lwork, int *info);
extern void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
                    const double *tau, double *work, const int *lwork, int *info);
extern void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
                    const int *lda, double *s, double *u, const int *ldu, double *vt,
                    const int *ldvt, double *work, const int *lwork, int *info);

/* Folds LayerNorm weight w and bias b into the matrix W [rows=d_model, cols] that
 * reads its output, with bias vector bias [cols]: bias += b·W; W = diag(w) W;
 * then each column is centred over d_model. */
static void fold_into(float *W, float *bias, int64_t rows, int64_t cols, const float *w,
                      const float *b)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t c = 0; c < cols; c++) bias[c] += b[i] * W[i * cols + c];
    for (int64_t i = 0; i < rows; i++)
        for (int64_t c = 0; c < cols; c++) W[i * cols + c] *= w[i];
    double *mean = calloc((size_t)cols, sizeof *mean);
    if (!mean) return;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t c = 0; c < cols; c++) mean[c] += W[i * cols + c];
    for (int64_t i = 0; i < rows; i++)
        for (int64_t c = 0; c < cols; c++) W[i * cols + c] -= (float)(mean[c] / (double)rows);
    free(mean);
}

/* Subtracts from each row of a [rows, cols] matrix its mean. */
static void center_rows(float *W, int64_t rows, int64_t cols)
{
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
    for (int64_t r = 0; r < rows; r++) {
        double s = 0;
        for (int64_t c = 0; c < cols; c++) s += W[r * cols + c];
        float mu = (float)(s / (double)cols);
        for (int64_t c = 0; c < cols; c++) W[r * cols + c] -= mu;
    }
}

static void fold_ln(lens_model *m)
{
    const lens_config *c = &m->cfg;
    int64_t d = c->d_model;
    for (int l = 0; l < c->n_layers; l++) {
        lens_layer *L = &m->layers[l];
        const float *w1 = lens_tensor_f32(L->ln1_w), *b1 = lens_tensor_f32(L->ln1_b);
        fold_into(lens_tensor_f32(L->W_Q), lens_tensor_f32(L->b_Q), d, d, w1, b1);
        fold_into(lens_tensor_f32(L->W_K), lens_tensor_f32(L->b_K), d, d, w1, b1);
        fold_into(lens_tensor_f32(L->W_V), lens_tensor_f32(L->b_V), d, d, w1, b1);
        fold_into(lens_tensor_f32(L->W_in), lens_tensor_f32(L->b_in), d, c->d_mlp,
                  lens_tensor_f32(L->ln2_w), lens_tensor_f32(L->ln2_b));
        lens_tensor *drop[] = {L->ln1_w, L->ln1_b, L->ln2_w, L->ln2_b};
        for (int i = 0; i < 4; i++) lens_tensor_free(drop[i]);
        L->ln1_w = L->ln1_b = L->ln2_w = L->ln2_b = NULL;
    }
    /* Unembedding, stored transposed [vocab, d_model]: b_U += W_U^T b; rows scaled
     * by w; each vocabulary column of W_U centred over d_model = each row here. */
    float *Wt = lens_tensor_f32(m->W_Ut), *bU = lens_tensor_f32(m->b_U);
    const float *w = lens_tensor_f32(m->lnf_w), *b = lens_tensor_f32(m->lnf_b);
#pragma omp parallel for schedule(static)
    for (int64_t v = 0; v < c->d_vocab; v++) {
        float *row = Wt + v * d;
        double s = 0;
        for (int64_t i = 0; i < d; i++) s += (double)b[i] * row[i];
        bU[v] += (float)s;
        for (int64_t i = 0; i < d; i++) row[i] *= w[i];
    }
    center_rows(Wt, c->d_vocab, d);
    lens_tensor_free(m->lnf_w);
    lens_tensor_free(m->lnf_b);
    m->lnf_w = m->lnf_b = NULL;
}

static void center_vector(float *v, int64_t n) { center_rows(v, 1, n); }

static void center_writing_weights(lens_model *m)
{
    const lens_config *c = &m->cfg;
    int64_t d = c->d_model;
    center_rows(lens_tensor_f32(m->W_E), c->d_vocab, d);
    center_rows(lens_tensor_f32(m->W_pos), c->n_ctx, d);
    for (int l = 0; l < c->n_layers; l++) {
        lens_layer *L = &m->layers[l];
        center_rows(lens_tensor_f32(L->W_O), d, d);
        center_vector(lens_tensor_f32(L->b_O), d);
        center_rows(lens_tensor_f32(L->W_out), c->d_mlp, d);
        center_vector(lens_tensor_f32(L->b_out), d);
    }
}

static void center_unembed(lens_model *m)
{
    const lens_config *c = &m->cfg;
    int64_t d = c->d_model, V = c->d_vocab;
    float *Wt = lens_tensor_f32(m->W_Ut);
    double *mean = calloc((size_t)d, sizeof *mean);
    if (!mean) return;
    for (int64_t v = 0; v < V; v++)
        for (int64_t i = 0; i < d; i++) mean[i] += Wt[v * d + i];
    for (int64_t v = 0; v < V; v++)
        for (int64_t i = 0; i < d; i++) Wt[v * d + i] -= (float)(mean[i] / (double)V);
    free(mean);
    center_vector(lens_tensor_f32(m->b_U), V);
}

static void fold_value_biases(lens_model *m)
{
    const lens_config *c = &m->cfg;
    int64_t d = c->d_model;
    for (int l = 0; l < c->n_layers; l++) {
        lens_layer *L = &m->layers[l];
        float *bV = lens_tensor_f32(L->b_V), *WO = lens_tensor_f32(L->W_O), *bO = lens_tensor_f32(L->b_O);
        for (int64_t r = 0; r < d; r++)          /* row r of W_O is (head, dim) r */
            for (int64_t o = 0; o < d; o++) bO[o] += bV[r] * WO[r * d + o];
        memset(bV, 0, (size_t)d * sizeof *bV);
    }
}

/* A [m x k] and B [n x k] (column-major, m, n >= k): A B^T = U diag(S) V^T with
 * U [m x k], V [n x k]. Uses thin QR of both factors and an SVD of R_A R_B^T. */
static int factored_svd(int mrows, int nrows, int k, const double *A, const double *B,
                        double *U, double *S, double *V)
{
    int info = 0, lwork = -1;
    double wq;
    int big = mrows > nrows ? mrows : nrows;
    double *QA = malloc(sizeof(double) * (size_t)mrows * k), *QB = malloc(sizeof(double) * (size_t)nrows * k);
    double *tau = malloc(sizeof(double) * (size_t)k), *C = calloc((size_t)k * k, sizeof(double));
    double *Uc = malloc(sizeof(double) * (size_t)k * k), *VTc = malloc(sizeof(double) * (size_t)k * k);
    double *RA = calloc((size_t)k * k, sizeof(double)), *RB = calloc((size_t)k * k, sizeof(double));
    double *work = NULL;
    int rc = -1;
    if (!QA || !QB || !tau || !C || !Uc || !VTc || !RA || !RB) goto done;
    memcpy(QA, A, sizeof(double) * (size_t)mrows * k);
    memcpy(QB, B, sizeof(double) * (size_t)nrows * k);
    dgeqrf_(&big, &k, QA, &big, tau, &wq, &lwork, &info);
    lwork = (int)wq + 5 * big * k + 64;
    work = malloc(sizeof(double) * (size_t)lwork);
    if (!work) goto done;
    double *Q[2] = {QA, QB}, *R[2] = {RA, RB};
    int rows[2] = {mrows, nrows};
    for (int f = 0; f < 2; f++) {
        dgeqrf_(&rows[f], &k, Q[f], &rows[f], tau, work, &lwork, &info);
        if (info) goto done;
        for (int j = 0; j < k; j++)
            for (int i = 0; i <= j; i++) R[f][i + j * k] = Q[f][i + j * rows[f]];
        dorgqr_(&rows[f], &k, &k, Q[f], &rows[f], tau, work, &lwork, &info);
        if (info) goto done;
    }
    for (int j = 0; j < k; j++)          /* C = RA RB^T */
        for (int i = 0; i < k; i++) {
            double s = 0;
            for (int t = 0; t < k; t++) s += RA[i + t * k] * RB[j + t * k];
            C[i + j * k] = s;
        }
    dgesvd_("A", "A", &k, &k, C, &k, S, Uc, &k, VTc, &k, work, &lwork, &info);
    if (info) goto done;
    for (int j = 0; j < k; j++) {
        for (int i = 0; i < mrows; i++) {
            double s = 0;
            for (int t = 0; t < k; t++) s += QA[i + t * mrows] * Uc[t + j * k];
            U[i + j * mrows] = s;
        }
        for (int i = 0; i < nrows; i++) {
            double s = 0;
            for (int t = 0; t < k; t++) s += QB[i + t * nrows] * VTc[j + t * k];
            V[i + j * nrows] = s;
        }
    }
    rc = 0;
done:
    free(QA); free(QB); free(tau); free(C); free(Uc); free(VTc); free(RA); free(RB); free(work);
    return rc;
}

/* Head h's [d_model (+1 bias row), d_head] block of W [d_model, H*d_head] (+ bias)
 * into column-major X; and back. */
static void get_head(const float *W, const float *b, int64_t d, int64_t ld, int64_t h,
                     int64_t dh, double *X, int rows)
{
    for (int64_t j = 0; j < dh; j++) {
        for (int64_t i = 0; i < d; i++) X[i + j * rows] = W[i * ld + h * dh + j];
        if (b) X[d + j * rows] = b[h * dh + j];
    }
}

static void put_head(float *W, float *b, int64_t d, int64_t ld, int64_t h, int64_t dh,
                     const double *X, int rows)
{
    for (int64_t j = 0; j < dh; j++) {
        for (int64_t i = 0; i < d; i++) W[i * ld + h * dh + j] = (float)X[i + j * rows];
        if (b) b[h * dh + j] = (float)X[d + j * rows];
    }
}

static int refactor_factored_attn_matrices(lens_model *m, lens_error *err)
{
    const lens_config *c = &m->cfg;
    int64_t d = c->d_model, dh = c->d_head;
    int k = (int)dh, r1 = (int)d + 1, r0 = (int)d;
    double *A = malloc(sizeof(double) * (size_t)r1 * k), *B = malloc(sizeof(double) * (size_t)r1 * k);
    double *U = malloc(sizeof(double) * (size_t)r1 * k), *V = malloc(sizeof(double) * (size_t)r1 * k);
    double *S = malloc(sizeof(double) * (size_t)k);
    int rc = -1;
    if (!A || !B || !U || !V || !S) { lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory"); goto done; }
    fold_value_biases(m); /* the OV refactor needs b_V folded into b_O, as TransformerLens does */
    for (int l = 0; l < c->n_layers; l++) {
        lens_layer *L = &m->layers[l];
        float *WQ = lens_tensor_f32(L->W_Q), *WK = lens_tensor_f32(L->W_K), *WV = lens_tensor_f32(L->W_V);
        float *bQ = lens_tensor_f32(L->b_Q), *bK = lens_tensor_f32(L->b_K), *WO = lens_tensor_f32(L->W_O);
        for (int64_t h = 0; h < c->n_heads; h++) {
            /* QK: [W_Q; b_Q][W_K; b_K]^T = U S V^T; W_Q <- U sqrt(S), W_K <- V sqrt(S). */
            get_head(WQ, bQ, d, d, h, dh, A, r1);
            get_head(WK, bK, d, d, h, dh, B, r1);
            if (factored_svd(r1, r1, k, A, B, U, S, V)) goto svd_failed;
            for (int j = 0; j < k; j++) {
                double s = sqrt(S[j]);
                for (int i = 0; i < r1; i++) { U[i + j * r1] *= s; V[i + j * r1] *= s; }
            }
            put_head(WQ, bQ, d, d, h, dh, U, r1);
            put_head(WK, bK, d, d, h, dh, V, r1);
            /* OV: W_V W_O = U S V^T; W_V <- U S, W_O <- V^T. W_O[h] rows h*dh.. are
             * [d_head, d_model]; its transpose is the [d_model x d_head] factor. */
            get_head(WV, NULL, d, d, h, dh, A, r0);
            for (int64_t j = 0; j < dh; j++)
                for (int64_t i = 0; i < d; i++) B[i + j * r0] = WO[(h * dh + j) * d + i];
            if (factored_svd(r0, r0, k, A, B, U, S, V)) goto svd_failed;
            for (int j = 0; j < k; j++)
                for (int i = 0; i < r0; i++) U[i + j * r0] *= S[j];
            put_head(WV, NULL, d, d, h, dh, U, r0);
            for (int64_t j = 0; j < dh; j++)
                for (int64_t i = 0; i < d; i++) WO[(h * dh + j) * d + i] = (float)V[i + j * r0];
        }
    }
    rc = 0;
    goto done;
svd_failed:
    lens_fail(err, "refactor_factored_attn_matrices: LAPACK SVD failed");
done:
    free(A); free(B); free(U); free(V); free(S);
    return rc;
}

int lens_model_process(lens_model *m, const lens_processing *p, lens_error *err)
{
    m->proc = *p;
    if (p->fold_ln) fold_ln(m);
    if (p->center_writing_weights) center_writing_weights(m);
    if (p->center_unembed) center_unembed(m);
    if (p->fold_value_biases) fold_value_biases(m);
    if (p->refactor_factored_attn_matrices && refactor_factored_attn_matrices(m, err)) return -1;
    return 0;
}
