/* tensor_ops_reduce.c — reductions over dims (sum, mean, max, min, arg*, prod, var, std,
 * any, all), cumsum, softmax and log_softmax (see lens/tensor_ops.h).
 * The reduced dims are permuted to the end and made contiguous, so each output element
 * reduces one contiguous row. Float sums accumulate in double. On a device, float32
 * sum/mean/max/min/prod and the softmaxes run as the backend's reduce_f32 and
 * softmax_rows; the rest run on the host and their results go back to the device. */
#include "lens/tensor_ops.h"

#include <math.h>
#include <stdlib.h>

#include "tensor_device.h"
#include "tape_record.h"
#include "tensor_iter.h"

static const char *red_name(lens_reduce_op op)
{
    static const char *names[] = {"sum", "mean", "max", "min", "argmax", "argmin",
                                  "prod", "var", "std", "any", "all"};
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "reduce";
}

static lens_dtype red_dtype(lens_reduce_op op, lens_dtype in)
{
    switch (op) {
    case LENS_RED_SUM: case LENS_RED_MAX: case LENS_RED_MIN: case LENS_RED_PROD: return in;
    case LENS_RED_ARGMAX: case LENS_RED_ARGMIN: return LENS_I64;
    case LENS_RED_ANY: case LENS_RED_ALL: return LENS_BOOL;
    default: return LENS_F32;
    }
}

/* Reduces one contiguous row of R elements into out[o]. */
static void reduce_row(lens_reduce_op op, const lens_tensor *src, int64_t base, int64_t R,
                       lens_tensor *out, int64_t o)
{
    const float *f = src->dtype == LENS_F32 ? lens_tensor_f32(src) + base : NULL;
    const int64_t *l = src->dtype == LENS_I64 ? lens_tensor_i64(src) + base : NULL;
    float *fo = out->dtype == LENS_F32 ? lens_tensor_f32(out) : NULL;
    int64_t *lo = out->dtype == LENS_I64 ? lens_tensor_i64(out) : NULL;
#define X(j) (f ? (double)f[j] : (double)l[j])
    switch (op) {
    case LENS_RED_SUM:
    case LENS_RED_MEAN:
    case LENS_RED_PROD:
        if (l && op != LENS_RED_MEAN) {
            uint64_t acc = op == LENS_RED_PROD ? 1 : 0;
            for (int64_t j = 0; j < R; j++) acc = op == LENS_RED_PROD ? acc * (uint64_t)l[j] : acc + (uint64_t)l[j];
            lo[o] = (int64_t)acc;
        } else {
            double acc = op == LENS_RED_PROD ? 1 : 0;
            for (int64_t j = 0; j < R; j++) acc = op == LENS_RED_PROD ? acc * X(j) : acc + X(j);
            if (op == LENS_RED_MEAN) acc = R ? acc / (double)R : NAN;
            fo[o] = (float)acc;
        }
        break;
    case LENS_RED_VAR:
    case LENS_RED_STD: {
        double mean = 0, ss = 0;
        for (int64_t j = 0; j < R; j++) mean += X(j);
        mean /= (double)R;
        for (int64_t j = 0; j < R; j++) ss += (X(j) - mean) * (X(j) - mean);
        double var = R > 1 ? ss / (double)(R - 1) : NAN;
        fo[o] = (float)(op == LENS_RED_STD ? sqrt(var) : var);
        break;
    }
    case LENS_RED_MAX: case LENS_RED_MIN: case LENS_RED_ARGMAX: case LENS_RED_ARGMIN: {
        bool want_max = op == LENS_RED_MAX || op == LENS_RED_ARGMAX;
        int64_t best = 0;
        if (l) {
            for (int64_t j = 1; j < R; j++)
                if (want_max ? l[j] > l[best] : l[j] < l[best]) best = j;
        } else {
            /* NaN wins (torch propagates it); the first NaN is the index. */
            for (int64_t j = 0; j < R; j++) {
                if (isnan(f[j])) { best = j; break; }
                if (want_max ? f[j] > f[best] : f[j] < f[best]) best = j;
            }
        }
        if (op == LENS_RED_ARGMAX || op == LENS_RED_ARGMIN) lo[o] = best;
        else if (l) lo[o] = l[best];
        else fo[o] = f[best];
        break;
    }
    case LENS_RED_ANY:
    case LENS_RED_ALL: {
        bool any = false, all = true;
        for (int64_t j = 0; j < R; j++) {
            bool nz = X(j) != 0;
            any = any || nz;
            all = all && nz;
        }
        lens_tensor_bool(out)[o] = op == LENS_RED_ANY ? any : all;
        break;
    }
    }
#undef X
}

