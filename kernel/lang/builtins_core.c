/* kernel/lang/builtins_core.c — Python's everyday builtins (print, len, range,
 * str/int/float/bool/list/tuple/dict, min/max/sum, sorted, enumerate, zip,
 * round, repr, type, isinstance, input, help) and the argument helpers every
 * builtin uses.
 *
 * Owns: these builtins and their argument specs (Python's signatures, as
 * help(len) spells them), converting argument values (lang_arg_int, ...).
 * Does not own: checking a call against a spec (params.c), the methods of
 * str/list/dict (methods.c). */
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

static const lang_param b_len_params[] = {{"obj", LANG_POSONLY}, {NULL}};

static value *b_len(interp *I, value *self, args *a)
{
    (void)self;
    int64_t n = lang_length_of(I, lang_arg(a, "obj"));
    return n < 0 ? NULL : v_int(n);
}

/* range(stop) or range(start, stop, step=1): with one argument it is the stop */
static const lang_param b_range_params[] = {
    {"start", LANG_POSONLY}, {"stop", LANG_POSONLY, "..."}, {"step", LANG_POSONLY, "1"}, {NULL}};

static value *b_range(interp *I, value *self, args *a)
{
    (void)self;
    value *startv = lang_arg(a, "start"), *stopv = lang_arg(a, "stop"), *stepv = lang_arg(a, "step");
    if (!stopv) { stopv = startv; startv = NULL; }
    int64_t start = 0, stop, step = 1;
    if ((startv && lang_arg_int(I, startv, "range() argument", &start)) || lang_arg_int(I, stopv, "range() argument", &stop) ||
        (stepv && lang_arg_int(I, stepv, "range() argument", &step)))
        return NULL;
    if (step == 0) return lang_raise(I, "ValueError", "range() arg 3 must not be zero");
    return v_range(start, stop, step);
}

static const lang_param b_str_params[] = {{"object", LANG_OPTIONAL, "''"}, {NULL}};

static value *b_str(interp *I, value *self, args *a)
{
    (void)I; (void)self;
    value *x = lang_arg(a, "object");
    if (!x) return v_str("");
    char *s = lang_str_of(x);
    return s ? v_str_take(s, strlen(s)) : NULL;
}

static const lang_param b_repr_params[] = {{"obj", LANG_POSONLY}, {NULL}};

