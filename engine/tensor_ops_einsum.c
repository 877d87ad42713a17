/* tensor_ops_einsum.c — einsum over lens tensors, in classic one-letter spelling ("bd,bd->b")
 * and fancy_einsum's named spelling ("batch d_model, batch d_model -> batch"), each with
 * an ellipsis "..." standing for the dims no index names ("... batch d, batch d -> ...",
 * "...ij,...jk->...ik"; right-aligned across operands, equal sizes) (see lens/tensor_ops.h). Plan: take diagonals for labels repeated within an operand,
 * sum labels only one operand has and the output lacks, then contract operands left to
 * right, each pair as one batched matmul, and permute to the output order. */
#include "lens/tensor_ops.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor_device.h"
#include "tensor_iter.h"

#define MAX_LABELS 64
#define MAX_OPERANDS 16

typedef struct {
    char names[MAX_LABELS][64];
    int nlabels;
    int64_t size[MAX_LABELS];
} label_table;

typedef struct {
    int n;                   /* labels in this term */
    int lab[LENS_MAX_DIMS];  /* label ids */
    int ell;                 /* where "..." stood (a position in lab), -1: no ellipsis */
} term;

static int label_id(label_table *lt, const char *name, size_t len, lens_error *err)
{
    for (int i = 0; i < lt->nlabels; i++)
        if (strlen(lt->names[i]) == len && !strncmp(lt->names[i], name, len)) return i;
    if (lt->nlabels >= MAX_LABELS || len >= sizeof lt->names[0])
        return lens_fail(err, "einsum: too many or too long index names");
    memcpy(lt->names[lt->nlabels], name, len);
    lt->names[lt->nlabels][len] = '\0';
    lt->size[lt->nlabels] = -1;
    return lt->nlabels++;
}

/* Parses one term (text [s, e)) into labels; named: whitespace-separated words. */
static int parse_term(const char *s, const char *e, bool named, label_table *lt, term *t, lens_error *err)
{
    t->n = 0;
    t->ell = -1;
    while (s < e) {
        if (isspace((unsigned char)*s)) { s++; continue; }
        if (e - s >= 3 && !strncmp(s, "...", 3)) {
            if (t->ell >= 0) return lens_fail(err, "einsum: a term may hold only one \"...\"");
            t->ell = t->n;
            s += 3;
            continue;
        }
        const char *w = s;
        if (named) {
            while (s < e && !isspace((unsigned char)*s) && *s != '.') s++;
            if (s == w) s++;
        } else s++;
        for (const char *c = w; c < s; c++)
            if (!isalnum((unsigned char)*c) && *c != '_')
                return lens_fail(err, "einsum: unexpected character '%c' in the spec", *c);
        if (!named && !isalpha((unsigned char)*w))
            return lens_fail(err, "einsum: index '%c' is not a letter", *w);
        if (t->n >= LENS_MAX_DIMS) return lens_fail(err, "einsum: a term has more than %d indices", LENS_MAX_DIMS);
        int id = label_id(lt, w, (size_t)(s - w), err);
        if (id < 0) return -1;
        t->lab[t->n++] = id;
    }
    return 0;
}

/* Whether [s, e) has two words separated by whitespace. */
static bool has_inner_space(const char *s, const char *e)
{
    while (s < e && isspace((unsigned char)*s)) s++;
    while (e > s && isspace((unsigned char)e[-1])) e--;
    for (; s < e; s++)
        if (isspace((unsigned char)*s)) return true;
    return false;
}

/* Inserts at t->ell the labels "...j" for j in [first, first + count). */
static int splice(term *t, label_table *lt, int first, int count, lens_error *err)
{
    if (t->n + count > LENS_MAX_DIMS) return lens_fail(err, "einsum: a term has more than %d indices", LENS_MAX_DIMS);
    memmove(t->lab + t->ell + count, t->lab + t->ell, (size_t)(t->n - t->ell) * sizeof *t->lab);
    for (int j = 0; j < count; j++) {
        char name[16];
        int len = snprintf(name, sizeof name, "...%d", first + j);
        int id = label_id(lt, name, (size_t)len, err);
        if (id < 0) return -1;
        t->lab[t->ell + j] = id;
    }
    t->n += count;
    return 0;
}

/* Replaces each "..." by labels for the dims its operand has beyond the named
 * ones, right-aligned, so the last ellipsis dims of all operands share labels. */
