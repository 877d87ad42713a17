/* tests/engine/test_backend.c — every operation of every compiled backend (cpu,
 * the simulated device sim, and cuda when this machine can run it) against the
 * cpu backend on host memory, over random shapes with the edge cases (one row,
 * sizes that are not multiples of 32, P = 1 and P = 1024 for attention); the
 * memory operations' round trips; the sim device faulting on host access and
 * refusing host pointers; the registry (names, LENS_DEVICE, the errors).
 *
 * Each case uploads the same random inputs to the backend under test, runs the
 * operation there, downloads the outputs and compares them with the cpu
 * backend's run on host copies. sim runs the cpu code, so it must give the same
 * bits (tolerance 0); a real device gets 1e-4 relative, as the fixture tests. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../engine/backend.h"
#include "../harness.h"

/* ---- the backends under test -------------------------------------------- */

static const lens_backend *backends[3];
static int n_backends;

static double tolerance(const lens_backend *be) { return be->device == LENS_CUDA ? 1e-4 : 0.0; }

/* ---- random inputs ------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int64_t rand_between(int64_t lo, int64_t hi) { return lo + (int64_t)(uniform() * (double)(hi - lo + 1)); }

/* ---- one case: buffers on the host (the reference) and on the device ---- */

#define MAX_BUFS 12

typedef struct {
    const lens_backend *be;
    int n;
    struct {
        size_t bytes;
        void *ref;    /* the cpu backend's copy */
        void *dev;    /* the backend under test's copy */
        void *got;    /* downloaded after the run */
    } b[MAX_BUFS];
} bench;

/* A buffer of n floats, uniform in [lo, hi), the same on both sides. */
static int buf_f32(bench *c, int64_t n, double lo, double hi)
{
    int i = c->n++;
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    float *h = malloc(bytes);
    for (int64_t j = 0; j < n; j++) h[j] = (float)(lo + (hi - lo) * uniform());
    lens_error err;
    void *d = c->be->alloc(bytes, &err);
    CHECK(d, "alloc %zu bytes on %s: %s", bytes, c->be->name, err.msg);
    CHECK(c->be->upload(d, h, bytes, &err) == 0, "upload on %s: %s", c->be->name, err.msg);
    c->b[i].bytes = bytes;
    c->b[i].ref = h;
    c->b[i].dev = d;
    c->b[i].got = calloc(1, bytes);
    return i;
}

static int buf_i64(bench *c, int64_t n, int64_t lo, int64_t hi)
{
    int i = c->n++;
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(int64_t);
    int64_t *h = malloc(bytes);
    for (int64_t j = 0; j < n; j++) h[j] = rand_between(lo, hi);
    lens_error err;
    void *d = c->be->alloc(bytes, &err);
    CHECK(d && c->be->upload(d, h, bytes, &err) == 0, "i64 buffer on %s: %s", c->be->name, err.msg);
    c->b[i].bytes = bytes;
    c->b[i].ref = h;
    c->b[i].dev = d;
    c->b[i].got = calloc(1, bytes);
    return i;
}

#define R(i) ((float *)c.b[i].ref)
#define D(i) ((float *)c.b[i].dev)

/* Downloads the listed outputs (-1 ends the list), compares them with the cpu's
 * and frees everything. */
static void finish(bench *c, const char *what, const int *outs)
{
    lens_error err;
    CHECK(c->be->synchronize(&err) == 0, "%s on %s: %s", what, c->be->name, err.msg);
    for (const int *o = outs; *o >= 0; o++) {
        int i = *o;
        CHECK(c->be->download(c->b[i].got, c->b[i].dev, c->b[i].bytes, &err) == 0, "%s: %s", what, err.msg);
        char label[160];
        snprintf(label, sizeof label, "%s on %s, output %d", what, c->be->name, i);
        CHECK_CLOSE((float *)c->b[i].got, (float *)c->b[i].ref, (long)(c->b[i].bytes / sizeof(float)),
                    tolerance(c->be), label);
    }
    for (int i = 0; i < c->n; i++) {
        c->be->free(c->b[i].dev, c->b[i].bytes);
        free(c->b[i].ref);
        free(c->b[i].got);
    }
    c->n = 0;
}

#define OUTS(...) ((const int[]){__VA_ARGS__, -1})
#define CPU lens_backend_cpu()

/* ---- forward operations -------------------------------------------------- */

static const int64_t edge_sizes[] = {1, 2, 31, 32, 33, 64, 97};
#define N_EDGE (int)(sizeof edge_sizes / sizeof *edge_sizes)

