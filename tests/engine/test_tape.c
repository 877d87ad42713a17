/* test_tape.c — the reverse-mode tape (lens/tape.h): for each operation with a
 * backward rule, the tape's gradient of a scalar built from it against central
 * finite differences of the same scalar (float64 sums of float32 values); the
 * gradient arrives only in the rows a function reads; every failure has its
 * message (an operation without a gradient, a result of several elements, a
 * result that does not depend on the input, an in-place write). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "lens/tape.h"
#include "lens/tensor_ops.h"

/* Tensors made while evaluating a function, freed together. */
typedef struct pool { lens_tensor *t[64]; int n; lens_error err; } pool;

static lens_tensor *keep(pool *p, lens_tensor *t)
{
    if (t && p->n < 64) p->t[p->n++] = t;
    return t;
}

static void drain(pool *p)
{
    for (int i = 0; i < p->n; i++) lens_tensor_free(p->t[i]);
    p->n = 0;
}

typedef lens_tensor *(*fn)(pool *p, const lens_tensor *x);

#define K(e) keep(p, (e))
#define E (&p->err)

static lens_tensor *constant(pool *p, int nd, const int64_t *shape, uint64_t seed) { return K(lens_randn(nd, shape, seed)); }

/* the metric shape TransformerLens users write: log-prob of the answers at the last position */
static lens_tensor *f_log_softmax_gather(pool *p, const lens_tensor *x)
{
    lens_tensor *last = K(lens_tensor_select(x, 1, 2));              /* [2, 7] */
    lens_tensor *lp = K(lens_log_softmax(last, -1, E));
    lens_tensor *idx = K(lens_tensor_from_i64(2, (int64_t[]){2, 1}, (int64_t[]){3, 5}));
    return K(lens_reduce_all(LENS_RED_MEAN, K(lens_gather(lp, 1, idx, E)), E));
}

static lens_tensor *f_softmax(pool *p, const lens_tensor *x)
{
    lens_tensor *w = constant(p, 3, (int64_t[]){2, 3, 7}, 1);
    return K(lens_reduce_all(LENS_RED_SUM, K(lens_binary(LENS_OP_MUL, K(lens_softmax(x, 1, E)), w, E)), E));
}

/* + - * / ** with broadcasting against constants of shapes [7] and [2, 1, 1] */
static lens_tensor *f_arith(pool *p, const lens_tensor *x)
{
    lens_tensor *c = constant(p, 1, (int64_t[]){7}, 2), *d = constant(p, 3, (int64_t[]){2, 1, 1}, 3);
    lens_tensor *sq = K(lens_binary_scalar(LENS_OP_POW, x, 2, true, false, E));
    lens_tensor *den = K(lens_binary_scalar(LENS_OP_ADD, sq, 1, false, false, E));
    lens_tensor *num = K(lens_binary(LENS_OP_SUB, K(lens_binary(LENS_OP_MUL, x, c, E)), d, E));
    lens_tensor *q = K(lens_binary(LENS_OP_DIV, num, den, E));
    lens_tensor *r = K(lens_binary(LENS_OP_DIV, d, den, E));             /* x in the divisor only */
    lens_tensor *e = K(lens_binary(LENS_OP_POW, K(lens_binary_scalar(LENS_OP_ADD, sq, 2, false, false, E)),
                                   K(lens_binary_scalar(LENS_OP_MUL, x, 0.3, false, false, E)), E));  /* x in both */
    lens_tensor *s = K(lens_binary(LENS_OP_ADD, K(lens_binary(LENS_OP_ADD, q, r, E)), e, E));
    return K(lens_reduce_all(LENS_RED_SUM, K(lens_unary(LENS_OP_NEG, s, E)), E));
}

static lens_tensor *f_unary(pool *p, const lens_tensor *x)
{
    static const lens_unop ops[] = {LENS_OP_EXP, LENS_OP_TANH, LENS_OP_SIGMOID, LENS_OP_SIN, LENS_OP_COS,
                                    LENS_OP_ABS, LENS_OP_RELU};
    lens_tensor *pos = K(lens_binary_scalar(LENS_OP_ADD, K(lens_binary(LENS_OP_MUL, x, x, E)), 0.5, false, false, E));
    lens_tensor *acc = K(lens_binary(LENS_OP_ADD, K(lens_unary(LENS_OP_LOG, pos, E)), K(lens_unary(LENS_OP_SQRT, pos, E)), E));
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) acc = K(lens_binary(LENS_OP_ADD, acc, K(lens_unary(ops[i], x, E)), E));
    return K(lens_reduce_all(LENS_RED_SUM, acc, E));
}

