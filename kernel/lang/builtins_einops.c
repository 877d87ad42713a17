/* kernel/lang/builtins_einops.c — einops.rearrange, einops.reduce and
 * einops.repeat with einops's pattern grammar: named axes, parenthesised
 * compositions "(layer head)", axis sizes given as keywords (layer=12),
 * one ellipsis "..." per side (grouped on the right: "(...)"), anonymous axes
 * (a number: "1" or "()" is a unit axis; in repeat, "b 3" makes a new axis of 3).
 *
 * Owns: the three builtins' argument specs (einops's signatures), parsing a
 * pattern and planning it as engine view operations (reshape into elementary
 * axes, reduce, permute, expand, reshape into the output's groups).
 * Does not own: the tensor operations (engine/tensor*.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/tensor_ops.h"
#include "namespaces.h"

enum { MAX_AXES = 16, NAME_LEN = 48 };
enum { AX_NAMED, AX_ANON, AX_ELLIPSIS };
enum { OP_REARRANGE, OP_REDUCE, OP_REPEAT };

typedef struct atom { int kind; char name[NAME_LEN]; int64_t size; } atom;

typedef struct side {
    atom atoms[MAX_AXES];
    int natoms;
    int group_of[MAX_AXES];     /* group index of each atom */
    int ngroups;
    int ellipsis_group;         /* -1: none */
    bool ellipsis_in_parens;
} side;

/* An elementary axis after the ellipsis is expanded: names are unique. */
typedef struct axis { char name[NAME_LEN]; int64_t size; int group; } axis;

static int parse_side(interp *I, const char *fn, const char *s, size_t len, char which, side *out)
{
    memset(out, 0, sizeof *out);
    out->ellipsis_group = -1;
    bool in_paren = false;
    int anon = 0;
    for (size_t i = 0; i < len;) {
        char c = s[i];
        if (isspace((unsigned char)c)) { i++; continue; }
        if (out->ngroups == MAX_AXES && !in_paren) { lang_raise(I, "ValueError", "%s(): a pattern may have at most %d dims", fn, MAX_AXES); return -1; }
        if (c == '(') {
            if (in_paren) { lang_raise(I, "ValueError", "%s(): parentheses cannot be nested in an einops pattern", fn); return -1; }
            in_paren = true;
            out->ngroups++;
            i++;
            continue;
        }
        if (c == ')') {
            if (!in_paren) { lang_raise(I, "ValueError", "%s(): unmatched ')' in the pattern", fn); return -1; }
            in_paren = false;
            i++;
            continue;
        }
        if (out->natoms == MAX_AXES) { lang_raise(I, "ValueError", "%s(): a pattern may name at most %d axes", fn, MAX_AXES); return -1; }
        atom *a = &out->atoms[out->natoms];
        int group = in_paren ? out->ngroups - 1 : out->ngroups++;
        if (c == '.' && i + 2 < len && s[i + 1] == '.' && s[i + 2] == '.') {
            if (out->ellipsis_group >= 0) { lang_raise(I, "ValueError", "%s(): only one ellipsis '...' per side of the pattern", fn); return -1; }
            a->kind = AX_ELLIPSIS;
            out->ellipsis_group = group;
            out->ellipsis_in_parens = in_paren;
            i += 3;
        } else if (isdigit((unsigned char)c)) {
            int64_t v = 0;
            while (i < len && isdigit((unsigned char)s[i])) {
                if (v > 100000000) { lang_raise(I, "ValueError", "%s(): anonymous axis size too large", fn); return -1; }
                v = v * 10 + (s[i++] - '0');
            }
            if (v < 1) { lang_raise(I, "ValueError", "%s(): an anonymous axis must have a positive size", fn); return -1; }
            a->kind = AX_ANON;
            a->size = v;
            snprintf(a->name, sizeof a->name, "%lld#%c%d", (long long)v, which, anon++);
        } else if (isalpha((unsigned char)c) || c == '_') {
            size_t j = i;
            while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_')) j++;
            if (j - i >= NAME_LEN) { lang_raise(I, "ValueError", "%s(): axis name too long", fn); return -1; }
            a->kind = AX_NAMED;
            memcpy(a->name, s + i, j - i);
            a->name[j - i] = '\0';
            for (int k = 0; k < out->natoms; k++)
                if (out->atoms[k].kind == AX_NAMED && !strcmp(out->atoms[k].name, a->name)) {
                    lang_raise(I, "ValueError", "%s(): axis '%s' appears twice on one side of the pattern", fn, a->name);
                    return -1;
                }
            i = j;
        } else {
            lang_raise(I, "ValueError", "%s(): unexpected character '%c' in the pattern", fn, c);
            return -1;
        }
        out->group_of[out->natoms++] = group;
    }
    if (in_paren) { lang_raise(I, "ValueError", "%s(): unclosed '(' in the pattern", fn); return -1; }
    return 0;
}

