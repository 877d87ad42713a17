/* tests/engine/test_tensor_device.c — tensors on devices (lens/tensor.h): every
 * general tensor operation on a device tensor gives what it gives on the host,
 * on sim (and cuda when present); host code never gets a device pointer;
 * results stay on the device, where torch keeps them: computed there
 * (elementwise, reductions, softmaxes, matmul, copies) or on the host through the
 * explicit download and moved back (topk, sort, gather, where, masked_fill,
 * masked_select, tril/triu, ...); mixed devices are refused with
 * torch's message; transfers round-trip; repr names the device; saving writes
 * a device tensor's values. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../engine/backend.h"
#include "../harness.h"
#include "lens/safetensors.h"
#include "lens/tensor_ops.h"

static const lens_backend *dev;   /* the device under test */

static double tol(void) { return dev->device == LENS_CUDA ? 1e-4 : 1e-6; }

static lens_tensor *up(const lens_tensor *h)
{
    lens_error err;
    lens_tensor *d = lens_tensor_to_device(h, dev, &err);
    CHECK(d && lens_tensor_device(d) == dev->device, "upload: %s", err.msg);
    return d;
}

/* A device result equals the host one: same dtype, shape and values, and it
 * lives where it should (on the device, or on the host when expect_host). */
static void same(const lens_tensor *host, lens_tensor *device_result, bool expect_host, const char *what)
{
    CHECK(host && device_result, "%s: a result on both", what);
    if (!host || !device_result) {
        lens_tensor_free(device_result);
        return;
    }
    CHECK(lens_tensor_on_host(device_result) == expect_host, "%s: the result is on the %s", what,
          expect_host ? "host" : "device");
    lens_error err;
    lens_tensor *h = lens_tensor_host(device_result, &err);
    CHECK(h, "%s: download: %s", what, err.msg);
    if (h) {
        CHECK(h->dtype == host->dtype && lens_tensor_same_shape(h, host), "%s: dtype and shape", what);
        if (h->dtype == host->dtype && lens_tensor_same_shape(h, host)) {
            lens_tensor *a = lens_tensor_to_f32(h), *b = lens_tensor_to_f32(host);
            CHECK_CLOSE(lens_tensor_f32(a), lens_tensor_f32(b), (long)lens_tensor_numel(a), tol(), what);
            lens_tensor_free(a);
            lens_tensor_free(b);
        }
    }
    lens_tensor_free(h);
    lens_tensor_free(device_result);
}

static void test_device_tensors_hide_their_pointer(void)
{
    lens_tensor *d = lens_tensor_new_on(dev, LENS_F32, 2, (int64_t[]){3, 4});
    CHECK(d && !lens_tensor_on_host(d) && lens_tensor_device(d) == dev->device);
    CHECK(lens_tensor_data(d) == NULL && lens_tensor_f32(d) == NULL, "host code gets no pointer to device memory");
    CHECK(lens_tensor_device_ptr(d) != NULL, "backend calls get it");
    lens_error err;
    lens_tensor *h = lens_tensor_host(d, &err);
    CHECK(h && lens_tensor_on_host(h) && lens_tensor_f32(h)[11] == 0.0f, "a new device tensor is zero");
    lens_tensor *again = lens_tensor_host(h, &err);
    CHECK(again && again->storage == h->storage, "a host tensor's host copy is the same storage");
    lens_tensor_free(again);
    lens_tensor_free(h);
    lens_tensor_free(d);
    CHECK(!strcmp(lens_device_name(LENS_CPU), "cpu") && !strcmp(lens_device_name(LENS_SIM), "sim") &&
          !strcmp(lens_device_name(LENS_CUDA), "cuda"));
}

