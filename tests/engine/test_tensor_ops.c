/* test_tensor_ops.c — tensor operations: printing (exact torch text), dtype rules,
 * Python-style integer division, NaN handling, errors, creation and random tensors,
 * assignment into views. Broad numeric agreement with numpy over random inputs is
 * tests/python/test_tensor_ops_numpy.py's job. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "lens/tensor.h"
#include "lens/tensor_ops.h"

static lens_tensor *F1(int n, const float *v) { int64_t s = n; return lens_tensor_from_f32(1, &s, v); }
static lens_tensor *I1(int n, const int64_t *v) { int64_t s = n; return lens_tensor_from_i64(1, &s, v); }

/* ---- repr ---- */

static void check_repr(lens_tensor *t, const char *want)
{
    char *got = lens_tensor_repr(t);
    CHECK(got && !strcmp(got, want), "repr:\n%s\nwanted:\n%s", got ? got : "(null)", want);
    free(got);
    lens_tensor_free(t);
}

static void test_repr_matches_torch_for_small_tensors(void)
{
    check_repr(lens_tensor_from_f32(2, (int64_t[]){2, 2}, (float[]){1, -2.5f, 3, 4}),
               "tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]])");
    check_repr(F1(3, (float[]){1, 2, 3}), "tensor([1., 2., 3.])");
    check_repr(F1(2, (float[]){0, -1}), "tensor([ 0., -1.])");
    check_repr(F1(2, (float[]){0, 0}), "tensor([0., 0.])");
    check_repr(I1(5, (int64_t[]){0, 1, 2, 3, 4}), "tensor([0, 1, 2, 3, 4])");
    check_repr(I1(2, (int64_t[]){-1, 10}), "tensor([-1, 10])");
    check_repr(lens_scalar_f32(1.5), "tensor(1.5000)");
    check_repr(lens_scalar_i64(3), "tensor(3)");
    check_repr(lens_scalar_f32(0), "tensor(0.)");
    check_repr(F1(2, (float[]){NAN, 1.5f}), "tensor([   nan, 1.5000])");
    check_repr(F1(2, (float[]){INFINITY, -2}), "tensor([inf, -2.])");
}

static void test_repr_switches_to_scientific_like_torch(void)
{
    check_repr(F1(2, (float[]){1e-5f, 1}), "tensor([1.0000e-05, 1.0000e+00])");
    check_repr(F1(2, (float[]){0.001f, 2}), "tensor([1.0000e-03, 2.0000e+00])");   /* ratio > 1000 */
    check_repr(F1(1, (float[]){1e9f}), "tensor([1.0000e+09])");
    check_repr(F1(2, (float[]){0.5f, 100}), "tensor([  0.5000, 100.0000])");
}

static void test_repr_wraps_long_rows_at_80_columns(void)
{
    lens_error err;
    check_repr(lens_arange(0, 30, 1, LENS_F32, &err),
               "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
               "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
               "        28., 29.])");
}