/* Expands a side's atoms into elementary axes, the ellipsis into n_ell axes "...0", "...1", ... */
static int expand_side(interp *I, const char *fn, const side *sd, int n_ell, axis *out, int *n)
{
    *n = 0;
    for (int i = 0; i < sd->natoms; i++) {
        const atom *a = &sd->atoms[i];
        int count = a->kind == AX_ELLIPSIS ? n_ell : 1;
        for (int k = 0; k < count; k++) {
            if (*n == MAX_AXES) { lang_raise(I, "ValueError", "%s(): too many axes", fn); return -1; }
            axis *x = &out[(*n)++];
            if (a->kind == AX_ELLIPSIS) snprintf(x->name, sizeof x->name, "...%d", k);
            else snprintf(x->name, sizeof x->name, "%s", a->name);
            x->size = a->kind == AX_ANON ? a->size : -1;
            x->group = sd->group_of[i];
        }
    }
    return 0;
}

static int find_axis(const axis *ax, int n, const char *name)
{
    for (int i = 0; i < n; i++) if (!strcmp(ax[i].name, name)) return i;
    return -1;
}

static bool is_anon(const char *name) { return isdigit((unsigned char)name[0]); }

static value *fail(interp *I, lens_error *err)
{
    return lang_raise(I, err->kind == LENS_ERR_MEMORY ? "MemoryError" : "ValueError", "%s", err->msg);
}

/* einops's signatures: the axis sizes are the keywords past the named parameters */
static const lang_param rearrange_params[] = {
    {"tensor", LANG_REQUIRED}, {"pattern", LANG_REQUIRED}, {"axes_lengths", LANG_VARKW}, {NULL}};
static const lang_param reduce_params[] = {
    {"tensor", LANG_REQUIRED}, {"pattern", LANG_REQUIRED}, {"reduction", LANG_REQUIRED}, {"axes_lengths", LANG_VARKW},
    {NULL}};

/* Whether keyword name is one of the spec's named parameters, not an axis size. */
static bool is_named_param(const args *a, const char *name)
{
    for (const lang_param *p = a->params; p && p->name; p++)
        if (p->kind != LANG_VARKW && !strcmp(p->name, name)) return true;
    return false;
}