static void test_matmul(void)
{
    for (int bi = 0; bi < n_backends; bi++)
        for (int t = 0; t < 12; t++) {
            int64_t M = t < N_EDGE ? edge_sizes[t] : rand_between(1, 80), K = rand_between(1, 70),
                    N = t % 3 == 0 ? 1 : rand_between(1, 90);
            bool trans = t & 1, bias = t & 2;
            bench c = {.be = backends[bi]};
            int out = buf_f32(&c, M * N, -1, 1), a = buf_f32(&c, M * K, -1, 1), b = buf_f32(&c, K * N, -1, 1),
                bs = buf_f32(&c, N, -1, 1);
            CPU->matmul(R(out), R(a), R(b), bias ? R(bs) : NULL, M, K, N, trans);
            c.be->matmul(D(out), D(a), D(b), bias ? D(bs) : NULL, M, K, N, trans);
            finish(&c, "matmul", OUTS(out));
        }
}

static void test_layernorm(void)
{
    for (int bi = 0; bi < n_backends; bi++)
        for (int t = 0; t < 8; t++) {
            int64_t M = t < N_EDGE ? edge_sizes[t] : rand_between(1, 50), d = rand_between(1, 100);
            bench c = {.be = backends[bi]};
            int nrm = buf_f32(&c, M * d, 0, 1), sc = buf_f32(&c, M, 0, 1), x = buf_f32(&c, M * d, -3, 3),
                w = buf_f32(&c, d, 0.5, 1.5), b = buf_f32(&c, d, -1, 1);
            bool weighted = t & 1;
            CPU->layernorm(R(nrm), R(sc), R(x), weighted ? R(w) : NULL, weighted ? R(b) : NULL, M, d, 1e-5f);
            c.be->layernorm(D(nrm), D(sc), D(x), weighted ? D(w) : NULL, weighted ? D(b) : NULL, M, d, 1e-5f);
            finish(&c, "layernorm", OUTS(nrm, sc));
        }
}

/* Attention in one step and in three, for P from 1 to 1024. */
static void test_attention(void)
{
    static const int64_t Ps[] = {1, 2, 7, 33, 63, 64, 65, 130, 1024};
    for (int bi = 0; bi < n_backends; bi++)
        for (size_t t = 0; t < sizeof Ps / sizeof *Ps; t++) {
            int64_t P = Ps[t], B = P >= 1024 ? 1 : rand_between(1, 3), H = P >= 1024 ? 2 : rand_between(1, 4),
                    dh = rand_between(1, 40);
            int64_t n = B * P * H * dh, np = B * H * P * P;
            bench c = {.be = backends[bi]};
            int sc = buf_f32(&c, np, 0, 1), pat = buf_f32(&c, np, 0, 1), z = buf_f32(&c, n, 0, 1);
            int q = buf_f32(&c, n, -2, 2), k = buf_f32(&c, n, -2, 2), v = buf_f32(&c, n, -2, 2);
            CPU->attention(R(sc), R(pat), R(z), R(q), R(k), R(v), B, P, H, dh);
            c.be->attention(D(sc), D(pat), D(z), D(q), D(k), D(v), B, P, H, dh);
            finish(&c, "attention", OUTS(sc, pat, z));

            c = (bench){.be = backends[bi]};
            sc = buf_f32(&c, np, 0, 1), pat = buf_f32(&c, np, 0, 1), z = buf_f32(&c, n, 0, 1);
            q = buf_f32(&c, n, -2, 2), k = buf_f32(&c, n, -2, 2), v = buf_f32(&c, n, -2, 2);
            CPU->attn_scores(R(sc), R(q), R(k), B, P, H, dh);
            CPU->attn_softmax(R(pat), R(sc), B, P, H);
            CPU->attn_z(R(z), R(pat), R(v), B, P, H, dh);
            c.be->attn_scores(D(sc), D(q), D(k), B, P, H, dh);
            c.be->attn_softmax(D(pat), D(sc), B, P, H);
            c.be->attn_z(D(z), D(pat), D(v), B, P, H, dh);
            finish(&c, "attn_scores/attn_softmax/attn_z", OUTS(sc, pat, z));
        }
}