static void test_repr_nests_and_summarises_like_torch(void)
{
    lens_error err;
    lens_tensor *a = lens_arange(0, 8, 1, LENS_I64, &err);
    lens_tensor *r = lens_tensor_reshape(a, 3, (int64_t[]){2, 2, 2}, &err);
    check_repr(r, "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])");
    lens_tensor_free(a);
    check_repr(lens_arange(0, 2000, 1, LENS_I64, &err),
               "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
    a = lens_arange(0, 2000, 1, LENS_I64, &err);
    r = lens_tensor_reshape(a, 2, (int64_t[]){100, 20}, &err);
    check_repr(r, "tensor([[   0,    1,    2,  ...,   17,   18,   19],\n"
                  "        [  20,   21,   22,  ...,   37,   38,   39],\n"
                  "        [  40,   41,   42,  ...,   57,   58,   59],\n"
                  "        ...,\n"
                  "        [1940, 1941, 1942,  ..., 1957, 1958, 1959],\n"
                  "        [1960, 1961, 1962,  ..., 1977, 1978, 1979],\n"
                  "        [1980, 1981, 1982,  ..., 1997, 1998, 1999]])");
    lens_tensor_free(a);
    check_repr(lens_tensor_new_v(LENS_F32, 2, (int64_t)0, (int64_t)3), "tensor([], size=(0, 3))");
    check_repr(lens_tensor_new_v(LENS_I64, 1, (int64_t)0), "tensor([], dtype=torch.int64)");
}

static void test_repr_reads_strided_views(void)
{
    lens_error err;
    lens_tensor *a = lens_tensor_from_f32(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
    lens_tensor *t = lens_tensor_transpose(a, 0, 1, &err);
    lens_tensor *s = lens_tensor_slice(t, 0, INT64_MIN, INT64_MAX, -2, &err);
    check_repr(s, "tensor([[3., 6.],\n        [1., 4.]])");
    lens_tensor_free(t);
    lens_tensor_free(a);
}

static void test_html_has_index_headers_and_values(void)
{
    lens_tensor *t = lens_tensor_from_f32(2, (int64_t[]){2, 2}, (float[]){1, -2.5f, 3, 4});
    char *h = lens_tensor_html(t);
    CHECK(h && strstr(h, "<table"), "%s", h);
    CHECK(h && strstr(h, "<th>1</th><td>3.0000</td><td>4.0000</td>"), "%s", h);
    CHECK(h && strstr(h, "shape [2, 2], float32"), "%s", h);
    free(h);
    lens_tensor *big = lens_tensor_new_v(LENS_F32, 3, (int64_t)2, (int64_t)2, (int64_t)2);
    CHECK(lens_tensor_html(big) == NULL, "3-d tensors have no table form");
    lens_tensor *row = lens_tensor_new_v(LENS_I64, 1, (int64_t)100);
    h = lens_tensor_html(row);
    CHECK(h && strstr(h, "<th>99</th>") && strstr(h, "&hellip;") && !strstr(h, "<th>50</th>"), "%s", h);
    free(h);
    lens_tensor_free(row);
    lens_tensor_free(big);
    lens_tensor_free(t);
}

/* ---- elementwise ---- */

static void test_scalar_ops_follow_torch_promotion(void)
{
    lens_error err;
    lens_tensor *t = I1(3, (int64_t[]){1, 2, 3});
    lens_tensor *a = lens_binary_scalar(LENS_OP_ADD, t, 2, true, false, &err);
    CHECK(a && a->dtype == LENS_I64 && lens_tensor_i64(a)[2] == 5, "int + int stays int");
    lens_tensor *b = lens_binary_scalar(LENS_OP_MUL, t, 0.5, false, false, &err);
    CHECK(b && b->dtype == LENS_F32 && lens_tensor_f32(b)[1] == 1.0f, "int * float is float");
    lens_tensor *c = lens_binary_scalar(LENS_OP_SUB, t, 10, true, true, &err);
    CHECK(c && lens_tensor_i64(c)[0] == 9 && lens_tensor_i64(c)[2] == 7, "10 - t");
    lens_tensor *d = lens_binary_scalar(LENS_OP_DIV, t, 2, true, false, &err);
    CHECK(d && d->dtype == LENS_F32 && lens_tensor_f32(d)[0] == 0.5f, "int / int is true division");
    lens_tensor *e = lens_binary_scalar(LENS_OP_GT, t, 1.5, false, false, &err);
    CHECK(e && e->dtype == LENS_BOOL && lens_tensor_bool(e)[0] == 0 && lens_tensor_bool(e)[1] == 1, "comparisons are bool");
    lens_tensor_free(a); lens_tensor_free(b); lens_tensor_free(c); lens_tensor_free(d); lens_tensor_free(e);
    lens_tensor_free(t);
}

static void test_floordiv_and_mod_follow_python_signs(void)
{
    lens_error err;
    lens_tensor *x = I1(4, (int64_t[]){-7, 7, -7, 7});
    lens_tensor *y = I1(4, (int64_t[]){2, 2, -2, -2});
    lens_tensor *q = lens_binary(LENS_OP_FLOORDIV, x, y, &err), *r = lens_binary(LENS_OP_MOD, x, y, &err);
    int64_t wq[] = {-4, 3, 3, -4}, wr[] = {1, 1, -1, -1};
    for (int i = 0; i < 4; i++) {
        CHECK(lens_tensor_i64(q)[i] == wq[i], "q[%d] = %lld", i, (long long)lens_tensor_i64(q)[i]);
        CHECK(lens_tensor_i64(r)[i] == wr[i], "r[%d] = %lld", i, (long long)lens_tensor_i64(r)[i]);
    }
    lens_tensor *fx = F1(2, (float[]){-7.5f, 7.5f});
    lens_tensor *fq = lens_binary_scalar(LENS_OP_FLOORDIV, fx, 2, false, false, &err);
    lens_tensor *fr = lens_binary_scalar(LENS_OP_MOD, fx, 2, false, false, &err);
    CHECK(lens_tensor_f32(fq)[0] == -4 && lens_tensor_f32(fq)[1] == 3, "float //");
    CHECK(lens_tensor_f32(fr)[0] == 0.5f && lens_tensor_f32(fr)[1] == 1.5f, "float %%");
    lens_tensor *zero = lens_scalar_i64(0);
    CHECK(lens_binary(LENS_OP_MOD, x, zero, &err) == NULL && strstr(err.msg, "division by zero"), "%s", err.msg);
    lens_tensor *neg = lens_scalar_i64(-1);
    CHECK(lens_binary(LENS_OP_POW, x, neg, &err) == NULL && strstr(err.msg, "negative"), "%s", err.msg);
    lens_tensor_free(x); lens_tensor_free(y); lens_tensor_free(q); lens_tensor_free(r);
    lens_tensor_free(fx); lens_tensor_free(fq); lens_tensor_free(fr); lens_tensor_free(zero); lens_tensor_free(neg);
}

static void test_broadcast_error_names_both_shapes(void)
{
    lens_error err;
    lens_tensor *a = lens_tensor_new_v(LENS_F32, 2, (int64_t)3, (int64_t)4);
    lens_tensor *b = lens_tensor_new_v(LENS_F32, 1, (int64_t)3);
    CHECK(lens_binary(LENS_OP_ADD, a, b, &err) == NULL, "must fail");
    CHECK(strstr(err.msg, "[3, 4]") && strstr(err.msg, "[3]"), "%s", err.msg);
    lens_tensor_free(a);
    lens_tensor_free(b);
}

static void test_nan_propagates_through_maximum_and_max(void)
{
    lens_error err;
    lens_tensor *a = F1(3, (float[]){1, NAN, 3}), *b = F1(3, (float[]){2, 0, NAN});
    lens_tensor *m = lens_binary(LENS_OP_MAXIMUM, a, b, &err);
    CHECK(lens_tensor_f32(m)[0] == 2 && isnan(lens_tensor_f32(m)[1]) && isnan(lens_tensor_f32(m)[2]), "maximum");
    lens_tensor *mx = lens_reduce_all(LENS_RED_MAX, a, &err), *am = lens_reduce_all(LENS_RED_ARGMAX, a, &err);
    CHECK(isnan(lens_tensor_f32(mx)[0]) && lens_tensor_i64(am)[0] == 1, "max/argmax see the NaN");
    lens_tensor_free(a); lens_tensor_free(b); lens_tensor_free(m); lens_tensor_free(mx); lens_tensor_free(am);
}

static void test_where_masked_fill_and_masked_select(void)
{
    lens_error err;
    lens_tensor *t = lens_tensor_from_f32(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
    lens_tensor *ints = I1(3, (int64_t[]){1, 0, 1});
    lens_tensor *mask = lens_binary_scalar(LENS_OP_NE, ints, 0, true, false, &err);   /* a bool mask */
    CHECK(!lens_masked_fill(t, ints, -1, &err) && strstr(err.msg, "only supports boolean masks"), "%s", err.msg);
    lens_tensor_free(ints);
    lens_tensor *f = lens_masked_fill(t, mask, -1, &err);
    float want[] = {-1, 2, -1, -1, 5, -1};
    CHECK_CLOSE(lens_tensor_f32(f), want, 6, 0, "masked_fill broadcasts the mask");
    lens_tensor *big = lens_tensor_new_v(LENS_BOOL, 2, (int64_t)4, (int64_t)3);
    CHECK(lens_masked_fill(t, big, 0, &err) == NULL && strstr(err.msg, "[4, 3]"), "%s", err.msg);
    lens_tensor *gt = lens_binary_scalar(LENS_OP_GT, t, 3, true, false, &err);
    lens_tensor *sel = lens_masked_select(t, gt, &err);
    CHECK(sel && sel->ndim == 1 && sel->shape[0] == 3 && lens_tensor_f32(sel)[0] == 4, "t[t > 3]");
    lens_tensor_free(t); lens_tensor_free(mask); lens_tensor_free(f); lens_tensor_free(big);
    lens_tensor_free(gt); lens_tensor_free(sel);
}

/* ---- reductions, softmax, sorting ---- */

static void test_reductions_of_empty_and_zero_d_tensors(void)
{
    lens_error err;
    lens_tensor *e = lens_tensor_new_v(LENS_F32, 2, (int64_t)0, (int64_t)3);
    lens_tensor *s = lens_reduce(LENS_RED_SUM, e, 0, false, &err);
    CHECK(s && s->shape[0] == 3 && lens_tensor_f32(s)[0] == 0, "sum of empty is 0");
    lens_tensor *m = lens_reduce(LENS_RED_MEAN, e, 0, false, &err);
    CHECK(m && isnan(lens_tensor_f32(m)[0]), "mean of empty is NaN");
    CHECK(lens_reduce(LENS_RED_MAX, e, 0, false, &err) == NULL && strstr(err.msg, "empty"), "%s", err.msg);
    lens_tensor *z = lens_scalar_f32(2.5);
    lens_tensor *zs = lens_reduce(LENS_RED_SUM, z, -1, false, &err);
    CHECK(zs && zs->ndim == 0 && lens_tensor_f32(zs)[0] == 2.5f, "0-d sum over dim -1");
    lens_tensor *iv = I1(3, (int64_t[]){1, 2, 4});
    lens_tensor *is = lens_reduce_all(LENS_RED_SUM, iv, &err), *im = lens_reduce_all(LENS_RED_MEAN, iv, &err);
    CHECK(is->dtype == LENS_I64 && lens_tensor_i64(is)[0] == 7, "int sum stays int");
    CHECK(im->dtype == LENS_F32 && fabsf(lens_tensor_f32(im)[0] - 7.0f / 3) < 1e-6f, "int mean is float");
    lens_tensor_free(e); lens_tensor_free(s); lens_tensor_free(m); lens_tensor_free(z); lens_tensor_free(zs);
    lens_tensor_free(iv); lens_tensor_free(is); lens_tensor_free(im);
}

static void test_max_dim_returns_values_and_indices(void)
{
    lens_error err;
    lens_tensor *t = lens_tensor_from_f32(2, (int64_t[]){2, 3}, (float[]){1, 5, 5, 7, 0, 2});
    lens_tensor *v, *i;
    CHECK(lens_max_dim(t, 1, true, true, &v, &i, &err) == 0, "%s", err.msg);
    CHECK(v->ndim == 2 && v->shape[1] == 1 && lens_tensor_f32(v)[0] == 5 && lens_tensor_f32(v)[1] == 7, "values");
    CHECK(lens_tensor_i64(i)[0] == 1 && lens_tensor_i64(i)[1] == 0, "first maximum wins");
    lens_tensor_free(v); lens_tensor_free(i);
    CHECK(lens_max_dim(t, 0, false, false, &v, &i, &err) == 0, "%s", err.msg);
    CHECK(lens_tensor_f32(v)[1] == 0 && lens_tensor_i64(i)[1] == 1, "min over dim 0");
    lens_tensor_free(v); lens_tensor_free(i);
    lens_tensor_free(t);
}

static void test_softmax_is_stable_for_large_logits(void)
{
    lens_error err;
    lens_tensor *t = F1(3, (float[]){1000, 1001, 1002});
    lens_tensor *s = lens_softmax(t, -1, &err), *l = lens_log_softmax(t, 0, &err);
    double e0 = exp(-2.0), e1 = exp(-1.0), z = e0 + e1 + 1;
    float want[] = {(float)(e0 / z), (float)(e1 / z), (float)(1 / z)};
    CHECK_CLOSE(lens_tensor_f32(s), want, 3, 1e-6, "softmax");
    float wl[] = {(float)(-2 - log(z)), (float)(-1 - log(z)), (float)(-log(z))};
    CHECK_CLOSE(lens_tensor_f32(l), wl, 3, 1e-6, "log_softmax");
    lens_tensor_free(t); lens_tensor_free(s); lens_tensor_free(l);
}

static void test_topk_of_flattened_matrix_gives_flat_indices(void)
{
    lens_error err;
    lens_tensor *t = lens_tensor_from_f32(2, (int64_t[]){2, 3}, (float[]){0.1f, 0.9f, 0.3f, 0.9f, -1, 0.5f});
    lens_tensor *f = lens_tensor_flatten(t, 0, -1, &err);
    lens_tensor *v, *i;
    CHECK(lens_topk(f, 3, -1, true, &v, &i, &err) == 0, "%s", err.msg);
    int64_t wi[] = {1, 3, 5};
    for (int k = 0; k < 3; k++) CHECK(lens_tensor_i64(i)[k] == wi[k], "index %d: %lld", k, (long long)lens_tensor_i64(i)[k]);
    CHECK(lens_tensor_f32(v)[2] == 0.5f, "third value");
    lens_tensor_free(v); lens_tensor_free(i);
    CHECK(lens_topk(f, 7, -1, true, &v, &i, &err) < 0 && strstr(err.msg, "k=7"), "%s", err.msg);
    lens_tensor *as = lens_argsort(f, 0, false, &err);
    CHECK(as && lens_tensor_i64(as)[0] == 4 && lens_tensor_i64(as)[5] == 3, "argsort ascending, stable");
    lens_tensor_free(as); lens_tensor_free(f); lens_tensor_free(t);
}

/* ---- shape, indexing, assignment ---- */

static void test_assign_broadcasts_into_views_and_handles_overlap(void)
{
    lens_error err;
    lens_tensor *t = lens_tensor_from_f32(2, (int64_t[]){3, 2}, (float[]){0, 1, 2, 3, 4, 5});
    lens_tensor *rows = lens_tensor_slice(t, 0, 1, INT64_MAX, 1, &err);
    lens_tensor *v = F1(2, (float[]){7, 8});
    CHECK(lens_tensor_assign(rows, v, &err) == 0, "%s", err.msg);
    float w1[] = {0, 1, 7, 8, 7, 8};
    CHECK_CLOSE(lens_tensor_f32(t), w1, 6, 0, "t[1:] = [7, 8]");
    /* t[1:] = t[:-1] must read the old values. */
    lens_tensor *head = lens_tensor_slice(t, 0, INT64_MIN, -1, 1, &err);
    CHECK(lens_tensor_assign(rows, head, &err) == 0, "%s", err.msg);
    float w2[] = {0, 1, 0, 1, 7, 8};
    CHECK_CLOSE(lens_tensor_f32(t), w2, 6, 0, "overlapping assignment");
    lens_tensor *bad = F1(3, (float[]){1, 2, 3});
    CHECK(lens_tensor_assign(rows, bad, &err) < 0 && strstr(err.msg, "[3]"), "%s", err.msg);
    lens_tensor_free(bad); lens_tensor_free(head); lens_tensor_free(v); lens_tensor_free(rows); lens_tensor_free(t);
}

static void test_index_select_rejects_float_and_out_of_range_indices(void)
{
    lens_error err;
    lens_tensor *t = lens_tensor_new_v(LENS_F32, 2, (int64_t)4, (int64_t)2);
    lens_tensor *fi = F1(1, (float[]){1});
    CHECK(lens_index_select(t, 0, fi, &err) == NULL && strstr(err.msg, "int64"), "%s", err.msg);
    lens_tensor *ii = I1(2, (int64_t[]){-1, 4});
    CHECK(lens_index_select(t, 0, ii, &err) == NULL && strstr(err.msg, "index 4"), "%s", err.msg);
    lens_tensor_free(ii); lens_tensor_free(fi); lens_tensor_free(t);
}

static void test_diagonal_is_a_view(void)
{
    lens_error err;
    lens_tensor *t = lens_tensor_new_v(LENS_F32, 2, (int64_t)3, (int64_t)3);
    lens_tensor *d = lens_tensor_diagonal(t, 1, 0, 1, &err);
    CHECK(d && d->ndim == 1 && d->shape[0] == 2, "offset 1 of 3x3 has 2 elements");
    lens_tensor *one = lens_scalar_f32(1);
    lens_tensor_assign(d, one, &err);
    CHECK(lens_tensor_f32(t)[1] == 1 && lens_tensor_f32(t)[5] == 1 && lens_tensor_f32(t)[0] == 0, "writes land in t");
    lens_tensor_free(one); lens_tensor_free(d); lens_tensor_free(t);
}

static void test_matmul_large_transposed_matches_naive_loop(void)
{
    lens_error err;
    int64_t m = 37, k = 53, n = 29;
    lens_tensor *a = lens_randn(2, (int64_t[]){k, m}, 1), *b = lens_randn(2, (int64_t[]){n, k}, 2);
    lens_tensor *at = lens_tensor_transpose(a, 0, 1, &err), *bt = lens_tensor_transpose(b, 0, 1, &err);
    lens_tensor *c = lens_matmul(at, bt, &err);
    float *want = malloc(sizeof(float) * (size_t)(m * n));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++) s += (double)lens_tensor_f32(a)[p * m + i] * lens_tensor_f32(b)[j * k + p];
            want[i * n + j] = (float)s;
        }
    CHECK(c && c->shape[0] == m && c->shape[1] == n, "shape");
    if (c) CHECK_CLOSE(lens_tensor_f32(c), want, m * n, 1e-5, "a.T @ b.T");
    free(want);
    lens_tensor_free(a); lens_tensor_free(b); lens_tensor_free(at); lens_tensor_free(bt); lens_tensor_free(c);
}

static void test_einsum_reports_bad_specs_clearly(void)
{
    lens_error err;
    lens_tensor *a = lens_tensor_new_v(LENS_F32, 2, (int64_t)3, (int64_t)4);
    const lens_tensor *ts[] = {a, a};
    CHECK(lens_einsum("ij,jk", 2, ts, &err) == NULL && strstr(err.msg, "->"), "%s", err.msg);
    CHECK(lens_einsum("ij,jk->ik", 2, ts, &err) == NULL && strstr(err.msg, "'j'"), "%s", err.msg);
    CHECK(lens_einsum("ijk,ij->i", 2, ts, &err) == NULL && strstr(err.msg, "[3, 4]"), "%s", err.msg);
    CHECK(lens_einsum("ij->ii", 1, ts, &err) == NULL && strstr(err.msg, "repeated"), "%s", err.msg);
    lens_tensor *r = lens_einsum("pos d_model, pos d_model -> pos", 2, ts, &err);
    CHECK(r && r->ndim == 1 && r->shape[0] == 3, "named spec");
    lens_tensor_free(r);
    lens_tensor_free(a);
}

/* ---- creation, random, access ---- */

static void test_arange_and_linspace_sizes_and_values(void)
{
    lens_error err;
    lens_tensor *a = lens_arange(0, 10, 3, LENS_I64, &err);
    CHECK(a && a->shape[0] == 4 && lens_tensor_i64(a)[3] == 9, "arange(0, 10, 3)");
    lens_tensor *b = lens_arange(1, 0, -0.25, LENS_F32, &err);
    CHECK(b && b->shape[0] == 4 && lens_tensor_f32(b)[3] == 0.25f, "arange(1, 0, -0.25)");
    lens_tensor *e = lens_arange(5, 0, 1, LENS_I64, &err);
    CHECK(e && e->shape[0] == 0, "empty arange");
    CHECK(lens_arange(0, 1, 0, LENS_I64, &err) == NULL && strstr(err.msg, "step"), "%s", err.msg);
    lens_tensor *l = lens_linspace(0, 1, 5, &err);
    float wl[] = {0, 0.25f, 0.5f, 0.75f, 1};
    CHECK_CLOSE(lens_tensor_f32(l), wl, 5, 0, "linspace");
    lens_tensor *o = lens_ones(LENS_I64, 2, (int64_t[]){2, 2}, &err);
    CHECK(lens_tensor_i64(o)[3] == 1, "ones");
    lens_tensor *f = lens_full(LENS_F32, 1, (int64_t[]){3}, -2.5, &err);
    CHECK(lens_tensor_f32(f)[2] == -2.5f, "full");
    CHECK(lens_zeros(LENS_F32, 1, (int64_t[]){-1}, &err) == NULL && strstr(err.msg, "negative"), "%s", err.msg);
    lens_tensor_free(a); lens_tensor_free(b); lens_tensor_free(e); lens_tensor_free(l); lens_tensor_free(o); lens_tensor_free(f);
}

static void test_random_tensors_are_deterministic_and_well_distributed(void)
{
    lens_error err;
    int64_t n = 20000;
    lens_tensor *a = lens_randn(1, &n, 42), *b = lens_randn(1, &n, 42), *c = lens_randn(1, &n, 43);
    CHECK(!memcmp(lens_tensor_f32(a), lens_tensor_f32(b), (size_t)n * 4), "same seed, same values");
    CHECK(memcmp(lens_tensor_f32(a), lens_tensor_f32(c), (size_t)n * 4), "different seeds differ");
    lens_tensor *m = lens_reduce_all(LENS_RED_MEAN, a, &err), *s = lens_reduce_all(LENS_RED_STD, a, &err);
    CHECK(fabsf(lens_tensor_f32(m)[0]) < 0.03f && fabsf(lens_tensor_f32(s)[0] - 1) < 0.03f,
          "mean %g std %g", lens_tensor_f32(m)[0], lens_tensor_f32(s)[0]);
    lens_tensor *r = lens_randint(-2, 3, 1, &n, 7, &err);
    int seen[5] = {0};
    bool in_range = true;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = lens_tensor_i64(r)[i];
        if (v < -2 || v >= 3) in_range = false;
        else seen[v + 2]++;
    }
    CHECK(in_range && seen[0] > 3000 && seen[4] > 3000, "randint covers [low, high) evenly");
    CHECK(lens_randint(3, 3, 1, &n, 7, &err) == NULL && strstr(err.msg, "high"), "%s", err.msg);
    lens_tensor *u = lens_rand(1, &n, 5);
    lens_tensor *umax = lens_reduce_all(LENS_RED_MAX, u, &err), *umin = lens_reduce_all(LENS_RED_MIN, u, &err);
    CHECK(lens_tensor_f32(umax)[0] < 1 && lens_tensor_f32(umin)[0] >= 0, "rand in [0, 1)");
    lens_tensor_free(a); lens_tensor_free(b); lens_tensor_free(c); lens_tensor_free(m); lens_tensor_free(s);
    lens_tensor_free(r); lens_tensor_free(u); lens_tensor_free(umax); lens_tensor_free(umin);
}