static lens_tensor *f_where(pool *p, const lens_tensor *x)
{
    lens_tensor *mask = K(lens_binary_scalar(LENS_OP_GT, constant(p, 2, (int64_t[]){3, 7}, 4), 0, false, false, E));
    lens_tensor *w = K(lens_where(mask, x, K(lens_binary(LENS_OP_MUL, x, x, E)), E));
    lens_tensor *f = K(lens_masked_fill(w, mask, 2.0, E));
    lens_tensor *g = K(lens_binary(LENS_OP_MUL, f, constant(p, 3, (int64_t[]){2, 3, 7}, 5), E));
    return K(lens_reduce_all(LENS_RED_SUM, K(lens_binary(LENS_OP_ADD, g, K(lens_binary(LENS_OP_MUL, w, w, E)), E)), E));
}

static lens_tensor *f_reduce(pool *p, const lens_tensor *x)
{
    lens_tensor *s = K(lens_reduce(LENS_RED_SUM, x, 1, true, E));                          /* [2, 1, 7] */
    lens_tensor *m = K(lens_reduce_dims(LENS_RED_MEAN, x, 2, (int[]){0, 2}, false, E));    /* [3] */
    lens_tensor *a = K(lens_binary(LENS_OP_MUL, s, s, E)), *b = K(lens_binary(LENS_OP_MUL, m, m, E));
    return K(lens_binary(LENS_OP_ADD, K(lens_reduce_all(LENS_RED_SUM, a, E)), K(lens_reduce_all(LENS_RED_MEAN, b, E)), E));
}

static lens_tensor *f_index(pool *p, const lens_tensor *x)
{
    lens_tensor *idx = K(lens_tensor_from_i64(2, (int64_t[]){2, 2}, (int64_t[]){0, 6, -1, 0}));
    lens_tensor *sel = K(lens_index_select(x, 2, idx, E));                                 /* [2, 3, 2, 2] */
    lens_tensor *gi = K(lens_tensor_from_i64(3, (int64_t[]){1, 2, 2}, (int64_t[]){1, 2, 0, 0}));
    lens_tensor *ga = K(lens_gather(x, 1, gi, E));                                         /* [1, 2, 2] */
    lens_tensor *w = constant(p, 4, (int64_t[]){2, 3, 2, 2}, 6);
    return K(lens_binary(LENS_OP_ADD, K(lens_reduce_all(LENS_RED_SUM, K(lens_binary(LENS_OP_MUL, sel, w, E)), E)),
                         K(lens_reduce_all(LENS_RED_SUM, K(lens_binary(LENS_OP_MUL, ga, ga, E)), E)), E));
}

static lens_tensor *f_matmul(pool *p, const lens_tensor *x)
{
    lens_tensor *w = constant(p, 2, (int64_t[]){7, 4}, 7), *v = constant(p, 1, (int64_t[]){3}, 8);
    lens_tensor *h = K(lens_matmul(x, w, E));                                              /* [2, 3, 4] batched */
    lens_tensor *xt = K(lens_tensor_transpose(x, 1, 2, E));                                /* [2, 7, 3] */
    lens_tensor *hv = K(lens_matmul(xt, v, E));                                            /* [2, 7] 1-d right */
    lens_tensor *gram = K(lens_matmul(x, xt, E));                                          /* x on both sides */
    lens_tensor *dot = K(lens_matmul(K(lens_tensor_select(hv, 0, 0)), K(lens_tensor_select(hv, 0, 1)), E));   /* 1-d x 1-d */
    lens_tensor *e = K(lens_einsum("bpd,bqd->bpq", 2, (const lens_tensor *[]){x, x}, E));
    lens_tensor *t = K(lens_binary(LENS_OP_ADD, K(lens_reduce_all(LENS_RED_SUM, K(lens_unary(LENS_OP_TANH, h, E)), E)), dot, E));
    t = K(lens_binary(LENS_OP_ADD, t, K(lens_reduce_all(LENS_RED_MEAN, K(lens_binary(LENS_OP_MUL, gram, e, E)), E)), E));
    return t;
}

