/* kernel/lang/builtins_core.c — Python's everyday builtins (print, len, range,
 * str/int/float/bool/list/tuple/dict, min/max/sum, sorted, enumerate, zip,
 * round, repr, type, isinstance, input, help) and the argument helpers every
 * builtin uses. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "builtins.h"
#include "builtins_analysis.h"
#include "type_object.h"
#include "lang_internal.h"

/* ---- argument helpers -------------------------------------------------------- */

value *lang_arg_get(args *a, int pos, const char *name)
{
    if (pos >= 0 && pos < a->npos) return a->pos[pos];
    if (name)
        for (int i = 0; i < a->nkw; i++) if (!strcmp(a->kwnames[i], name)) return a->kw[i];
    return NULL;
}

int lang_arg_check(interp *I, args *a, const char *fn, int max_pos, const char *const *kwnames)
{
    if (max_pos >= 0 && a->npos > max_pos) {
        lang_raise(I, "TypeError", "%s() takes at most %d positional argument%s (%d given)", fn, max_pos,
                   max_pos == 1 ? "" : "s", a->npos);
        return -1;
    }
    for (int i = 0; i < a->nkw; i++) {
        bool ok = false;
        for (int k = 0; kwnames && kwnames[k]; k++) if (!strcmp(kwnames[k], a->kwnames[i])) { ok = true; break; }
        if (!ok) {
            lang_raise(I, "TypeError", "%s() got an unexpected keyword argument '%s'", fn, a->kwnames[i]);
            return -1;
        }
    }
    return 0;
}

int lang_arg_int(interp *I, value *v, const char *what, int64_t *out)
{
    if (v->type == V_INT) { *out = v->u.i; return 0; }
    if (v->type == V_BOOL) { *out = v->u.b; return 0; }
    if (v->type == V_TENSOR && lens_tensor_numel(v->u.tensor.t) == 1 && v->u.tensor.t->dtype == LENS_I64) {
        lens_error err;
        lens_tensor *c = lens_tensor_host_contiguous(v->u.tensor.t, &err);
        if (!c) { lang_engine_error(I, &err); return -1; }
        *out = lens_tensor_i64(c)[0];
        lens_tensor_free(c);
        return 0;
    }
    lang_raise(I, "TypeError", "%s must be an int, not %s", what, lang_type_name(v));
    return -1;
}

int lang_arg_double(interp *I, value *v, const char *what, double *out)
{
    if (lang_is_number(v)) { *out = lang_num_as_double(v); return 0; }
    if (v->type == V_TENSOR && lens_tensor_numel(v->u.tensor.t) == 1) {
        value *x = lang_tensor_item(I, v->u.tensor.t);
        if (!x) return -1;
        *out = lang_num_as_double(x);
        lang_decref(x);
        return 0;
    }
    lang_raise(I, "TypeError", "%s must be a number, not %s", what, lang_type_name(v));
    return -1;
}

int lang_arg_bool(interp *I, value *v, bool *out)
{
    int t = lang_truthy(I, v);
    if (t < 0) return -1;
    *out = t;
    return 0;
}

const char *lang_arg_str(interp *I, value *v, const char *what)
{
    if (v->type == V_STR) return v->u.str.s;
    lang_raise(I, "TypeError", "%s must be a str, not %s", what, lang_type_name(v));
    return NULL;
}

/* ---- output ---------------------------------------------------------------- */

static void emit(interp *I, const char *stream, const char *text)
{
    if (I->out && I->out->stream) I->out->stream(I->out->ctx, stream, text);
}

static const lang_param b_print_params[] = {
    {"values", LANG_VARARGS}, {"sep", LANG_KEYWORD, "' '"}, {"end", LANG_KEYWORD, "'\\n'"},
    {"file", LANG_KEYWORD, "None"}, {"flush", LANG_KEYWORD, "False"}, {NULL}};

static value *b_print(interp *I, value *self, args *a)
{
    (void)self;
    const char *sep = " ", *end = "\n";
    value *v;
    if ((v = lang_arg(a, "sep")) && v->type != V_NONE && !(sep = lang_arg_str(I, v, "sep"))) return NULL;
    if ((v = lang_arg(a, "end")) && v->type != V_NONE && !(end = lang_arg_str(I, v, "end"))) return NULL;
    const char *stream = "stdout";
    if ((v = lang_arg(a, "file")) && v->type == V_STR && !strcmp(v->u.str.s, "stderr")) stream = "stderr";
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    int nvalues;
    value **values = lang_arg_rest(a, &nvalues);
    for (int i = 0; i <= nvalues; i++) {
        char *piece;
        if (i == nvalues) piece = strdup(end);
        else {
            piece = lang_str_of(values[i]);
            if (piece && i < nvalues - 1) {
                char *j;
                if (asprintf(&j, "%s%s", piece, sep) < 0) j = NULL;
                free(piece);
                piece = j;
            }
        }
        if (!piece) { free(buf); return NULL; }
        size_t pl = strlen(piece);
        if (len + pl + 1 > cap) {
            while (len + pl + 1 > cap) cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) { free(piece); free(buf); return NULL; }
            buf = nb;
        }
        memcpy(buf + len, piece, pl);
        len += pl;
        free(piece);
    }
    buf[len] = 0;
    emit(I, stream, buf);
    free(buf);
    return v_none();
}