static void test_item_and_element_access_on_views(void)
{
    lens_error err;
    lens_tensor *t = lens_tensor_from_i64(2, (int64_t[]){2, 3}, (int64_t[]){1, 2, 3, 4, 5, 6});
    lens_tensor *tt = lens_tensor_transpose(t, 0, 1, &err);
    CHECK(lens_tensor_get_f64(tt, (int64_t[]){2, 1}) == 6, "tt[2, 1]");
    CHECK(lens_tensor_get_i64(tt, (int64_t[]){0, 1}) == 4, "tt[0, 1]");
    CHECK(lens_tensor_flat_f64(tt, 1) == 4, "flat position 1 of the transpose");
    double v = 0;
    CHECK(lens_tensor_item(t, &v, &err) < 0 && strstr(err.msg, "[2, 3]"), "%s", err.msg);
    lens_tensor *one = lens_tensor_narrow(tt, 0, 2, 1);
    lens_tensor *cell = lens_tensor_narrow(one, 1, 1, 1);
    CHECK(lens_tensor_item(cell, &v, &err) == 0 && v == 6, "item of a [1, 1] view");
    lens_tensor_free(cell); lens_tensor_free(one); lens_tensor_free(tt); lens_tensor_free(t);
}

int main(void)
{
    RUN(test_repr_matches_torch_for_small_tensors);
    RUN(test_repr_switches_to_scientific_like_torch);
    RUN(test_repr_wraps_long_rows_at_80_columns);
    RUN(test_repr_nests_and_summarises_like_torch);
    RUN(test_repr_reads_strided_views);
    RUN(test_html_has_index_headers_and_values);
    RUN(test_scalar_ops_follow_torch_promotion);
    RUN(test_floordiv_and_mod_follow_python_signs);
    RUN(test_broadcast_error_names_both_shapes);
    RUN(test_nan_propagates_through_maximum_and_max);
    RUN(test_where_masked_fill_and_masked_select);
    RUN(test_reductions_of_empty_and_zero_d_tensors);
    RUN(test_max_dim_returns_values_and_indices);
    RUN(test_softmax_is_stable_for_large_logits);
    RUN(test_topk_of_flattened_matrix_gives_flat_indices);
    RUN(test_assign_broadcasts_into_views_and_handles_overlap);
    RUN(test_index_select_rejects_float_and_out_of_range_indices);
    RUN(test_diagonal_is_a_view);
    RUN(test_matmul_large_transposed_matches_naive_loop);
    RUN(test_einsum_reports_bad_specs_clearly);
    RUN(test_arange_and_linspace_sizes_and_values);
    RUN(test_random_tensors_are_deterministic_and_well_distributed);
    RUN(test_item_and_element_access_on_views);
    return harness_summary();
}