static void test_transfers_round_trip(void)
{
    lens_tensor *x = lens_randn(3, (int64_t[]){2, 3, 5}, 7);
    lens_tensor *d = up(x);
    lens_error err;
    lens_tensor *same_dev = lens_tensor_to_device(d, dev, &err);
    CHECK(same_dev && same_dev->storage == d->storage, "to its own device: another reference");
    lens_tensor_free(same_dev);
    /* a strided view downloads as its own values */
    lens_tensor *tv = lens_tensor_transpose(d, 0, 2, &err), *th = lens_tensor_transpose(x, 0, 2, &err);
    same(th, lens_tensor_host(tv, &err), true, "download of a transposed view");
    same(th, lens_tensor_contiguous(tv), false, "contiguous copy of a view, on the device");
    lens_tensor *back = lens_tensor_to(d, "cpu", &err);
    CHECK(back && lens_tensor_on_host(back) && !memcmp(lens_tensor_f32(back), lens_tensor_f32(x), 30 * sizeof(float)),
          "host -> device -> host gives the same bits");
    lens_tensor_free(back);
    CHECK(!lens_tensor_to(d, "tpu", &err) && err.kind == LENS_ERR_INVALID && strstr(err.msg, "unknown device 'tpu'"),
          "%s", err.msg);
    /* int64 and dtype conversion on the device */
    lens_tensor *ids = lens_arange(0, 10, 1, LENS_I64, &err), *dids = up(ids);
    lens_tensor *f = lens_tensor_to_f32(ids);
    same(f, lens_tensor_to_f32(dids), false, "int64 -> float32 on the device");
    same(ids, lens_tensor_to_dtype(dids, LENS_I64), false, "int64 clone");
    /* assign into a device slice (value from the host, broadcast) */
    lens_tensor *row = lens_tensor_select(d, 0, 1), *hrow = lens_tensor_select(x, 0, 1);
    lens_tensor *val = lens_scalar_f32(2.5);
    CHECK(lens_tensor_assign(row, val, &err) == 0 && lens_tensor_assign(hrow, val, &err) == 0, "%s", err.msg);
    same(x, lens_tensor_ref(d), false, "assign into a device slice");
    double item = 0;
    lens_tensor *one = lens_tensor_select(row, 0, 2), *one2 = lens_tensor_select(one, 0, 4);
    CHECK(lens_tensor_item(one2, &item, &err) == 0 && item == 2.5, "item() of a device element: %g", item);
    CHECK(lens_tensor_get_f64(d, (int64_t[]){1, 2, 4}) == 2.5 &&
              lens_tensor_get_f64(d, (int64_t[]){0, 1, 1}) == (double)lens_tensor_f32(x)[6],
          "get_f64 reads one device element");
    lens_tensor *list[] = {tv, th, f, dids, ids, row, hrow, val, one, one2, d, x};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++) lens_tensor_free(list[i]);
}

static void test_repr_names_the_device(void)
{
    lens_tensor *x = lens_tensor_from_f32(1, (int64_t[]){2}, (float[]){1, 2});
    lens_tensor *d = up(x);
    char *r = lens_tensor_repr(d);
    char want[96];
    snprintf(want, sizeof want, "tensor([1., 2.], device='%s')", dev->device == LENS_CUDA ? "cuda:0" : dev->name);
    CHECK(r && !strcmp(r, want), "%s", r);
    free(r);
    char *html = lens_tensor_html(d), *hh = lens_tensor_html(x);
    CHECK(html && hh && !strcmp(html, hh), "the HTML table of a device tensor is its values'");
    free(html);
    free(hh);
    lens_tensor_free(d);
    lens_tensor_free(x);
}