static const lang_param b_input_params[] = {
    {"prompt", LANG_OPTIONAL, "''"}, {"password", LANG_KEYWORD, "False"}, {NULL}};

static value *b_input(interp *I, value *self, args *a)
{
    (void)self;
    const char *prompt = "";
    value *v = lang_arg(a, "prompt");
    char *ps = NULL;
    if (v) { ps = lang_str_of(v); prompt = ps ? ps : ""; }
    bool password = false;
    if ((v = lang_arg(a, "password")) && lang_arg_bool(I, v, &password)) { free(ps); return NULL; }
    if (!I->out || !I->out->input) {
        free(ps);
        return lang_raise(I, "RuntimeError", "input() is not available here (the frontend does not allow stdin)");
    }
    char *line = I->out->input(I->out->ctx, prompt, password);
    free(ps);
    /* an interrupt while waiting for the reply ends the wait: KeyboardInterrupt */
    if (lang_check_interrupt(I)) { free(line); return NULL; }
    if (!line) return lang_raise(I, "RuntimeError", "input() is not available here (the frontend does not allow stdin)");
    return v_str_take(line, strlen(line));
}

/* ---- conversions ------------------------------------------------------------- */

static value *need_args(interp *I, args *a, const char *fn, int lo, int hi)
{
    if (a->npos < lo || a->npos > hi) {
        if (lo == hi) lang_raise(I, "TypeError", "%s() takes %d argument%s (%d given)", fn, lo, lo == 1 ? "" : "s", a->npos);
        else lang_raise(I, "TypeError", "%s() takes from %d to %d arguments (%d given)", fn, lo, hi, a->npos);
        return NULL;
    }
    return V_NONE_VAL;
}

static const lang_param b_len_params[] = {{"obj", LANG_POSONLY}, {NULL}};

static value *b_len(interp *I, value *self, args *a)
{
    (void)self;
    int64_t n = lang_length_of(I, lang_arg(a, "obj"));
    return n < 0 ? NULL : v_int(n);
}

static value *b_range(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "range", 3, NULL) || !need_args(I, a, "range", 1, 3)) return NULL;
    int64_t v[3] = {0, 0, 1};
    for (int i = 0; i < a->npos; i++) if (lang_arg_int(I, a->pos[i], "range() argument", &v[i])) return NULL;
    if (a->npos == 1) { v[1] = v[0]; v[0] = 0; }
    if (v[2] == 0) return lang_raise(I, "ValueError", "range() arg 3 must not be zero");
    return v_range(v[0], v[1], v[2]);
}

static value *b_str(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "str", 1, NULL)) return NULL;
    if (a->npos == 0) return v_str("");
    char *s = lang_str_of(a->pos[0]);
    return s ? v_str_take(s, strlen(s)) : NULL;
}

static value *b_repr(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "repr", 1, NULL) || !need_args(I, a, "repr", 1, 1)) return NULL;
    char *s = lang_repr_of(a->pos[0]);
    return s ? v_str_take(s, strlen(s)) : NULL;
}

/* A float's integer part; ValueError / OverflowError when it has none in 64 bits. */
static value *int_of_double(interp *I, double d)
{
    if (isnan(d)) return lang_raise(I, "ValueError", "cannot convert float NaN to integer");
    if (isinf(d)) return lang_raise(I, "OverflowError", "cannot convert float infinity to integer");
    if (!(fabs(d) < 9223372036854775808.0)) return lang_raise(I, "OverflowError", "float too large for a 64-bit int");
    return v_int((int64_t)d);
}

static value *parse_int_text(interp *I, const char *s, size_t len, int base)
{
    /* base: 0 or 2..36, checked by the caller (strtoll's contract) */
    const char *text = s;
    while (isspace((unsigned char)*s)) s++;
    char buf[128];
    size_t n = 0;
    for (const char *p = s; p < text + len; p++) {
        if (*p == '_') continue;
        if (n == sizeof buf - 1) return lang_raise(I, "ValueError", "invalid literal for int() with base %d: '%.100s...'", base, text);
        buf[n++] = *p;
    }
    buf[n] = 0;
    while (n && isspace((unsigned char)buf[n - 1])) buf[--n] = 0;
    /* Python's 0b / 0o / 0x prefixes (strtoll knows only 0x, and 0 as octal) */
    int given_base = base;
    const char *digits = buf;
    bool neg = false;
    if (*digits == '+' || *digits == '-') neg = *digits++ == '-';
    int pbase = 0;
    if (digits[0] == '0' && digits[1]) {
        char p = (char)tolower((unsigned char)digits[1]);
        pbase = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 0;
    }
    if (pbase && (base == 0 || base == pbase)) { digits += 2; base = pbase; }
    else if (base == 0) {
        base = 10;
        if (digits[0] == '0' && digits[strspn(digits, "0")]) return lang_raise(I, "ValueError", "invalid literal for int() with base 0: '%.200s'", text);
    }
    char *end = (char *)digits;
    errno = 0;
    /* digits only: strtoull would take a second sign or more whitespace */
    unsigned long long mag = isalnum((unsigned char)digits[0]) ? strtoull(digits, &end, base) : 0;
    if (!isalnum((unsigned char)digits[0]) || *end || strlen(buf) != n)
        return lang_raise(I, "ValueError", "invalid literal for int() with base %d: '%.200s'", given_base, text);
    if (errno == ERANGE || mag > (neg ? (unsigned long long)INT64_MAX + 1 : (unsigned long long)INT64_MAX))
        return lang_raise(I, "OverflowError", "int() result does not fit in 64 bits: '%.200s'", text);
    return v_int(neg ? (int64_t)(0 - mag) : (int64_t)mag);
}