static void test_head_results_activation_add_embed(void)
{
    for (int bi = 0; bi < n_backends; bi++)
        for (int t = 0; t < 6; t++) {
            int64_t BP = t < N_EDGE ? edge_sizes[t] : rand_between(1, 40), H = rand_between(1, 5),
                    dh = rand_between(1, 20), d = rand_between(1, 50);
            bench c = {.be = backends[bi]};
            int res = buf_f32(&c, BP * H * d, 0, 1), z = buf_f32(&c, BP * H * dh, -1, 1),
                wo = buf_f32(&c, H * dh * d, -1, 1);
            CPU->head_results(R(res), R(z), R(wo), BP, H, dh, d);
            c.be->head_results(D(res), D(z), D(wo), BP, H, dh, d);
            finish(&c, "head_results", OUTS(res));

            int64_t n = t == 0 ? 1 : rand_between(1, 5000);
            for (int act = LENS_ACT_GELU_NEW; act <= LENS_ACT_RELU; act++) {
                c = (bench){.be = backends[bi]};
                int out = buf_f32(&c, n, 0, 1), x = buf_f32(&c, n, -4, 4), y = buf_f32(&c, n, -4, 4);
                CPU->activation(R(out), R(x), n, (lens_activation)act);
                c.be->activation(D(out), D(x), n, (lens_activation)act);
                CPU->add(R(y), R(y), R(x), n);   /* in place, as the residual stream does */
                c.be->add(D(y), D(y), D(x), n);
                finish(&c, "activation/add", OUTS(out, y));
            }

            int64_t B = rand_between(1, 3), P = t == 0 ? 1 : rand_between(1, 20), dm = rand_between(1, 40),
                    vocab = rand_between(1, 60);
            c = (bench){.be = backends[bi]};
            int emb = buf_f32(&c, B * P * dm, 0, 1), pos = buf_f32(&c, B * P * dm, 0, 1),
                tok = buf_i64(&c, B * P, 0, vocab - 1), we = buf_f32(&c, vocab * dm, -1, 1),
                wp = buf_f32(&c, P * dm, -1, 1);
            CPU->embed(R(emb), R(pos), c.b[tok].ref, R(we), R(wp), B, P, dm);
            c.be->embed(D(emb), D(pos), c.b[tok].dev, D(we), D(wp), B, P, dm);
            finish(&c, "embed", OUTS(emb, pos));
        }
}

/* ---- backward operations ------------------------------------------------- */

static void test_backward_ops(void)
{
    for (int bi = 0; bi < n_backends; bi++)
        for (int t = 0; t < 8; t++) {
            int64_t M = t < N_EDGE ? edge_sizes[t] : rand_between(1, 60), K = rand_between(1, 50),
                    N = rand_between(1, 70);
            bench c = {.be = backends[bi]};
            int dx = buf_f32(&c, M * K, -1, 1), dy = buf_f32(&c, M * N, -1, 1), W = buf_f32(&c, K * N, -1, 1);
            CPU->matmul_dx(R(dx), R(dy), R(W), M, K, N, t & 1);
            c.be->matmul_dx(D(dx), D(dy), D(W), M, K, N, t & 1);
            finish(&c, "matmul_dx", OUTS(dx));

            int64_t d = rand_between(1, 80);
            c = (bench){.be = backends[bi]};
            int ldx = buf_f32(&c, M * d, -1, 1), dsc = buf_f32(&c, M, 0, 1), dn = buf_f32(&c, M * d, -1, 1),
                x = buf_f32(&c, M * d, -2, 2), scl = buf_f32(&c, M, 0.5, 2), w = buf_f32(&c, d, 0.5, 1.5);
            bool with_w = t & 1, with_dscale = t & 2;
            CPU->layernorm_dx(R(ldx), with_dscale ? R(dsc) : NULL, R(dn), R(x), R(scl), with_w ? R(w) : NULL, M, d);
            c.be->layernorm_dx(D(ldx), with_dscale ? D(dsc) : NULL, D(dn), D(x), D(scl), with_w ? D(w) : NULL, M, d);
            finish(&c, "layernorm_dx", OUTS(ldx, dsc));

            int64_t n = rand_between(1, 3000);
            for (int act = LENS_ACT_GELU_NEW; act <= LENS_ACT_RELU; act++) {
                c = (bench){.be = backends[bi]};
                int adx = buf_f32(&c, n, 0, 1), ady = buf_f32(&c, n, -1, 1), ax = buf_f32(&c, n, -4, 4);
                CPU->activation_dx(R(adx), R(ady), R(ax), n, (lens_activation)act);
                c.be->activation_dx(D(adx), D(ady), D(ax), n, (lens_activation)act);
                finish(&c, "activation_dx", OUTS(adx));
            }
        }
    static const int64_t Ps[] = {1, 5, 33, 64, 100, 1024};
    for (int bi = 0; bi < n_backends; bi++)
        for (size_t t = 0; t < sizeof Ps / sizeof *Ps; t++) {
            int64_t P = Ps[t], B = P >= 1024 ? 1 : rand_between(1, 2), H = P >= 1024 ? 1 : rand_between(1, 3),
                    dh = rand_between(1, 24);
            int64_t n = B * P * H * dh, np = B * H * P * P;
            bench c = {.be = backends[bi]};
            int dq = buf_f32(&c, n, 0, 1), dk = buf_f32(&c, n, 0, 1), dv = buf_f32(&c, n, 0, 1),
                dp = buf_f32(&c, np, 0, 1), ds = buf_f32(&c, np, 0, 1), dz = buf_f32(&c, n, -1, 1),
                q = buf_f32(&c, n, -1, 1), k = buf_f32(&c, n, -1, 1), v = buf_f32(&c, n, -1, 1),
                pat = buf_f32(&c, np, 0, 1);
            /* a real pattern: causal softmax rows */
            float *sc = malloc((size_t)np * sizeof *sc);
            CPU->attn_scores(sc, R(q), R(k), B, P, H, dh);
            CPU->attn_softmax(R(pat), sc, B, P, H);
            free(sc);
            lens_error err;
            CHECK(c.be->upload(D(pat), R(pat), c.b[pat].bytes, &err) == 0, "%s", err.msg);
            CPU->attention_dx(R(dq), R(dk), R(dv), R(dp), R(ds), R(dz), R(q), R(k), R(v), R(pat), B, P, H, dh);
            c.be->attention_dx(D(dq), D(dk), D(dv), D(dp), D(ds), D(dz), D(q), D(k), D(v), D(pat), B, P, H, dh);
            finish(&c, "attention_dx", OUTS(dq, dk, dv, dp, ds));
        }
}