static lens_tensor *f_shape(pool *p, const lens_tensor *x)
{
    lens_tensor *a = K(lens_tensor_narrow(x, 2, 1, 3)), *b = K(lens_tensor_select(x, 1, 0));
    lens_tensor *c = K(lens_cat(2, (const lens_tensor *[]){a, K(lens_tensor_narrow(x, 2, 0, 2))}, 2, E));   /* [2, 3, 5] */
    lens_tensor *s = K(lens_stack(2, (const lens_tensor *[]){b, K(lens_tensor_select(x, 1, 2))}, 0, E));     /* [2, 2, 7] */
    int perm[] = {2, 0, 1};
    lens_tensor *r = K(lens_tensor_reshape(K(lens_tensor_permute(x, perm, E)), 2, (int64_t[]){14, 3}, E));   /* a copy */
    lens_tensor *tri = K(lens_tril(K(lens_tensor_narrow(r, 0, 0, 3)), 0, E));
    lens_tensor *mask = K(lens_binary_scalar(LENS_OP_GT, constant(p, 2, (int64_t[]){2, 7}, 9), 0, false, false, E));
    lens_tensor *ms = K(lens_masked_select(b, mask, E));
    lens_tensor *w5 = constant(p, 3, (int64_t[]){2, 3, 5}, 10), *w7 = constant(p, 3, (int64_t[]){2, 2, 7}, 11);
    lens_tensor *t = K(lens_reduce_all(LENS_RED_SUM, K(lens_binary(LENS_OP_MUL, c, w5, E)), E));
    t = K(lens_binary(LENS_OP_ADD, t, K(lens_reduce_all(LENS_RED_SUM, K(lens_binary(LENS_OP_MUL, s, w7, E)), E)), E));
    t = K(lens_binary(LENS_OP_ADD, t, K(lens_reduce_all(LENS_RED_SUM, K(lens_binary(LENS_OP_MUL, tri, tri, E)), E)), E));
    lens_tensor *ex = K(lens_tensor_expand(K(lens_tensor_unsqueeze(ms, 0, E)), 2, (int64_t[]){3, ms->shape[0]}, E));
    return K(lens_binary(LENS_OP_ADD, t, K(lens_reduce_all(LENS_RED_SUM, K(lens_unary(LENS_OP_SIN, ex, E)), E)), E));
}

/* f(x) as a double, without a tape */
static double value_of(fn f, const lens_tensor *x)
{
    pool p = {0};
    lens_tensor *r = f(&p, x);
    double v = NAN;
    if (r) lens_tensor_item(r, &v, &p.err);
    drain(&p);
    return v;
}

/* The tape's gradient of f at x [2, 3, 7] against central differences. */
static void check_against_differences(const char *name, fn f, uint64_t seed)
{
    lens_tensor *x = lens_randn(3, (int64_t[]){2, 3, 7}, seed);
    lens_tape *tape = lens_tape_new();
    pool p = {0};
    CHECK(!lens_tape_watch(tape, x, &p.err), "%s", p.err.msg);
    lens_tape *prev = lens_tape_activate(tape);
    lens_tensor *r = f(&p, x);
    lens_tape_activate(prev);
    CHECK(r, "%s: %s", name, p.err.msg);
    int rc = r ? lens_tape_backward(tape, r, &p.err) : -1;
    CHECK(!rc, "%s: %s", name, p.err.msg);
    int64_t n = 0, *rows = NULL;
    lens_tensor *g = NULL;
    if (!rc) CHECK(!lens_tape_rows(tape, x, &n, &rows, &g, &p.err), "%s", p.err.msg);
    drain(&p);
    float *xs = lens_tensor_f32(x);
    double worst = 0, scale = 1e-3;
    for (int64_t i = 0; g && i < 42; i++) {
        float keepv = xs[i];
        double h = 1e-2;
        xs[i] = keepv + (float)h;
        double up = value_of(f, x);
        xs[i] = keepv - (float)h;
        double down = value_of(f, x);
        xs[i] = keepv;
        double fd = (up - down) / (2 * h), tg = 0;
        for (int64_t k = 0; k < n; k++)
            if (rows[k] == i / 7) tg = lens_tensor_f32(g)[k * 7 + i % 7];
        worst = fmax(worst, fabs(fd - tg));
        scale = fmax(scale, fabs(fd));
    }
    CHECK(g && worst / scale < 2e-3, "%s: the tape's gradient differs from finite differences by %g (scale %g)", name,
          worst, scale);
    free(rows);
    lens_tensor_free(g);
    lens_tape_free(tape);
    lens_tensor_free(x);
}

