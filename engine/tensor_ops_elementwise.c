/* tensor_ops_elementwise.c — elementwise arithmetic with numpy broadcasting: binary
 * and unary ops, where, masked_fill (see lens/tensor_ops.h), with torch's type
 * promotion (bool < int64 < float32; bool operands of arithmetic compute as int64
 * and the ops that stay bool narrow back). On a device, float32
 * binary and unary ops run as the backend's binary_f32 / unary_f32; the others
 * run on the host, and binary/unary results go back to the inputs' device.
 * Float math runs in float32 like torch (double only where rounding agrees);
 * int64 math wraps on overflow instead of invoking undefined behaviour. */
#include "lens/tensor_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "f32_math.h"
#include "tensor_device.h"
#include "tape_record.h"
#include "tensor_iter.h"

static const char *binop_name(lens_binop op)
{
    static const char *names[] = {"+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=",
                                  ">", ">=", "maximum", "minimum", "&", "|", "^"};
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "?";
}

int lens_broadcast_shape(int na, const int64_t *sa, int nb, const int64_t *sb, int64_t *out,
                         lens_error *err)
{
    int n = na > nb ? na : nb;
    for (int d = 0; d < n; d++) {
        int ia = d - (n - na), ib = d - (n - nb);
        int64_t x = ia >= 0 ? sa[ia] : 1, y = ib >= 0 ? sb[ib] : 1;
        if (x != y && x != 1 && y != 1) {
            char a[128], b[128];
            lens_fail(err, "shapes %s and %s cannot be broadcast together (dim %d: %lld vs %lld)",
                      lens_shape_str(na, sa, a, sizeof a), lens_shape_str(nb, sb, b, sizeof b),
                      d - n, (long long)x, (long long)y);
            return -1;
        }
        out[d] = x == 1 ? y : x;
    }
    return n;
}

static bool is_comparison(lens_binop op) { return op >= LENS_OP_EQ && op <= LENS_OP_GE; }
static bool is_bitwise(lens_binop op) { return op == LENS_OP_AND || op == LENS_OP_OR || op == LENS_OP_XOR; }

/* torch's promotion between two dtypes: float32 over int64 over bool. */
static lens_dtype promote(lens_dtype a, lens_dtype b)
{
    if (a == LENS_F32 || b == LENS_F32) return LENS_F32;
    if (a == LENS_I64 || b == LENS_I64) return LENS_I64;
    return LENS_BOOL;
}

/* Called with bool operands already widened to int64 (bool_binary). */
static lens_dtype binop_dtype(lens_binop op, lens_dtype a, lens_dtype b)
{
    if (is_comparison(op)) return LENS_BOOL;
    if (op == LENS_OP_DIV) return LENS_F32;
    return promote(a, b);
}