/* ---- general tensor operations ------------------------------------------- */

static void random_shape(int ndim, int64_t *shape)
{
    for (int d = 0; d < ndim; d++) shape[d] = rand_between(1, 6);
}

static void contiguous_strides(int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        s *= shape[d];
    }
}

static void test_copy_strided(void)
{
    for (int bi = 0; bi < n_backends; bi++)
        for (int t = 0; t < 10; t++) {
            int nd = (int)rand_between(1, 5);
            int64_t shape[LENS_MAX_DIMS], src_st[LENS_MAX_DIMS], dst_st[LENS_MAX_DIMS], n = 1;
            random_shape(nd, shape);
            for (int d = 0; d < nd; d++) n *= shape[d];
            /* the source: a transposed view (reversed strides) of a contiguous block */
            int64_t rev[LENS_MAX_DIMS];
            for (int d = 0; d < nd; d++) rev[d] = shape[nd - 1 - d];
            int64_t rst[LENS_MAX_DIMS];
            contiguous_strides(nd, rev, rst);
            for (int d = 0; d < nd; d++) src_st[d] = rst[nd - 1 - d];
            contiguous_strides(nd, shape, dst_st);
            size_t elem = t % 3 == 0 ? 4 : t % 3 == 1 ? 8 : 1;   /* float32, int64, bool */
            int64_t floats = (n * (int64_t)elem + 3) / 4;
            bench c = {.be = backends[bi]};
            int dst = buf_f32(&c, floats, 0, 1), src = buf_f32(&c, floats, -5, 5);
            CPU->copy_strided(c.b[dst].ref, dst_st, c.b[src].ref, src_st, nd, shape, elem);
            c.be->copy_strided(c.b[dst].dev, dst_st, c.b[src].dev, src_st, nd, shape, elem);
            if (elem == 1) {   /* single bytes of floats may read as NaN: compared as bytes */
                lens_error err;
                CHECK(c.be->synchronize(&err) == 0 && c.be->download(c.b[dst].got, c.b[dst].dev, c.b[dst].bytes, &err) == 0,
                      "%s", err.msg);
                CHECK(!memcmp(c.b[dst].got, c.b[dst].ref, c.b[dst].bytes), "copy_strided (1-byte elements) on %s", c.be->name);
                finish(&c, "copy_strided (1-byte elements)", OUTS(-1));
                continue;
            }
            finish(&c, elem == 8 ? "copy_strided (8-byte elements)" : "copy_strided", OUTS(dst));
        }
}

