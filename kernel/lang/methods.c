/* kernel/lang/methods.c — attribute lookup (get_attr) and the methods of str,
 * list, tuple and dict; str.format and printf-style `%` formatting.
 *
 * Owns: those methods and their argument specs (Python's signatures without
 * self: str.split(sep=None, maxsplit=-1), list.append(object, /)).
 * Does not own: tensor and object attributes (their own files), checking a
 * call against a spec (params.c). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "did_you_mean.h"
#include "modules.h"
#include "lang_internal.h"
#include "value_internal.h"

#define SELF_STR (self->u.str.s)
#define SELF_LEN (self->u.str.len)

typedef struct sb { char *s; size_t n, cap; bool oom; } sb;
static int sb_add(sb *b, const char *s, size_t n)
{
    if (b->oom) return -1;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *x = realloc(b->s, cap);
        if (!x) { b->oom = true; return -1; }
        b->s = x;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}
/* The text as a str; NULL (out of memory) when any addition failed. */
static value *sb_value(sb *b)
{
    if (b->oom) { free(b->s); b->s = NULL; return NULL; }
    if (!b->s) return v_str("");
    return v_str_take(b->s, b->n);
}

/* ---- str.format ----------------------------------------------------------- */

/* pos: the positional arguments ({} and {0} fields); a: the call, whose
 * keyword arguments the {name} fields read */
static char *format_fields(interp *I, const char *f, size_t n, value **pos, int npos, args *a)
{
    sb b = {0};
    int auto_idx = 0;
    for (size_t i = 0; i < n;) {
        char c = f[i];
        if (c == '{' && i + 1 < n && f[i + 1] == '{') { sb_add(&b, "{", 1); i += 2; continue; }
        if (c == '}' && i + 1 < n && f[i + 1] == '}') { sb_add(&b, "}", 1); i += 2; continue; }
        if (c == '}') { free(b.s); lang_raise(I, "ValueError", "Single '}' encountered in format string"); return NULL; }
        if (c != '{') { sb_add(&b, &c, 1); i++; continue; }
        size_t s = ++i;
        int depth = 0;
        while (i < n && !(f[i] == '}' && depth == 0)) { if (f[i] == '{') depth++; else if (f[i] == '}') depth--; i++; }
        if (i >= n) { free(b.s); lang_raise(I, "ValueError", "expected '}' before end of string"); return NULL; }
        char *field = strndup(f + s, i - s);
        i++;
        if (!field) { free(b.s); return NULL; }
        char *spec = strchr(field, ':');
        if (spec) *spec++ = 0;
        char *conv = strchr(field, '!');
        if (conv) *conv++ = 0;
        /* field name: [name or index] then .attr / [key] */
        size_t nl = strcspn(field, ".[");
        char head[256];
        snprintf(head, sizeof head, "%.*s", (int)nl, field);
        value *v = NULL;
        if (!head[0]) {
            if (auto_idx >= npos) { lang_raise(I, "IndexError", "Replacement index %d out of range for positional args tuple", auto_idx); goto fail; }
            v = lang_incref(pos[auto_idx++]);
        } else if (isdigit((unsigned char)head[0])) {
            char *end;
            errno = 0;
            long long k = strtoll(head, &end, 10);
            if (errno) { lang_raise(I, "ValueError", "Too many decimal digits in format string"); goto fail; }
            if (*end) { lang_raise(I, "KeyError", "'%s'", head); goto fail; }
            if (k >= npos) { lang_raise(I, "IndexError", "Replacement index %s out of range for positional args tuple", head); goto fail; }
            v = lang_incref(pos[k]);
        } else {
            value *x = lang_arg(a, head);
            if (!x) { lang_raise(I, "KeyError", "'%s'", head); goto fail; }
            v = lang_incref(x);
        }
        char *p = field + nl;
        while (*p && v) {
            if (*p == '.') {
                size_t k = strcspn(p + 1, ".[");
                char *attr = strndup(p + 1, k);
                value *nv = attr ? lang_get_attr(I, v, attr) : NULL;
                free(attr);
                lang_decref(v);
                v = nv;
                p += 1 + k;
            } else {
                char *close = strchr(p, ']');
                if (!close) { lang_raise(I, "ValueError", "Missing ']' in format string"); lang_decref(v); v = NULL; break; }
                char *ks = strndup(p + 1, (size_t)(close - p - 1));
                value *key = NULL;
                if (ks && ks[0] && strspn(ks, "0123456789") == strlen(ks)) key = v_int(atoll(ks));
                else if (ks) key = v_str(ks);
                free(ks);
                value *nv = key ? lang_get_item(I, v, key) : NULL;
                lang_decref(key);
                lang_decref(v);
                v = nv;
                p = close + 1;
            }
        }
        if (!v) goto fail;
        if (conv && (strlen(conv) != 1 || !strchr("rsa", *conv))) {
            lang_raise(I, "ValueError", "Unknown conversion specifier %s", conv);
            lang_decref(v);
            goto fail;
        }
        if (conv) {
            char *r = *conv == 's' ? lang_str_of(v) : lang_repr_of(v);
            lang_decref(v);
            v = r ? v_str_take(r, strlen(r)) : NULL;
            if (!v) goto fail;
        }
        char *out = lang_format_value(I, v, spec ? spec : "");
        lang_decref(v);
        if (!out) goto fail;
        sb_add(&b, out, strlen(out));
        free(out);
        free(field);
        continue;
    fail:
        free(field);
        free(b.s);
        return NULL;
    }
    if (b.oom) { free(b.s); lang_raise(I, "MemoryError", "out of memory"); return NULL; }
    if (!b.s) return strdup("");
    return b.s;
}