static const lang_param b_int_params[] = {
    {"x", LANG_OPTIONAL, "0"}, {"base", LANG_OPTIONAL, "10"}, {NULL}};

static value *b_int(interp *I, value *self, args *a)
{
    (void)self;
    value *x = lang_arg(a, "x");
    if (!x) return v_int(0);
    value *bv = lang_arg(a, "base");
    int64_t base = 10;
    if (bv && lang_arg_int(I, bv, "base", &base)) return NULL;
    if (base != 0 && (base < 2 || base > 36)) return lang_raise(I, "ValueError", "int() base must be >= 2 and <= 36, or 0");
    if (bv && x->type != V_STR) return lang_raise(I, "TypeError", "int() can't convert non-string with explicit base");
    switch (x->type) {
    case V_INT: case V_BOOL: return v_int(x->type == V_INT ? x->u.i : x->u.b);
    case V_FLOAT: return int_of_double(I, x->u.f);
    case V_STR: return parse_int_text(I, x->u.str.s, x->u.str.len, (int)base);
    case V_TENSOR: {
        if (lens_tensor_numel(x->u.tensor.t) != 1) return lang_raise(I, "ValueError", "only one element tensors can be converted to Python scalars");
        value *it = lang_tensor_item(I, x->u.tensor.t);
        if (!it) return NULL;
        value *r = it->type == V_FLOAT ? int_of_double(I, it->u.f) : it->type == V_BOOL ? v_int(it->u.b) : lang_incref(it);
        lang_decref(it);
        return r;
    }
    default: break;
    }
    return lang_raise(I, "TypeError", "int() argument must be a string or a number, not '%s'", lang_type_name(x));
}

static value *b_float(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "float", 1, NULL)) return NULL;
    if (a->npos == 0) return v_float(0);
    value *x = a->pos[0];
    if (lang_is_number(x)) return v_float(lang_num_as_double(x));
    if (x->type == V_STR) {
        const char *s = x->u.str.s;
        while (isspace((unsigned char)*s)) s++;
        char *end;
        double d = strtod(s, &end);
        while (isspace((unsigned char)*end)) end++;
        if (end == s || *end) return lang_raise(I, "ValueError", "could not convert string to float: '%s'", x->u.str.s);
        return v_float(d);
    }
    if (x->type == V_TENSOR) {
        double d;
        if (lens_tensor_numel(x->u.tensor.t) != 1) return lang_raise(I, "ValueError", "only one element tensors can be converted to Python scalars");
        if (lang_arg_double(I, x, "float()", &d)) return NULL;
        return v_float(d);
    }
    return lang_raise(I, "TypeError", "float() argument must be a string or a number, not '%s'", lang_type_name(x));
}

static value *b_bool(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "bool", 1, NULL)) return NULL;
    if (a->npos == 0) return v_bool(false);
    int t = lang_truthy(I, a->pos[0]);
    return t < 0 ? NULL : v_bool(t);
}

static value *b_list(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "list", 1, NULL)) return NULL;
    if (a->npos == 0) return v_list(0);
    return lang_to_list(I, a->pos[0]);
}

static value *b_tuple(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "tuple", 1, NULL)) return NULL;
    if (a->npos == 0) return v_tuple(0);
    value *l = lang_to_list(I, a->pos[0]);
    if (l) l->type = V_TUPLE;
    return l;
}

static value *b_dict(interp *I, value *self, args *a)
{
    (void)self;
    if (a->npos > 1) return lang_raise(I, "TypeError", "dict expected at most 1 argument, got %d", a->npos);
    value *d = v_dict();
    if (!d) return NULL;
    if (a->npos == 1) {
        value *src = a->pos[0];
        if (src->type == V_DICT) {
            size_t i = 0;
            value *k, *v;
            while (lang_dict_next(src->u.d, &i, &k, &v)) lang_dict_set(I, d->u.d, k, v);
        } else {
            value *items = lang_to_list(I, src);
            if (!items) { lang_decref(d); return NULL; }
            for (size_t i = 0; i < items->u.list.n; i++) {
                value *p = items->u.list.items[i];
                if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { lang_decref(items); lang_decref(d); return NULL; }
                if ((p->type != V_TUPLE && p->type != V_LIST) || p->u.list.n != 2) {
                    lang_decref(items); lang_decref(d);
                    return lang_raise(I, "ValueError", "dictionary update sequence element #%zu has the wrong length", i);
                }
                if (lang_dict_set(I, d->u.d, p->u.list.items[0], p->u.list.items[1])) { lang_decref(items); lang_decref(d); return NULL; }
            }
            lang_decref(items);
        }
    }
    for (int i = 0; i < a->nkw; i++) lang_dict_set_str(d->u.d, a->kwnames[i], lang_incref(a->kw[i]));
    return d;
}