static void test_binary_unary(void)
{
    for (int bi = 0; bi < n_backends; bi++)
        for (int op = LENS_OP_ADD; op <= LENS_OP_OR; op++) {
            int nd = (int)rand_between(1, 4);
            int64_t shape[LENS_MAX_DIMS], as[LENS_MAX_DIMS], bs[LENS_MAX_DIMS], n = 1;
            random_shape(nd, shape);
            for (int d = 0; d < nd; d++) n *= shape[d];
            contiguous_strides(nd, shape, as);
            /* b broadcast along its first dim: stride 0 there, its rows contiguous */
            int64_t bshape[LENS_MAX_DIMS];
            memcpy(bshape, shape, sizeof bshape);
            bshape[0] = 1;
            contiguous_strides(nd, bshape, bs);
            bs[0] = 0;
            bench c = {.be = backends[bi]};
            bool pos = op == LENS_OP_POW;   /* no NaN from a negative base */
            int out = buf_f32(&c, n, 0, 1), a = buf_f32(&c, n, pos ? 0.1 : -3, 3),
                b = buf_f32(&c, n / shape[0], pos ? -2 : -3, 3);
            if (op == LENS_OP_EQ || op == LENS_OP_AND) {   /* some equal and zero entries */
                R(a)[0] = R(b)[0] = 0;
                lens_error err;
                c.be->upload(D(a), R(a), c.b[a].bytes, &err);
                c.be->upload(D(b), R(b), c.b[b].bytes, &err);
            }
            CPU->binary_f32((lens_binop)op, R(out), R(a), as, R(b), bs, nd, shape);
            c.be->binary_f32((lens_binop)op, D(out), D(a), as, D(b), bs, nd, shape);
            finish(&c, "binary_f32", OUTS(out));
        }
    for (int bi = 0; bi < n_backends; bi++)
        for (int op = LENS_OP_NEG; op <= LENS_OP_NOT; op++) {
            int64_t n = rand_between(1, 2000);
            bool pos = op == LENS_OP_LOG || op == LENS_OP_SQRT;
            bench c = {.be = backends[bi]};
            int out = buf_f32(&c, n, 0, 1), x = buf_f32(&c, n, pos ? 0.01 : -5, 5), y = buf_f32(&c, n, -5, 5);
            CPU->unary_f32((lens_unop)op, R(out), R(x), n);
            c.be->unary_f32((lens_unop)op, D(out), D(x), n);
            CPU->unary_f32((lens_unop)op, R(y), R(y), n);   /* in place */
            c.be->unary_f32((lens_unop)op, D(y), D(y), n);
            if (op == LENS_OP_LOG || op == LENS_OP_SQRT) {   /* negatives give NaN on both: compare x's only */
                finish(&c, "unary_f32", OUTS(out));
                continue;
            }
            finish(&c, "unary_f32", OUTS(out, y));
        }
}

static void test_reduce_softmax_fill(void)
{
    static const lens_reduce_op ops[] = {LENS_RED_SUM, LENS_RED_MEAN, LENS_RED_MAX, LENS_RED_MIN, LENS_RED_PROD};
    for (int bi = 0; bi < n_backends; bi++)
        for (size_t o = 0; o < sizeof ops / sizeof *ops; o++)
            for (int t = 0; t < 4; t++) {
                int64_t outer = t == 0 ? 1 : rand_between(1, 20), n = t == 1 ? 1 : rand_between(1, 70),
                        inner = t == 2 ? 1 : rand_between(1, 9);
                bench c = {.be = backends[bi]};
                int out = buf_f32(&c, outer * inner, 0, 1), x = buf_f32(&c, outer * n * inner, 0.5, 1.5);
                CPU->reduce_f32(ops[o], R(out), R(x), outer, n, inner);
                c.be->reduce_f32(ops[o], D(out), D(x), outer, n, inner);
                finish(&c, "reduce_f32", OUTS(out));
            }
    for (int bi = 0; bi < n_backends; bi++)
        for (int t = 0; t < 6; t++) {
            int64_t rows = t < 2 ? 1 : rand_between(1, 40), n = t == 0 ? 1 : rand_between(1, 300);
            bench c = {.be = backends[bi]};
            int out = buf_f32(&c, rows * n, 0, 1), x = buf_f32(&c, rows * n, -10, 10);
            CPU->softmax_rows(R(out), R(x), rows, n, t & 1);
            c.be->softmax_rows(D(out), D(x), rows, n, t & 1);
            int f = buf_f32(&c, rows * n, 0, 1);
            CPU->fill_f32(R(f), -2.5f, rows * n);
            c.be->fill_f32(D(f), -2.5f, rows * n);
            finish(&c, "softmax_rows/fill_f32", OUTS(out, f));
        }
}

/* gather_rows against the definition on the cpu, and every backend against the cpu. */
static void test_gather_rows(void)
{
    for (int bi = 0; bi < n_backends; bi++)
        for (int t = 0; t < 6; t++) {
            int64_t n = t == 0 ? 1 : rand_between(1, 50), width = t == 1 ? 1 : rand_between(1, 300),
                    src_rows = t == 2 ? 1 : rand_between(1, 40);
            bench c = {.be = backends[bi]};
            int out = buf_f32(&c, n * width, 0, 1), src = buf_f32(&c, src_rows * width, -1, 1),
                rows = buf_i64(&c, n, 0, src_rows - 1);
            CPU->gather_rows(R(out), R(src), c.b[rows].ref, n, width);
            c.be->gather_rows(D(out), D(src), c.b[rows].dev, n, width);
            const int64_t *idx = c.b[rows].ref;
            int64_t wrong = 0;
            for (int64_t i = 0; i < n * width; i++) wrong += R(out)[i] != R(src)[idx[i / width] * width + i % width];
            CHECK(wrong == 0, "gather_rows %lldx%lld: %lld floats are not their source row's", (long long)n,
                  (long long)width, (long long)wrong);
            finish(&c, "gather_rows", OUTS(out));
        }
}