static void test_elementwise(void)
{
    lens_error err;
    lens_tensor *a = lens_randn(3, (int64_t[]){4, 3, 5}, 1), *b = lens_randn(2, (int64_t[]){3, 5}, 2);
    lens_tensor *pa = lens_rand(3, (int64_t[]){4, 3, 5}, 3);   /* positive bases for ** */
    lens_tensor *da = up(a), *db = up(b), *dpa = up(pa);
    for (int op = LENS_OP_ADD; op <= LENS_OP_MINIMUM; op++) {   /* & | ^ refuse float32: below, on bool */
        const lens_tensor *x = op == LENS_OP_POW ? pa : a, *dx = op == LENS_OP_POW ? dpa : da;
        lens_tensor *h = lens_binary((lens_binop)op, x, b, &err);
        char what[64];
        snprintf(what, sizeof what, "binary op %d with broadcasting", op);
        same(h, lens_binary((lens_binop)op, dx, db, &err), false, what);
        lens_tensor_free(h);
        h = lens_binary_scalar((lens_binop)op, x, 2, true, false, &err);
        snprintf(what, sizeof what, "binary op %d with an int on the right", op);
        same(h, lens_binary_scalar((lens_binop)op, dx, 2, true, false, &err), false, what);
        lens_tensor_free(h);
        h = lens_binary_scalar((lens_binop)op, x, 0.5, false, true, &err);
        snprintf(what, sizeof what, "binary op %d with a float on the left", op);
        same(h, lens_binary_scalar((lens_binop)op, dx, 0.5, false, true, &err), false, what);
        lens_tensor_free(h);
    }
    lens_tensor *tv = lens_tensor_transpose(a, 0, 2, &err), *dtv = lens_tensor_transpose(da, 0, 2, &err);
    for (int op = LENS_OP_NEG; op < LENS_OP_NOT; op++) {
        const lens_tensor *x = (op == LENS_OP_LOG || op == LENS_OP_SQRT) ? pa : tv;
        lens_tensor *dx = (op == LENS_OP_LOG || op == LENS_OP_SQRT) ? lens_tensor_ref(dpa) : lens_tensor_ref(dtv);
        lens_tensor *h = lens_unary((lens_unop)op, x, &err);
        char what[64];
        snprintf(what, sizeof what, "unary op %d of a strided view", op);
        same(h, lens_unary((lens_unop)op, dx, &err), false, what);
        lens_tensor_free(h);
        lens_tensor_free(dx);
    }
    /* masks on the device: comparisons give bool there, and & | ^ ~ of them stay bool */
    lens_tensor *ma = lens_binary_scalar(LENS_OP_GT, a, 0, true, false, &err);
    lens_tensor *mb = lens_binary_scalar(LENS_OP_LT, b, 0.5, false, false, &err);
    lens_tensor *dma = lens_binary_scalar(LENS_OP_GT, da, 0, true, false, &err);
    lens_tensor *dmb = lens_binary_scalar(LENS_OP_LT, db, 0.5, false, false, &err);
    CHECK(ma && ma->dtype == LENS_BOOL && dma && dma->dtype == LENS_BOOL && !lens_tensor_on_host(dma),
          "a comparison on the device is a bool tensor there");
    same(ma, lens_tensor_ref(dma), false, "a > 0 on the device");
    for (int op = LENS_OP_AND; op <= LENS_OP_XOR; op++) {
        lens_tensor *hm = lens_binary((lens_binop)op, ma, mb, &err), *dm = lens_binary((lens_binop)op, dma, dmb, &err);
        CHECK(dm && dm->dtype == LENS_BOOL, "bool op %d on the device stays bool", op);
        same(hm, dm, false, "a bool & | ^ on the device");
        lens_tensor_free(hm);
    }
    lens_tensor *hn = lens_unary(LENS_OP_NOT, ma, &err);
    same(hn, lens_unary(LENS_OP_NOT, dma, &err), false, "~mask on the device");
    lens_tensor_free(hn);
    lens_tensor *msk[] = {ma, mb, dma, dmb};
    for (size_t i = 0; i < sizeof msk / sizeof *msk; i++) lens_tensor_free(msk[i]);
    lens_tensor *ids = lens_arange(-3, 9, 1, LENS_I64, &err), *dids = up(ids);
    lens_tensor *h = lens_binary_scalar(LENS_OP_FLOORDIV, ids, 2, true, false, &err);
    same(h, lens_binary_scalar(LENS_OP_FLOORDIV, dids, 2, true, false, &err), false, "int64 // int stays int64 on the device");
    lens_tensor_free(h);
    h = lens_unary(LENS_OP_ABS, ids, &err);
    same(h, lens_unary(LENS_OP_ABS, dids, &err), false, "int64 abs on the device");
    lens_tensor_free(h);
    lens_tensor *list[] = {a, b, pa, da, db, dpa, tv, dtv, ids, dids};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++) lens_tensor_free(list[i]);
}