static value *b_abs(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "abs", 1, NULL) || !need_args(I, a, "abs", 1, 1)) return NULL;
    value *x = a->pos[0];
    if (x->type == V_FLOAT) return v_float(fabs(x->u.f));
    if (x->type == V_INT || x->type == V_BOOL) {
        int64_t i = x->type == V_INT ? x->u.i : x->u.b;
        if (i == INT64_MIN) return lang_raise(I, "OverflowError", "integer result too large");
        return v_int(i < 0 ? -i : i);
    }
    if (x->type == V_TENSOR) return lang_tensor_getattr(I, x, "__abs__");
    return lang_raise(I, "TypeError", "bad operand type for abs(): '%s'", lang_type_name(x));
}

/* min/max: one iterable or several arguments; key= and default= */
static value *minmax(interp *I, args *a, const char *fn, int cmp)
{
    static const char *const kw[] = {"key", "default", NULL};
    if (lang_arg_check(I, a, fn, -1, kw)) return NULL;
    value *key = lang_arg_get(a, -1, "key"), *dflt = lang_arg_get(a, -1, "default");
    if (a->npos == 0) return lang_raise(I, "TypeError", "%s expected at least 1 argument, got 0", fn);
    value *items;
    if (a->npos == 1) {
        if (a->pos[0]->type == V_TENSOR) return lang_tensor_getattr(I, a->pos[0], cmp == CMP_LT ? "__min__" : "__max__");
        items = lang_to_list(I, a->pos[0]);
    } else {
        items = v_list((size_t)a->npos);
        if (items) for (int i = 0; i < a->npos; i++) items->u.list.items[items->u.list.n++] = lang_incref(a->pos[i]);
    }
    if (!items) return NULL;
    if (items->u.list.n == 0) {
        lang_decref(items);
        if (dflt) return lang_incref(dflt);
        return lang_raise(I, "ValueError", "%s() arg is an empty sequence", fn);
    }
    value *best = NULL, *bestk = NULL;
    for (size_t i = 0; i < items->u.list.n; i++) {
        value *x = items->u.list.items[i], *k;
        if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { lang_decref(bestk); lang_decref(items); return NULL; }
        if (key && key->type != V_NONE) {
            args ka = {&x, 1, NULL, NULL, 0};
            k = lang_call_value(I, key, &ka);
            if (!k) { lang_decref(bestk); lang_decref(items); return NULL; }
        } else k = lang_incref(x);
        if (!best) { best = x; bestk = k; continue; }
        int c = lang_values_compare(I, k, bestk, cmp);
        if (c < 0) { lang_decref(k); lang_decref(bestk); lang_decref(items); return NULL; }
        if (c) { lang_decref(bestk); bestk = k; best = x; }
        else lang_decref(k);
    }
    value *r = lang_incref(best);
    lang_decref(bestk);
    lang_decref(items);
    return r;
}

static value *b_min(interp *I, value *self, args *a) { (void)self; return minmax(I, a, "min", CMP_LT); }
static value *b_max(interp *I, value *self, args *a) { (void)self; return minmax(I, a, "max", CMP_GT); }

static value *b_sum(interp *I, value *self, args *a)
{
    (void)self;
    static const char *const kw[] = {"iterable", "start", NULL};
    if (lang_arg_check(I, a, "sum", 2, kw) || !lang_arg_get(a, 0, "iterable"))
        return I->error ? NULL : lang_raise(I, "TypeError", "sum() takes at least 1 positional argument (0 given)");
    value *it = lang_arg_get(a, 0, "iterable");
    if (it->type == V_TENSOR && !lang_arg_get(a, 1, "start")) return lang_tensor_getattr(I, it, "__sum__");
    value *items = lang_to_list(I, it);
    if (!items) return NULL;
    value *acc = lang_arg_get(a, 1, "start");
    acc = acc ? lang_incref(acc) : v_int(0);
    if (acc->type == V_STR) { lang_decref(items); lang_decref(acc); return lang_raise(I, "TypeError", "sum() can't sum strings [use ''.join(seq) instead]"); }
    for (size_t i = 0; i < items->u.list.n && acc; i++) {
        if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { lang_decref(acc); acc = NULL; break; }
        value *r = lang_binary_op(I, OP_ADD, acc, items->u.list.items[i]);
        lang_decref(acc);
        acc = r;
    }
    lang_decref(items);
    return acc;
}