char *lang_percent_format(interp *I, const char *f, size_t n, value *argv)
{
    value **items = &argv;
    size_t nitems = 1, k = 0;
    if (argv->type == V_TUPLE) { items = argv->u.list.items; nitems = argv->u.list.n; }
    sb b = {0};
    for (size_t i = 0; i < n;) {
        if (f[i] != '%') { sb_add(&b, f + i, 1); i++; continue; }
        i++;
        if (i < n && f[i] == '%') { sb_add(&b, "%", 1); i++; continue; }
        size_t s = i;
        while (i < n && strchr("-+ #0123456789.", f[i])) i++;
        if (i >= n) { free(b.s); lang_raise(I, "ValueError", "incomplete format"); return NULL; }
        char type = f[i++];
        if (k >= nitems) { free(b.s); lang_raise(I, "TypeError", "not enough arguments for format string"); return NULL; }
        value *v = items[k++];
        char spec[64];
        char flags[32];
        snprintf(flags, sizeof flags, "%.*s", (int)(i - 1 - s), f + s);
        char *out;
        if (type == 's' || type == 'r') {
            char *t = type == 's' ? lang_str_of(v) : lang_repr_of(v);
            value *tv = t ? v_str_take(t, strlen(t)) : NULL;
            snprintf(spec, sizeof spec, "%s%s", flags[0] == '-' ? "<" : ">", flags + (flags[0] == '-'));
            out = tv ? lang_format_value(I, tv, spec) : NULL;
            lang_decref(tv);
        } else if (strchr("dioxXeEfFgGc", type)) {
            char t2 = type == 'i' ? 'd' : type;
            bool left = flags[0] == '-';
            snprintf(spec, sizeof spec, "%s%s%c", left ? "<" : "", flags + left, t2);
            if ((t2 == 'd' || t2 == 'x' || t2 == 'X' || t2 == 'o') && v->type == V_FLOAT) {
                if (!isfinite(v->u.f)) { free(b.s); lang_raise(I, isnan(v->u.f) ? "ValueError" : "OverflowError", "cannot convert float %s to integer", isnan(v->u.f) ? "NaN" : "infinity"); return NULL; }
                if (fabs(v->u.f) >= 9.2e18) { free(b.s); lang_raise(I, "OverflowError", "float too large for a 64-bit int"); return NULL; }
                value *iv = v_int((int64_t)v->u.f);
                out = lang_format_value(I, iv, spec);
                lang_decref(iv);
            } else out = lang_format_value(I, v, spec);
        } else {
            free(b.s);
            lang_raise(I, "ValueError", "unsupported format character '%c'", type);
            return NULL;
        }
        if (!out) { free(b.s); return NULL; }
        sb_add(&b, out, strlen(out));
        free(out);
    }
    if (k < nitems && argv->type == V_TUPLE) { free(b.s); lang_raise(I, "TypeError", "not all arguments converted during string formatting"); return NULL; }
    if (b.oom) { free(b.s); lang_raise(I, "MemoryError", "out of memory"); return NULL; }
    return b.s ? b.s : strdup("");
}

/* ---- str methods ------------------------------------------------------------ */

/* methods without parameters (str.upper, list.copy, dict.keys, ...) */
static const lang_param no_params[] = {{NULL}};

static const lang_param s_format_params[] = {{"args", LANG_VARARGS}, {"kwargs", LANG_VARKW}, {NULL}};

static value *s_format(interp *I, value *self, args *a)
{
    int npos;
    value **pos = lang_arg_rest(a, &npos);
    char *r = format_fields(I, SELF_STR, SELF_LEN, pos, npos, a);
    return r ? v_str_take(r, strlen(r)) : NULL;
}

static const lang_param iterable_params[] = {{"iterable", LANG_POSONLY}, {NULL}};