/* A reduction of a bool tensor, as torch: over an int64 copy; sum and prod stay int64,
 * max, min, any and all give bool; mean, var, std and the arg* refuse. */
static lens_tensor *bool_reduce(lens_reduce_op op, const lens_tensor *t, int ndims, const int *dims,
                                bool keepdim, lens_error *err)
{
    switch (op) {
    case LENS_RED_MEAN:
        lens_fail_kind(err, LENS_ERR_DTYPE, "mean(): could not infer output dtype. Input dtype must be either "
                       "a floating point or complex dtype. Got: Bool");
        return NULL;
    case LENS_RED_VAR: case LENS_RED_STD:
        lens_fail_kind(err, LENS_ERR_DTYPE, "std and var only support floating point and complex dtypes");
        return NULL;
    case LENS_RED_ARGMAX: case LENS_RED_ARGMIN:
        lens_fail_kind(err, LENS_ERR_DTYPE, "%s(): does not support bool input", red_name(op));
        return NULL;
    default: break;
    }
    lens_tensor *w = lens_tensor_to_dtype(t, LENS_I64);
    if (!w) { lens_fail_alloc(err); return NULL; }
    lens_tensor *r = lens_reduce_dims(op, w, ndims, dims, keepdim, err);
    lens_tensor_free(w);
    if (r && (op == LENS_RED_MAX || op == LENS_RED_MIN)) {
        lens_tensor *b = lens_tensor_to_dtype(r, LENS_BOOL);
        lens_tensor_free(r);
        if (!b) lens_fail_alloc(err);
        r = b;
    }
    return r;
}

