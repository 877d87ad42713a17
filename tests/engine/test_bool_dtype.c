/* test_bool_dtype.c — the engine's bool dtype (LENS_BOOL): comparisons give it,
 * type promotion, & | ^ ~, reductions, masks, conversions, printing and
 * safetensors, each value checked against what torch 2 gives for the same
 * expression (noted beside each check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "lens/safetensors.h"
#include "lens/tensor.h"
#include "lens/tensor_ops.h"

static lens_tensor *B1(int n, const uint8_t *v)
{
    int64_t s = n;
    lens_tensor *t = lens_tensor_new(LENS_BOOL, 1, &s);
    if (t) memcpy(lens_tensor_bool(t), v, (size_t)n);
    return t;
}
static lens_tensor *I1(int n, const int64_t *v) { int64_t s = n; return lens_tensor_from_i64(1, &s, v); }
static lens_tensor *F1(int n, const float *v) { int64_t s = n; return lens_tensor_from_f32(1, &s, v); }

/* Checks t's repr and frees t. */
static void check_repr(lens_tensor *t, const char *want)
{
    char *got = t ? lens_tensor_repr(t) : NULL;
    CHECK(got && !strcmp(got, want), "repr:\n%s\nwanted:\n%s", got ? got : "(null)", want);
    free(got);
    lens_tensor_free(t);
}

/* The dtype and values of t (bools, int64s or floats read as doubles); frees t. */
static void check_values(lens_tensor *t, lens_dtype dt, int n, const double *want, const char *what)
{
    CHECK(t != NULL, "%s: no result", what);
    if (!t) return;
    CHECK(t->dtype == dt, "%s: dtype %s, want %s", what, lens_dtype_name(t->dtype), lens_dtype_name(dt));
    CHECK(lens_tensor_numel(t) == n, "%s: %lld elements", what, (long long)lens_tensor_numel(t));
    for (int i = 0; i < n && i < lens_tensor_numel(t); i++)
        CHECK(lens_tensor_flat_f64(t, i) == want[i], "%s[%d] = %g, want %g", what, i, lens_tensor_flat_f64(t, i), want[i]);
    lens_tensor_free(t);
}

static void test_the_dtype_has_one_byte_and_torchs_name(void)
{
    CHECK(lens_dtype_size(LENS_BOOL) == 1 && !strcmp(lens_dtype_name(LENS_BOOL), "bool"));
    lens_tensor *t = lens_tensor_new_v(LENS_BOOL, 2, (int64_t)3, (int64_t)5);
    CHECK(t && t->storage->nbytes == 15, "15 bytes for 15 bools");
    lens_tensor *v = t ? lens_tensor_narrow(t, 1, 2, 2) : NULL;
    CHECK(v && lens_tensor_bool(v) == lens_tensor_bool(t) + 2, "views step one byte per element");
    lens_tensor_free(v);
    lens_tensor_free(t);
}

static void test_comparisons_give_bool(void)
{
    lens_error err;
    lens_tensor *f = F1(3, (float[]){1, 2, 3}), *i = I1(3, (int64_t[]){1, 2, 3});
    /* torch: f > 1.5 -> tensor([False, True, True]); i == f -> all True */
    check_values(lens_binary_scalar(LENS_OP_GT, f, 1.5, false, false, &err), LENS_BOOL, 3, (double[]){0, 1, 1}, "f > 1.5");
    check_values(lens_binary(LENS_OP_EQ, i, f, &err), LENS_BOOL, 3, (double[]){1, 1, 1}, "i == f");
    lens_tensor *b = B1(3, (uint8_t[]){1, 0, 1}), *c = B1(3, (uint8_t[]){1, 1, 0});
    /* torch: b < c -> [False, True, False]; b == 1 -> [True, False, True] */
    check_values(lens_binary(LENS_OP_LT, b, c, &err), LENS_BOOL, 3, (double[]){0, 1, 0}, "b < c");
    check_values(lens_binary_scalar(LENS_OP_EQ, b, 1, true, false, &err), LENS_BOOL, 3, (double[]){1, 0, 1}, "b == 1");
    lens_tensor_free(f); lens_tensor_free(i); lens_tensor_free(b); lens_tensor_free(c);
}