static int expand_ellipses(int n, const lens_tensor *const *ts, label_table *lt, term *in, term *out,
                           lens_error *err)
{
    int max_ell = 0;
    bool any = false;
    for (int k = 0; k < n; k++) {
        if (in[k].ell < 0) continue;
        any = true;
        int len = ts[k]->ndim - in[k].n;
        if (len < 0) return lens_fail(err, "einsum: term %d names %d indices but tensor %d has only %d dims", k, in[k].n, k, ts[k]->ndim);
        if (len > max_ell) max_ell = len;
    }
    if (out->ell >= 0 && !any) return lens_fail(err, "einsum: the output has \"...\" but no input does");
    if (any && out->ell < 0 && max_ell > 0)
        return lens_fail(err, "einsum: the inputs' \"...\" covers %d dims, so the output needs \"...\" too", max_ell);
    for (int k = 0; k < n; k++) {
        if (in[k].ell < 0) continue;
        int len = ts[k]->ndim - in[k].n;
        if (splice(&in[k], lt, max_ell - len, len, err) < 0) return -1;
    }
    if (out->ell >= 0 && splice(out, lt, 0, max_ell, err) < 0) return -1;
    return 0;
}

static int parse_spec(const char *spec, int n, const lens_tensor *const *ts, bool named,
                      label_table *lt, term *in, term *out, lens_error *err)
{
    memset(lt, 0, sizeof *lt);
    const char *arrow = strstr(spec, "->");
    const char *s = spec;
    for (int k = 0; k < n; k++) {
        const char *e = strchr(s, ',');
        if (!e || e > arrow) e = arrow;
        if (k < n - 1 && e == arrow) return lens_fail(err, "einsum: the spec has fewer terms than the %d tensors given", n);
        if (parse_term(s, e, named, lt, &in[k], err) < 0) return -1;
        s = e + 1;
    }
    if (s - 1 != arrow) return lens_fail(err, "einsum: the spec has more terms than the %d tensors given", n);
    if (parse_term(arrow + 2, arrow + strlen(arrow), named, lt, out, err) < 0) return -1;
    return expand_ellipses(n, ts, lt, in, out, err);
}

/* Sums the given positions out of *t (in place: frees the old tensor) and drops them from tm. */
static int sum_positions(lens_tensor **t, term *tm, const bool *drop, lens_error *err)
{
    int dims[LENS_MAX_DIMS], nd = 0;
    term kept = {0};
    for (int i = 0; i < tm->n; i++) {
        if (drop[i]) dims[nd++] = i;
        else kept.lab[kept.n++] = tm->lab[i];
    }
    if (!nd) return 0;
    lens_tensor *r = lens_reduce_dims(LENS_RED_SUM, *t, nd, dims, false, err);
    if (!r) return -1;
    lens_tensor_free(*t);
    *t = r;
    *tm = kept;
    return 0;
}

static bool term_has(const term *t, int lab)
{
    for (int i = 0; i < t->n; i++)
        if (t->lab[i] == lab) return true;
    return false;
}