static int64_t ipow(int64_t base, int64_t e)
{
    uint64_t r = 1, b = (uint64_t)base;
    while (e > 0) {
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

/* Integer op; *bad set on division by zero / negative power. */
static int64_t int_op(lens_binop op, int64_t x, int64_t y, int *bad)
{
    switch (op) {
    case LENS_OP_ADD: return (int64_t)((uint64_t)x + (uint64_t)y);
    case LENS_OP_SUB: return (int64_t)((uint64_t)x - (uint64_t)y);
    case LENS_OP_MUL: return (int64_t)((uint64_t)x * (uint64_t)y);
    case LENS_OP_FLOORDIV:
    case LENS_OP_MOD: {
        if (y == 0) { *bad = 1; return 0; }
        if (y == -1) return op == LENS_OP_MOD ? 0 : (int64_t)(0 - (uint64_t)x);
        int64_t q = x / y, r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) { q -= 1; r += y; }
        return op == LENS_OP_MOD ? r : q;
    }
    case LENS_OP_POW:
        if (y < 0) { *bad = 2; return 0; }
        return ipow(x, y);
    case LENS_OP_MAXIMUM: return x > y ? x : y;
    case LENS_OP_MINIMUM: return x < y ? x : y;
    case LENS_OP_AND: return x & y;
    case LENS_OP_OR: return x | y;
    case LENS_OP_XOR: return x ^ y;
    default: return 0;
    }
}

/* One row of a float32 op; the common ops get their own loops so the compiler can
 * vectorise the unit-stride case. */
static void f32_row(lens_binop op, const float *x, int64_t sx, const float *y, int64_t sy,
                    float *o, int64_t n)
{
#define ROW(expr)                                                             \
    if (sx == 1 && sy == 1) {                                                 \
        for (int64_t j = 0; j < n; j++) { float X = x[j], Y = y[j]; o[j] = (expr); } \
    } else {                                                                  \
        for (int64_t j = 0; j < n; j++) { float X = x[j * sx], Y = y[j * sy]; o[j] = (expr); } \
    }                                                                         \
    return
    switch (op) {
    case LENS_OP_ADD: ROW(X + Y);
    case LENS_OP_SUB: ROW(X - Y);
    case LENS_OP_MUL: ROW(X * Y);
    case LENS_OP_DIV: ROW(X / Y);
    default:
        for (int64_t j = 0; j < n; j++) o[j] = lens_f32_binop(op, x[j * sx], y[j * sy]);
    }
#undef ROW
}

static uint8_t compare_op(lens_binop op, double x, double y)
{
    switch (op) {
    case LENS_OP_EQ: return x == y;
    case LENS_OP_NE: return x != y;
    case LENS_OP_LT: return x < y;
    case LENS_OP_LE: return x <= y;
    case LENS_OP_GT: return x > y;
    case LENS_OP_GE: return x >= y;
    default: return 0;
    }
}

static uint8_t compare_i64(lens_binop op, int64_t u, int64_t v)
{
    return op == LENS_OP_EQ ? u == v : op == LENS_OP_NE ? u != v : op == LENS_OP_LT ? u < v :
           op == LENS_OP_LE ? u <= v : op == LENS_OP_GT ? u > v : u >= v;
}

/* torch's refusals for bool operands (NotImplementedError), or NULL when a op b is fine. */
static const char *bool_refusal(lens_binop op, bool both)
{
    if (op == LENS_OP_SUB)
        return both ? "Subtraction, the `-` operator, with two bool tensors is not supported. "
                      "Use the `^` or `logical_xor()` operator instead."
                    : "Subtraction, the `-` operator, with a bool tensor is not supported. "
                      "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.";
    if (!both) return NULL;
    if (op == LENS_OP_FLOORDIV) return "\"div_floor_cpu\" not implemented for 'Bool'";
    if (op == LENS_OP_MOD) return "\"remainder_cpu\" not implemented for 'Bool'";
    if (op == LENS_OP_POW) return "\"pow\" not implemented for 'Bool'";
    return NULL;
}

static lens_tensor *widen_bool(const lens_tensor *t)
{
    return t->dtype == LENS_BOOL ? lens_tensor_to_dtype(t, LENS_I64) : lens_tensor_ref(t);
}

/* a op b with a bool operand: computed over int64 copies of the bool operands; with
 * two bool operands, the ops torch keeps bool (+ as or, * as and, maximum, minimum,
 * & | ^) give their nonzero-ness as bool. */
static lens_tensor *bool_binary(lens_binop op, const lens_tensor *a, const lens_tensor *b, lens_error *err)
{
    bool both = a->dtype == LENS_BOOL && b->dtype == LENS_BOOL;
    const char *refusal = bool_refusal(op, both);
    if (refusal) { lens_fail_kind(err, LENS_ERR_DTYPE, "%s", refusal); return NULL; }
    lens_tensor *wa = widen_bool(a), *wb = wa ? widen_bool(b) : NULL;
    lens_tensor *r = wb ? lens_binary(op, wa, wb, err) : NULL;
    if (!wb) lens_fail_alloc(err);
    lens_tensor_free(wa);
    lens_tensor_free(wb);
    bool stays_bool = op == LENS_OP_ADD || op == LENS_OP_MUL || op == LENS_OP_MAXIMUM ||
                      op == LENS_OP_MINIMUM || is_bitwise(op);
    if (r && both && stays_bool) {
        lens_tensor *n = lens_tensor_to_dtype(r, LENS_BOOL);
        lens_tensor_free(r);
        if (!n) lens_fail_alloc(err);
        r = n;
    }
    return r;
}

/* An operand as float32 on be's device (a 0-d host number is uploaded). */
static lens_tensor *device_f32_operand(const lens_tensor *t, const lens_backend *be, lens_error *err)
{
    lens_tensor *f = t->dtype == LENS_F32 ? lens_tensor_ref(t) : lens_tensor_to_f32(t);
    if (!f) {
        lens_fail_alloc(err);
        return NULL;
    }
    return lens_result_to_device(f, be, err);
}

/* a op b when an input is on be's device: float32 results on the device through
 * binary_f32 (int64 operands of a float result converted first, as the host
 * loop converts each element); int64 and bool results (comparisons, int math)
 * on the host, moved back to the device. */
static lens_tensor *device_binary(lens_binop op, const lens_tensor *a, const lens_tensor *b, const lens_backend *be,
                                  int nd, const int64_t *shape, lens_dtype dt, lens_error *err)
{
    if (dt != LENS_F32) {
        lens_tensor *h[2];
        if (lens_inputs_on_host(2, (const lens_tensor *[]){a, b}, h, err) < 0) return NULL;
        lens_tensor *r = lens_binary(op, h[0], h[1], err);
        lens_tensors_free(2, h);
        return lens_result_to_device(r, be, err);
    }
    lens_tensor *da = device_f32_operand(a, be, err), *db = da ? device_f32_operand(b, be, err) : NULL;
    lens_tensor *out = db ? lens_tensor_new_on(be, LENS_F32, nd, shape) : NULL;
    if (db && !out) lens_fail_alloc(err);
    if (out && lens_tensor_numel(out)) {
        int64_t sa[LENS_MAX_DIMS], sb[LENS_MAX_DIMS];
        lens_broadcast_strides(da, nd, shape, sa);
        lens_broadcast_strides(db, nd, shape, sb);
        be->binary_f32(op, lens_tensor_device_ptr(out), lens_tensor_device_ptr(da), sa, lens_tensor_device_ptr(db), sb,
                       nd, shape);
    }
    lens_tensor_free(da);
    lens_tensor_free(db);
    return out;
}

lens_tensor *lens_binary(lens_binop op, const lens_tensor *a, const lens_tensor *b, lens_error *err)
{
    if ((unsigned)op > LENS_OP_XOR) { lens_fail(err, "unknown binary operation %d", (int)op); return NULL; }
    if (is_bitwise(op) && (a->dtype == LENS_F32 || b->dtype == LENS_F32)) {
        static const char *const kernel[] = {"bitwise_and_cpu", "bitwise_or_cpu", "bitwise_xor_cpu"};
        lens_fail_kind(err, LENS_ERR_DTYPE, "\"%s\" not implemented for 'Float'", kernel[op - LENS_OP_AND]);
        return NULL;
    }
    if (a->dtype == LENS_BOOL || b->dtype == LENS_BOOL) return bool_binary(op, a, b, err);
    int64_t shape[LENS_MAX_DIMS];
    int nd = lens_broadcast_shape(a->ndim, a->shape, b->ndim, b->shape, shape, err);
    if (nd < 0) {
        lens_fail_context(err, "'%s'", binop_name(op));
        return NULL;
    }
    lens_dtype dt = binop_dtype(op, a->dtype, b->dtype);
    const lens_backend *be;
    if (lens_common_device(2, (const lens_tensor *[]){a, b}, &be, err)) return NULL;
    if (be) {
        lens_tensor *d = device_binary(op, a, b, be, nd, shape, dt, err);
        lens_tape_binary(op, a, b, d);
        return d;
    }
    lens_tensor *out = lens_tensor_new(dt, nd, shape);
    if (!out) { lens_fail_alloc(err); return NULL; }
    int64_t n = lens_tensor_numel(out);
    if (n == 0) return out;

    bool is_cmp = is_comparison(op);
    bool int_math = !is_cmp && dt == LENS_I64;
    int64_t sa[LENS_MAX_DIMS], sb[LENS_MAX_DIMS];
    lens_broadcast_strides(a, nd, shape, sa);
    lens_broadcast_strides(b, nd, shape, sb);

    /* Iterate the outer dims, with a plain loop over the last one. */
    int64_t inner = nd ? shape[nd - 1] : 1;
    int64_t ia = nd ? sa[nd - 1] : 0, ib = nd ? sb[nd - 1] : 0;
    lens_iter it;
    lens_iter_init(&it, nd ? nd - 1 : 0, shape);
    int ka = lens_iter_add(&it, sa), kb = lens_iter_add(&it, sb);
    int64_t outer = n / inner;
    const float *fa = lens_tensor_f32(a), *fb = lens_tensor_f32(b);
    const int64_t *la = lens_tensor_i64(a), *lb = lens_tensor_i64(b);
    float *fo = lens_tensor_f32(out);
    int64_t *lo = lens_tensor_i64(out);
    uint8_t *bo = lens_tensor_bool(out);
    int bad = 0;
    int64_t o = 0;
    for (int64_t r = 0; r < outer; r++, lens_iter_next(&it)) {
        int64_t pa = it.off[ka], pb = it.off[kb];
        if (is_cmp) {
            for (int64_t j = 0; j < inner; j++, pa += ia, pb += ib) {
                if (a->dtype == LENS_I64 && b->dtype == LENS_I64) {
                    bo[o++] = compare_i64(op, la[pa], lb[pb]);
                } else {
                    double x = a->dtype == LENS_F32 ? fa[pa] : (double)la[pa];
                    double y = b->dtype == LENS_F32 ? fb[pb] : (double)lb[pb];
                    bo[o++] = compare_op(op, x, y);
                }
            }
        } else if (int_math) {
            for (int64_t j = 0; j < inner; j++, pa += ia, pb += ib) lo[o++] = int_op(op, la[pa], lb[pb], &bad);
        } else if (a->dtype == LENS_F32 && b->dtype == LENS_F32) {
            f32_row(op, fa + pa, ia, fb + pb, ib, fo + o, inner);
            o += inner;
        } else {
            for (int64_t j = 0; j < inner; j++, pa += ia, pb += ib) {
                float x = a->dtype == LENS_F32 ? fa[pa] : (float)la[pa];
                float y = b->dtype == LENS_F32 ? fb[pb] : (float)lb[pb];
                fo[o++] = lens_f32_binop(op, x, y);
            }
        }
    }
    if (bad) {
        lens_tensor_free(out);
        if (bad == 1) lens_fail(err, "integer division by zero in '%s' (use / for float division)", binop_name(op));
        else lens_fail(err, "integers cannot be raised to negative integer powers (use a float base)");
        return NULL;
    }
    lens_tape_binary(op, a, b, out);
    return out;
}

lens_tensor *lens_scalar_f32(double v)
{
    lens_tensor *t = lens_tensor_new(LENS_F32, 0, NULL);
    if (t) lens_tensor_f32(t)[0] = (float)v;
    return t;
}

lens_tensor *lens_scalar_i64(int64_t v)
{
    lens_tensor *t = lens_tensor_new(LENS_I64, 0, NULL);
    if (t) lens_tensor_i64(t)[0] = v;
    return t;
}

lens_tensor *lens_binary_scalar(lens_binop op, const lens_tensor *t, double v, bool v_is_int,
                                bool scalar_left, lens_error *err)
{
    lens_tensor *s = v_is_int ? lens_scalar_i64((int64_t)v) : lens_scalar_f32(v);
    if (!s) { lens_fail_alloc(err); return NULL; }
    lens_tensor *r = scalar_left ? lens_binary(op, s, t, err) : lens_binary(op, t, s, err);
    lens_tensor_free(s);
    return r;
}

/* torch's refusals of unary ops on bool (NotImplementedError), or NULL. */
static const char *bool_unary_refusal(lens_unop op)
{
    switch (op) {
    case LENS_OP_NEG: return "Negation, the `-` operator, on a bool tensor is not supported. "
                             "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.";
    case LENS_OP_ABS: return "\"abs_cpu\" not implemented for 'Bool'";
    case LENS_OP_RELU: return "Boolean inputs not supported for relu";
    case LENS_OP_FLOOR: return "\"floor_vml_cpu\" not implemented for 'Bool'";
    case LENS_OP_CEIL: return "\"ceil_vml_cpu\" not implemented for 'Bool'";
    case LENS_OP_ROUND: return "\"round_vml_cpu\" not implemented for 'Bool'";
    default: return NULL;
    }
}

/* ~t and sign(t) of a bool tensor, which stay bool (torch). */
static lens_tensor *bool_unary(lens_unop op, const lens_tensor *t, lens_error *err)
{
    lens_tensor *out = lens_tensor_new(LENS_BOOL, t->ndim, t->shape);
    if (!out) { lens_fail_alloc(err); return NULL; }
    int64_t n = lens_tensor_numel(t);
    lens_iter it;
    lens_iter_init(&it, t->ndim, t->shape);
    int k = lens_iter_add(&it, t->strides);
    const uint8_t *x = lens_tensor_bool(t);
    uint8_t *o = lens_tensor_bool(out);
    for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) o[i] = op == LENS_OP_NOT ? !x[it.off[k]] : x[it.off[k]];
    return out;
}