static value *b_repr(interp *I, value *self, args *a)
{
    (void)I; (void)self;
    char *s = lang_repr_of(lang_arg(a, "obj"));
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

static const lang_param b_float_params[] = {{"x", LANG_POSONLY, "0"}, {NULL}};

static value *b_float(interp *I, value *self, args *a)
{
    (void)self;
    value *x = lang_arg(a, "x");
    if (!x) return v_float(0);
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

static const lang_param b_bool_params[] = {{"x", LANG_POSONLY, "False"}, {NULL}};

static value *b_bool(interp *I, value *self, args *a)
{
    (void)self;
    value *x = lang_arg(a, "x");
    if (!x) return v_bool(false);
    int t = lang_truthy(I, x);
    return t < 0 ? NULL : v_bool(t);
}

/* list(iterable=(), /), tuple(iterable=(), /) */
static const lang_param iterable_or_empty_params[] = {{"iterable", LANG_POSONLY, "()"}, {NULL}};

static value *b_list(interp *I, value *self, args *a)
{
    (void)self;
    value *it = lang_arg(a, "iterable");
    return it ? lang_to_list(I, it) : v_list(0);
}

static value *b_tuple(interp *I, value *self, args *a)
{
    (void)self;
    value *it = lang_arg(a, "iterable");
    if (!it) return v_tuple(0);
    value *l = lang_to_list(I, it);
    if (l) l->type = V_TUPLE;
    return l;
}

/* dict(**kwargs), dict(mapping, **kwargs) or dict(iterable, **kwargs); a
 * keyword named iterable is one of the kwargs, as in Python */
static const lang_param b_dict_params[] = {{"iterable", LANG_POSONLY, "()"}, {"kwargs", LANG_VARKW}, {NULL}};

static value *b_dict(interp *I, value *self, args *a)
{
    (void)self;
    value *d = v_dict();
    if (!d) return NULL;
    value *src = lang_arg(a, "iterable");
    if (src) {
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

static const lang_param b_abs_params[] = {{"x", LANG_POSONLY}, {NULL}};

static value *b_abs(interp *I, value *self, args *a)
{
    (void)self;
    value *x = lang_arg(a, "x");
    if (x->type == V_FLOAT) return v_float(fabs(x->u.f));
    if (x->type == V_INT || x->type == V_BOOL) {
        int64_t i = x->type == V_INT ? x->u.i : x->u.b;
        if (i == INT64_MIN) return lang_raise(I, "OverflowError", "integer result too large");
        return v_int(i < 0 ? -i : i);
    }
    if (x->type == V_TENSOR) return lang_tensor_getattr(I, x, "__abs__");
    return lang_raise(I, "TypeError", "bad operand type for abs(): '%s'", lang_type_name(x));
}

/* min(iterable, *, key=None, default=...) or min(a, b, *args, key=None) */
static const lang_param minmax_params[] = {
    {"args", LANG_VARARGS}, {"key", LANG_KEYWORD, "None"}, {"default", LANG_KEYWORD, "..."}, {NULL}};

static value *minmax(interp *I, args *a, const char *fn, int cmp)
{
    value *key = lang_arg(a, "key"), *dflt = lang_arg(a, "default");
    int n;
    value **given = lang_arg_rest(a, &n);
    if (n == 0) return lang_raise(I, "TypeError", "%s expected at least 1 argument, got 0", fn);
    if (n > 1 && dflt) return lang_raise(I, "TypeError", "Cannot specify a default for %s() with multiple positional arguments", fn);
    value *items;
    if (n == 1) {
        if (given[0]->type == V_TENSOR) return lang_tensor_getattr(I, given[0], cmp == CMP_LT ? "__min__" : "__max__");
        items = lang_to_list(I, given[0]);
    } else {
        items = v_list((size_t)n);
        if (items) for (int i = 0; i < n; i++) items->u.list.items[items->u.list.n++] = lang_incref(given[i]);
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

static const lang_param b_sum_params[] = {{"iterable", LANG_POSONLY}, {"start", LANG_OPTIONAL, "0"}, {NULL}};

static value *b_sum(interp *I, value *self, args *a)
{
    (void)self;
    value *it = lang_arg(a, "iterable");
    if (it->type == V_TENSOR && !lang_arg(a, "start")) return lang_tensor_getattr(I, it, "__sum__");
    value *items = lang_to_list(I, it);
    if (!items) return NULL;
    value *acc = lang_arg(a, "start");
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

static const lang_param b_sorted_params[] = {
    {"iterable", LANG_POSONLY}, {"key", LANG_KEYWORD, "None"}, {"reverse", LANG_KEYWORD, "False"}, {NULL}};

static value *b_sorted(interp *I, value *self, args *a)
{
    (void)self;
    value *l = lang_to_list(I, lang_arg(a, "iterable"));
    if (!l) return NULL;
    bool rev = false;
    value *r = lang_arg(a, "reverse");
    if (r && lang_arg_bool(I, r, &rev)) { lang_decref(l); return NULL; }
    if (lang_list_sort_inplace(I, l, lang_arg(a, "key"), rev)) { lang_decref(l); return NULL; }
    return l;
}

static const lang_param b_reversed_params[] = {{"sequence", LANG_POSONLY}, {NULL}};

static value *b_reversed(interp *I, value *self, args *a)
{
    (void)self;
    value *l = lang_to_list(I, lang_arg(a, "sequence"));
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

/* The items of each of n iterables as lists (what zip and map walk in step),
 * and the length of the shortest (0 when n is 0). NULL with the error raised. */
static value **lists_of(interp *I, value **iterables, int n, size_t *shortest)
{
    value **lists = calloc((size_t)n + 1, sizeof *lists);
    if (!lists) { lang_raise(I, "MemoryError", "out of memory"); return NULL; }
    *shortest = n ? SIZE_MAX : 0;
    for (int i = 0; i < n; i++) {
        lists[i] = lang_to_list(I, iterables[i]);
        if (!lists[i]) {
            for (int k = 0; k < i; k++) lang_decref(lists[k]);
            free(lists);
            return NULL;
        }
        if (lists[i]->u.list.n < *shortest) *shortest = lists[i]->u.list.n;
    }
    return lists;
}

static void lists_free(value **lists, int n)
{
    for (int i = 0; i < n; i++) lang_decref(lists[i]);
    free(lists);
}

/* zip(strict=True) with iterables of different lengths: Python's ValueError,
 * naming the first argument found shorter (or, when the first is the
 * shortest, longer) than those before it */
static value *zip_length_error(interp *I, value **lists, size_t shortest)
{
    int i = 0;
    while (lists[i]->u.list.n != shortest) i++;
    const char *how = "shorter";
    if (i == 0) {
        how = "longer";
        while (lists[i]->u.list.n == shortest) i++;
    }
    if (i == 1) return lang_raise(I, "ValueError", "zip() argument 2 is %s than argument 1", how);
    return lang_raise(I, "ValueError", "zip() argument %d is %s than arguments 1-%d", i + 1, how, i);
}

static value *b_zip(interp *I, value *self, args *a)
{
    (void)self;
    int nit;
    value **iterables = lang_arg_rest(a, &nit);
    bool strict = false;
    value *sv = lang_arg(a, "strict");
    if (sv && lang_arg_bool(I, sv, &strict)) return NULL;
    size_t n;
    value **lists = lists_of(I, iterables, nit, &n);
    if (!lists) return NULL;
    for (int i = 0; strict && i < nit; i++)
        if (lists[i]->u.list.n != n) { zip_length_error(I, lists, n); lists_free(lists, nit); return NULL; }
    value *r = v_list(n);
    for (size_t k = 0; r && k < n; k++) {
        value *t = (k & 0xfff) == 0xfff && lang_check_interrupt(I) ? NULL : v_tuple((size_t)nit);
        if (!t) { lang_decref(r); r = NULL; break; }
        for (int i = 0; i < nit; i++) lang_tuple_set(t, (size_t)i, lang_incref(lists[i]->u.list.items[k]));
        r->u.list.items[r->u.list.n++] = t;
    }
    lists_free(lists, nit);
    return r;
}

static const lang_param b_round_params[] = {
    {"number", LANG_REQUIRED}, {"ndigits", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_round(interp *I, value *self, args *a)
{
    (void)self;
    value *x = lang_arg(a, "number"), *nd = lang_arg(a, "ndigits");
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

static const lang_param b_type_params[] = {{"object", LANG_POSONLY}, {NULL}};

static value *b_type(interp *I, value *self, args *a)
{
    (void)I; (void)self;
    return lang_class_of(lang_arg(a, "object"));
}

static const lang_param b_isinstance_params[] = {{"obj", LANG_POSONLY}, {"class_or_tuple", LANG_POSONLY}, {NULL}};

static value *b_isinstance(interp *I, value *self, args *a)
{
    (void)self;
    int r = lang_is_instance(I, lang_arg(a, "obj"), lang_arg(a, "class_or_tuple"));
    return r < 0 ? NULL : v_bool(r);
}

/* any(iterable, /), all(iterable, /) */
static const lang_param iterable_params[] = {{"iterable", LANG_POSONLY}, {NULL}};

static value *b_anyall(interp *I, args *a, bool any)
{
    value *items = lang_to_list(I, lang_arg(a, "iterable"));
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

/* map(func, *iterables): func called with one item of each, as long as the shortest */
static const lang_param b_map_params[] = {{"func", LANG_POSONLY}, {"iterables", LANG_VARARGS}, {NULL}};

static value *b_map(interp *I, value *self, args *a)
{
    (void)self;
    value *fn = lang_arg(a, "func");
    int nit;
    value **iterables = lang_arg_rest(a, &nit);
    if (nit == 0) return lang_raise(I, "TypeError", "map() must have at least two arguments.");
    size_t n;
    value **lists = lists_of(I, iterables, nit, &n);
    if (!lists) return NULL;
    value *r = v_list(n);
    value **items = r ? calloc((size_t)nit, sizeof *items) : NULL;
    if (r && !items) { lang_decref(r); r = lang_raise(I, "MemoryError", "out of memory"); }
    for (size_t k = 0; r && k < n; k++) {
        for (int i = 0; i < nit; i++) items[i] = lists[i]->u.list.items[k];
        args ka = {items, nit, NULL, NULL, 0};
        value *x = lang_call_value(I, fn, &ka);
        if (!x) { lang_decref(r); r = NULL; break; }
        r->u.list.items[r->u.list.n++] = x;
    }
    free(items);
    lists_free(lists, nit);
    return r;
}

static const lang_param b_filter_params[] = {{"function", LANG_POSONLY}, {"iterable", LANG_POSONLY}, {NULL}};

static value *b_filter(interp *I, value *self, args *a)
{
    (void)self;
    value *fn = lang_arg(a, "function");
    value *items = lang_to_list(I, lang_arg(a, "iterable"));
    if (!items) return NULL;
    value *r = v_list(0);
    for (size_t i = 0; r && i < items->u.list.n; i++) {
        value *x = items->u.list.items[i];
        int t;
        if (fn->type == V_NONE) t = lang_truthy(I, x);
        else {
            args ka = {&x, 1, NULL, NULL, 0};
            value *c = lang_call_value(I, fn, &ka);
            t = c ? lang_truthy(I, c) : -1;
            lang_decref(c);
        }
        if (t < 0) { lang_decref(r); r = NULL; break; }
        if (t) lang_list_append(r, lang_incref(x));
    }
    lang_decref(items);
    return r;
}

/* help() alone lists everything */
static const lang_param b_help_params[] = {{"request", LANG_OPTIONAL, "..."}, {NULL}};

static value *b_help(interp *I, value *self, args *a)
{
    (void)self;
    char *text = lang_help_text(I, lang_arg(a, "request"));
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

/* dir() alone: the names defined in the notebook */
static const lang_param b_dir_params[] = {{"object", LANG_POSONLY, "..."}, {NULL}};

static value *b_dir(interp *I, value *self, args *a)
{
    (void)self;
    value *obj = lang_arg(a, "object");
    value *r = v_list(0);
    if (!r) return NULL;
    if (!obj) {
        size_t i = 0;
        value *k;
        while (lang_dict_next(I->globals, &i, &k, NULL)) lang_list_append(r, lang_incref(k));
        return r;
    }
    char **names = NULL;
    int n = lang_attr_names(I, obj, &names);
    for (int i = 0; i < n; i++) { lang_list_append(r, v_str(names[i])); free(names[i]); }
    free(names);
    return r;
}

static const lang_param b_hasattr_params[] = {{"obj", LANG_POSONLY}, {"name", LANG_POSONLY}, {NULL}};

static value *b_hasattr(interp *I, value *self, args *a)
{
    (void)self;
    const char *name = lang_arg_str(I, lang_arg(a, "name"), "attribute name");
    if (!name) return NULL;
    value *v = lang_get_attr(I, lang_arg(a, "obj"), name);
    if (!v) { lang_clear_error(I); return v_bool(false); }
    lang_decref(v);
    return v_bool(true);
}

static const lang_param b_getattr_params[] = {
    {"object", LANG_POSONLY}, {"name", LANG_POSONLY}, {"default", LANG_POSONLY, "..."}, {NULL}};

static value *b_getattr(interp *I, value *self, args *a)
{
    (void)self;
    const char *name = lang_arg_str(I, lang_arg(a, "name"), "attribute name");
    if (!name) return NULL;
    value *v = lang_get_attr(I, lang_arg(a, "object"), name), *dflt = lang_arg(a, "default");
    if (!v && dflt) { lang_clear_error(I); return lang_incref(dflt); }
    return v;
}

static const lang_param b_chr_params[] = {{"i", LANG_POSONLY}, {NULL}};

static value *b_chr(interp *I, value *self, args *a)
{
    (void)self;
    int64_t c;
    if (lang_arg_int(I, lang_arg(a, "i"), "chr() argument", &c)) return NULL;
    if (c < 0 || c > 0x10FFFF) return lang_raise(I, "ValueError", "chr() arg not in range(0x110000)");
    if (c >= 0xD800 && c <= 0xDFFF) return lang_raise(I, "ValueError", "chr() arg is a surrogate (lens strings are UTF-8)");
    value *ci = v_int(c);
    char *s = lang_format_value(I, ci, "c");
    lang_decref(ci);
    return s ? v_str_take(s, strlen(s)) : NULL;
}

static const lang_param b_ord_params[] = {{"c", LANG_POSONLY}, {NULL}};

static value *b_ord(interp *I, value *self, args *a)
{
    (void)self;
    value *s = lang_arg(a, "c");
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

static const lang_param b_divmod_params[] = {{"x", LANG_POSONLY}, {"y", LANG_POSONLY}, {NULL}};

static value *b_divmod(interp *I, value *self, args *a)
{
    (void)self;
    value *x = lang_arg(a, "x"), *y = lang_arg(a, "y");
    value *q = lang_binary_op(I, OP_FLOORDIV, x, y);
    if (!q) return NULL;
    value *m = lang_binary_op(I, OP_MOD, x, y);
    if (!m) { lang_decref(q); return NULL; }
    return v_tuple_of(2, q, m);
}

static const lang_param b_pow_params[] = {{"base", LANG_REQUIRED}, {"exp", LANG_REQUIRED}, {"mod", LANG_OPTIONAL, "None"}, {NULL}};

static bool is_int_like(const value *v) { return v->type == V_INT || v->type == V_BOOL; }

/* The inverse of b modulo m (0 <= b < m), as Python's pow(b, -1, m); -1 when
 * b has none (they share a factor). */
static int64_t inverse_mod(uint64_t b, uint64_t m)
{
    __int128 r0 = (__int128)m, r1 = (__int128)b, t0 = 0, t1 = 1;
    while (r1) {
        __int128 q = r0 / r1, r2 = r0 - q * r1, t2 = t0 - q * t1;
        r0 = r1; r1 = r2; t0 = t1; t1 = t2;
    }
    if (r0 != 1) return -1;
    if (t0 < 0) t0 += (__int128)m;
    return (int64_t)t0;
}

/* pow(base, exp, mod) of integers: base ** exp % mod without the power, the
 * result with mod's sign as Python's; a negative exp uses base's inverse */
static value *pow_mod(interp *I, value *bv, value *ev, value *mv)
{
    if (!is_int_like(bv) || !is_int_like(ev) || !is_int_like(mv))
        return lang_raise(I, "TypeError", "pow() 3rd argument not allowed unless all arguments are integers");
    int64_t base = bv->type == V_INT ? bv->u.i : bv->u.b, exp = ev->type == V_INT ? ev->u.i : ev->u.b;
    int64_t mod = mv->type == V_INT ? mv->u.i : mv->u.b;
    if (mod == 0) return lang_raise(I, "ValueError", "pow() 3rd argument cannot be 0");
    uint64_t m = mod < 0 ? 0 - (uint64_t)mod : (uint64_t)mod;
    int64_t b = (int64_t)((__int128)base % (__int128)m);
    if (b < 0) b = (int64_t)((__int128)b + (__int128)m);
    uint64_t e = exp < 0 ? 0 - (uint64_t)exp : (uint64_t)exp;
    if (exp < 0) {
        b = inverse_mod((uint64_t)b, m);
        if (b < 0) return lang_raise(I, "ValueError", "base is not invertible for the given modulus");
    }
    unsigned __int128 r = 1 % m, x = (uint64_t)b;
    for (; e; e >>= 1) {
        if (e & 1) r = r * x % m;
        x = x * x % m;
    }
    __int128 out = (__int128)r;
    if (mod < 0 && out) out -= (__int128)m;
    return v_int((int64_t)out);
}

static value *b_pow(interp *I, value *self, args *a)
{
    (void)self;
    value *mod = lang_arg(a, "mod");
    if (mod && mod->type != V_NONE) return pow_mod(I, lang_arg(a, "base"), lang_arg(a, "exp"), mod);
    return lang_binary_op(I, OP_POW, lang_arg(a, "base"), lang_arg(a, "exp"));
}

const lang_builtin builtins_core[] = {
    {"print", b_print, "Writes the values, converted with str and separated by sep, followed by end, to the cell's output.", b_print_params},
    {"input", b_input, "Asks the user for a line of text (through the notebook frontend) and returns it without the newline.", b_input_params},
    {"len", b_len, "Number of items of a str, list, tuple, dict, range, cache, or the first dimension of a tensor.", b_len_params},
    {"range", b_range, "The integers from start up to but not including stop, by step; range(stop) counts from 0.", b_range_params},
    {"str", b_str, "The text of a value (what print shows).", b_str_params},
    {"repr", b_repr, "The printable representation of a value (what a cell shows).", b_repr_params},
    {"int", b_int, "An integer from a number (truncated), a one-element tensor or a string.", b_int_params},
    {"float", b_float, "A float from a number, a one-element tensor or a string.", b_float_params},
    {"bool", b_bool, "True or False: the truth value of x.", b_bool_params},
    {"list", b_list, "A new list of the items of an iterable (a tensor gives its rows).", iterable_or_empty_params},
    {"tuple", b_tuple, "A new tuple of the items of an iterable.", iterable_or_empty_params},
    {"dict", b_dict, "A new dict from a dict or an iterable of (key, value) pairs, and the keyword arguments.", b_dict_params},
    {"abs", b_abs, "Absolute value of a number, or elementwise of a tensor.", b_abs_params},
    {"min", b_min, "The smallest item of one iterable (default when it is empty, if given), or the smallest of several arguments (of a tensor: the smallest element).", minmax_params},
    {"max", b_max, "The largest item of one iterable (default when it is empty, if given), or the largest of several arguments (of a tensor: the largest element).", minmax_params},
    {"sum", b_sum, "The sum of the items plus start (of a tensor: the sum of all elements).", b_sum_params},
    {"sorted", b_sorted, "A new sorted list (stable).", b_sorted_params},
    {"reversed", b_reversed, "A list of the items in reverse order.", b_reversed_params},
    {"enumerate", b_enumerate, "A list of (index, item) pairs.", b_enumerate_params},
    {"zip", b_zip, "A list of tuples, the i-th holding the i-th item of each iterable; as long as the shortest.", b_zip_params},
    {"round", b_round, "number rounded to ndigits decimals (half to even); an int when ndigits is omitted.", b_round_params},
    {"type", b_type, "The class of object: printed <class 'int'>, type(obj).__name__ its name as Python gives it ('int', 'list', 'Tensor', 'function', 'HookedTransformer', ...).", b_type_params},
    {"isinstance", b_isinstance, "Whether obj is of the given class or of one in a tuple of them: int, float, str, list, tuple, dict, bool, torch.Tensor, HookedTransformer, ActivationCache, type(other), ...", b_isinstance_params},
    {"any", b_any, "True when some item is true.", iterable_params},
    {"all", b_all, "True when every item is true.", iterable_params},
    {"map", b_map, "A list of func(item) for each item, or with several iterables func(item1, item2, ...) as long as the shortest.", b_map_params},
    {"filter", b_filter, "A list of the items for which function(item) is true (None: the true items).", b_filter_params},
    {"help", b_help, "Shows the signature and documentation of a builtin, a method or a value; help() lists everything.", b_help_params},
    {"dir", b_dir, "The attribute names of object, or without it the names defined in the notebook.", b_dir_params},
    {"hasattr", b_hasattr, "Whether obj has the attribute name.", b_hasattr_params},
    {"getattr", b_getattr, "The attribute name of object (default when absent, if given).", b_getattr_params},
    {"chr", b_chr, "The one-character string of Unicode code point i.", b_chr_params},
    {"ord", b_ord, "The Unicode code point of a one-character string.", b_ord_params},
    {"divmod", b_divmod, "(x // y, x % y).", b_divmod_params},
    {"pow", b_pow, "base ** exp; with mod, base ** exp % mod for integers (a negative exp uses the inverse of base).", b_pow_params},
    {NULL, NULL, NULL, NULL},
};
