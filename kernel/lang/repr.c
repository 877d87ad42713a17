/* kernel/lang/repr.c — values as text: repr (Python's, shortest round-trip
 * floats, [...] for a container met again), str, and the text/plain bundle.
 *
 * Owns: float_repr, repr_of, str_of, value_bundle.
 * Does not own: format specs (format_spec.c), rich displays (rich.c). */
#include "value.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "value_internal.h"

char *lang_float_repr(double d)
{
    char buf[64];
    if (isnan(d)) return strdup("nan");
    if (isinf(d)) return strdup(d > 0 ? "inf" : "-inf");
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    /* buf = [-]D.DDDDe[+-]XX: digits and exponent */
    char digits[32];
    int nd = 0, exp10;
    bool neg = buf[0] == '-';
    char *p = buf + (neg ? 1 : 0);
    for (; *p && *p != 'e'; p++) if (isdigit((unsigned char)*p)) digits[nd++] = *p;
    exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    dbuf b = {0};
    if (neg) display_dbuf_append(&b, "-");
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            display_dbuf_append(&b, "0.");
            for (int i = 0; i < -exp10 - 1; i++) display_dbuf_append(&b, "0");
            display_dbuf_append_n(&b, digits, (size_t)nd);
        } else if (nd <= exp10 + 1) {
            display_dbuf_append_n(&b, digits, (size_t)nd);
            for (int i = nd; i <= exp10; i++) display_dbuf_append(&b, "0");
            display_dbuf_append(&b, ".0");
        } else {
            display_dbuf_append_n(&b, digits, (size_t)exp10 + 1);
            display_dbuf_append(&b, ".");
            display_dbuf_append_n(&b, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
        }
    } else {
        display_dbuf_append_n(&b, digits, 1);
        if (nd > 1) { display_dbuf_append(&b, "."); display_dbuf_append_n(&b, digits + 1, (size_t)nd - 1); }
        char e[16];
        snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
        display_dbuf_append(&b, e);
    }
    return display_dbuf_take(&b);
}

static void str_repr_into(dbuf *b, const char *s, size_t n)
{
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    display_dbuf_append_n(b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        if (c == '\\') display_dbuf_append(b, "\\\\");
        else if (c == (unsigned char)q) { tmp[0] = '\\'; tmp[1] = (char)c; display_dbuf_append_n(b, tmp, 2); }
        else if (c == '\n') display_dbuf_append(b, "\\n");
        else if (c == '\t') display_dbuf_append(b, "\\t");
        else if (c == '\r') display_dbuf_append(b, "\\r");
        else if (c < 0x20 || c == 0x7f) { snprintf(tmp, sizeof tmp, "\\x%02x", c); display_dbuf_append(b, tmp); }
        else display_dbuf_append_n(b, (const char *)&c, 1);
    }
    display_dbuf_append_n(b, &q, 1);
}

/* The containers being printed, outermost first: one met again is a cycle and
 * prints as [...] / {...} / (...), as in Python; past LANG_MAX_NESTING levels
 * the rest prints as "...". */
typedef struct repr_path { value *open[LANG_MAX_NESTING + 1]; int n; } repr_path;

static void repr_into(dbuf *b, value *v, repr_path *path);

static void seq_repr_into(dbuf *b, value *v, repr_path *path, const char *open, const char *close)
{
    display_dbuf_append(b, open);
    for (size_t i = 0; i < v->u.list.n; i++) {
        if (i) display_dbuf_append(b, ", ");
        const lang_tuple_class *tc = v->type == V_TUPLE ? v->tuple_class : NULL;
        if (tc && tc->field_names && i < (size_t)tc->n_fields && tc->field_names[i]) {
            display_dbuf_append(b, tc->field_names[i]);
            display_dbuf_append(b, "=");
        }
        repr_into(b, v->u.list.items[i], path);
    }
    if (v->type == V_TUPLE && v->u.list.n == 1 && !v->tuple_class) display_dbuf_append(b, ",");
    display_dbuf_append(b, close);
}

/* Enters container v: false (and its cycle mark printed) when it is already open. */
static bool repr_enter(dbuf *b, value *v, repr_path *path)
{
    for (int i = 0; i < path->n; i++)
        if (path->open[i] == v) {
            display_dbuf_append(b, v->type == V_DICT ? "{...}" : v->type == V_LIST ? "[...]" : "(...)");
            return false;
        }
    if (path->n >= LANG_MAX_NESTING) { display_dbuf_append(b, "..."); return false; }
    path->open[path->n++] = v;
    return true;
}