/* merge sort with a comparison that may fail */
static int sort_values(interp *I, value **v, value **keys, size_t n, bool reverse)
{
    if (n < 2) return 0;
    value **tmp = malloc(n * sizeof *tmp), **tk = malloc(n * sizeof *tk);
    if (!tmp || !tk) { free(tmp); free(tk); lang_raise(I, "MemoryError", "out of memory"); return -1; }
    int rc = 0;
    for (size_t w = 1; w < n && rc == 0; w *= 2) {
        for (size_t lo = 0; lo < n && rc == 0; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            if (lang_check_interrupt(I)) { rc = -1; break; }
            while (i < mid && j < hi) {
                /* stable: take from the right only when strictly before */
                int c = lang_values_compare(I, keys[j], keys[i], reverse ? CMP_GT : CMP_LT);
                if (c < 0) { rc = -1; break; }
                if (c) { tmp[k] = v[j]; tk[k++] = keys[j++]; }
                else { tmp[k] = v[i]; tk[k++] = keys[i++]; }
            }
            if (rc) break;
            while (i < mid) { tmp[k] = v[i]; tk[k++] = keys[i++]; }
            while (j < hi) { tmp[k] = v[j]; tk[k++] = keys[j++]; }
            memcpy(v + lo, tmp + lo, (hi - lo) * sizeof *v);
            memcpy(keys + lo, tk + lo, (hi - lo) * sizeof *v);
        }
    }
    free(tmp);
    free(tk);
    return rc;
}

int lang_list_sort_inplace(interp *I, value *list, value *key, bool reverse)
{
    /* As in Python, the list is empty while it is sorted: a key function that
     * changes it cannot pull items from under the sort, and the change is
     * reported afterwards. */
    value **items = list->u.list.items;
    size_t n = list->u.list.n, cap = list->u.list.cap;
    list->u.list.items = NULL;
    list->u.list.n = list->u.list.cap = 0;
    value **keys = malloc((n ? n : 1) * sizeof *keys);
    int rc = 0;
    size_t nkeys = 0;
    if (!keys) { lang_raise(I, "MemoryError", "out of memory"); rc = -1; }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (key && key->type != V_NONE) {
            if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { rc = -1; break; }
            args ka = {&items[i], 1, NULL, NULL, 0};
            keys[i] = lang_call_value(I, key, &ka);
            if (!keys[i]) { rc = -1; break; }
        } else keys[i] = lang_incref(items[i]);
        nkeys++;
    }
    if (rc == 0) rc = sort_values(I, items, keys, n, reverse);
    for (size_t i = 0; i < nkeys; i++) lang_decref(keys[i]);
    free(keys);
    /* what the key function put in meanwhile is dropped */
    value **added = list->u.list.items;
    size_t nadded = list->u.list.n;
    list->u.list.items = items;
    list->u.list.n = n;
    list->u.list.cap = cap;
    bool modified = added != NULL;
    for (size_t i = 0; i < nadded; i++) lang_decref(added[i]);
    free(added);
    if (modified && rc == 0) { lang_raise(I, "ValueError", "list modified during sort"); rc = -1; }
    return rc;
}

static value *b_sorted(interp *I, value *self, args *a)
{
    (void)self;
    static const char *const kw[] = {"key", "reverse", NULL};
    if (lang_arg_check(I, a, "sorted", 1, kw) || !need_args(I, a, "sorted", 1, 1)) return NULL;
    value *l = lang_to_list(I, a->pos[0]);
    if (!l) return NULL;
    bool rev = false;
    value *r = lang_arg_get(a, -1, "reverse");
    if (r && lang_arg_bool(I, r, &rev)) { lang_decref(l); return NULL; }
    if (lang_list_sort_inplace(I, l, lang_arg_get(a, -1, "key"), rev)) { lang_decref(l); return NULL; }
    return l;
}

static value *b_reversed(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "reversed", 1, NULL) || !need_args(I, a, "reversed", 1, 1)) return NULL;
    value *l = lang_to_list(I, a->pos[0]);
    if (!l) return NULL;
    for (size_t i = 0, j = l->u.list.n; i + 1 < j; i++, j--) {
        value *t = l->u.list.items[i];
        l->u.list.items[i] = l->u.list.items[j - 1];
        l->u.list.items[j - 1] = t;
    }
    return l;
}

static const lang_param b_enumerate_params[] = {
    {"iterable", LANG_REQUIRED}, {"start", LANG_OPTIONAL, "0"}, {NULL}};

static value *b_enumerate(interp *I, value *self, args *a)
{
    (void)self;
    value *it = lang_arg(a, "iterable");
    if (!it) return lang_raise(I, "TypeError", "enumerate() missing required argument 'iterable'");
    int64_t start = 0;
    value *s = lang_arg(a, "start");
    if (s && lang_arg_int(I, s, "start", &start)) return NULL;
    value *items = lang_to_list(I, it);
    if (!items) return NULL;
    value *r = v_list(items->u.list.n);
    if (!r) { lang_decref(items); return NULL; }
    for (size_t i = 0; i < items->u.list.n; i++) {
        int64_t index;
        if (__builtin_add_overflow(start, (int64_t)i, &index)) {
            lang_decref(items); lang_decref(r);
            return lang_raise(I, "OverflowError", "enumerate() index does not fit in 64 bits");
        }
        value *pair = (i & 0xfff) == 0xfff && lang_check_interrupt(I) ? NULL : v_tuple_of(2, v_int(index), lang_incref(items->u.list.items[i]));
        if (!pair) { lang_decref(items); lang_decref(r); return I->error ? NULL : lang_raise(I, "MemoryError", "out of memory"); }
        r->u.list.items[r->u.list.n++] = pair;
    }
    lang_decref(items);
    return r;
}

static const lang_param b_zip_params[] = {
    {"iterables", LANG_VARARGS}, {"strict", LANG_KEYWORD, "False"}, {NULL}};