static value *einops_apply(interp *I, args *a, const char *fn, int op)
{
    const char *pattern = lang_arg_str(I, lang_arg(a, "pattern"), "pattern");
    if (!pattern) return NULL;
    lens_reduce_op rop = LENS_RED_SUM;
    if (op == OP_REDUCE) {
        const char *r = lang_arg_str(I, lang_arg(a, "reduction"), "reduction");
        if (!r) return NULL;
        static const struct { const char *n; lens_reduce_op op; } ops[] = {
            {"sum", LENS_RED_SUM}, {"mean", LENS_RED_MEAN}, {"max", LENS_RED_MAX}, {"min", LENS_RED_MIN}, {"prod", LENS_RED_PROD}};
        bool found = false;
        for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) if (!strcmp(r, ops[i].n)) { rop = ops[i].op; found = true; }
        if (!found) return lang_raise(I, "ValueError", "reduce(): reduction must be 'sum', 'mean', 'max', 'min' or 'prod', not '%s'", r);
    }
    const char *arrow = strstr(pattern, "->");
    if (!arrow) return lang_raise(I, "ValueError", "%s(): the pattern needs '->' between the input and output axes", fn);
    side L, R;
    if (parse_side(I, fn, pattern, (size_t)(arrow - pattern), 'L', &L) || parse_side(I, fn, arrow + 2, strlen(arrow + 2), 'R', &R)) return NULL;
    if (L.ellipsis_in_parens) return lang_raise(I, "ValueError", "%s(): an ellipsis cannot be inside parentheses on the left of the pattern", fn);
    if ((L.ellipsis_group >= 0) != (R.ellipsis_group >= 0)) return lang_raise(I, "ValueError", "%s(): an ellipsis must appear on both sides of the pattern or on neither", fn);

    /* the input: a tensor, or a list of same-shape tensors stacked along a new first axis */
    lens_tensor *t = NULL;
    lens_error err;
    value *in = lang_arg(a, "tensor");
    if ((in->type == V_LIST || in->type == V_TUPLE) && in->u.list.n && in->u.list.items[0]->type == V_TENSOR) {
        size_t n = in->u.list.n;
        const lens_tensor **ts = calloc(n, sizeof *ts);
        if (!ts) return lang_raise(I, "MemoryError", "out of memory");
        for (size_t i = 0; i < n; i++) {
            if (in->u.list.items[i]->type != V_TENSOR) { free(ts); return lang_raise(I, "TypeError", "%s(): a list input must hold only tensors", fn); }
            ts[i] = in->u.list.items[i]->u.tensor.t;
        }
        t = n > 0x7fffffff ? NULL : lens_stack((int)n, ts, 0, &err);
        free(ts);
        if (!t) return fail(I, &err);
    } else if (!(t = lang_tensor_from_value(I, in, -1))) return NULL;

    value *r = NULL;
    lens_tensor *x = NULL, *y = NULL;
    axis la[MAX_AXES], ra[MAX_AXES];
    int nl = 0, nr = 0;
    int n_groups_fixed = L.ngroups - (L.ellipsis_group >= 0 ? 1 : 0);
    int n_ell = 0;
    if (L.ellipsis_group >= 0) {
        if (t->ndim < n_groups_fixed) { lang_raise(I, "ValueError", "%s(): the pattern needs at least %d dims, the tensor has %d", fn, n_groups_fixed, t->ndim); goto done; }
        n_ell = t->ndim - n_groups_fixed;
    } else if (t->ndim != L.ngroups) {
        lang_raise(I, "ValueError", "%s(): the pattern's left side has %d dims, the tensor has %d (shape %s)", fn, L.ngroups, t->ndim, "given");
        goto done;
    }
    if (expand_side(I, fn, &L, n_ell, la, &nl) || expand_side(I, fn, &R, n_ell, ra, &nr)) goto done;
    /* number the left dims: one per group, n_ell for the ellipsis */
    {
        int dim_of_group[MAX_AXES], d = 0;
        for (int grp = 0; grp < L.ngroups; grp++) {
            dim_of_group[grp] = d;
            d += grp == L.ellipsis_group ? n_ell : 1;
        }
        for (int i = 0; i < nl; i++) {
            int grp = la[i].group;
            la[i].group = dim_of_group[grp] + (grp == L.ellipsis_group ? atoi(la[i].name + 3) : 0);
        }
    }
    /* sizes given as keywords */
    for (int k = 0; k < a->nkw; k++) {
        if (is_named_param(a, a->kwnames[k])) continue;
        int64_t v;
        if (lang_arg_int(I, a->kw[k], a->kwnames[k], &v)) goto done;
        if (v < 1) { lang_raise(I, "ValueError", "%s(): axis %s must have a positive size, not %lld", fn, a->kwnames[k], (long long)v); goto done; }
        int il = find_axis(la, nl, a->kwnames[k]), ir = find_axis(ra, nr, a->kwnames[k]);
        if (il < 0 && ir < 0) { lang_raise(I, "ValueError", "%s(): axis %s is not in the pattern", fn, a->kwnames[k]); goto done; }
        if (il >= 0) la[il].size = v;
        if (ir >= 0) ra[ir].size = v;
    }
    /* each left dim: its axes' sizes multiply to the dim's size; one unknown is inferred */
    for (int d = 0; d < t->ndim; d++) {
        int64_t known = 1;
        int unknown = -1, count = 0;
        for (int i = 0; i < nl; i++) {
            if (la[i].group != d) continue;
            count++;
            if (la[i].size < 0) {
                if (unknown >= 0) { lang_raise(I, "ValueError", "%s(): cannot infer the sizes of both %s and %s; give one as a keyword", fn, la[unknown].name, la[i].name); goto done; }
                unknown = i;
            } else if (known > INT64_MAX / la[i].size) { lang_raise(I, "ValueError", "%s(): axis sizes overflow", fn); goto done; }
            else known *= la[i].size;
        }
        int64_t dim = t->shape[d];
        if (unknown >= 0) {
            if (known == 0 || dim % known) { lang_raise(I, "ValueError", "%s(): dim %d of size %lld cannot be split by %lld", fn, d, (long long)dim, (long long)known); goto done; }
            la[unknown].size = dim / known;
        } else if (known != dim || (count == 0 && dim != 1)) {
            lang_raise(I, "ValueError", "%s(): dim %d has size %lld but the pattern gives %lld", fn, d, (long long)dim, (long long)known);
            goto done;
        }
    }
    /* right axes: known from the left, given, or anonymous; repeat may add new ones */
    for (int i = 0; i < nr; i++) {
        int il = find_axis(la, nl, ra[i].name);
        if (il >= 0) { ra[i].size = la[il].size; continue; }
        if (is_anon(ra[i].name) && ra[i].size == 1) continue;
        if (op != OP_REPEAT) { lang_raise(I, "ValueError", "%s(): axis %s is on the right of the pattern but not on the left", fn, ra[i].name); goto done; }
        if (ra[i].size < 0) { lang_raise(I, "ValueError", "repeat(): give the size of the new axis %s as a keyword (%s=...)", ra[i].name, ra[i].name); goto done; }
    }
    /* left axes missing on the right are reduced (reduce), dropped when of size 1, or an error */
    int red[MAX_AXES], nred = 0;
    for (int i = 0; i < nl; i++) {
        if (find_axis(ra, nr, la[i].name) >= 0) continue;
        if (is_anon(la[i].name) && la[i].size == 1) { red[nred++] = i; continue; }
        if (op != OP_REDUCE) {
            lang_raise(I, "ValueError", "%s(): axis %s is on the left of the pattern but not on the right%s", fn, la[i].name,
                       op == OP_REARRANGE ? " (use einops.reduce to reduce it)" : "");
            goto done;
        }
        red[nred++] = i;
    }
    if (nl > LENS_MAX_DIMS || nr > LENS_MAX_DIMS) { lang_raise(I, "ValueError", "%s(): lens tensors have at most %d dims", fn, LENS_MAX_DIMS); goto done; }
    int64_t shape[MAX_AXES];
    for (int i = 0; i < nl; i++) shape[i] = la[i].size;
    if (!(x = lens_tensor_reshape(t, nl, shape, &err))) { fail(I, &err); goto done; }
    /* reduce, keeping the dims so that positions stay those of la */
    if (nred) {
        bool only_units = true;
        for (int i = 0; i < nred; i++) only_units &= is_anon(la[red[i]].name);
        if (!only_units) {
            if (!(y = lens_reduce_dims(rop, x, nred, red, true, &err))) { fail(I, &err); goto done; }
            lens_tensor_free(x);
            x = y;
            y = NULL;
        }
    }
    /* permute the kept axes into the right side's order, the reduced (now size 1) ones last */
    int perm[MAX_AXES], np = 0;
    for (int i = 0; i < nr; i++) {
        int il = find_axis(la, nl, ra[i].name);
        if (il >= 0) perm[np++] = il;
    }
    int nkept = np;
    for (int i = 0; i < nl; i++) {
        bool used = false;
        for (int k = 0; k < nkept; k++) used |= perm[k] == i;
        if (!used) perm[np++] = i;
    }
    if (!(y = lens_tensor_permute(x, perm, &err))) { fail(I, &err); goto done; }
    lens_tensor_free(x);
    x = y;
    y = NULL;
    /* the right side's elementary shape: kept axes in order, new and unit axes as size 1 then expanded */
    int64_t eshape[MAX_AXES], full[MAX_AXES];
    int k = 0;
    for (int i = 0; i < nr; i++) {
        int il = find_axis(la, nl, ra[i].name);
        bool kept = il >= 0;
        eshape[i] = kept ? x->shape[k++] : 1;
        full[i] = kept ? eshape[i] : ra[i].size < 0 ? 1 : ra[i].size;
    }
    {
        int64_t total = 1;
        for (int i = 0; i < nr; i++) {
            if (full[i] && total > INT64_MAX / full[i] / 4) { lang_raise(I, "ValueError", "%s(): the result would be too large", fn); goto done; }
            total *= full[i];
        }
    }
    if (!(y = lens_tensor_reshape(x, nr, eshape, &err))) { fail(I, &err); goto done; }
    lens_tensor_free(x);
    x = y;
    y = NULL;
    if (op == OP_REPEAT) {
        if (!(y = lens_tensor_expand(x, nr, full, &err))) { fail(I, &err); goto done; }
        lens_tensor_free(x);
        x = y;
        y = NULL;
    }
    /* group into the right side's dims: one per group ("()" is a unit dim), one per axis of a bare ellipsis */
    int64_t gshape[MAX_AXES];
    int total_groups = 0;
    for (int grp = 0; grp < R.ngroups; grp++) {
        bool ell_alone = grp == R.ellipsis_group && !R.ellipsis_in_parens;
        int64_t prod = 1;
        for (int i = 0; i < nr; i++) {
            if (ra[i].group != grp) continue;
            if (ell_alone) { if (total_groups < MAX_AXES) gshape[total_groups++] = full[i]; }
            else prod *= full[i];
        }
        if (!ell_alone && total_groups < MAX_AXES) gshape[total_groups++] = prod;
    }
    if (total_groups > LENS_MAX_DIMS) { lang_raise(I, "ValueError", "%s(): lens tensors have at most %d dims", fn, LENS_MAX_DIMS); goto done; }
    lens_tensor *c = lens_tensor_contiguous(x);
    if (!c) { lang_raise(I, "MemoryError", "out of memory"); goto done; }
    y = lens_tensor_reshape(c, total_groups, gshape, &err);
    lens_tensor_free(c);
    if (!y) { fail(I, &err); goto done; }
    r = v_tensor(y);
    y = NULL;