lens_tensor *lens_unary(lens_unop op, const lens_tensor *t, lens_error *err)
{
    if ((unsigned)op > LENS_OP_NOT) { lens_fail(err, "unknown unary operation %d", (int)op); return NULL; }
    if (op == LENS_OP_NOT && t->dtype == LENS_F32) {
        lens_fail_kind(err, LENS_ERR_TYPE, "~ (operator.invert) is only implemented on integer and Boolean-type tensors");
        return NULL;
    }
    if (t->dtype == LENS_BOOL && bool_unary_refusal(op)) {
        lens_fail_kind(err, LENS_ERR_DTYPE, "%s", bool_unary_refusal(op));
        return NULL;
    }
    bool keeps = op == LENS_OP_NEG || op == LENS_OP_ABS || op == LENS_OP_RELU || op == LENS_OP_FLOOR ||
                 op == LENS_OP_CEIL || op == LENS_OP_ROUND || op == LENS_OP_SIGN || op == LENS_OP_NOT;
    lens_dtype dt = keeps ? t->dtype : LENS_F32;
    if (!lens_tensor_on_host(t)) {
        const lens_backend *be = lens_tensor_backend(t);
        if (dt != LENS_F32) {
            lens_tensor *h = lens_tensor_host(t, err);
            lens_tensor *r = h ? lens_unary(op, h, err) : NULL;
            lens_tensor_free(h);
            return lens_result_to_device(r, be, err);
        }
        lens_tensor *x = t->dtype == LENS_F32 ? lens_tensor_contiguous(t) : lens_tensor_to_f32(t);
        lens_tensor *o = x ? lens_tensor_new_on(be, LENS_F32, t->ndim, t->shape) : NULL;
        if (!o) lens_fail_alloc(err);
        else be->unary_f32(op, lens_tensor_device_ptr(o), lens_tensor_device_ptr(x), lens_tensor_numel(t));
        lens_tensor_free(x);
        return o;
    }
    if (dt == LENS_BOOL) return bool_unary(op, t, err);
    lens_tensor *out = lens_tensor_new(dt, t->ndim, t->shape);
    if (!out) { lens_fail_alloc(err); return NULL; }
    int64_t n = lens_tensor_numel(t);
    lens_iter it;
    lens_iter_init(&it, t->ndim, t->shape);
    int k = lens_iter_add(&it, t->strides);
    if (dt == LENS_I64) {
        int64_t *o = lens_tensor_i64(out);
        for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) {
            int64_t x = lens_tensor_i64(t)[it.off[k]];
            switch (op) {
            case LENS_OP_NOT: o[i] = ~x; break;
            case LENS_OP_NEG: o[i] = (int64_t)(0 - (uint64_t)x); break;
            case LENS_OP_ABS: o[i] = x < 0 ? (int64_t)(0 - (uint64_t)x) : x; break;
            case LENS_OP_RELU: o[i] = x > 0 ? x : 0; break;
            case LENS_OP_SIGN: o[i] = (x > 0) - (x < 0); break;
            default: o[i] = x; break;  /* floor/ceil/round of an integer */
            }
        }
        return out;
    }
    float *o = lens_tensor_f32(out);
    for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) {
        float x = (float)lens_load(t, it.off[k]);
        o[i] = lens_f32_unop(op, x);
    }
    lens_tape_unary(op, t, out);
    return out;
}