/* compare_rows: pairs of one row with itself give 0, of two random rows 1, and
 * a row that differs from another in one float's lowest bit 1. */
static void test_compare_rows(void)
{
    for (int bi = 0; bi < n_backends; bi++)
        for (int t = 0; t < 6; t++) {
            int64_t n = t == 0 ? 1 : rand_between(1, 50), width = t == 1 ? 1 : rand_between(1, 300),
                    src_rows = rand_between(2, 40);
            bench c = {.be = backends[bi]};
            int x = buf_f32(&c, (src_rows + 1) * width, -1, 1), differ = buf_f32(&c, n, 5, 6),
                a = buf_i64(&c, n, 0, src_rows - 1), b = buf_i64(&c, n, 0, src_rows - 1);
            int64_t *ia = c.b[a].ref, *ib = c.b[b].ref;
            /* the extra last row: row 0 with its last float's lowest bit flipped */
            float *hx = R(x);
            memcpy(hx + src_rows * width, hx, (size_t)width * sizeof *hx);
            uint32_t bits;
            memcpy(&bits, hx + src_rows * width + width - 1, sizeof bits);
            bits ^= 1;
            memcpy(hx + src_rows * width + width - 1, &bits, sizeof bits);
            ia[0] = 0;
            ib[0] = src_rows;
            if (n > 1) ib[1] = ia[1];
            lens_error err;
            CHECK(c.be->upload(D(x), hx, c.b[x].bytes, &err) == 0 && c.be->upload(D(a), ia, c.b[a].bytes, &err) == 0 &&
                  c.be->upload(D(b), ib, c.b[b].bytes, &err) == 0, "%s", err.msg);
            CPU->compare_rows(R(differ), R(x), ia, ib, n, width);
            c.be->compare_rows(D(differ), D(x), c.b[a].dev, c.b[b].dev, n, width);
            int64_t wrong = 0;
            for (int64_t i = 0; i < n; i++) {
                bool same = !memcmp(hx + ia[i] * width, hx + ib[i] * width, (size_t)width * sizeof *hx);
                wrong += R(differ)[i] != (same ? 0.0f : 1.0f);
            }
            CHECK(wrong == 0 && R(differ)[0] == 1.0f && (n < 2 || R(differ)[1] == 0.0f), "compare_rows: %lld wrong",
                  (long long)wrong);
            finish(&c, "compare_rows", OUTS(differ));
        }
}

static void test_matmul_batched(void)
{
    for (int bi = 0; bi < n_backends; bi++)
        for (int t = 0; t < 16; t++) {
            int64_t batch = rand_between(1, 4), M = t < N_EDGE ? edge_sizes[t] : rand_between(1, 40),
                    K = t == 3 ? 1 : rand_between(1, 40), N = rand_between(1, 40);
            bool at = t & 1, bt = t & 2, shared_b = t & 4;
            int64_t sa = M * K, sb = shared_b ? 0 : K * N, so = M * N;
            bench c = {.be = backends[bi]};
            int out = buf_f32(&c, batch * so, 0, 1), a = buf_f32(&c, batch * sa, -1, 1),
                b = buf_f32(&c, shared_b ? K * N : batch * sb, -1, 1);
            CPU->matmul_batched(R(out), R(a), R(b), batch, M, K, N, at, bt, sa, sb, so);
            c.be->matmul_batched(D(out), D(a), D(b), batch, M, K, N, at, bt, sa, sb, so);
            finish(&c, "matmul_batched", OUTS(out));
        }
}

/* ---- memory -------------------------------------------------------------- */