done:
    lens_tensor_free(t);
    lens_tensor_free(x);
    lens_tensor_free(y);
    return r;
}

static value *b_rearrange(interp *I, value *self, args *a) { (void)self; return einops_apply(I, a, "rearrange", OP_REARRANGE); }
static value *b_reduce(interp *I, value *self, args *a) { (void)self; return einops_apply(I, a, "reduce", OP_REDUCE); }
static value *b_repeat(interp *I, value *self, args *a) { (void)self; return einops_apply(I, a, "repeat", OP_REPEAT); }

const lang_builtin builtins_einops[] = {
    {"einops.rearrange", b_rearrange,
     "Reorders, splits and merges axes by a pattern: rearrange(x, \"(layer head) -> layer head\", layer=12), "
     "\"b p h d -> b p (h d)\", \"... d -> d ...\", \"b 1 d -> b d\". A list of tensors is stacked first.", rearrange_params},
    {"einops.reduce", b_reduce,
     "Like rearrange, reducing the axes missing on the right with 'sum', 'mean', 'max', 'min' or 'prod': "
     "reduce(x, \"b p d -> b d\", \"mean\").", reduce_params},
    {"einops.repeat", b_repeat,
     "Like rearrange, adding new axes of given sizes: repeat(x, \"p d -> b p d\", b=4), \"h w -> h w 3\".", rearrange_params},
    {NULL, NULL, NULL, NULL},
};
