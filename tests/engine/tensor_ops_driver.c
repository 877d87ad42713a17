/* tensor_ops_driver.c — runs tensor ops on cases read from stdin and prints the results,
 * so tests/python/test_tensor_ops_numpy.py can compare them with numpy.
 *
 * A case is three or more lines:
 *     OP ARGS...              e.g. "reduce sum 1 0", "einsum b d, b d -> b", "matmul"
 *     N                       number of input tensors
 *     TENSOR (N lines)        "f|i|b NDIM SHAPE... [p PERM...] [s DIM START STOP STEP]... v VALUES..."
 * p permutes and s slices (python semantics, "n" for an absent bound) the freshly
 * built contiguous tensor, so ops see strided views. For each case one line
 * "ok K" then K result tensors ("f|i|b NDIM SHAPE... v VALUES...", bools as 0/1), or
 * "err MESSAGE".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/tensor.h"
#include "lens/tensor_ops.h"

#define MAXT 8

static char *next_tok(char **p)
{
    return strtok_r(NULL, " \t\n", p);
}

static int64_t parse_bound(const char *s, int64_t absent)
{
    return (!s || !strcmp(s, "n")) ? absent : strtoll(s, NULL, 10);
}

static lens_tensor *parse_tensor(char *line, lens_error *err)
{
    char *save;
    char *tok = strtok_r(line, " \t\n", &save);
    if (!tok) { lens_fail(err, "driver: empty tensor line"); return NULL; }
    lens_dtype dt = tok[0] == 'i' ? LENS_I64 : tok[0] == 'b' ? LENS_BOOL : LENS_F32;
    int nd = atoi(next_tok(&save));
    int64_t shape[LENS_MAX_DIMS];
    for (int d = 0; d < nd; d++) shape[d] = strtoll(next_tok(&save), NULL, 10);
    lens_tensor *t = lens_tensor_new(dt, nd, shape);
    int perm[LENS_MAX_DIMS];
    bool has_perm = false;
    struct { int dim; int64_t a, b, c; } sl[LENS_MAX_DIMS];
    int nsl = 0;
    while ((tok = next_tok(&save))) {
        if (!strcmp(tok, "p")) {
            has_perm = true;
            for (int d = 0; d < nd; d++) perm[d] = atoi(next_tok(&save));
        } else if (!strcmp(tok, "s")) {
            sl[nsl].dim = atoi(next_tok(&save));
            sl[nsl].a = parse_bound(next_tok(&save), INT64_MIN);
            sl[nsl].b = parse_bound(next_tok(&save), INT64_MAX);
            sl[nsl].c = parse_bound(next_tok(&save), 1);
            nsl++;
        } else if (!strcmp(tok, "v")) {
            int64_t n = lens_tensor_numel(t);
            for (int64_t i = 0; i < n; i++) {
                char *v = next_tok(&save);
                if (dt == LENS_F32) lens_tensor_f32(t)[i] = strtof(v, NULL);
                else if (dt == LENS_BOOL) lens_tensor_bool(t)[i] = strtoll(v, NULL, 10) != 0;
                else lens_tensor_i64(t)[i] = strtoll(v, NULL, 10);
            }
        }
    }
    if (has_perm) {
        lens_tensor *p = lens_tensor_permute(t, perm, err);
        lens_tensor_free(t);
        t = p;
    }
    for (int k = 0; t && k < nsl; k++) {
        lens_tensor *s = lens_tensor_slice(t, sl[k].dim, sl[k].a, sl[k].b, sl[k].c, err);
        lens_tensor_free(t);
        t = s;
    }
    return t;
}

static void print_tensor(const lens_tensor *t)
{
    printf("%c %d", t->dtype == LENS_F32 ? 'f' : t->dtype == LENS_BOOL ? 'b' : 'i', t->ndim);
    for (int d = 0; d < t->ndim; d++) printf(" %lld", (long long)t->shape[d]);
    printf(" v");
    int64_t n = lens_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v = lens_tensor_flat_f64(t, i);
        if (t->dtype == LENS_F32) printf(" %.9g", v);
        else printf(" %lld", (long long)v);
    }
    printf("\n");
}

static int lookup(const char *name, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

static const char *const BINOPS[] = {"add", "sub", "mul", "div", "floordiv", "mod", "pow", "eq", "ne",
                                     "lt", "le", "gt", "ge", "maximum", "minimum", "and", "or", "xor"};
static const char *const UNOPS[] = {"neg", "abs", "exp", "log", "sqrt", "tanh", "sin", "cos",
                                    "sigmoid", "relu", "floor", "ceil", "round", "sign", "not"};
static const char *const REDOPS[] = {"sum", "mean", "max", "min", "argmax", "argmin", "prod",
                                     "var", "std", "any", "all"};

/* Runs one op; fills out[] and returns how many results, or -1. */
static int run_op(char *opline, int n, lens_tensor **in, lens_tensor **out, lens_error *err)
{
    char *save;
    char *op = strtok_r(opline, " \t\n", &save);
    char *rest = save;   /* the unparsed remainder, for einsum */
    if (!op) return lens_fail(err, "driver: empty op line");
    if (!strcmp(op, "binary")) {
        int k = lookup(next_tok(&save), BINOPS, (int)(sizeof BINOPS / sizeof *BINOPS));
        return (out[0] = lens_binary((lens_binop)k, in[0], in[1], err)) ? 1 : -1;
    }
    if (!strcmp(op, "unary")) {
        int k = lookup(next_tok(&save), UNOPS, (int)(sizeof UNOPS / sizeof *UNOPS));
        return (out[0] = lens_unary((lens_unop)k, in[0], err)) ? 1 : -1;
    }
    if (!strcmp(op, "reduce")) {
        int k = lookup(next_tok(&save), REDOPS, (int)(sizeof REDOPS / sizeof *REDOPS));
        char *dims = next_tok(&save);
        bool keep = atoi(next_tok(&save)) != 0;
        if (!strcmp(dims, "all")) return (out[0] = lens_reduce_all((lens_reduce_op)k, in[0], err)) ? 1 : -1;
        int d[LENS_MAX_DIMS], nd = 0;
        for (char *s2, *p = strtok_r(dims, ",", &s2); p; p = strtok_r(NULL, ",", &s2)) d[nd++] = atoi(p);
        return (out[0] = lens_reduce_dims((lens_reduce_op)k, in[0], nd, d, keep, err)) ? 1 : -1;
    }
    if (!strcmp(op, "view")) return (out[0] = lens_tensor_clone(in[0])) ? 1 : -1;
    if (!strcmp(op, "diagonal")) {
        int64_t off = strtoll(next_tok(&save), NULL, 10);
        int d1 = atoi(next_tok(&save)), d2 = atoi(next_tok(&save));
        lens_tensor *v = lens_tensor_diagonal(in[0], off, d1, d2, err);
        if (!v) return -1;
        out[0] = lens_tensor_clone(v);
        lens_tensor_free(v);
        return 1;
    }
    if (!strcmp(op, "topk") || !strcmp(op, "sort")) {
        bool topk = op[0] == 't';
        int64_t k = topk ? strtoll(next_tok(&save), NULL, 10) : 0;
        int dim = atoi(next_tok(&save));
        bool flag = atoi(next_tok(&save)) != 0;
        int rc = topk ? lens_topk(in[0], k, dim, flag, &out[0], &out[1], err)
                      : lens_sort(in[0], dim, flag, &out[0], &out[1], err);
        return rc < 0 ? -1 : 2;
    }
    if (!strcmp(op, "softmax") || !strcmp(op, "log_softmax") || !strcmp(op, "cumsum")) {
        int dim = atoi(next_tok(&save));
        out[0] = op[0] == 's' ? lens_softmax(in[0], dim, err)
               : op[0] == 'l' ? lens_log_softmax(in[0], dim, err) : lens_cumsum(in[0], dim, err);
        return out[0] ? 1 : -1;
    }
    if (!strcmp(op, "einsum")) {
        while (*rest == ' ') rest++;
        char *nl = strchr(rest, '\n');
        if (nl) *nl = '\0';
        return (out[0] = lens_einsum(rest, n, (const lens_tensor *const *)in, err)) ? 1 : -1;
    }
    if (!strcmp(op, "matmul")) return (out[0] = lens_matmul(in[0], in[1], err)) ? 1 : -1;
    if (!strcmp(op, "index_select") || !strcmp(op, "gather")) {
        int dim = atoi(next_tok(&save));
        out[0] = op[0] == 'i' ? lens_index_select(in[0], dim, in[1], err) : lens_gather(in[0], dim, in[1], err);
        return out[0] ? 1 : -1;
    }
    if (!strcmp(op, "cat") || !strcmp(op, "stack")) {
        int dim = atoi(next_tok(&save));
        out[0] = op[0] == 'c' ? lens_cat(n, (const lens_tensor *const *)in, dim, err)
                              : lens_stack(n, (const lens_tensor *const *)in, dim, err);
        return out[0] ? 1 : -1;
    }
    if (!strcmp(op, "flatten")) {
        int s = atoi(next_tok(&save)), e = atoi(next_tok(&save));
        lens_tensor *v = lens_tensor_flatten(in[0], s, e, err);
        if (!v) return -1;
        out[0] = lens_tensor_clone(v);
        lens_tensor_free(v);
        return 1;
    }
    if (!strcmp(op, "where")) return (out[0] = lens_where(in[0], in[1], in[2], err)) ? 1 : -1;
    if (!strcmp(op, "tril") || !strcmp(op, "triu")) {
        int64_t k = strtoll(next_tok(&save), NULL, 10);
        out[0] = op[3] == 'l' ? lens_tril(in[0], k, err) : lens_triu(in[0], k, err);
        return out[0] ? 1 : -1;
    }
    if (!strcmp(op, "expand")) {
        int64_t shape[LENS_MAX_DIMS];
        int nd = 0;
        for (char *t = next_tok(&save); t; t = next_tok(&save)) shape[nd++] = strtoll(t, NULL, 10);
        lens_tensor *v = lens_tensor_expand(in[0], nd, shape, err);
        if (!v) return -1;
        out[0] = lens_tensor_clone(v);
        lens_tensor_free(v);
        return 1;
    }
    return lens_fail(err, "driver: unknown op '%s'", op);
}

int main(void)
{
    static char opline[1 << 16];
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    while (fgets(opline, sizeof opline, stdin)) {
        if (opline[0] == '\n') continue;
        char nbuf[32];
        if (!fgets(nbuf, sizeof nbuf, stdin)) break;
        int n = atoi(nbuf);
        lens_tensor *in[MAXT] = {0}, *out[MAXT] = {0};
        lens_error err = {0};
        bool ok = true;
        for (int k = 0; k < n && k < MAXT; k++) {
            ssize_t len = getline(&line, &cap, stdin);
            if (len <= 0) { ok = false; break; }
            if (ok && !(in[k] = parse_tensor(line, &err))) ok = false;
        }
        int nout = ok ? run_op(opline, n, in, out, &err) : -1;
        if (nout < 0) {
            for (char *c = err.msg; *c; c++) if (*c == '\n') *c = ' ';
            printf("err %s\n", err.msg);
        } else {
            printf("ok %d\n", nout);
            for (int k = 0; k < nout; k++) print_tensor(out[k]);
        }
        for (int k = 0; k < MAXT; k++) { lens_tensor_free(in[k]); lens_tensor_free(out[k]); }
        fflush(stdout);
    }
    free(line);
    return 0;
}