static void test_reductions_and_softmax(void)
{
    lens_error err;
    lens_tensor *x = lens_randn(3, (int64_t[]){3, 33, 4}, 5), *dx = up(x);
    static const lens_reduce_op ops[] = {LENS_RED_SUM, LENS_RED_MEAN, LENS_RED_MAX, LENS_RED_MIN, LENS_RED_PROD,
                                         LENS_RED_ARGMAX, LENS_RED_VAR, LENS_RED_ANY};
    for (size_t o = 0; o < sizeof ops / sizeof *ops; o++)
        for (int dim = -1; dim < 3; dim++) {
            char what[64];
            snprintf(what, sizeof what, "reduce %d over dim %d", (int)ops[o], dim);
            lens_tensor *h = lens_reduce(ops[o], x, dim, dim == 1, &err);
            same(h, lens_reduce(ops[o], dx, dim, dim == 1, &err), false, what);
            lens_tensor_free(h);
        }
    int two[] = {0, 2};
    lens_tensor *h = lens_reduce_dims(LENS_RED_SUM, x, 2, two, false, &err);
    same(h, lens_reduce_dims(LENS_RED_SUM, dx, 2, two, false, &err), false, "sum over two dims");
    lens_tensor_free(h);
    h = lens_reduce_all(LENS_RED_MEAN, x, &err);
    same(h, lens_reduce_all(LENS_RED_MEAN, dx, &err), false, "mean of everything");
    lens_tensor_free(h);
    for (int dim = 0; dim < 3; dim++) {
        h = lens_softmax(x, dim, &err);
        same(h, lens_softmax(dx, dim, &err), false, "softmax");
        lens_tensor_free(h);
        h = lens_log_softmax(x, dim, &err);
        same(h, lens_log_softmax(dx, dim, &err), false, "log_softmax");
        lens_tensor_free(h);
        h = lens_cumsum(x, dim, &err);
        same(h, lens_cumsum(dx, dim, &err), false, "cumsum (on the host, back to the device)");
        lens_tensor_free(h);
    }
    lens_tensor_free(x);
    lens_tensor_free(dx);
}

static void test_matmul(void)
{
    lens_error err;
    struct {
        int na, nb;
        int64_t sa[4], sb[4];
    } cases[] = {
        {1, 1, {33}, {33}},                     /* dot product: 0-d */
        {1, 2, {7}, {7, 5}},                    /* vector @ matrix */
        {2, 1, {1, 7}, {7}},                    /* one row @ vector */
        {2, 2, {1, 1}, {1, 1}},
        {2, 2, {33, 65}, {65, 31}},
        {3, 2, {4, 5, 6}, {6, 3}},              /* batch @ shared matrix */
        {3, 3, {4, 5, 6}, {4, 6, 3}},
        {4, 3, {2, 1, 5, 6}, {3, 6, 2}},        /* broadcast batches */
        {2, 2, {3, 0}, {0, 4}},                 /* K = 0: zeros */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        lens_tensor *a = lens_randn(cases[c].na, cases[c].sa, 10 + c), *b = lens_randn(cases[c].nb, cases[c].sb, 20 + c);
        lens_tensor *da = up(a), *db = up(b);
        lens_tensor *h = lens_matmul(a, b, &err);
        char what[64];
        snprintf(what, sizeof what, "matmul case %zu", c);
        same(h, lens_matmul(da, db, &err), false, what);
        lens_tensor_free(h);
        if (cases[c].nb == 2) {   /* a transposed right operand: x @ W.T */
            lens_tensor *bt = lens_tensor_transpose(b, 0, 1, &err), *dbt = lens_tensor_transpose(db, 0, 1, &err);
            lens_tensor *bc = lens_tensor_contiguous(bt), *dbc = lens_tensor_contiguous(dbt);
            lens_tensor *btt = lens_tensor_transpose(bc, 0, 1, &err), *dbtt = lens_tensor_transpose(dbc, 0, 1, &err);
            h = lens_matmul(a, btt, &err);
            same(h, lens_matmul(da, dbtt, &err), false, "matmul with a transposed view");
            lens_tensor *list[] = {h, bt, dbt, bc, dbc, btt, dbtt};
            for (size_t i = 0; i < sizeof list / sizeof *list; i++) lens_tensor_free(list[i]);
        }
        lens_tensor_free(a);
        lens_tensor_free(b);
        lens_tensor_free(da);
        lens_tensor_free(db);
    }
    lens_tensor *ia = lens_arange(0, 6, 1, LENS_I64, &err), *ib = lens_arange(1, 7, 1, LENS_I64, &err);
    lens_tensor *r = lens_matmul(ia, ib, &err), *dia = up(ia), *dib = up(ib);
    same(r, lens_matmul(dia, dib, &err), false, "int64 matmul (host loop, back to the device)");
    lens_tensor *list[] = {ia, ib, r, dia, dib};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++) lens_tensor_free(list[i]);
}