static value *s_join(interp *I, value *self, args *a)
{
    value *items = lang_to_list(I, lang_arg(a, "iterable"));
    if (!items) return NULL;
    sb b = {0};
    for (size_t i = 0; i < items->u.list.n; i++) {
        value *x = items->u.list.items[i];
        if (x->type != V_STR) {
            /* the message first: x belongs to items */
            lang_raise(I, "TypeError", "sequence item %zu: expected str instance, %s found", i, lang_type_name(x));
            lang_decref(items);
            free(b.s);
            return NULL;
        }
        if ((i & 0xfff) == 0xfff && lang_check_interrupt(I)) { lang_decref(items); free(b.s); return NULL; }
        if ((i && sb_add(&b, SELF_STR, SELF_LEN)) || sb_add(&b, x->u.str.s, x->u.str.len)) {
            lang_decref(items);
            free(b.s);
            return lang_raise(I, "MemoryError", "out of memory");
        }
    }
    lang_decref(items);
    return sb_value(&b);
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static const lang_param s_split_params[] = {{"sep", LANG_OPTIONAL, "None"}, {"maxsplit", LANG_OPTIONAL, "-1"}, {NULL}};

static value *s_split_impl(interp *I, value *self, args *a, bool right)
{
    value *sepv = lang_arg(a, "sep"), *mv = lang_arg(a, "maxsplit");
    int64_t maxsplit = -1;
    if (mv && lang_arg_int(I, mv, "maxsplit", &maxsplit)) return NULL;
    value *r = v_list(0);
    if (!r) return NULL;
    const char *s = SELF_STR;
    size_t n = SELF_LEN;
    if (!sepv || sepv->type == V_NONE) {
        if (right) {
            /* rsplit on whitespace: collect from the right */
            value *tmp = v_list(0);
            size_t e = n;
            int64_t done = 0;
            while (e > 0) {
                while (e > 0 && is_ws(s[e - 1])) e--;
                if (!e) break;
                size_t st = e;
                if (maxsplit >= 0 && done >= maxsplit) { st = 0; while (is_ws(s[st])) st++; }
                else while (st > 0 && !is_ws(s[st - 1])) st--;
                lang_list_append(tmp, v_strn(s + st, e - st));
                done++;
                e = st;
                if (st == 0) break;
            }
            for (size_t i = tmp->u.list.n; i > 0; i--) lang_list_append(r, lang_incref(tmp->u.list.items[i - 1]));
            lang_decref(tmp);
            return r;
        }
        size_t i = 0;
        int64_t done = 0;
        while (i < n) {
            while (i < n && is_ws(s[i])) i++;
            if (i >= n) break;
            size_t st = i;
            if (maxsplit >= 0 && done >= maxsplit) {
                size_t e = n;
                while (e > st && is_ws(s[e - 1])) e--;
                lang_list_append(r, v_strn(s + st, e - st));
                break;
            }
            while (i < n && !is_ws(s[i])) i++;
            lang_list_append(r, v_strn(s + st, i - st));
            done++;
        }
        return r;
    }
    if (sepv->type != V_STR) { lang_decref(r); return lang_raise(I, "TypeError", "must be str or None, not %s", lang_type_name(sepv)); }
    const char *sep = sepv->u.str.s;
    size_t sl = sepv->u.str.len;
    if (!sl) { lang_decref(r); return lang_raise(I, "ValueError", "empty separator"); }
    if (right) {
        value *tmp = v_list(0);
        size_t e = n;
        int64_t done = 0;
        for (;;) {
            const char *hit = NULL;
            if (maxsplit < 0 || done < maxsplit)
                for (size_t k = e; k >= sl; k--) if (!memcmp(s + k - sl, sep, sl)) { hit = s + k - sl; break; }
            if (!hit) { lang_list_append(tmp, v_strn(s, e)); break; }
            lang_list_append(tmp, v_strn(hit + sl, (size_t)(s + e - hit - sl)));
            e = (size_t)(hit - s);
            done++;
        }
        for (size_t i = tmp->u.list.n; i > 0; i--) lang_list_append(r, lang_incref(tmp->u.list.items[i - 1]));
        lang_decref(tmp);
        return r;
    }
    size_t st = 0;
    int64_t done = 0;
    for (;;) {
        const char *hit = (maxsplit < 0 || done < maxsplit) ? memmem(s + st, n - st, sep, sl) : NULL;
        if (!hit) { lang_list_append(r, v_strn(s + st, n - st)); break; }
        lang_list_append(r, v_strn(s + st, (size_t)(hit - s) - st));
        st = (size_t)(hit - s) + sl;
        done++;
    }
    return r;
}
static value *s_split(interp *I, value *self, args *a) { return s_split_impl(I, self, a, false); }
static value *s_rsplit(interp *I, value *self, args *a) { return s_split_impl(I, self, a, true); }

static const lang_param s_splitlines_params[] = {{"keepends", LANG_OPTIONAL, "False"}, {NULL}};

static value *s_splitlines(interp *I, value *self, args *a)
{
    bool keepends = false;
    value *kv = lang_arg(a, "keepends");
    if (kv && lang_arg_bool(I, kv, &keepends)) return NULL;
    value *r = v_list(0);
    if (!r) return lang_raise(I, "MemoryError", "out of memory");
    size_t st = 0, n = SELF_LEN;
    for (size_t i = 0; i < n; i++)
        if (SELF_STR[i] == '\n') { lang_list_append(r, v_strn(SELF_STR + st, i + keepends - st)); st = i + 1; }
    if (st < n) lang_list_append(r, v_strn(SELF_STR + st, n - st));
    return r;
}

static const lang_param s_strip_params[] = {{"chars", LANG_POSONLY, "None"}, {NULL}};

static value *s_strip_impl(interp *I, value *self, args *a, int which)
{
    value *cv = lang_arg(a, "chars");
    const char *chars = NULL;
    if (cv && cv->type != V_NONE && !(chars = lang_arg_str(I, cv, "chars"))) return NULL;
    size_t s = 0, e = SELF_LEN;
#define STRIPPABLE(c) (chars ? strchr(chars, (c)) != NULL && (c) != 0 : is_ws(c))
    if (which & 1) while (s < e && STRIPPABLE(SELF_STR[s])) s++;
    if (which & 2) while (e > s && STRIPPABLE(SELF_STR[e - 1])) e--;
#undef STRIPPABLE
    return v_strn(SELF_STR + s, e - s);
}
static value *s_strip(interp *I, value *self, args *a) { return s_strip_impl(I, self, a, 3); }
static value *s_lstrip(interp *I, value *self, args *a) { return s_strip_impl(I, self, a, 1); }
static value *s_rstrip(interp *I, value *self, args *a) { return s_strip_impl(I, self, a, 2); }

static const lang_param s_replace_params[] = {
    {"old", LANG_POSONLY}, {"new", LANG_POSONLY}, {"count", LANG_POSONLY, "-1"}, {NULL}};

static value *s_replace(interp *I, value *self, args *a)
{
    value *oldv = lang_arg(a, "old"), *newv = lang_arg(a, "new"), *countv = lang_arg(a, "count");
    const char *old = lang_arg_str(I, oldv, "old"), *new = old ? lang_arg_str(I, newv, "new") : NULL;
    if (!new) return NULL;
    int64_t count = -1;
    if (countv && lang_arg_int(I, countv, "count", &count)) return NULL;
    size_t ol = oldv->u.str.len, nl = newv->u.str.len;
    sb b = {0};
    size_t i = 0;
    int64_t done = 0;
    if (ol == 0) {
        for (i = 0; i <= SELF_LEN && !b.oom; i++) {
            if (count < 0 || done < count) { sb_add(&b, new, nl); done++; }
            if (i < SELF_LEN) sb_add(&b, SELF_STR + i, 1);
        }
        return sb_value(&b);
    }
    while (i < SELF_LEN && !b.oom) {
        const char *hit = (count < 0 || done < count) ? memmem(SELF_STR + i, SELF_LEN - i, old, ol) : NULL;
        if (!hit) { sb_add(&b, SELF_STR + i, SELF_LEN - i); break; }
        sb_add(&b, SELF_STR + i, (size_t)(hit - SELF_STR) - i);
        sb_add(&b, new, nl);
        i = (size_t)(hit - SELF_STR) + ol;
        done++;
    }
    return sb_value(&b);
}

static value *s_case(value *self, int mode)
{
    value *r = v_strn(SELF_STR, SELF_LEN);
    if (!r) return NULL;
    char *s = r->u.str.s;
    bool start = true;
    for (size_t i = 0; i < SELF_LEN; i++) {
        unsigned char c = (unsigned char)s[i];
        if (mode == 0) s[i] = (char)toupper(c);
        else if (mode == 1) s[i] = (char)tolower(c);
        else if (mode == 2) s[i] = (char)(i == 0 ? toupper(c) : tolower(c));
        else if (mode == 3) { s[i] = (char)(start ? toupper(c) : tolower(c)); start = !isalpha(c); }
        else s[i] = (char)(isupper(c) ? tolower(c) : toupper(c));
    }
    return r;
}
static value *s_upper(interp *I, value *self, args *a) { (void)I; (void)a; return s_case(self, 0); }
static value *s_lower(interp *I, value *self, args *a) { (void)I; (void)a; return s_case(self, 1); }
static value *s_capitalize(interp *I, value *self, args *a) { (void)I; (void)a; return s_case(self, 2); }
static value *s_title(interp *I, value *self, args *a) { (void)I; (void)a; return s_case(self, 3); }

/* A start or end argument of str.find, list.index, ...: an int counted from
 * the end when negative (then clamped at 0); None (when allowed) or absent
 * gives dflt. Not clamped at n: a start past the end finds nothing. */
static int bound_arg(interp *I, value *v, bool none_ok, int64_t n, int64_t dflt, int64_t *out)
{
    if (!v || (none_ok && v->type == V_NONE)) { *out = dflt; return 0; }
    if (v->type != V_INT && v->type != V_BOOL) {
        lang_raise(I, "TypeError", "slice indices must be integers %shave an __index__ method", none_ok ? "or None or " : "or ");
        return -1;
    }
    int64_t i = lang_num_as_int(v);
    if (i < 0 && (i += n) < 0) i = 0;
    *out = i;
    return 0;
}

/* The part of the string that str.find, count, startswith, ... look in, from
 * their start and end arguments: bytes [from, to), whose first code point is
 * number first. open is false when it is empty by position (start past the
 * end, or end before start), where even '' is not found. */
typedef struct str_window { size_t from, to; int64_t first; bool open; } str_window;

/* 0, or -1 with the error raised */
static int str_window_of(interp *I, value *self, args *a, str_window *w)
{
    int64_t n = lang_length_of(I, self), start, end;
    if (n < 0 || bound_arg(I, lang_arg(a, "start"), true, n, 0, &start) || bound_arg(I, lang_arg(a, "end"), true, n, n, &end)) return -1;
    if (end > n) end = n;
    w->open = start <= n && start <= end;
    w->first = start;
    w->from = w->open ? lang_utf8_offset(SELF_STR, SELF_LEN, start) : 0;
    w->to = w->open ? w->from + lang_utf8_offset(SELF_STR + w->from, SELF_LEN - w->from, end - start) : 0;
    return 0;
}

/* str.startswith, str.endswith */
static const lang_param s_startswith_params[] = {
    {"prefix", LANG_POSONLY}, {"start", LANG_POSONLY, "None"}, {"end", LANG_POSONLY, "None"}, {NULL}};
static const lang_param s_endswith_params[] = {
    {"suffix", LANG_POSONLY}, {"start", LANG_POSONLY, "None"}, {"end", LANG_POSONLY, "None"}, {NULL}};

static value *s_affix(interp *I, value *self, args *a, bool start)
{
    value *p = lang_arg(a, start ? "prefix" : "suffix");
    value **opts = &p;
    size_t no = 1;
    if (p->type == V_TUPLE) { opts = p->u.list.items; no = p->u.list.n; }
    str_window w;
    if (str_window_of(I, self, a, &w)) return NULL;
    for (size_t i = 0; i < no; i++) {
        if (opts[i]->type != V_STR) return lang_raise(I, "TypeError", "expected str or a tuple of str, not %s", lang_type_name(opts[i]));
        size_t l = opts[i]->u.str.len;
        if (w.open && l <= w.to - w.from && !memcmp(SELF_STR + (start ? w.from : w.to - l), opts[i]->u.str.s, l)) return v_bool(true);
    }
    return v_bool(false);
}
static value *s_startswith(interp *I, value *self, args *a) { return s_affix(I, self, a, true); }
static value *s_endswith(interp *I, value *self, args *a) { return s_affix(I, self, a, false); }

static int64_t cp_index(const char *s, size_t byte)
{
    int64_t n = 0;
    for (size_t i = 0; i < byte; i++) if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

/* str.find, rfind, index, count: Python's sub[, start[, end]] */
static const lang_param sub_params[] = {
    {"sub", LANG_POSONLY}, {"start", LANG_POSONLY, "None"}, {"end", LANG_POSONLY, "None"}, {NULL}};

static value *s_find_impl(interp *I, value *self, args *a, bool raise, bool right)
{
    value *subv = lang_arg(a, "sub");
    const char *sub = lang_arg_str(I, subv, "substring");
    str_window w;
    if (!sub || str_window_of(I, self, a, &w)) return NULL;
    size_t sl = subv->u.str.len;
    const char *hit = NULL, *text = SELF_STR + w.from;
    size_t len = w.to - w.from;
    if (!w.open) hit = NULL;
    else if (right) {
        for (size_t k = len + 1; k-- > 0;) if (k + sl <= len && !memcmp(text + k, sub, sl)) { hit = text + k; break; }
    } else hit = memmem(text, len, sub, sl);
    if (!hit) {
        if (raise) return lang_raise(I, "ValueError", "substring not found");
        return v_int(-1);
    }
    return v_int(w.first + cp_index(text, (size_t)(hit - text)));
}
static value *s_find(interp *I, value *self, args *a) { return s_find_impl(I, self, a, false, false); }
static value *s_rfind(interp *I, value *self, args *a) { return s_find_impl(I, self, a, false, true); }
static value *s_index(interp *I, value *self, args *a) { return s_find_impl(I, self, a, true, false); }

static value *s_count(interp *I, value *self, args *a)
{
    value *subv = lang_arg(a, "sub");
    const char *sub = lang_arg_str(I, subv, "substring");
    str_window w;
    if (!sub || str_window_of(I, self, a, &w)) return NULL;
    if (!w.open) return v_int(0);
    size_t sl = subv->u.str.len;
    const char *p = SELF_STR + w.from, *end = SELF_STR + w.to;
    if (!sl) return v_int(cp_index(p, w.to - w.from) + 1);
    int64_t n = 0;
    while ((p = memmem(p, (size_t)(end - p), sub, sl))) { n++; p += sl; }
    return v_int(n);
}

static value *s_pred(value *self, int (*pred)(int))
{
    if (!SELF_LEN) return v_bool(false);
    for (size_t i = 0; i < SELF_LEN; i++) if (!pred((unsigned char)SELF_STR[i])) return v_bool(false);
    return v_bool(true);
}
static value *s_isdigit(interp *I, value *self, args *a) { (void)I; (void)a; return s_pred(self, isdigit); }
static value *s_isalpha(interp *I, value *self, args *a) { (void)I; (void)a; return s_pred(self, isalpha); }
static value *s_isspace(interp *I, value *self, args *a) { (void)I; (void)a; return s_pred(self, isspace); }
static value *s_isalnum(interp *I, value *self, args *a) { (void)I; (void)a; return s_pred(self, isalnum); }

/* str.ljust, rjust, center */
static const lang_param s_just_params[] = {{"width", LANG_POSONLY}, {"fillchar", LANG_POSONLY, "' '"}, {NULL}};

static value *s_just(interp *I, value *self, args *a, char align)
{
    int64_t w;
    if (lang_arg_int(I, lang_arg(a, "width"), "width", &w)) return NULL;
    char fill = ' ';
    value *fv = lang_arg(a, "fillchar");
    if (fv) {
        const char *f = lang_arg_str(I, fv, "fillchar");
        if (!f) return NULL;
        if (strlen(f) != 1) return lang_raise(I, "TypeError", "The fill character must be exactly one character long");
        fill = f[0];
    }
    char spec[64];
    snprintf(spec, sizeof spec, "%c%c%lld", fill, align, (long long)(w < 0 ? 0 : w));
    char *r = lang_format_value(I, self, spec);
    return r ? v_str_take(r, strlen(r)) : NULL;
}
static value *s_ljust(interp *I, value *self, args *a) { return s_just(I, self, a, '<'); }
static value *s_rjust(interp *I, value *self, args *a) { return s_just(I, self, a, '>'); }
static value *s_center(interp *I, value *self, args *a) { return s_just(I, self, a, '^'); }
static const lang_param s_zfill_params[] = {{"width", LANG_POSONLY}, {NULL}};

static value *s_zfill(interp *I, value *self, args *a)
{
    int64_t w;
    if (lang_arg_int(I, lang_arg(a, "width"), "width", &w)) return NULL;
    char spec[32];
    snprintf(spec, sizeof spec, "0=%lld", (long long)(w < 0 ? 0 : w));
    char *r = lang_format_value(I, self, spec);
    return r ? v_str_take(r, strlen(r)) : NULL;
}

/* ---- list methods ----------------------------------------------------------- */

static const lang_param object_params[] = {{"object", LANG_POSONLY}, {NULL}};

static value *l_append(interp *I, value *self, args *a)
{
    if (lang_list_append(self, lang_incref(lang_arg(a, "object")))) return lang_raise(I, "MemoryError", "out of memory");
    return v_none();
}

static value *l_extend(interp *I, value *self, args *a)
{
    value *items = lang_to_list(I, lang_arg(a, "iterable"));
    if (!items) return NULL;
    for (size_t i = 0; i < items->u.list.n; i++)
        if (lang_list_append(self, lang_incref(items->u.list.items[i]))) { lang_decref(items); return lang_raise(I, "MemoryError", "out of memory"); }
    lang_decref(items);
    return v_none();
}

static const lang_param l_insert_params[] = {{"index", LANG_POSONLY}, {"object", LANG_POSONLY}, {NULL}};

static value *l_insert(interp *I, value *self, args *a)
{
    int64_t i;
    value *x = lang_arg(a, "object");
    if (lang_arg_int(I, lang_arg(a, "index"), "index", &i)) return NULL;
    int64_t n = (int64_t)self->u.list.n;
    if (i < 0) i += n;
    if (i < 0) i = 0;
    if (i > n) i = n;
    if (lang_list_append(self, lang_incref(x))) return lang_raise(I, "MemoryError", "out of memory");
    memmove(self->u.list.items + i + 1, self->u.list.items + i, (size_t)(n - i) * sizeof(value *));
    self->u.list.items[i] = lang_incref(x);
    lang_decref(x);
    return v_none();
}

/* The index of the first item of a list or tuple equal to x among items
 * [start, stop); -1 with ValueError (or the comparison's error) raised. */
static int64_t seq_find(interp *I, value *self, value *x, int64_t start, int64_t stop)
{
    for (int64_t i = start; i < stop && i < (int64_t)self->u.list.n; i++) {
        int r = lang_values_equal(I, self->u.list.items[i], x);
        if (r < 0) return -1;
        if (r) return i;
    }
    char *r = lang_repr_of(x);
    lang_raise(I, "ValueError", "%s is not in %s", r ? r : "value", lang_type_name(self));
    free(r);
    return -1;
}

/* list.count, list.remove, tuple.count */
static const lang_param value_params[] = {{"value", LANG_POSONLY}, {NULL}};

/* list.index, tuple.index: the first in items [start, stop) */
static const lang_param seq_index_params[] = {
    {"value", LANG_POSONLY}, {"start", LANG_POSONLY, "0"}, {"stop", LANG_POSONLY, "9223372036854775807"}, {NULL}};

static value *seq_index(interp *I, value *self, args *a)
{
    int64_t n = (int64_t)self->u.list.n, start, stop;
    value *x = lang_arg(a, "value");
    if (bound_arg(I, lang_arg(a, "start"), false, n, 0, &start) || bound_arg(I, lang_arg(a, "stop"), false, n, n, &stop)) return NULL;
    int64_t i = seq_find(I, self, x, start, stop);
    return i < 0 ? NULL : v_int(i);
}

static value *seq_count(interp *I, value *self, args *a)
{
    value *x = lang_arg(a, "value");
    int64_t n = 0;
    for (size_t i = 0; i < self->u.list.n; i++) {
        int r = lang_values_equal(I, self->u.list.items[i], x);
        if (r < 0) return NULL;
        n += r;
    }
    return v_int(n);
}

/* Removes item i (0 <= i < n) of a list and gives it to the caller. */
static value *list_take(value *self, int64_t i)
{
    value *x = self->u.list.items[i];
    memmove(self->u.list.items + i, self->u.list.items + i + 1, (self->u.list.n - (size_t)i - 1) * sizeof(value *));
    self->u.list.n--;
    return x;
}

static const lang_param l_pop_params[] = {{"index", LANG_POSONLY, "-1"}, {NULL}};

static value *l_pop(interp *I, value *self, args *a)
{
    int64_t n = (int64_t)self->u.list.n, i = n - 1;
    value *iv = lang_arg(a, "index");
    if (iv && lang_arg_int(I, iv, "index", &i)) return NULL;
    if (n == 0) return lang_raise(I, "IndexError", "pop from empty list");
    if (i < 0) i += n;
    if (i < 0 || i >= n) return lang_raise(I, "IndexError", "pop index out of range");
    return list_take(self, i);
}

static value *l_remove(interp *I, value *self, args *a)
{
    int64_t i = seq_find(I, self, lang_arg(a, "value"), 0, (int64_t)self->u.list.n);
    if (i < 0) return NULL;
    lang_decref(list_take(self, i));
    return v_none();
}

static value *l_reverse(interp *I, value *self, args *a)
{
    (void)I; (void)a;
    for (size_t i = 0, j = self->u.list.n; i + 1 < j; i++, j--) {
        value *t = self->u.list.items[i];
        self->u.list.items[i] = self->u.list.items[j - 1];
        self->u.list.items[j - 1] = t;
    }
    return v_none();
}

static const lang_param l_sort_params[] = {
    {"key", LANG_KEYWORD, "None"}, {"reverse", LANG_KEYWORD, "False"}, {NULL}};

static value *l_sort(interp *I, value *self, args *a)
{
    bool rev = false;
    value *r = lang_arg(a, "reverse");
    if (r && lang_arg_bool(I, r, &rev)) return NULL;
    if (lang_list_sort_inplace(I, self, lang_arg(a, "key"), rev)) return NULL;
    return v_none();
}

static value *l_copy(interp *I, value *self, args *a) { (void)a; return lang_to_list(I, self); }
static value *l_clear(interp *I, value *self, args *a)
{
    (void)I; (void)a;
    /* emptied first: the decrefs never see stale items */
    size_t n = self->u.list.n;
    self->u.list.n = 0;
    for (size_t i = 0; i < n; i++) lang_decref(self->u.list.items[i]);
    return v_none();
}

/* ---- dict methods ----------------------------------------------------------- */

static value *d_view(value *self, int which)
{
    value *r = v_list(lang_dict_len(self->u.d));
    if (!r) return NULL;
    size_t i = 0;
    value *k, *v;
    while (lang_dict_next(self->u.d, &i, &k, &v))
        r->u.list.items[r->u.list.n++] = which == 0 ? lang_incref(k) : which == 1 ? lang_incref(v) : v_tuple_of(2, lang_incref(k), lang_incref(v));
    return r;
}
static value *d_keys(interp *I, value *self, args *a) { (void)I; (void)a; return d_view(self, 0); }
static value *d_values(interp *I, value *self, args *a) { (void)I; (void)a; return d_view(self, 1); }
static value *d_items(interp *I, value *self, args *a) { (void)I; (void)a; return d_view(self, 2); }

/* dict.get, dict.setdefault */
static const lang_param key_default_none_params[] = {{"key", LANG_POSONLY}, {"default", LANG_POSONLY, "None"}, {NULL}};

static value *d_get(interp *I, value *self, args *a)
{
    value *key = lang_arg(a, "key"), *dflt = lang_arg(a, "default");
    if (lang_check_hashable(I, key)) return NULL;
    value *v = lang_dict_get(self->u.d, key);
    if (v) return lang_incref(v);
    return dflt ? lang_incref(dflt) : v_none();
}

static const lang_param d_pop_params[] = {{"key", LANG_POSONLY}, {"default", LANG_POSONLY, "..."}, {NULL}};

static value *d_pop(interp *I, value *self, args *a)
{
    value *key = lang_arg(a, "key"), *dflt = lang_arg(a, "default");
    if (lang_check_hashable(I, key)) return NULL;
    value *v = lang_dict_get(self->u.d, key);
    if (!v) {
        if (dflt) return lang_incref(dflt);
        char *r = lang_repr_of(key);
        lang_raise(I, "KeyError", "%s", r ? r : "?");
        free(r);
        return NULL;
    }
    lang_incref(v);
    lang_dict_del(self->u.d, key);
    return v;
}

static value *d_setdefault(interp *I, value *self, args *a)
{
    value *key = lang_arg(a, "key"), *dflt = lang_arg(a, "default");
    if (lang_check_hashable(I, key)) return NULL;
    value *v = lang_dict_get(self->u.d, key);
    if (v) return lang_incref(v);
    value *d = dflt ? dflt : V_NONE_VAL;
    if (lang_dict_set(I, self->u.d, key, d)) return NULL;
    return lang_incref(d);
}

/* update(other, **kwargs) or update(**kwargs); a keyword named other is one
 * of the kwargs, as in Python */
static const lang_param d_update_params[] = {{"other", LANG_POSONLY, "..."}, {"kwargs", LANG_VARKW}, {NULL}};

static value *d_update(interp *I, value *self, args *a)
{
    value *other = lang_arg(a, "other");
    if (other) {
        if (other->type != V_DICT) return lang_raise(I, "TypeError", "update() argument must be a dict");
        size_t i = 0;
        value *k, *v;
        while (lang_dict_next(other->u.d, &i, &k, &v)) lang_dict_set(I, self->u.d, k, v);
    }
    for (int i = 0; i < a->nkw; i++) lang_dict_set_str(self->u.d, a->kwnames[i], lang_incref(a->kw[i]));
    return v_none();
}

static value *d_copy(interp *I, value *self, args *a)
{
    (void)a;
    value *r = v_dict();
    if (!r) return NULL;
    size_t i = 0;
    value *k, *v;
    while (lang_dict_next(self->u.d, &i, &k, &v)) lang_dict_set(I, r->u.d, k, v);
    return r;
}

static value *d_clear(interp *I, value *self, args *a)
{
    (void)I; (void)a;
    lang_dict_clear(self->u.d);
    return v_none();
}

const lang_builtin methods_core[] = {
    {"str.format", s_format, "Replaces {} / {0} / {name} fields (with :format specs and !r) by the arguments.", s_format_params},
    {"str.join", s_join, "The strings of iterable joined with this string between them.", iterable_params},
    {"str.split", s_split, "The words of the string: split on sep, or on runs of whitespace when sep is None.", s_split_params},
    {"str.rsplit", s_rsplit, "Like split, splitting from the right.", s_split_params},
    {"str.splitlines", s_splitlines, "The lines of the string (with their line breaks when keepends is true).", s_splitlines_params},
    {"str.strip", s_strip, "The string without leading and trailing whitespace (or chars).", s_strip_params},
    {"str.lstrip", s_lstrip, "The string without leading whitespace (or chars).", s_strip_params},
    {"str.rstrip", s_rstrip, "The string without trailing whitespace (or chars).", s_strip_params},
    {"str.replace", s_replace, "A copy with occurrences of old replaced by new (the first count of them, if count is not -1).", s_replace_params},
    {"str.upper", s_upper, "Upper-case copy (ASCII letters).", no_params},
    {"str.lower", s_lower, "Lower-case copy (ASCII letters).", no_params},
    {"str.capitalize", s_capitalize, "Copy with the first letter upper-case and the rest lower-case.", no_params},
    {"str.title", s_title, "Copy with each word capitalized.", no_params},
    {"str.startswith", s_startswith, "Whether the string (from start to end, code point indices as in slicing) starts with prefix (or one of a tuple of prefixes).", s_startswith_params},
    {"str.endswith", s_endswith, "Whether the string (from start to end) ends with suffix (or one of a tuple of suffixes).", s_endswith_params},
    {"str.find", s_find, "Index of the first occurrence of sub (within start to end, as in slicing), or -1.", sub_params},
    {"str.rfind", s_rfind, "Index of the last occurrence of sub (within start to end), or -1.", sub_params},
    {"str.index", s_index, "Index of the first occurrence of sub (within start to end); ValueError when absent.", sub_params},
    {"str.count", s_count, "Number of non-overlapping occurrences of sub (within start to end).", sub_params},
    {"str.isdigit", s_isdigit, "Whether every character is a digit.", no_params},
    {"str.isalpha", s_isalpha, "Whether every character is a letter.", no_params},
    {"str.isalnum", s_isalnum, "Whether every character is a letter or digit.", no_params},
    {"str.isspace", s_isspace, "Whether every character is whitespace.", no_params},
    {"str.ljust", s_ljust, "Left-justified in a field of width.", s_just_params},
    {"str.rjust", s_rjust, "Right-justified in a field of width.", s_just_params},
    {"str.center", s_center, "Centered in a field of width.", s_just_params},
    {"str.zfill", s_zfill, "Padded on the left with zeros to width.", s_zfill_params},
    {"list.append", l_append, "Adds object at the end.", object_params},
    {"list.extend", l_extend, "Adds the items of iterable at the end.", iterable_params},
    {"list.insert", l_insert, "Inserts object before index.", l_insert_params},
    {"list.index", seq_index, "Index of the first item equal to value (among items start to stop); ValueError when absent.", seq_index_params},
    {"list.count", seq_count, "Number of items equal to value.", value_params},
    {"list.pop", l_pop, "Removes and returns the item at index (the last by default).", l_pop_params},
    {"list.remove", l_remove, "Removes the first item equal to value.", value_params},
    {"list.reverse", l_reverse, "Reverses the list in place.", no_params},
    {"list.sort", l_sort, "Sorts the list in place (stable).", l_sort_params},
    {"list.copy", l_copy, "A shallow copy.", no_params},
    {"list.clear", l_clear, "Removes every item.", no_params},
    {"tuple.index", seq_index, "Index of the first item equal to value (among items start to stop); ValueError when absent.", seq_index_params},
    {"tuple.count", seq_count, "Number of items equal to value.", value_params},
    {"dict.keys", d_keys, "The keys, in insertion order (a list).", no_params},
    {"dict.values", d_values, "The values, in insertion order (a list).", no_params},
    {"dict.items", d_items, "(key, value) pairs, in insertion order (a list).", no_params},
    {"dict.get", d_get, "The value of key, or default when absent.", key_default_none_params},
    {"dict.pop", d_pop, "Removes key and returns its value (default when absent, if given).", d_pop_params},
    {"dict.setdefault", d_setdefault, "The value of key, inserting default first when absent.", key_default_none_params},
    {"dict.update", d_update, "Adds the items of the dict other and the keyword arguments.", d_update_params},
    {"dict.copy", d_copy, "A shallow copy.", no_params},
    {"dict.clear", d_clear, "Removes every item.", no_params},
    {NULL, NULL, NULL, NULL},
};

/* ---- attributes ---------------------------------------------------------------- */

value *lang_get_attr(interp *I, value *obj, const char *name)
{
    const char *tn = NULL;
    switch (obj->type) {
    case V_STR: tn = "str"; break;
    case V_LIST: tn = "list"; break;
    case V_DICT: tn = "dict"; break;
    case V_TUPLE:
        if (obj->tuple_class && obj->tuple_class->field_names)
            for (size_t i = 0; i < obj->u.list.n && i < (size_t)obj->tuple_class->n_fields; i++)
                if (obj->tuple_class->field_names[i] && !strcmp(obj->tuple_class->field_names[i], name))
                    return lang_incref(obj->u.list.items[i]);
        tn = "tuple";
        break;
    case V_OBJECT: case V_TENSOR: {
        const lang_type *t = lang_type_of(obj);
        if (t && t->getattr) {
            value *r = t->getattr(I, obj, name);
            if (r || I->error) return r;
        }
        break;
    }
    case V_RANGE:
        if (!strcmp(name, "start")) return v_int(obj->u.range.start);
        if (!strcmp(name, "stop")) return v_int(obj->u.range.stop);
        if (!strcmp(name, "step")) return v_int(obj->u.range.step);
        break;
    case V_INT: case V_FLOAT: case V_BOOL:
        if (!strcmp(name, "real")) return lang_incref(obj);
        if (!strcmp(name, "imag")) return v_int(0);
        break;
    default: break;
    }
    if (tn) {
        const lang_builtin *m = lang_method_find(tn, name);
        if (m) return v_builtin(m, obj);
    }
    return lang_attr_error(I, obj, name);
}

static int add_name(char ***names, int *n, const char *s)
{
    for (int i = 0; i < *n; i++) if (!strcmp((*names)[i], s)) return 0;
    char **x = realloc(*names, (size_t)(*n + 1) * sizeof *x);
    if (!x) return -1;
    *names = x;
    x[*n] = strdup(s);
    if (!x[*n]) return -1;
    (*n)++;
    return 0;
}

int lang_attr_names(interp *I, value *v, char ***names)
{
    (void)I;
    *names = NULL;
    int n = 0;
    const char *tn = lang_type_name(v);
    if (v->type == V_TUPLE && v->tuple_class && v->tuple_class->field_names)
        for (int i = 0; i < v->tuple_class->n_fields; i++)
            if (v->tuple_class->field_names[i]) add_name(names, &n, v->tuple_class->field_names[i]);
    const char *member;
    for (size_t it = 0; lang_is_module(v) && lang_module_next(v, &it, &member);) add_name(names, &n, member);
    const lang_type *vt = lang_type_of(v);
    if (vt && vt->attrs)
        for (int i = 0; vt->attrs[i]; i++) add_name(names, &n, vt->attrs[i]);
    size_t tl = strlen(tn);
    for (int t = 0; builtin_tables[t]; t++)
        for (const lang_builtin *b = builtin_tables[t]; b->name; b++)
            if (!strncmp(b->name, tn, tl) && b->name[tl] == '.') add_name(names, &n, b->name + tl + 1);
    return n;
}