lens_tensor *lens_reduce_dims(lens_reduce_op op, const lens_tensor *t, int ndims, const int *dims,
                              bool keepdim, lens_error *err)
{
    if ((unsigned)op > LENS_RED_ALL) { lens_fail(err, "unknown reduction %d", (int)op); return NULL; }
    if (t->dtype == LENS_BOOL) return bool_reduce(op, t, ndims, dims, keepdim, err);
    bool arg = op == LENS_RED_ARGMAX || op == LENS_RED_ARGMIN;
    if (t->ndim == 0) {
        for (int i = 0; i < ndims; i++)
            if (dims[i] != 0 && dims[i] != -1) {
                lens_fail(err, "%s: dimension %d out of range for a 0-d tensor", red_name(op), dims[i]);
                return NULL;
            }
        lens_tensor *one = lens_tensor_unsqueeze(t, 0, err);
        if (!one) return NULL;
        lens_tensor *r = lens_reduce_dims(op, one, 0, NULL, false, err);
        lens_tensor_free(one);
        return r;
    }
    bool reduced[LENS_MAX_DIMS] = {0};
    if (ndims == 0) {
        for (int d = 0; d < t->ndim; d++) reduced[d] = true;
    } else {
        if (arg && ndims > 1) { lens_fail(err, "%s takes one dimension (or none for the flat index)", red_name(op)); return NULL; }
        for (int i = 0; i < ndims; i++) {
            int d = lens_norm_dim(dims[i], t->ndim);
            if (d < 0) {
                lens_fail(err, "%s: dimension %d out of range for a %d-d tensor", red_name(op), dims[i], t->ndim);
                return NULL;
            }
            if (reduced[d]) { lens_fail(err, "%s: dimension %d repeated", red_name(op), dims[i]); return NULL; }
            reduced[d] = true;
        }
    }
    int perm[LENS_MAX_DIMS], k = 0;
    int64_t oshape[LENS_MAX_DIMS], R = 1;
    int ond = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (!reduced[d]) { perm[k++] = d; oshape[ond++] = t->shape[d]; }
        else if (keepdim) oshape[ond++] = 1;
    }
    for (int d = 0; d < t->ndim; d++)
        if (reduced[d]) { perm[k++] = d; R *= t->shape[d]; }
    bool needs_item = op == LENS_RED_MAX || op == LENS_RED_MIN || arg;
    const lens_backend *be = lens_tensor_on_host(t) ? NULL : lens_tensor_backend(t);
    bool device_op = op == LENS_RED_SUM || op == LENS_RED_MEAN || op == LENS_RED_MAX || op == LENS_RED_MIN ||
                     op == LENS_RED_PROD;
    if (be && !(device_op && t->dtype == LENS_F32)) {
        lens_tensor *h = lens_tensor_host(t, err);
        lens_tensor *r = h ? lens_reduce_dims(op, h, ndims, dims, keepdim, err) : NULL;
        lens_tensor_free(h);
        return lens_result_to_device(r, be, err);
    }
    lens_tensor *out = lens_tensor_new_on(be, red_dtype(op, t->dtype), ond, oshape);
    if (!out) { lens_fail_alloc(err); return NULL; }
    int64_t outer = lens_tensor_numel(out);
    if (R == 0 && needs_item && outer > 0) {
        lens_tensor_free(out);
        char b[128];
        lens_fail(err, "%s of an empty dimension (tensor of shape %s) has no value", red_name(op),
                  lens_shape_str(t->ndim, t->shape, b, sizeof b));
        return NULL;
    }
    lens_tensor *pv = lens_tensor_permute(t, perm, err);
    if (!pv) { lens_tensor_free(out); return NULL; }
    lens_tensor *c = lens_tensor_contiguous(pv);
    lens_tensor_free(pv);
    if (!c) { lens_tensor_free(out); lens_fail_alloc(err); return NULL; }
    if (be) {
        if (outer) be->reduce_f32(op, lens_tensor_device_ptr(out), lens_tensor_device_ptr(c), outer, R, 1);
    } else {
        for (int64_t o = 0; o < outer; o++) reduce_row(op, c, o * R, R, out, o);
    }
    lens_tensor_free(c);
    lens_tape_reduce(op, t, ndims, dims, keepdim, out);
    return out;
}

lens_tensor *lens_reduce(lens_reduce_op op, const lens_tensor *t, int dim, bool keepdim,
                         lens_error *err)
{
    return lens_reduce_dims(op, t, 1, &dim, keepdim, err);
}

lens_tensor *lens_reduce_all(lens_reduce_op op, const lens_tensor *t, lens_error *err)
{
    return lens_reduce_dims(op, t, 0, NULL, false, err);
}

/* Shared by cumsum and the softmaxes: rows along dim, op on each, back. */
typedef enum { ROW_CUMSUM, ROW_SOFTMAX, ROW_LOG_SOFTMAX } row_op;