static value *b_zip(interp *I, value *self, args *a)
{
    (void)self;
    value **lists = calloc((size_t)a->npos + 1, sizeof *lists);
    if (!lists) return NULL;
    size_t n = SIZE_MAX;
    value *r = NULL;
    for (int i = 0; i < a->npos; i++) {
        lists[i] = lang_to_list(I, a->pos[i]);
        if (!lists[i]) goto done;
        if (lists[i]->u.list.n < n) n = lists[i]->u.list.n;
    }
    if (a->npos == 0) n = 0;
    r = v_list(n);
    if (!r) goto done;
    for (size_t k = 0; k < n; k++) {
        value *t = (k & 0xfff) == 0xfff && lang_check_interrupt(I) ? NULL : v_tuple((size_t)a->npos);
        if (!t) { lang_decref(r); r = NULL; goto done; }
        for (int i = 0; i < a->npos; i++) lang_tuple_set(t, (size_t)i, lang_incref(lists[i]->u.list.items[k]));
        r->u.list.items[r->u.list.n++] = t;
    }
done:
    for (int i = 0; i < a->npos; i++) lang_decref(lists[i]);
    free(lists);
    return r;
}

static const lang_param b_round_params[] = {
    {"number", LANG_REQUIRED}, {"ndigits", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_round(interp *I, value *self, args *a)
{
    (void)self;
    value *x = lang_arg(a, "number"), *nd = lang_arg(a, "ndigits");
    if (!x) return lang_raise(I, "TypeError", "round() missing required argument 'number'");
    if (x->type == V_TENSOR) return lang_tensor_getattr(I, x, "__round__");
    double d;
    if (lang_arg_double(I, x, "round() argument", &d)) return NULL;
    if (!nd || nd->type == V_NONE) {
        if (x->type != V_FLOAT && x->type != V_TENSOR) return v_int(x->type == V_INT ? x->u.i : x->u.b);
        return int_of_double(I, nearbyint(d));  /* banker's rounding, like Python */
    }
    int64_t n;
    if (lang_arg_int(I, nd, "ndigits", &n)) return NULL;
    if (x->type == V_INT || x->type == V_BOOL) {
        /* to a multiple of 10**-n, half to even */
        int64_t i = x->type == V_INT ? x->u.i : x->u.b;
        if (n >= 0) return v_int(i);
        if (n < -18) return v_int(0);   /* |i| < 10**19 / 2 */
        int64_t p = 1;
        for (int64_t k = 0; k < -n; k++) p *= 10;
        int64_t q = i / p, r = i % p;
        if (r < 0) { q--; r += p; }
        if (r > p - r || (r == p - r && (q & 1))) q++;
        int64_t out;
        if (__builtin_mul_overflow(q, p, &out)) return lang_raise(I, "OverflowError", "integer result too large (lens integers are 64-bit; use a float)");
        return v_int(out);
    }
    if (x->type != V_FLOAT) return lang_incref(x);
    if (!isfinite(d)) return v_float(d);
    /* beyond 17 significant digits a double has nothing left to round; below
     * 10**-308 of magnitude nothing survives */
    if (n > 330) return v_float(d);
    if (n < -330) return v_float(copysign(0.0, d));
    if (n < 0) {
        double p = pow(10.0, (double)-n);
        double r = nearbyint(d / p) * p;
        return v_float(isfinite(r) ? r : d);
    }
    /* round through the decimal text, as Python does (correctly rounded);
     * %.330f of 1.8e308 is at most 309 + 1 + 330 characters */
    char buf[700];
    snprintf(buf, sizeof buf, "%.*f", (int)n, d);
    return v_float(strtod(buf, NULL));
}

static value *b_type(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "type", 1, NULL) || !need_args(I, a, "type", 1, 1)) return NULL;
    return lang_class_of(a->pos[0]);
}

static value *b_isinstance(interp *I, value *self, args *a)
{
    (void)self;
    if (lang_arg_check(I, a, "isinstance", 2, NULL) || !need_args(I, a, "isinstance", 2, 2)) return NULL;
    int r = lang_is_instance(I, a->pos[0], a->pos[1]);
    return r < 0 ? NULL : v_bool(r);
}

static value *b_anyall(interp *I, args *a, bool any)
{
    if (!need_args(I, a, any ? "any" : "all", 1, 1)) return NULL;
    value *items = lang_to_list(I, a->pos[0]);
    if (!items) return NULL;
    bool r = !any;
    for (size_t i = 0; i < items->u.list.n; i++) {
        int t = (i & 0xfff) == 0xfff && lang_check_interrupt(I) ? -1 : lang_truthy(I, items->u.list.items[i]);
        if (t < 0) { lang_decref(items); return NULL; }
        if (any && t) { r = true; break; }
        if (!any && !t) { r = false; break; }
    }
    lang_decref(items);
    return v_bool(r);
}
static value *b_any(interp *I, value *self, args *a) { (void)self; return b_anyall(I, a, true); }
static value *b_all(interp *I, value *self, args *a) { (void)self; return b_anyall(I, a, false); }