/* Operations computed on the host (through the explicit download) return their
 * results on the inputs' device, with the host's values. */
static void test_host_operations_return_on_the_device(void)
{
    lens_error err;
    lens_tensor *x = lens_randn(2, (int64_t[]){5, 9}, 9), *dx = up(x);
    lens_tensor *v, *i, *dv, *di;
    CHECK(lens_topk(x, 3, -1, true, &v, &i, &err) == 0 && lens_topk(dx, 3, -1, true, &dv, &di, &err) == 0, "%s", err.msg);
    same(v, dv, false, "topk values");
    same(i, di, false, "topk indices");
    lens_tensor_free(v);
    lens_tensor_free(i);
    CHECK(lens_sort(x, 0, true, &v, &i, &err) == 0 && lens_sort(dx, 0, true, &dv, &di, &err) == 0, "%s", err.msg);
    same(v, dv, false, "sort values");
    same(i, di, false, "sort indices");
    lens_tensor_free(v);
    lens_tensor_free(i);
    CHECK(lens_topk(dx, 2, 0, false, NULL, &di, &err) == 0, "%s", err.msg);   /* the indices alone */
    CHECK(lens_topk(x, 2, 0, false, NULL, &i, &err) == 0, "%s", err.msg);
    same(i, di, false, "topk indices alone");
    lens_tensor_free(i);
    lens_tensor *h = lens_argsort(x, 0, false, &err);
    same(h, lens_argsort(dx, 0, false, &err), false, "argsort");
    lens_tensor_free(h);
    const lens_tensor *two[] = {x, x}, *dtwo[] = {dx, dx};
    h = lens_einsum("ij,kj->ik", 2, two, &err);
    same(h, lens_einsum("ij,kj->ik", 2, dtwo, &err), false, "einsum");
    lens_tensor_free(h);
    h = lens_cat(2, two, 1, &err);
    same(h, lens_cat(2, dtwo, 1, &err), false, "cat");
    lens_tensor_free(h);
    h = lens_stack(2, two, 0, &err);
    same(h, lens_stack(2, dtwo, 0, &err), false, "stack");
    lens_tensor_free(h);
    lens_tensor *idx = lens_tensor_from_i64(1, (int64_t[]){3}, (int64_t[]){4, 0, -1}), *didx = up(idx);
    h = lens_index_select(x, 1, idx, &err);
    same(h, lens_index_select(dx, 1, didx, &err), false, "index_select");
    /* host indices into device data (a slice list, a list written in a cell), as torch indexes */
    same(h, lens_index_select(dx, 1, idx, &err), false, "index_select with host indices");
    lens_tensor_free(h);
    lens_tensor *gidx = lens_tensor_from_i64(2, (int64_t[]){5, 1}, (int64_t[]){0, 8, 3, 3, 1}), *dgidx = up(gidx);
    h = lens_gather(x, 1, gidx, &err);
    same(h, lens_gather(dx, 1, gidx, &err), false, "gather with host indices");
    same(h, lens_gather(dx, 1, dgidx, &err), false, "gather");
    lens_tensor_free(h);
    lens_tensor_free(gidx);
    lens_tensor_free(dgidx);
    h = lens_tril(x, 0, &err);
    same(h, lens_tril(dx, 0, &err), false, "tril");
    lens_tensor_free(h);
    h = lens_triu(x, 1, &err);
    same(h, lens_triu(dx, 1, &err), false, "triu");
    lens_tensor_free(h);
    lens_tensor *mask = lens_binary_scalar(LENS_OP_GT, x, 0, true, false, &err);
    lens_tensor *dmask = lens_binary_scalar(LENS_OP_GT, dx, 0, true, false, &err);
    CHECK(dmask && !lens_tensor_on_host(dmask), "a comparison stays on the device");
    lens_tensor *neg = lens_unary(LENS_OP_NEG, x, &err), *dneg = up(neg);
    h = lens_where(mask, x, neg, &err);
    same(h, lens_where(dmask, dx, dneg, &err), false, "where");
    lens_tensor_free(h);
    lens_tensor *zero = lens_scalar_f32(0);   /* a number joins the device */
    h = lens_where(mask, x, zero, &err);
    same(h, lens_where(dmask, dx, zero, &err), false, "where with a number");
    lens_tensor_free(h);
    h = lens_masked_fill(x, mask, -1.5, &err);
    same(h, lens_masked_fill(dx, dmask, -1.5, &err), false, "masked_fill");
    lens_tensor_free(h);
    h = lens_masked_select(x, mask, &err);
    same(h, lens_masked_select(dx, dmask, &err), false, "masked_select");
    lens_tensor_free(h);
    lens_tensor *list[] = {x, dx, idx, didx, mask, dmask, neg, dneg, zero};
    for (size_t k = 0; k < sizeof list / sizeof *list; k++) lens_tensor_free(list[k]);
}