static lens_tensor *row_apply(row_op op, const lens_tensor *t, int dim, const char *name, lens_error *err)
{
    if (t->ndim == 0) {
        if (dim != 0 && dim != -1) { lens_fail(err, "%s: dimension %d out of range for a 0-d tensor", name, dim); return NULL; }
        lens_tensor *one = lens_tensor_unsqueeze(t, 0, err);
        if (!one) return NULL;
        lens_tensor *r = row_apply(op, one, 0, name, err);
        lens_tensor_free(one);
        if (!r) return NULL;
        lens_tensor *s = lens_tensor_squeeze(r, 0, err);
        lens_tensor_free(r);
        return s;
    }
    int d = lens_norm_dim(dim, t->ndim);
    if (d < 0) { lens_fail(err, "%s: dimension %d out of range for a %d-d tensor", name, dim, t->ndim); return NULL; }
    if (t->dtype == LENS_BOOL) {   /* cumsum of bool counts (int64); the softmaxes see 0.0 / 1.0 */
        lens_tensor *w = lens_tensor_to_dtype(t, op == ROW_CUMSUM ? LENS_I64 : LENS_F32);
        lens_tensor *r = w ? row_apply(op, w, dim, name, err) : NULL;
        if (!w) lens_fail_alloc(err);
        lens_tensor_free(w);
        return r;
    }
    if (!lens_tensor_on_host(t) && op == ROW_CUMSUM) {
        lens_tensor *h = lens_tensor_host(t, err);
        lens_tensor *r = h ? row_apply(op, h, dim, name, err) : NULL;
        lens_tensor_free(h);
        return lens_result_to_device(r, lens_tensor_backend(t), err);
    }
    lens_tensor *src = lens_rows_of(t, d);
    if (!src) { lens_fail_alloc(err); return NULL; }
    lens_tensor *rows = src;
    if (op != ROW_CUMSUM || t->dtype == LENS_F32) {
        if (src->dtype != LENS_F32) {
            rows = lens_tensor_to_f32(src);
            lens_tensor_free(src);
            if (!rows) { lens_fail_alloc(err); return NULL; }
        }
    }
    int64_t R = t->shape[d], outer = R ? lens_tensor_numel(rows) / R : 0;
    if (!lens_tensor_on_host(rows)) {
        const lens_backend *be = lens_tensor_backend(rows);
        lens_tensor *o = lens_tensor_new_on(be, LENS_F32, rows->ndim, rows->shape);
        if (o && outer)
            be->softmax_rows(lens_tensor_device_ptr(o), lens_tensor_device_ptr(rows), outer, R, op == ROW_LOG_SOFTMAX);
        lens_tensor_free(rows);
        if (!o) { lens_fail_alloc(err); return NULL; }
        rows = o;
        outer = 0;   /* done: the loop below is the host's */
    }
    for (int64_t o = 0; o < outer; o++) {
        if (rows->dtype == LENS_I64) {
            int64_t *x = lens_tensor_i64(rows) + o * R;
            uint64_t acc = 0;
            for (int64_t j = 0; j < R; j++) { acc += (uint64_t)x[j]; x[j] = (int64_t)acc; }
            continue;
        }
        float *x = lens_tensor_f32(rows) + o * R;
        if (op == ROW_CUMSUM) {
            double acc = 0;
            for (int64_t j = 0; j < R; j++) { acc += x[j]; x[j] = (float)acc; }
            continue;
        }
        float m = -INFINITY;
        for (int64_t j = 0; j < R; j++) if (x[j] > m || isnan(x[j])) m = isnan(m) ? m : x[j];
        if (isinf(m) && m < 0) m = 0;   /* all -inf: exp gives 0s, the sum 0 -> NaN, like torch */
        double sum = 0;
        for (int64_t j = 0; j < R; j++) sum += exp((double)x[j] - m);
        if (op == ROW_SOFTMAX) {
            for (int64_t j = 0; j < R; j++) x[j] = (float)(exp((double)x[j] - m) / sum);
        } else {
            double lse = m + log(sum);
            for (int64_t j = 0; j < R; j++) x[j] = (float)((double)x[j] - lse);
        }
    }
    lens_tensor *out = lens_rows_back(rows, d);
    lens_tensor_free(rows);
    if (!out) lens_fail_alloc(err);
    return out;
}

lens_tensor *lens_cumsum(const lens_tensor *t, int dim, lens_error *err)
{
    lens_tensor *r = row_apply(ROW_CUMSUM, t, dim, "cumsum", err);
    lens_tape_no_rule("cumsum", t, r);
    return r;
}

lens_tensor *lens_softmax(const lens_tensor *t, int dim, lens_error *err)
{
    lens_tensor *r = row_apply(ROW_SOFTMAX, t, dim, "softmax", err);
    lens_tape_softmax(t, dim, false, r);
    return r;
}

lens_tensor *lens_log_softmax(const lens_tensor *t, int dim, lens_error *err)
{
    lens_tensor *r = row_apply(ROW_LOG_SOFTMAX, t, dim, "log_softmax", err);
    lens_tape_softmax(t, dim, true, r);
    return r;
}