static value *b_map(interp *I, value *self, args *a)
{
    (void)self;
    if (a->npos != 2) return lang_raise(I, "TypeError", "map() takes a function and one iterable");
    value *items = lang_to_list(I, a->pos[1]);
    if (!items) return NULL;
    value *r = v_list(items->u.list.n);
    for (size_t i = 0; r && i < items->u.list.n; i++) {
        args ka = {&items->u.list.items[i], 1, NULL, NULL, 0};
        value *x = lang_call_value(I, a->pos[0], &ka);
        if (!x) { lang_decref(r); r = NULL; break; }
        r->u.list.items[r->u.list.n++] = x;
    }
    lang_decref(items);
    return r;
}

static value *b_filter(interp *I, value *self, args *a)
{
    (void)self;
    if (a->npos != 2) return lang_raise(I, "TypeError", "filter() takes a function (or None) and one iterable");
    value *items = lang_to_list(I, a->pos[1]);
    if (!items) return NULL;
    value *r = v_list(0);
    for (size_t i = 0; r && i < items->u.list.n; i++) {
        value *x = items->u.list.items[i];
        int t;
        if (a->pos[0]->type == V_NONE) t = lang_truthy(I, x);
        else {
            args ka = {&x, 1, NULL, NULL, 0};
            value *c = lang_call_value(I, a->pos[0], &ka);
            t = c ? lang_truthy(I, c) : -1;
            lang_decref(c);
        }
        if (t < 0) { lang_decref(r); r = NULL; break; }
        if (t) lang_list_append(r, lang_incref(x));
    }
    lang_decref(items);
    return r;
}

static value *b_help(interp *I, value *self, args *a)
{
    (void)self;
    if (a->npos > 1) return lang_raise(I, "TypeError", "help() takes at most 1 argument");
    char *text = lang_help_text(I, a->npos ? a->pos[0] : NULL);
    if (!text) return NULL;
    if (I->out && I->out->page) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "text/plain", text);
        I->out->page(I->out->ctx, b);
        cJSON_Delete(b);
    } else if (I->out && I->out->stream) {
        I->out->stream(I->out->ctx, "stdout", text);
        I->out->stream(I->out->ctx, "stdout", "\n");
    }
    free(text);
    return v_none();
}

static value *b_dir(interp *I, value *self, args *a)
{
    (void)self;
    value *r = v_list(0);
    if (!r) return NULL;
    if (a->npos == 0) {
        size_t i = 0;
        value *k;
        while (lang_dict_next(I->globals, &i, &k, NULL)) lang_list_append(r, lang_incref(k));
        return r;
    }
    char **names = NULL;
    int n = lang_attr_names(I, a->pos[0], &names);
    for (int i = 0; i < n; i++) { lang_list_append(r, v_str(names[i])); free(names[i]); }
    free(names);
    return r;
}

static value *b_hasattr(interp *I, value *self, args *a)
{
    (void)self;
    if (!need_args(I, a, "hasattr", 2, 2)) return NULL;
    const char *name = lang_arg_str(I, a->pos[1], "attribute name");
    if (!name) return NULL;
    value *v = lang_get_attr(I, a->pos[0], name);
    if (!v) { lang_clear_error(I); return v_bool(false); }
    lang_decref(v);
    return v_bool(true);
}

static value *b_getattr(interp *I, value *self, args *a)
{
    (void)self;
    if (!need_args(I, a, "getattr", 2, 3)) return NULL;
    const char *name = lang_arg_str(I, a->pos[1], "attribute name");
    if (!name) return NULL;
    value *v = lang_get_attr(I, a->pos[0], name);
    if (!v && a->npos == 3) { lang_clear_error(I); return lang_incref(a->pos[2]); }
    return v;
}

static value *b_chr(interp *I, value *self, args *a)
{
    (void)self;
    int64_t c;
    if (!need_args(I, a, "chr", 1, 1) || lang_arg_int(I, a->pos[0], "chr() argument", &c)) return NULL;
    if (c < 0 || c > 0x10FFFF) return lang_raise(I, "ValueError", "chr() arg not in range(0x110000)");
    if (c >= 0xD800 && c <= 0xDFFF) return lang_raise(I, "ValueError", "chr() arg is a surrogate (lens strings are UTF-8)");
    value *ci = v_int(c);
    char *s = lang_format_value(I, ci, "c");
    lang_decref(ci);
    return s ? v_str_take(s, strlen(s)) : NULL;
}

static value *b_ord(interp *I, value *self, args *a)
{
    (void)self;
    if (!need_args(I, a, "ord", 1, 1)) return NULL;
    value *s = a->pos[0];
    if (s->type != V_STR) return lang_raise(I, "TypeError", "ord() expected string of length 1, but %s found", lang_type_name(s));
    int64_t n = lang_length_of(I, s);
    if (n != 1) return lang_raise(I, "TypeError", "ord() expected a character, but string of length %lld found", (long long)n);
    /* decode only the bytes the string has: a lone lead byte is its own value */
    const unsigned char *p = (const unsigned char *)s->u.str.s;
    size_t len = s->u.str.len;
    int64_t cp = p[0];
    if (cp >= 0xF0 && len >= 4) cp = ((p[0] & 7) << 18) | ((p[1] & 63) << 12) | ((p[2] & 63) << 6) | (p[3] & 63);
    else if (cp >= 0xE0 && cp < 0xF0 && len >= 3) cp = ((p[0] & 15) << 12) | ((p[1] & 63) << 6) | (p[2] & 63);
    else if (cp >= 0xC0 && cp < 0xE0 && len >= 2) cp = ((p[0] & 31) << 6) | (p[1] & 63);
    return v_int(cp);
}