static void repr_into(dbuf *b, value *v, repr_path *path)
{
    char tmp[64];
    bool container = v->type == V_LIST || v->type == V_TUPLE || v->type == V_DICT;
    if (container && !repr_enter(b, v, path)) return;
    switch (v->type) {
    case V_NONE: display_dbuf_append(b, "None"); break;
    case V_BOOL: display_dbuf_append(b, v->u.b ? "True" : "False"); break;
    case V_INT: snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i); display_dbuf_append(b, tmp); break;
    case V_FLOAT: { char *f = lang_float_repr(v->u.f); if (f) display_dbuf_append(b, f); free(f); break; }
    case V_STR: str_repr_into(b, v->u.str.s, v->u.str.len); break;
    case V_LIST: seq_repr_into(b, v, path, "[", "]"); break;
    case V_TUPLE:
        if (v->tuple_class) seq_repr_into(b, v, path, v->tuple_class->repr_open, v->tuple_class->repr_close);
        else seq_repr_into(b, v, path, "(", ")");
        break;
    case V_DICT: {
        display_dbuf_append(b, "{");
        size_t i = 0;
        value *k, *x;
        bool first = true;
        while (lang_dict_next(v->u.d, &i, &k, &x)) {
            if (!first) display_dbuf_append(b, ", ");
            first = false;
            repr_into(b, k, path);
            display_dbuf_append(b, ": ");
            repr_into(b, x, path);
        }
        display_dbuf_append(b, "}");
        break;
    }
    case V_RANGE:
        if (v->u.range.step == 1) snprintf(tmp, sizeof tmp, "range(%lld, %lld)", (long long)v->u.range.start, (long long)v->u.range.stop);
        else snprintf(tmp, sizeof tmp, "range(%lld, %lld, %lld)", (long long)v->u.range.start, (long long)v->u.range.stop, (long long)v->u.range.step);
        display_dbuf_append(b, tmp);
        break;
    case V_SLICE:
        display_dbuf_append(b, "slice(");
        repr_into(b, v->u.slice.start, path); display_dbuf_append(b, ", ");
        repr_into(b, v->u.slice.stop, path); display_dbuf_append(b, ", ");
        repr_into(b, v->u.slice.step, path); display_dbuf_append(b, ")");
        break;
    case V_BUILTIN:
        if (v->u.builtin.self) { display_dbuf_append(b, "<method "); display_dbuf_append(b, v->u.builtin.def->name); display_dbuf_append(b, ">"); }
        else { display_dbuf_append(b, "<builtin "); display_dbuf_append(b, v->u.builtin.def->name); display_dbuf_append(b, ">"); }
        break;
    case V_ELLIPSIS: display_dbuf_append(b, "Ellipsis"); break;
    case V_OBJECT: case V_TENSOR: {
        const lang_type *t = lang_type_of(v);
        if (t && t->repr) { char *s = t->repr(v); if (s) display_dbuf_append(b, s); else b->failed = true; free(s); }
        else { display_dbuf_append(b, "<"); display_dbuf_append(b, lang_type_name(v)); display_dbuf_append(b, ">"); }
        break;
    }
    }
    if (container) path->n--;
}

/* The path of the repr running on this thread: an object's repr hook that
 * calls repr_of on what it holds continues it, so a cycle through an object
 * (an exception whose args hold it) still ends in [...]. */
static _Thread_local repr_path *active_repr_path;

char *lang_repr_of(value *v)
{
    repr_path *outer = active_repr_path;
    repr_path *path = outer ? outer : calloc(1, sizeof *path);
    if (!path) return NULL;
    active_repr_path = path;
    dbuf b = {0};
    repr_into(&b, v, path);
    active_repr_path = outer;
    if (!outer) free(path);
    return display_dbuf_take(&b);
}

char *lang_str_of(value *v)
{
    if (v->type == V_STR) {
        char *s = malloc(v->u.str.len + 1);
        if (s) memcpy(s, v->u.str.s, v->u.str.len + 1);
        return s;
    }
    const lang_type *t = lang_type_of(v);
    if (t && t->str) return t->str(v);
    return lang_repr_of(v);
}

cJSON *lang_value_bundle(value *v)
{
    const lang_type *t = lang_type_of(v);
    if (t && t->to_bundle) {
        cJSON *b = t->to_bundle(v);
        if (b) return b;
    }
    char *r = lang_repr_of(v);
    if (!r) return NULL;
    cJSON *b = cJSON_CreateObject();
    if (b) cJSON_AddStringToObject(b, "text/plain", r);
    free(r);
    return b;
}