static void test_promotion_and_bool_arithmetic_follow_torch(void)
{
    lens_error err;
    lens_tensor *b = B1(3, (uint8_t[]){1, 0, 1}), *c = B1(3, (uint8_t[]){1, 1, 0});
    lens_tensor *i = I1(3, (int64_t[]){1, 2, 3}), *f = F1(3, (float[]){1, 2, 3});
    /* torch: b + c -> [True, True, True]; b * c -> [True, False, False]; b / c -> [1., 0., inf] */
    check_values(lens_binary(LENS_OP_ADD, b, c, &err), LENS_BOOL, 3, (double[]){1, 1, 1}, "b + c");
    check_values(lens_binary(LENS_OP_MUL, b, c, &err), LENS_BOOL, 3, (double[]){1, 0, 0}, "b * c");
    check_values(lens_binary(LENS_OP_DIV, b, c, &err), LENS_F32, 3, (double[]){1, 0, INFINITY}, "b / c");
    /* torch: b + i -> [2, 2, 4] (int64); b + f -> [2., 2., 4.]; b * 2 -> [2, 0, 2]; b + 1.5 -> [2.5, 1.5, 2.5] */
    check_values(lens_binary(LENS_OP_ADD, b, i, &err), LENS_I64, 3, (double[]){2, 2, 4}, "b + i");
    check_values(lens_binary(LENS_OP_ADD, b, f, &err), LENS_F32, 3, (double[]){2, 2, 4}, "b + f");
    check_values(lens_binary_scalar(LENS_OP_MUL, b, 2, true, false, &err), LENS_I64, 3, (double[]){2, 0, 2}, "b * 2");
    check_values(lens_binary_scalar(LENS_OP_ADD, b, 1.5, false, false, &err), LENS_F32, 3, (double[]){2.5, 1.5, 2.5}, "b + 1.5");
    check_values(lens_binary(LENS_OP_MAXIMUM, b, c, &err), LENS_BOOL, 3, (double[]){1, 1, 1}, "maximum(b, c)");
    /* torch refuses b - c, b - 1, b // c, b % c, b ** c with NotImplementedError */
    CHECK(!lens_binary(LENS_OP_SUB, b, c, &err) && err.kind == LENS_ERR_DTYPE &&
          !strcmp(err.msg, "Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead."), "%s", err.msg);
    CHECK(!lens_binary_scalar(LENS_OP_SUB, b, 1, true, true, &err) && err.kind == LENS_ERR_DTYPE &&
          strstr(err.msg, "with a bool tensor is not supported"), "%s", err.msg);
    CHECK(!lens_binary(LENS_OP_FLOORDIV, b, c, &err) && !strcmp(err.msg, "\"div_floor_cpu\" not implemented for 'Bool'"), "%s", err.msg);
    CHECK(!lens_binary(LENS_OP_MOD, b, c, &err) && !strcmp(err.msg, "\"remainder_cpu\" not implemented for 'Bool'"), "%s", err.msg);
    CHECK(!lens_binary(LENS_OP_POW, b, c, &err) && !strcmp(err.msg, "\"pow\" not implemented for 'Bool'"), "%s", err.msg);
    lens_tensor_free(b); lens_tensor_free(c); lens_tensor_free(i); lens_tensor_free(f);
}