/* A x B contracted to labels [batch, left, right]; keep says which labels survive. */
static lens_tensor *contract(const lens_tensor *A, const term *ta, const lens_tensor *B, const term *tb,
                             const bool *keep, const label_table *lt, term *tr, lens_error *err)
{
    int batch[LENS_MAX_DIMS], left[LENS_MAX_DIMS], right[LENS_MAX_DIMS], con[LENS_MAX_DIMS];
    int nbat = 0, nl = 0, nr = 0, nc = 0;
    for (int i = 0; i < ta->n; i++) {
        int l = ta->lab[i];
        if (term_has(tb, l)) { if (keep[l]) batch[nbat++] = l; else con[nc++] = l; }
        else left[nl++] = l;
    }
    for (int i = 0; i < tb->n; i++)
        if (!term_has(ta, tb->lab[i])) right[nr++] = tb->lab[i];
    if (nbat + nl + nr > LENS_MAX_DIMS) { lens_fail(err, "einsum: an intermediate result has more than %d dims", LENS_MAX_DIMS); return NULL; }
    int pa[LENS_MAX_DIMS], pb[LENS_MAX_DIMS], k = 0;
    int64_t Bt = 1, M = 1, Kc = 1, N = 1;
    for (int i = 0; i < nbat; i++) { for (int j = 0; j < ta->n; j++) if (ta->lab[j] == batch[i]) pa[k] = j; k++; Bt *= lt->size[batch[i]]; }
    for (int i = 0; i < nl; i++) { for (int j = 0; j < ta->n; j++) if (ta->lab[j] == left[i]) pa[k] = j; k++; M *= lt->size[left[i]]; }
    for (int i = 0; i < nc; i++) { for (int j = 0; j < ta->n; j++) if (ta->lab[j] == con[i]) pa[k] = j; k++; Kc *= lt->size[con[i]]; }
    k = 0;
    for (int i = 0; i < nbat; i++) { for (int j = 0; j < tb->n; j++) if (tb->lab[j] == batch[i]) pb[k] = j; k++; }
    for (int i = 0; i < nc; i++) { for (int j = 0; j < tb->n; j++) if (tb->lab[j] == con[i]) pb[k] = j; k++; }
    for (int i = 0; i < nr; i++) { for (int j = 0; j < tb->n; j++) if (tb->lab[j] == right[i]) pb[k] = j; k++; N *= lt->size[right[i]]; }
    lens_tensor *ap = lens_tensor_permute(A, pa, err), *bp = lens_tensor_permute(B, pb, err);
    lens_tensor *a3 = NULL, *b3 = NULL, *c3 = NULL, *r = NULL;
    if (!ap || !bp) goto done;
    a3 = lens_tensor_reshape(ap, 3, (int64_t[]){Bt, M, Kc}, err);
    b3 = lens_tensor_reshape(bp, 3, (int64_t[]){Bt, Kc, N}, err);
    if (!a3 || !b3) goto done;
    c3 = lens_matmul(a3, b3, err);
    if (!c3) goto done;
    int64_t shape[LENS_MAX_DIMS];
    tr->n = 0;
    for (int i = 0; i < nbat; i++) { shape[tr->n] = lt->size[batch[i]]; tr->lab[tr->n++] = batch[i]; }
    for (int i = 0; i < nl; i++) { shape[tr->n] = lt->size[left[i]]; tr->lab[tr->n++] = left[i]; }
    for (int i = 0; i < nr; i++) { shape[tr->n] = lt->size[right[i]]; tr->lab[tr->n++] = right[i]; }
    r = lens_tensor_reshape(c3, tr->n, shape, err);
done:
    lens_tensor_free(ap); lens_tensor_free(bp); lens_tensor_free(a3); lens_tensor_free(b3); lens_tensor_free(c3);
    return r;
}

static lens_tensor *einsum_run(int n, const lens_tensor *const *ts, term *in, const term *out,
                               label_table *lt, lens_error *err)
{
    lens_tensor *ops[MAX_OPERANDS] = {0};
    lens_tensor *result = NULL;
    /* Sizes agree across operands. */
    for (int k = 0; k < n; k++)
        for (int i = 0; i < in[k].n; i++) {
            int l = in[k].lab[i];
            if (lt->size[l] >= 0 && lt->size[l] != ts[k]->shape[i]) {
                lens_fail(err, "einsum: index '%s' has size %lld in one place and %lld in tensor %d",
                          lt->names[l], (long long)lt->size[l], (long long)ts[k]->shape[i], k);
                return NULL;
            }
            lt->size[l] = ts[k]->shape[i];
        }
    for (int i = 0; i < out->n; i++) {
        bool found = false;
        for (int k = 0; k < n && !found; k++) found = term_has(&in[k], out->lab[i]);
        if (!found) { lens_fail(err, "einsum: output index '%s' appears in no input", lt->names[out->lab[i]]); return NULL; }
        for (int j = 0; j < i; j++)
            if (out->lab[j] == out->lab[i]) { lens_fail(err, "einsum: output index '%s' repeated", lt->names[out->lab[i]]); return NULL; }
    }
    for (int k = 0; k < n; k++) {
        ops[k] = lens_tensor_ref(ts[k]);
        if (!ops[k]) { lens_fail_alloc(err); goto done; }
        /* Diagonals for labels repeated within the operand. */
        for (bool again = true; again;) {
            again = false;
            for (int p = 0; p < in[k].n && !again; p++)
                for (int q = p + 1; q < in[k].n && !again; q++) {
                    if (in[k].lab[p] != in[k].lab[q]) continue;
                    lens_tensor *dg = lens_tensor_diagonal(ops[k], 0, p, q, err);
                    if (!dg) goto done;
                    lens_tensor_free(ops[k]);
                    ops[k] = dg;
                    term nt = {0};
                    int lab = in[k].lab[p];
                    for (int i = 0; i < in[k].n; i++) if (i != p && i != q) nt.lab[nt.n++] = in[k].lab[i];
                    nt.lab[nt.n++] = lab;
                    in[k] = nt;
                    again = true;
                }
        }
        /* Labels nothing else needs are summed now. */
        bool drop[LENS_MAX_DIMS] = {0};
        for (int i = 0; i < in[k].n; i++) {
            int l = in[k].lab[i];
            bool needed = term_has(out, l);
            for (int j = 0; j < n && !needed; j++) needed = j != k && term_has(&in[j], l);
            drop[i] = !needed;
        }
        if (sum_positions(&ops[k], &in[k], drop, err) < 0) goto done;
    }
    lens_tensor *cur = ops[0];
    term tc = in[0];
    ops[0] = NULL;
    for (int k = 1; k < n; k++) {
        bool keep[MAX_LABELS] = {0};
        for (int i = 0; i < out->n; i++) keep[out->lab[i]] = true;
        for (int j = k + 1; j < n; j++)
            for (int i = 0; i < in[j].n; i++) keep[in[j].lab[i]] = true;
        /* Labels of cur / ops[k] not needed later and absent from the other: sum first. */
        bool dc[LENS_MAX_DIMS] = {0}, dk[LENS_MAX_DIMS] = {0};
        for (int i = 0; i < tc.n; i++) dc[i] = !keep[tc.lab[i]] && !term_has(&in[k], tc.lab[i]);
        for (int i = 0; i < in[k].n; i++) dk[i] = !keep[in[k].lab[i]] && !term_has(&tc, in[k].lab[i]);
        if (sum_positions(&cur, &tc, dc, err) < 0 || sum_positions(&ops[k], &in[k], dk, err) < 0) {
            lens_tensor_free(cur);
            goto done;
        }
        term tr;
        lens_tensor *next = contract(cur, &tc, ops[k], &in[k], keep, lt, &tr, err);
        lens_tensor_free(cur);
        if (!next) goto done;
        cur = next;
        tc = tr;
    }
    /* Everything left is in the output; permute into its order. */
    int perm[LENS_MAX_DIMS];
    for (int i = 0; i < out->n; i++)
        for (int j = 0; j < tc.n; j++)
            if (tc.lab[j] == out->lab[i]) perm[i] = j;
    lens_tensor *pv = lens_tensor_permute(cur, perm, err);
    lens_tensor_free(cur);
    if (pv) {
        result = lens_tensor_clone(pv);
        lens_tensor_free(pv);
        if (!result) lens_fail_alloc(err);
    }
done:
    for (int k = 0; k < n; k++) lens_tensor_free(ops[k]);
    return result;
}