lens_tensor *lens_where(const lens_tensor *cond, const lens_tensor *a, const lens_tensor *b,
                        lens_error *err)
{
    if (cond->dtype != LENS_BOOL) {
        lens_fail(err, "where expected condition to be a boolean tensor, but got a tensor with dtype %s",
                  cond->dtype == LENS_I64 ? "Long" : "Float");
        return NULL;
    }
    LENS_RUN_ON_HOST_TO_DEVICE(lens_where(h[0], h[1], h[2], err), cond, a, b);
    int64_t s1[LENS_MAX_DIMS], shape[LENS_MAX_DIMS];
    int n1 = lens_broadcast_shape(cond->ndim, cond->shape, a->ndim, a->shape, s1, err);
    if (n1 < 0) { lens_fail_context(err, "where"); return NULL; }
    int nd = lens_broadcast_shape(n1, s1, b->ndim, b->shape, shape, err);
    if (nd < 0) { lens_fail_context(err, "where"); return NULL; }
    lens_tensor *out = lens_tensor_new(promote(a->dtype, b->dtype), nd, shape);
    if (!out) { lens_fail_alloc(err); return NULL; }
    int64_t sc[LENS_MAX_DIMS], sa[LENS_MAX_DIMS], sb[LENS_MAX_DIMS];
    lens_broadcast_strides(cond, nd, shape, sc);
    lens_broadcast_strides(a, nd, shape, sa);
    lens_broadcast_strides(b, nd, shape, sb);
    lens_iter it;
    lens_iter_init(&it, nd, shape);
    int kc = lens_iter_add(&it, sc), ka = lens_iter_add(&it, sa), kb = lens_iter_add(&it, sb);
    int64_t n = lens_tensor_numel(out);
    const uint8_t *c = lens_tensor_bool(cond);
    void *po = lens_tensor_data(out);
    const void *pa = lens_tensor_data(a), *pb = lens_tensor_data(b);
    for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) {
        if (c[it.off[kc]]) lens_convert_elem(out->dtype, po, i, a->dtype, pa, it.off[ka]);
        else lens_convert_elem(out->dtype, po, i, b->dtype, pb, it.off[kb]);
    }
    lens_tape_where(cond, a, b, out);
    return out;
}