static void test_rules_against_finite_differences(void)
{
    static const struct { const char *name; fn f; } cases[] = {
        {"log_softmax + gather", f_log_softmax_gather}, {"softmax", f_softmax}, {"arithmetic", f_arith},
        {"unary", f_unary}, {"where / masked_fill", f_where}, {"sum / mean", f_reduce},
        {"index_select / gather", f_index}, {"matmul / einsum", f_matmul}, {"views, cat, stack, copies", f_shape},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_against_differences(cases[i].name, cases[i].f, 100 + i);
}

/* Reading one row gives that row's gradient only; the watched tensor's rows are its last dim. */
static void test_only_the_rows_read(void)
{
    lens_tensor *x = lens_randn(3, (int64_t[]){2, 3, 7}, 1);
    lens_tape *tape = lens_tape_new();
    pool P = {0}, *p = &P;
    lens_tape_watch(tape, x, &p->err);
    lens_tape *prev = lens_tape_activate(tape);
    lens_tensor *row = K(lens_tensor_select(K(lens_tensor_select(x, 0, 1)), 0, 2));         /* x[1, 2]: row 5 */
    lens_tensor *r = K(lens_reduce_all(LENS_RED_SUM, K(lens_binary_scalar(LENS_OP_MUL, row, 3, true, false, E)), E));
    lens_tape_activate(prev);
    CHECK(lens_tape_tracks(tape, row) && lens_tape_tracks(tape, r), "views and results are tracked");
    int64_t n, *rows;
    lens_tensor *g;
    CHECK(!lens_tape_backward(tape, r, &p->err) && !lens_tape_rows(tape, x, &n, &rows, &g, &p->err), "%s", p->err.msg);
    CHECK(n == 1 && rows[0] == 5 && g->shape[1] == 7, "n %lld", (long long)n);
    bool threes = true;
    for (int j = 0; j < 7; j++) threes &= lens_tensor_f32(g)[j] == 3.0f;
    CHECK(threes, "d sum(3 x[1, 2]) / d x[1, 2] = 3");
    free(rows);
    lens_tensor_free(g);
    drain(p);
    lens_tape_free(tape);
    lens_tensor_free(x);
}

static const char *backward_error(lens_tensor *(*build)(pool *p, const lens_tensor *x))
{
    static char msg[1024];
    lens_tensor *x = lens_randn(2, (int64_t[]){3, 4}, 2);
    lens_tape *tape = lens_tape_new();
    pool P = {0}, *p = &P;
    lens_tape_watch(tape, x, &p->err);
    lens_tape *prev = lens_tape_activate(tape);
    lens_tensor *r = build(p, x);
    lens_tape_activate(prev);
    int rc = lens_tape_backward(tape, r, &p->err);
    snprintf(msg, sizeof msg, "%s", rc ? p->err.msg : "(no error)");
    drain(p);
    lens_tape_free(tape);
    lens_tensor_free(x);
    return msg;
}

static lens_tensor *e_max(pool *p, const lens_tensor *x) { return K(lens_reduce_all(LENS_RED_MAX, x, E)); }
static lens_tensor *e_rows(pool *p, const lens_tensor *x) { return K(lens_reduce(LENS_RED_SUM, x, 1, false, E)); }
static lens_tensor *e_const(pool *p, const lens_tensor *x) { (void)x; return K(lens_scalar_f32(2)); }
static lens_tensor *e_write(pool *p, const lens_tensor *x)
{
    lens_tensor *y = K(lens_binary_scalar(LENS_OP_MUL, x, 2, true, false, E));
    lens_tensor *row = K(lens_tensor_select(y, 0, 0));
    lens_tensor_assign(row, K(lens_scalar_f32(0)), E);
    return K(lens_reduce_all(LENS_RED_SUM, y, E));
}
/* a result through max, but only through an unused branch: no error */
static lens_tensor *e_unused(pool *p, const lens_tensor *x)
{
    K(lens_reduce_all(LENS_RED_MAX, x, E));
    return K(lens_reduce_all(LENS_RED_SUM, x, E));
}

static void test_errors(void)
{
    CHECK(strstr(backward_error(e_max), "attribution through a user metric: max has no gradient; supported: indexing"),
          "%s", backward_error(e_max));
    CHECK(strstr(backward_error(e_rows), "the metric must return one number (a one-element float tensor), not a float32 "
                                         "tensor of shape [3]"), "%s", backward_error(e_rows));
    CHECK(strstr(backward_error(e_const), "does not depend on the logits"), "%s", backward_error(e_const));
    CHECK(strstr(backward_error(e_write), "in-place assignment"), "%s", backward_error(e_write));
    CHECK(!strcmp(backward_error(e_unused), "(no error)"), "%s", backward_error(e_unused));
}

/* Without an active tape nothing is recorded. */
static void test_inactive(void)
{
    lens_tensor *x = lens_randn(1, (int64_t[]){4}, 3);
    lens_tape *tape = lens_tape_new();
    lens_error err;
    lens_tape_watch(tape, x, &err);
    lens_tensor *y = lens_unary(LENS_OP_EXP, x, &err);
    CHECK(!lens_tape_tracks(tape, y), "recorded without being active");
    lens_tensor_free(y);
    lens_tape_free(tape);
    lens_tensor_free(x);
}

int main(void)
{
    RUN(test_rules_against_finite_differences);
    RUN(test_only_the_rows_read);
    RUN(test_errors);
    RUN(test_inactive);
    return harness_summary();
}