static void test_logical_on_bool_bitwise_on_int(void)
{
    lens_error err;
    lens_tensor *b = B1(3, (uint8_t[]){1, 0, 1}), *c = B1(3, (uint8_t[]){1, 1, 0});
    lens_tensor *i = I1(3, (int64_t[]){1, 2, 3}), *f = F1(3, (float[]){1, 2, 3});
    /* torch: b & c, b | c, b ^ c, ~b */
    check_values(lens_binary(LENS_OP_AND, b, c, &err), LENS_BOOL, 3, (double[]){1, 0, 0}, "b & c");
    check_values(lens_binary(LENS_OP_OR, b, c, &err), LENS_BOOL, 3, (double[]){1, 1, 1}, "b | c");
    check_values(lens_binary(LENS_OP_XOR, b, c, &err), LENS_BOOL, 3, (double[]){0, 1, 1}, "b ^ c");
    check_values(lens_unary(LENS_OP_NOT, b, &err), LENS_BOOL, 3, (double[]){0, 1, 0}, "~b");
    /* torch: i & 3 -> [1, 2, 3]; i | 4 -> [5, 6, 7]; i ^ 1 -> [0, 3, 2]; ~i -> [-2, -3, -4]; i & b -> [1, 0, 1] */
    check_values(lens_binary_scalar(LENS_OP_AND, i, 3, true, false, &err), LENS_I64, 3, (double[]){1, 2, 3}, "i & 3");
    check_values(lens_binary_scalar(LENS_OP_OR, i, 4, true, false, &err), LENS_I64, 3, (double[]){5, 6, 7}, "i | 4");
    check_values(lens_binary_scalar(LENS_OP_XOR, i, 1, true, false, &err), LENS_I64, 3, (double[]){0, 3, 2}, "i ^ 1");
    check_values(lens_unary(LENS_OP_NOT, i, &err), LENS_I64, 3, (double[]){-2, -3, -4}, "~i");
    check_values(lens_binary(LENS_OP_AND, i, b, &err), LENS_I64, 3, (double[]){1, 0, 1}, "i & b");
    CHECK(!lens_binary(LENS_OP_AND, f, f, &err) && err.kind == LENS_ERR_DTYPE &&
          !strcmp(err.msg, "\"bitwise_and_cpu\" not implemented for 'Float'"), "%s", err.msg);
    CHECK(!lens_unary(LENS_OP_NOT, f, &err) && err.kind == LENS_ERR_TYPE &&
          !strcmp(err.msg, "~ (operator.invert) is only implemented on integer and Boolean-type tensors"), "%s", err.msg);
    CHECK(!lens_unary(LENS_OP_NEG, b, &err) && err.kind == LENS_ERR_DTYPE && strstr(err.msg, "Negation, the `-` operator, on a bool tensor"), "%s", err.msg);
    CHECK(!lens_unary(LENS_OP_ABS, b, &err) && !strcmp(err.msg, "\"abs_cpu\" not implemented for 'Bool'"), "%s", err.msg);
    /* torch: b.exp() -> [2.7183, 1., 2.7183] (float32); b.sign() stays bool */
    lens_tensor *e = lens_unary(LENS_OP_EXP, b, &err);
    CHECK(e && e->dtype == LENS_F32 && fabsf(lens_tensor_f32(e)[0] - 2.7182817f) < 1e-6f && lens_tensor_f32(e)[1] == 1.0f);
    lens_tensor_free(e);
    check_values(lens_unary(LENS_OP_SIGN, b, &err), LENS_BOOL, 3, (double[]){1, 0, 1}, "b.sign()");
    lens_tensor_free(b); lens_tensor_free(c); lens_tensor_free(i); lens_tensor_free(f);
}