static value *b_divmod(interp *I, value *self, args *a)
{
    (void)self;
    if (!need_args(I, a, "divmod", 2, 2)) return NULL;
    value *q = lang_binary_op(I, OP_FLOORDIV, a->pos[0], a->pos[1]);
    if (!q) return NULL;
    value *m = lang_binary_op(I, OP_MOD, a->pos[0], a->pos[1]);
    if (!m) { lang_decref(q); return NULL; }
    return v_tuple_of(2, q, m);
}

static value *b_pow(interp *I, value *self, args *a)
{
    (void)self;
    if (!need_args(I, a, "pow", 2, 2)) return NULL;
    return lang_binary_op(I, OP_POW, a->pos[0], a->pos[1]);
}

const lang_builtin builtins_core[] = {
    {"print", b_print, NULL, "Writes the values, converted with str and separated by sep, followed by end, to the cell's output.", b_print_params},
    {"input", b_input, NULL, "Asks the user for a line of text (through the notebook frontend) and returns it without the newline.", b_input_params},
    {"len", b_len, NULL, "Number of items of a str, list, tuple, dict, range, cache, or the first dimension of a tensor.", b_len_params},
    {"range", b_range, "range(stop) / range(start, stop, step=1)", "The integers from start (0) up to but not including stop, by step."},
    {"str", b_str, "str(obj='')", "The text of a value (what print shows)."},
    {"repr", b_repr, "repr(obj)", "The printable representation of a value (what a cell shows)."},
    {"int", b_int, NULL, "An integer from a number (truncated), a one-element tensor or a string.", b_int_params},
    {"float", b_float, "float(x=0.0)", "A float from a number, a one-element tensor or a string."},
    {"bool", b_bool, "bool(x=False)", "True or False: the truth value of x."},
    {"list", b_list, "list(iterable=())", "A new list of the items of an iterable (a tensor gives its rows)."},
    {"tuple", b_tuple, "tuple(iterable=())", "A new tuple of the items of an iterable."},
    {"dict", b_dict, "dict(mapping_or_pairs=None, **kwargs)", "A new dict from a dict, a list of (key, value) pairs and keyword arguments."},
    {"abs", b_abs, "abs(x)", "Absolute value of a number, or elementwise of a tensor."},
    {"min", b_min, "min(iterable, key=None, default=...) / min(a, b, ...)", "The smallest item (of a tensor: the smallest element)."},
    {"max", b_max, "max(iterable, key=None, default=...) / max(a, b, ...)", "The largest item (of a tensor: the largest element)."},
    {"sum", b_sum, "sum(iterable, start=0)", "The sum of the items plus start (of a tensor: the sum of all elements)."},
    {"sorted", b_sorted, "sorted(iterable, key=None, reverse=False)", "A new sorted list (stable)."},
    {"reversed", b_reversed, "reversed(seq)", "A list of the items in reverse order."},
    {"enumerate", b_enumerate, NULL, "A list of (index, item) pairs.", b_enumerate_params},
    {"zip", b_zip, NULL, "A list of tuples, the i-th holding the i-th item of each iterable; as long as the shortest.", b_zip_params},
    {"round", b_round, NULL, "number rounded to ndigits decimals (half to even); an int when ndigits is omitted.", b_round_params},
    {"type", b_type, "type(obj)", "The class of obj: printed <class 'int'>, type(obj).__name__ its name as Python gives it ('int', 'list', 'Tensor', 'function', 'HookedTransformer', ...)."},
    {"isinstance", b_isinstance, "isinstance(obj, type_or_tuple)", "Whether obj is of the given class or of one in a tuple of them: int, float, str, list, tuple, dict, bool, torch.Tensor, HookedTransformer, ActivationCache, type(other), ..."},
    {"any", b_any, "any(iterable)", "True when some item is true."},
    {"all", b_all, "all(iterable)", "True when every item is true."},
    {"map", b_map, "map(function, iterable)", "A list of function(item) for each item."},
    {"filter", b_filter, "filter(function, iterable)", "A list of the items for which function(item) is true (None: the true items)."},
    {"help", b_help, "help(obj=None)", "Shows the signature and documentation of a builtin, a method or a value; help() lists everything."},
    {"dir", b_dir, "dir(obj=None)", "The attribute names of obj, or the names defined in the notebook."},
    {"hasattr", b_hasattr, "hasattr(obj, name)", "Whether obj has the attribute name."},
    {"getattr", b_getattr, "getattr(obj, name, default=...)", "The attribute name of obj (default when absent, if given)."},
    {"chr", b_chr, "chr(i)", "The one-character string of Unicode code point i."},
    {"ord", b_ord, "ord(c)", "The Unicode code point of a one-character string."},
    {"divmod", b_divmod, "divmod(a, b)", "(a // b, a % b)."},
    {"pow", b_pow, "pow(base, exp)", "base ** exp."},
    {NULL, NULL, NULL, NULL},
};