lens_tensor *lens_masked_fill(const lens_tensor *t, const lens_tensor *mask, double value,
                              lens_error *err)
{
    if (mask->dtype != LENS_BOOL) {
        lens_fail(err, "masked_fill_ only supports boolean masks, but got mask with dtype %s",
                  mask->dtype == LENS_I64 ? "long int" : "float");
        return NULL;
    }
    LENS_RUN_ON_HOST_TO_DEVICE(lens_masked_fill(h[0], h[1], value, err), t, mask);
    int64_t shape[LENS_MAX_DIMS];
    int nd = lens_broadcast_shape(t->ndim, t->shape, mask->ndim, mask->shape, shape, err);
    if (nd < 0) { lens_fail_context(err, "masked_fill"); return NULL; }
    for (int d = 0; d < nd; d++) {
        if (nd != t->ndim || shape[d] != t->shape[d]) {
            char a[128], b[128];
            lens_fail(err, "masked_fill: a mask of shape %s does not broadcast to the tensor's shape %s",
                      lens_shape_str(mask->ndim, mask->shape, a, sizeof a),
                      lens_shape_str(t->ndim, t->shape, b, sizeof b));
            return NULL;
        }
    }
    lens_tensor *out = lens_tensor_clone(t);
    if (!out) { lens_fail_alloc(err); return NULL; }
    int64_t sm[LENS_MAX_DIMS];
    lens_broadcast_strides(mask, nd, shape, sm);
    lens_iter it;
    lens_iter_init(&it, nd, shape);
    int km = lens_iter_add(&it, sm);
    int64_t n = lens_tensor_numel(out);
    for (int64_t i = 0; i < n; i++, lens_iter_next(&it)) {
        if (lens_tensor_bool(mask)[it.off[km]]) lens_store(out, i, value);
    }
    lens_tape_masked_fill(t, mask, out);
    return out;
}