static void test_memory_round_trips(void)
{
    for (int bi = 0; bi < n_backends; bi++) {
        const lens_backend *be = backends[bi];
        lens_error err;
        size_t sizes[] = {1, 4, 255, 4096, 4097, (size_t)3 << 20};
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            size_t n = sizes[s];
            unsigned char *h = malloc(n), *back = malloc(n);
            for (size_t i = 0; i < n; i++) h[i] = (unsigned char)(i * 7 + s);
            void *d = be->alloc(n, &err), *d2 = be->alloc(n, &err);
            CHECK(d && d2, "%s alloc %zu: %s", be->name, n, err.msg);
            CHECK(((uintptr_t)d & 255) == 0, "%s blocks are 256-byte aligned", be->name);
            /* fresh blocks are zero */
            memset(back, 0xAB, n);
            CHECK(be->download(back, d, n, &err) == 0, "%s", err.msg);
            size_t nonzero = 0;
            for (size_t i = 0; i < n; i++) nonzero += back[i] != 0;
            CHECK(nonzero == 0, "%s: a new block of %zu bytes has %zu nonzero bytes", be->name, n, nonzero);
            CHECK(be->upload(d, h, n, &err) == 0 && be->copy(d2, d, n, &err) == 0, "%s", err.msg);
            CHECK(be->download(back, d2, n, &err) == 0 && !memcmp(back, h, n), "%s: upload, copy, download of %zu bytes", be->name, n);
            CHECK(be->memset_zero(d2, n / 2, &err) == 0 && be->download(back, d2, n, &err) == 0, "%s", err.msg);
            bool ok = true;
            for (size_t i = 0; i < n; i++) ok = ok && back[i] == (i < n / 2 ? 0 : h[i]);
            CHECK(ok, "%s: memset_zero of the first half of %zu bytes", be->name, n);
            be->free(d, n);
            be->free(d2, n);
            /* a block handed out again after a free is zero again */
            void *d3 = be->alloc(n, &err);
            CHECK(d3 && be->download(back, d3, n, &err) == 0, "%s", err.msg);
            nonzero = 0;
            for (size_t i = 0; i < n; i++) nonzero += back[i] != 0;
            CHECK(nonzero == 0, "%s: a reused block of %zu bytes has %zu nonzero bytes", be->name, n, nonzero);
            be->free(d3, n);
            free(h);
            free(back);
        }
        CHECK(be->synchronize(&err) == 0, "%s", err.msg);
        size_t fr = 0, tot = 0;
        CHECK(be->memory_info(&fr, &tot, &err) == 0 && tot > 0 && fr <= tot, "%s memory_info %zu of %zu", be->name, fr, tot);
        err.kind = LENS_ERR_OTHER;
        void *huge = be->alloc(SIZE_MAX - 4096, &err);
        CHECK(!huge && err.kind == LENS_ERR_MEMORY && strstr(err.msg, "bytes"), "%s: a huge alloc fails with the size: %s",
              be->name, err.msg);
    }
}

/* ---- the sim device: host access faults, host pointers are refused ----- */

/* Forks a child that reads (or writes) p; its end: killed by SIGSEGV or not. */
static bool child_faults(volatile float *p, bool write)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);   /* the fault itself, not a sanitizer's report of it */
        if (write) p[0] = 1.0f;
        else {
            volatile float x = p[0];
            (void)x;
        }
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static void test_sim_faults_on_host_access(void)
{
    const lens_backend *sim = lens_backend_sim();
    lens_error err;
    float *d = sim->alloc(1000 * sizeof(float), &err);
    CHECK(d, "%s", err.msg);
    float ones[1000];
    for (int i = 0; i < 1000; i++) ones[i] = 1.0f;
    CHECK(sim->upload(d, ones, sizeof ones, &err) == 0, "%s", err.msg);
    CHECK(child_faults(d, false), "reading sim memory from the host kills the reader with SIGSEGV");
    CHECK(child_faults(d + 999, true), "writing sim memory from the host kills the writer with SIGSEGV");
    /* between operations too: after one has run, the memory is protected again */
    sim->add(d, d, d, 1000);
    CHECK(child_faults(d + 500, false), "after an operation the memory is protected again");
    float back[1000];
    CHECK(sim->download(back, d, sizeof back, &err) == 0 && back[0] == 2.0f && back[999] == 2.0f, "%s", err.msg);
    CHECK(!child_faults((float *)back, false), "host memory stays readable (the check can fail)");
    sim->free(d, 1000 * sizeof(float));
}

static void test_sim_refuses_host_pointers(void)
{
    const lens_backend *sim = lens_backend_sim();
    lens_error err;
    float host[16] = {0};
    float *d = sim->alloc(sizeof host, &err);
    sim->add(d, d, host, 16);   /* a host pointer given to a device operation */
    CHECK(sim->synchronize(&err) == -1 && err.kind == LENS_ERR_DEVICE, "synchronize reports the queued failure");
    CHECK(strstr(err.msg, "sim device: add was given") && strstr(err.msg, "not in device memory"), "%s", err.msg);
    CHECK(sim->synchronize(&err) == 0, "the failure is reported once");
    CHECK(sim->upload(host, host, sizeof host, &err) == -1 && err.kind == LENS_ERR_DEVICE &&
              strstr(err.msg, "sim device: upload was given"),
          "%s", err.msg);
    CHECK(sim->download(host, host, sizeof host, &err) == -1 && strstr(err.msg, "sim device: download was given"), "%s", err.msg);
    CHECK(sim->copy(d, host, sizeof host, &err) == -1 && strstr(err.msg, "copy (as the source)"), "%s", err.msg);
    CHECK(sim->memset_zero(host, sizeof host, &err) == -1 && strstr(err.msg, "memset_zero"), "%s", err.msg);
    /* a download after a failed operation reports it instead of handing back stale data */
    sim->fill_f32(host, 1.0f, 16);
    CHECK(sim->download(host, d, sizeof host, &err) == -1 && strstr(err.msg, "fill_f32 was given"), "%s", err.msg);
    sim->free(d, sizeof host);
}