/* Saving reads a device tensor through its download: the file holds its values. */
static void test_saving_a_device_tensor(void)
{
    lens_error err;
    lens_tensor *x = lens_randn(2, (int64_t[]){3, 7}, 11), *t = lens_tensor_transpose(x, 0, 1, &err);
    lens_tensor *d = up(t);
    char path[] = "/tmp/lens-device-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    const char *names[] = {"w"};
    const lens_tensor *ts[] = {d};
    CHECK(lens_safetensors_write(path, 1, names, ts, NULL, &err) == 0, "%s", err.msg);
    lens_safetensors *st = lens_safetensors_open(path, &err);
    CHECK(st, "%s", err.msg);
    lens_tensor *back = st ? lens_st_entry_tensor(lens_safetensors_find(st, "w"), &err) : NULL;
    same(t, back, true, "a device tensor saved and read back");
    lens_safetensors_close(st);
    unlink(path);
    lens_tensor_free(d);
    lens_tensor_free(t);
    lens_tensor_free(x);
}

static void test_mixed_devices_are_refused(void)
{
    lens_error err;
    lens_tensor *x = lens_randn(2, (int64_t[]){2, 3}, 4), *dx = up(x);
    char want[160];
    snprintf(want, sizeof want, "Expected all tensors to be on the same device, but found at least two devices, %s and cpu!",
             lens_device_name(dev->device));
    CHECK(!lens_binary(LENS_OP_ADD, dx, x, &err) && err.kind == LENS_ERR_DEVICE && !strcmp(err.msg, want), "%s", err.msg);
    CHECK(!lens_binary(LENS_OP_ADD, x, dx, &err) && !strcmp(err.msg, want), "either order: %s", err.msg);
    lens_tensor *xt = lens_tensor_transpose(x, 0, 1, &err);
    CHECK(!lens_matmul(dx, xt, &err) && !strcmp(err.msg, want), "matmul: %s", err.msg);
    lens_tensor *dm = lens_binary_scalar(LENS_OP_GT, dx, 0, true, false, &err);
    CHECK(!lens_where(dm, x, dx, &err) && !strcmp(err.msg, want), "where: %s", err.msg);
    lens_tensor_free(dm);
    lens_tensor *s = lens_scalar_f32(3);
    lens_tensor *r = lens_binary(LENS_OP_MUL, dx, s, &err);
    CHECK(r && !lens_tensor_on_host(r), "a 0-d host tensor (a number) joins the device: %s", r ? "" : err.msg);
    lens_tensor *list[] = {x, dx, xt, s, r};
    for (size_t k = 0; k < sizeof list / sizeof *list; k++) lens_tensor_free(list[k]);
}

static void run_all(void)
{
    RUN(test_device_tensors_hide_their_pointer);
    RUN(test_transfers_round_trip);
    RUN(test_repr_names_the_device);
    RUN(test_elementwise);
    RUN(test_reductions_and_softmax);
    RUN(test_matmul);
    RUN(test_host_operations_return_on_the_device);
    RUN(test_saving_a_device_tensor);
    RUN(test_mixed_devices_are_refused);
}

int main(void)
{
    dev = lens_backend_sim();
    run_all();
    lens_error err;
    lens_error why;
    const lens_backend *cuda = lens_backend_cuda(&why);
    if (cuda) {
        dev = cuda;
        run_all();
    } else {
        fprintf(stderr, "test_tensor_device: no CUDA backend here (%s); tested sim\n", why.msg);
    }
    CHECK(lens_backend_sim()->synchronize(&err) == 0, "no sim operation was given a host pointer: %s", err.msg);
    return harness_summary();
}