static void test_reductions_of_bool(void)
{
    lens_error err;
    lens_tensor *b = B1(3, (uint8_t[]){1, 0, 1});
    /* torch: b.sum() -> tensor(2); b.prod() -> tensor(0); b.max() -> True; b.min() -> False;
     * b.any() -> True; b.all() -> False; b.cumsum(0) -> [1, 1, 2] */
    check_values(lens_reduce_all(LENS_RED_SUM, b, &err), LENS_I64, 1, (double[]){2}, "b.sum()");
    check_values(lens_reduce_all(LENS_RED_PROD, b, &err), LENS_I64, 1, (double[]){0}, "b.prod()");
    check_values(lens_reduce_all(LENS_RED_MAX, b, &err), LENS_BOOL, 1, (double[]){1}, "b.max()");
    check_values(lens_reduce_all(LENS_RED_MIN, b, &err), LENS_BOOL, 1, (double[]){0}, "b.min()");
    check_values(lens_reduce_all(LENS_RED_ANY, b, &err), LENS_BOOL, 1, (double[]){1}, "b.any()");
    check_values(lens_reduce_all(LENS_RED_ALL, b, &err), LENS_BOOL, 1, (double[]){0}, "b.all()");
    check_values(lens_cumsum(b, 0, &err), LENS_I64, 3, (double[]){1, 1, 2}, "b.cumsum(0)");
    /* torch: tensor([1., 2., 3.]).all() -> tensor(True), a bool */
    lens_tensor *f = F1(3, (float[]){1, 2, 3});
    check_values(lens_reduce_all(LENS_RED_ALL, f, &err), LENS_BOOL, 1, (double[]){1}, "f.all()");
    lens_tensor_free(f);
    CHECK(!lens_reduce_all(LENS_RED_MEAN, b, &err) && err.kind == LENS_ERR_DTYPE &&
          !strcmp(err.msg, "mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           "complex dtype. Got: Bool"), "%s", err.msg);
    CHECK(!lens_reduce_all(LENS_RED_ARGMAX, b, &err) && !strcmp(err.msg, "argmax(): does not support bool input"), "%s", err.msg);
    CHECK(!lens_reduce_all(LENS_RED_STD, b, &err) && !strcmp(err.msg, "std and var only support floating point and complex dtypes"), "%s", err.msg);
    /* torch: b.max(dim=0) -> values=tensor(True), indices=tensor(0) */
    lens_tensor *v = NULL, *i = NULL;
    CHECK(lens_max_dim(b, 0, false, true, &v, &i, &err) == 0, "%s", err.msg);
    check_values(v, LENS_BOOL, 1, (double[]){1}, "b.max(0).values");
    check_values(i, LENS_I64, 1, (double[]){0}, "b.max(0).indices");
    int64_t k = 1;
    CHECK(lens_topk(b, k, 0, true, NULL, NULL, &err) < 0 && !strcmp(err.msg, "topk does not support bool dtypes on CPU"), "%s", err.msg);
    lens_tensor_free(b);
}

static void test_masks_select_fill_and_choose(void)
{
    lens_error err;
    lens_tensor *t = lens_tensor_from_f32(2, (int64_t[]){2, 3}, (float[]){1, -2, 3, 4, 5, -6});
    lens_tensor *m = lens_binary_scalar(LENS_OP_GT, t, 0, true, false, &err);
    check_repr(lens_tensor_ref(m), "tensor([[ True, False,  True],\n        [ True,  True, False]])");
    /* torch: t.masked_fill(m, -1.) -> [[-1., -2., -1.], [-1., -1., -6.]] */
    check_values(lens_masked_fill(t, m, -1, &err), LENS_F32, 6, (double[]){-1, -2, -1, -1, -1, -6}, "masked_fill");
    /* torch: tensor([1, 2, 3, 4, 5, 6]).reshape(2, 3)[m] -> [1, 3, 4, 5] */
    lens_tensor *i = lens_tensor_from_i64(2, (int64_t[]){2, 3}, (int64_t[]){1, 2, 3, 4, 5, 6});
    check_values(lens_masked_select(i, m, &err), LENS_I64, 4, (double[]){1, 3, 4, 5}, "i[m]");
    /* torch: masked_fill with an int64 mask is a RuntimeError */
    CHECK(!lens_masked_fill(t, i, 0, &err) &&
          !strcmp(err.msg, "masked_fill_ only supports boolean masks, but got mask with dtype long int"), "%s", err.msg);
    CHECK(!lens_where(i, t, t, &err) &&
          !strcmp(err.msg, "where expected condition to be a boolean tensor, but got a tensor with dtype Long"), "%s", err.msg);
    /* torch: where(m, i, t) -> float32 [1., -2., 3., 4., 5., -6.]; where(m, m, ~m) bool */
    check_values(lens_where(m, i, t, &err), LENS_F32, 6, (double[]){1, -2, 3, 4, 5, -6}, "where(m, i, t)");
    lens_tensor *n = lens_unary(LENS_OP_NOT, m, &err);
    check_values(lens_where(m, m, n, &err), LENS_BOOL, 6, (double[]){1, 1, 1, 1, 1, 1}, "where(m, m, ~m)");
    /* torch: m.T is a view that prints [[True, True], [False, True], [True, False]] */
    lens_tensor *mt = lens_tensor_transpose(m, 0, 1, &err);
    check_repr(lens_tensor_clone(mt), "tensor([[ True,  True],\n        [False,  True],\n        [ True, False]])");
    /* torch: tril of a ones bool matrix */
    lens_tensor *ones = lens_ones(LENS_BOOL, 2, (int64_t[]){3, 3}, &err);
    check_repr(lens_tril(ones, 0, &err), "tensor([[ True, False, False],\n        [ True,  True, False],\n        [ True,  True,  True]])");
    /* torch: cat([bool, int64]) is int64; cat of bools stays bool */
    lens_tensor *b = B1(2, (uint8_t[]){1, 0}), *l = I1(2, (int64_t[]){5, 6});
    check_values(lens_cat(2, (const lens_tensor *[]){b, l}, 0, &err), LENS_I64, 4, (double[]){1, 0, 5, 6}, "cat(b, i)");
    check_values(lens_cat(2, (const lens_tensor *[]){b, b}, 0, &err), LENS_BOOL, 4, (double[]){1, 0, 1, 0}, "cat(b, b)");
    lens_tensor *list[] = {t, m, i, n, mt, ones, b, l};
    for (size_t k = 0; k < sizeof list / sizeof *list; k++) lens_tensor_free(list[k]);
}

static void test_conversions_and_creation(void)
{
    lens_error err;
    lens_tensor *f = F1(4, (float[]){0, -0.5f, 2, NAN});
    /* torch: tensor([0., -0.5, 2., nan]).bool() -> [False, True, True, True] */
    check_values(lens_tensor_to_dtype(f, LENS_BOOL), LENS_BOOL, 4, (double[]){0, 1, 1, 1}, "f.bool()");
    lens_tensor *b = B1(3, (uint8_t[]){1, 0, 1});
    check_values(lens_tensor_to_dtype(b, LENS_F32), LENS_F32, 3, (double[]){1, 0, 1}, "b.float()");
    check_values(lens_tensor_to_dtype(b, LENS_I64), LENS_I64, 3, (double[]){1, 0, 1}, "b.long()");
    /* torch: full((2,), 3, dtype=torch.bool) -> [True, True]; zeros -> [False, False] */
    check_values(lens_full(LENS_BOOL, 1, (int64_t[]){2}, 3, &err), LENS_BOOL, 2, (double[]){1, 1}, "full(3)");
    check_values(lens_zeros(LENS_BOOL, 1, (int64_t[]){2}, &err), LENS_BOOL, 2, (double[]){0, 0}, "zeros");
    CHECK(!lens_arange(0, 3, 1, LENS_BOOL, &err) && !strcmp(err.msg, "\"arange_cpu\" not implemented for 'Bool'"), "%s", err.msg);
    double v;
    lens_tensor *one = lens_tensor_select(b, 0, 2);
    CHECK(one && lens_tensor_item(one, &v, &err) == 0 && v == 1, "item of a bool");
    lens_tensor_free(one);
    lens_tensor_free(f);
    lens_tensor_free(b);
}

static void test_repr_matches_torch(void)
{
    lens_error err;
    check_repr(B1(3, (uint8_t[]){1, 0, 1}), "tensor([ True, False,  True])");
    check_repr(B1(2, (uint8_t[]){1, 1}), "tensor([True, True])");
    lens_tensor *s = lens_full(LENS_BOOL, 0, NULL, 1, &err);
    check_repr(s, "tensor(True)");
    check_repr(lens_zeros(LENS_BOOL, 0, NULL, &err), "tensor(False)");
    check_repr(lens_zeros(LENS_BOOL, 2, (int64_t[]){0, 3}, &err), "tensor([], size=(0, 3), dtype=torch.bool)");
    check_repr(lens_ones(LENS_BOOL, 1, (int64_t[]){30}, &err),
               "tensor([True, True, True, True, True, True, True, True, True, True, True, True,\n"
               "        True, True, True, True, True, True, True, True, True, True, True, True,\n"
               "        True, True, True, True, True, True])");
    lens_tensor *z = lens_zeros(LENS_BOOL, 1, (int64_t[]){30}, &err);
    if (z) lens_tensor_bool(z)[3] = 1;
    check_repr(z, "tensor([False, False, False,  True, False, False, False, False, False, False,\n"
                  "        False, False, False, False, False, False, False, False, False, False,\n"
                  "        False, False, False, False, False, False, False, False, False, False])");
    check_repr(lens_ones(LENS_BOOL, 1, (int64_t[]){1001}, &err), "tensor([True, True, True,  ..., True, True, True])");
}

static void test_safetensors_round_trip_keeps_bool(void)
{
    char dir[] = "/tmp/lens_bool_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    lens_error err;
    lens_tensor *m = lens_tensor_from_f32(2, (int64_t[]){2, 3}, (float[]){1, -2, 3, 4, 5, -6});
    lens_tensor *mask = lens_binary_scalar(LENS_OP_GT, m, 0, true, false, &err);
    lens_tensor *mt = lens_tensor_transpose(mask, 0, 1, &err);   /* a strided view is written contiguous */
    const char *names[] = {"mask_t"};
    CHECK(lens_safetensors_write(path, 1, names, (const lens_tensor *const *)&mt, NULL, &err) == 0, "%s", err.msg);
    lens_safetensors *st = lens_safetensors_open(path, &err);
    CHECK(st, "%s", err.msg);
    const lens_st_entry *e = st ? lens_safetensors_find(st, "mask_t") : NULL;
    CHECK(e && e->dtype == LENS_ST_BOOL && e->nbytes == 6, "stored as BOOL, one byte each");
    lens_tensor *back = e ? lens_st_entry_tensor(e, &err) : NULL;
    check_values(back, LENS_BOOL, 6, (double[]){1, 1, 0, 1, 1, 0}, "read back");
    lens_safetensors_close(st);
    unlink(path);
    rmdir(dir);
    lens_tensor_free(m); lens_tensor_free(mask); lens_tensor_free(mt);
}

int main(void)
{
    RUN(test_the_dtype_has_one_byte_and_torchs_name);
    RUN(test_comparisons_give_bool);
    RUN(test_promotion_and_bool_arithmetic_follow_torch);
    RUN(test_logical_on_bool_bitwise_on_int);
    RUN(test_reductions_of_bool);
    RUN(test_masks_select_fill_and_choose);
    RUN(test_conversions_and_creation);
    RUN(test_repr_matches_torch);
    RUN(test_safetensors_round_trip_keeps_bool);
    return harness_summary();
}