/* ---- the registry ------------------------------------------------------- */

static void test_registry(void)
{
    lens_error err;
    CHECK(lens_backend_by_name("cpu", &err) == lens_backend_cpu());
    CHECK(lens_backend_by_name("sim", &err) == lens_backend_sim());
    CHECK(!strcmp(lens_backend_cpu()->name, "cpu") && lens_backend_cpu()->device == LENS_CPU &&
          lens_backend_cpu()->host_addressable);
    CHECK(!strcmp(lens_backend_sim()->name, "sim") && lens_backend_sim()->device == LENS_SIM &&
          !lens_backend_sim()->host_addressable);
    CHECK(!lens_backend_by_name("tpu", &err) && err.kind == LENS_ERR_INVALID);
    CHECK(!strcmp(err.msg, "unknown device 'tpu': the devices are 'cpu', 'cuda' and 'sim'"), "%s", err.msg);
    CHECK(lens_backend_of_device(LENS_CPU) == lens_backend_cpu() && lens_backend_of_device(LENS_SIM) == lens_backend_sim());

    lens_error why;
    const lens_backend *cuda = lens_backend_cuda(&why);
    if (!cuda) {
        CHECK(!lens_backend_by_name("cuda", &err) && err.kind == LENS_ERR_DEVICE);
        CHECK(!strncmp(err.msg, "cuda was asked for but no CUDA device can be used: ", 51) && strstr(err.msg, why.msg),
              "%s", err.msg);
#ifndef LENS_HAVE_CUDA
        CHECK(!strcmp(why.msg, "this build has no CUDA backend (it was compiled without nvcc)"), "%s", why.msg);
#endif
        CHECK(lens_backend_select("cuda", &err) == -1 && strstr(err.msg, "cuda was asked for"), "%s", err.msg);
        CHECK(lens_backend_of_device(LENS_CUDA) == NULL);
    } else {
        CHECK(lens_backend_by_name("cuda", &err) == cuda && cuda->device == LENS_CUDA);
    }

    /* the default: LENS_DEVICE, else cuda when usable, else cpu; select replaces it */
    const char *saved = getenv("LENS_DEVICE");
    char *keep = saved ? strdup(saved) : NULL;
    setenv("LENS_DEVICE", "sim", 1);
    lens_backend_select(NULL, &err);
    CHECK(lens_backend_default() == lens_backend_sim(), "LENS_DEVICE=sim");
    unsetenv("LENS_DEVICE");
    lens_backend_select(NULL, &err);
    CHECK(lens_backend_default() == (cuda ? cuda : lens_backend_cpu()), "no LENS_DEVICE: cuda when present, else cpu");
    CHECK(lens_backend_select("sim", &err) == 0 && lens_backend_default() == lens_backend_sim());
    CHECK(lens_backend_select("bogus", &err) == -1 && lens_backend_default() == lens_backend_sim(),
          "a refused choice keeps the default");
    CHECK(strstr(err.msg, "unknown device 'bogus'"), "%s", err.msg);
    if (keep) setenv("LENS_DEVICE", keep, 1);
    free(keep);
    lens_backend_select(NULL, &err);

    /* a table with a missing operation is refused by name */
    lens_backend partial = *lens_backend_cpu();
    partial.name = "partial";
    CHECK(lens_backend_check_complete(&partial, &err) == 0);
    partial.softmax_rows = NULL;
    CHECK(lens_backend_check_complete(&partial, &err) == -1 && err.kind == LENS_ERR_DEVICE);
    CHECK(!strcmp(err.msg, "the partial backend is incomplete: it has no 'softmax_rows' operation"), "%s", err.msg);
    for (int bi = 0; bi < n_backends; bi++)
        CHECK(lens_backend_check_complete(backends[bi], &err) == 0, "%s: %s", backends[bi]->name, err.msg);
}

int main(void)
{
    backends[n_backends++] = lens_backend_cpu();
    backends[n_backends++] = lens_backend_sim();
    const lens_backend *cuda = lens_backend_cuda(NULL);
    if (cuda) backends[n_backends++] = cuda;
    else fprintf(stderr, "test_backend: no CUDA backend here; testing cpu and sim\n");
    RUN(test_registry);
    RUN(test_memory_round_trips);
    RUN(test_sim_faults_on_host_access);
    RUN(test_sim_refuses_host_pointers);
    RUN(test_matmul);
    RUN(test_layernorm);
    RUN(test_attention);
    RUN(test_head_results_activation_add_embed);
    RUN(test_backward_ops);
    RUN(test_copy_strided);
    RUN(test_binary_unary);
    RUN(test_reduce_softmax_fill);
    RUN(test_matmul_batched);
    RUN(test_gather_rows);
    RUN(test_compare_rows);
    return harness_summary();
}