lens_tensor *lens_einsum(const char *spec, int n, const lens_tensor *const *ts, lens_error *err)
{
    if (n <= 0 || n > MAX_OPERANDS) { lens_fail(err, "einsum: expected 1 to %d tensors, got %d", MAX_OPERANDS, n); return NULL; }
    lens_tensor *on_host[MAX_OPERANDS];
    int on_device = lens_inputs_on_host(n, ts, on_host, err);
    if (on_device) {
        lens_tensor *r = on_device > 0 ? lens_einsum(spec, n, (const lens_tensor *const *)on_host, err) : NULL;
        if (on_device > 0) lens_tensors_free(n, on_host);
        return on_device > 0 ? lens_result_to_device(r, lens_inputs_backend(n, ts), err) : r;
    }
    const char *arrow = strstr(spec, "->");
    if (!arrow) { lens_fail(err, "einsum: the spec \"%s\" needs an explicit output after '->'", spec); return NULL; }
    if (strstr(arrow + 2, "->")) { lens_fail(err, "einsum: the spec \"%s\" has more than one '->'", spec); return NULL; }
    /* Named when a term has several words; else try one letter per index, and fall back
     * to named when that does not match the operands' ranks. */
    bool named = false;
    const char *s = spec;
    while (s < arrow) {
        const char *e = strchr(s, ',');
        if (!e || e > arrow) e = arrow;
        if (has_inner_space(s, e)) named = true;
        s = e + 1;
    }
    if (has_inner_space(arrow + 2, arrow + strlen(arrow))) named = true;
    label_table lt;
    term in[MAX_OPERANDS], out;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool last = named || attempt == 1;
        if (parse_spec(spec, n, ts, named, &lt, in, &out, err) < 0) {
            if (last) return NULL;
            named = true;
            continue;
        }
        bool ranks_ok = true;
        for (int k = 0; k < n; k++)
            if (in[k].n != ts[k]->ndim) ranks_ok = false;
        if (ranks_ok) return einsum_run(n, ts, in, &out, &lt, err);
        if (last) break;
        named = true;
    }
    for (int k = 0; k < n; k++)
        if (in[k].n != ts[k]->ndim) {
            char b[128];
            lens_fail(err, "einsum: term %d of \"%s\" names %d indices but tensor %d has shape %s",
                      k, spec, in[k].n, k, lens_shape_str(ts[k]->ndim, ts[k]->shape, b, sizeof b));
            return NULL;
        }
    lens_fail(err, "einsum: cannot read the spec \"%s\"", spec);
    return NULL;
}
