/* kernel/lang/format_spec.c — Python's format-spec mini-language
 * ("", ".2f", ">10", "+,d", "#x", ...) for f-strings, format() and str.format.
 *
 * Owns: format_value. Widths and precisions are bounded (FORMAT_MAX_*), so a
 * spec never asks for an unbounded allocation.
 * Does not own: str % formatting (methods.c), repr (repr.c). */
#include "value.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "value_internal.h"

/* ---- format spec ------------------------------------------------------------ */

typedef struct fspec {
    char fill, align, sign, type, grouping;
    bool alt, zero;
    int64_t width, prec;
} fspec;

/* The widest field a format spec may ask for, and the most digits after the
 * point: results stay far below the string limits. */
#define FORMAT_MAX_WIDTH ((int64_t)1 << 28)
#define FORMAT_MAX_PRECISION 10000

static int spec_number(interp *I, const char *s, size_t n, size_t *i, int64_t *out)
{
    int64_t v = 0;
    while (*i < n && isdigit((unsigned char)s[*i])) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[*i] - '0', &v)) {
            lang_raise(I, "ValueError", "Too many decimal digits in format string");
            return -1;
        }
        (*i)++;
    }
    *out = v;
    return 0;
}

static int parse_spec(interp *I, const char *s, fspec *f)
{
    memset(f, 0, sizeof *f);
    f->fill = ' ';
    f->prec = -1;
    size_t n = strlen(s), i = 0;
    if (n >= 2 && strchr("<>=^", s[1])) { f->fill = s[0]; f->align = s[1]; i = 2; }
    else if (n >= 1 && strchr("<>=^", s[0])) { f->align = s[0]; i = 1; }
    if (i < n && strchr("+- ", s[i])) f->sign = s[i++];
    if (i < n && s[i] == '#') { f->alt = true; i++; }
    if (i < n && s[i] == '0') { f->zero = true; i++; }
    if (spec_number(I, s, n, &i, &f->width)) return -1;
    if (i < n && (s[i] == ',' || s[i] == '_')) f->grouping = s[i++];
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !isdigit((unsigned char)s[i])) { lang_raise(I, "ValueError", "Format specifier missing precision"); return -1; }
        if (spec_number(I, s, n, &i, &f->prec)) return -1;
    }
    if (i < n) f->type = s[i++];
    if (i < n) { lang_raise(I, "ValueError", "Invalid format specifier '%s'", s); return -1; }
    if (f->width > FORMAT_MAX_WIDTH) { lang_raise(I, "MemoryError", "format width %lld is too large", (long long)f->width); return -1; }
    if (f->prec > FORMAT_MAX_PRECISION) { lang_raise(I, "ValueError", "precision too big"); return -1; }
    return 0;
}

static char *group_digits(const char *num, char sep)
{
    /* num: optional sign, digits, optional fraction/exponent */
    const char *p = num;
    dbuf b = {0};
    if (*p == '-' || *p == '+' || *p == ' ') display_dbuf_append_n(&b, p++, 1);
    size_t nd = strspn(p, "0123456789");
    for (size_t i = 0; i < nd; i++) {
        display_dbuf_append_n(&b, p + i, 1);
        size_t rest = nd - i - 1;
        if (rest && rest % 3 == 0) display_dbuf_append_n(&b, &sep, 1);
    }
    display_dbuf_append(&b, p + nd);
    return display_dbuf_take(&b);
}

static char *pad(const char *body, const fspec *f, char default_align)
{
    size_t len = 0;
    for (const char *p = body; *p; p++) if (((unsigned char)*p & 0xC0) != 0x80) len++;
    if ((int64_t)len >= f->width) return strdup(body);
    size_t padn = (size_t)f->width - len;
    char align = f->align ? f->align : default_align;
    char fill = f->fill;
    if (f->zero && !f->align) { align = '='; fill = '0'; }
    dbuf b = {0};
    size_t left = align == '>' ? padn : align == '^' ? padn / 2 : 0, right = padn - left;
    if (align == '=') {
        const char *p = body;
        if (*p == '-' || *p == '+' || *p == ' ') display_dbuf_append_n(&b, p++, 1);
        for (size_t i = 0; i < padn; i++) display_dbuf_append_n(&b, &fill, 1);
        display_dbuf_append(&b, p);
        return display_dbuf_take(&b);
    }
    for (size_t i = 0; i < left; i++) display_dbuf_append_n(&b, &fill, 1);
    display_dbuf_append(&b, body);
    for (size_t i = 0; i < right; i++) display_dbuf_append_n(&b, &fill, 1);
    return display_dbuf_take(&b);
}

char *lang_format_value(interp *I, value *v, const char *spec)
{
    const lang_type *t = lang_type_of(v);
    if (t && t->format) {
        char *r = t->format(I, v, spec ? spec : "");
        if (r || I->error) return r;
    }
    if (!spec || !*spec) return lang_str_of(v);
    fspec f;
    if (parse_spec(I, spec, &f)) return NULL;
    char buf[512];
    char *body = NULL;
    if (v->type == V_STR || !lang_is_number(v)) {
        if (f.type && f.type != 's') {
            lang_raise(I, "ValueError", "Unknown format code '%c' for object of type '%s'", f.type, lang_type_name(v));
            return NULL;
        }
        char *s = lang_str_of(v);
        if (!s) return NULL;
        if (f.prec >= 0) s[lang_utf8_offset(s, strlen(s), f.prec)] = 0;
        char *r = pad(s, &f, '<');
        free(s);
        return r;
    }
    char type = f.type;
    bool is_int = v->type != V_FLOAT;
    if (is_int && (type == 0 || type == 'd' || type == 'n' || type == 'x' || type == 'X' || type == 'o' || type == 'b' || type == 'c')) {
        int64_t x = lang_num_as_int(v);
        if (v->type == V_BOOL && type == 0) return pad(v->u.b ? "True" : "False", &f, '<');
        uint64_t ax = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
        char digits[80];
        if (type == 'x' || type == 'X') snprintf(digits, sizeof digits, type == 'x' ? "%s%llx" : "%s%llX", f.alt ? (type == 'x' ? "0x" : "0X") : "", (unsigned long long)ax);
        else if (type == 'o') snprintf(digits, sizeof digits, "%s%llo", f.alt ? "0o" : "", (unsigned long long)ax);
        else if (type == 'b') {
            char tmp[70]; int k = 0;
            do { tmp[k++] = (char)('0' + (ax & 1)); ax >>= 1; } while (ax);
            int j = 0;
            if (f.alt) { digits[j++] = '0'; digits[j++] = 'b'; }
            while (k) digits[j++] = tmp[--k];
            digits[j] = 0;
        } else if (type == 'c') {
            size_t k = 0;
            char tmp[8];
            if (x < 0 || x >= 0x110000) { lang_raise(I, "OverflowError", "%%c arg not in range(0x110000)"); return NULL; }
            if (x >= 0xD800 && x <= 0xDFFF) { lang_raise(I, "ValueError", "%%c arg is a surrogate (lens strings are UTF-8)"); return NULL; }
            {
                unsigned long cp = (unsigned long)x;
                if (cp < 0x80) tmp[k++] = (char)cp;
                else if (cp < 0x800) { tmp[k++] = (char)(0xC0 | (cp >> 6)); tmp[k++] = (char)(0x80 | (cp & 0x3F)); }
                else if (cp < 0x10000) { tmp[k++] = (char)(0xE0 | (cp >> 12)); tmp[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)); tmp[k++] = (char)(0x80 | (cp & 0x3F)); }
                else { tmp[k++] = (char)(0xF0 | (cp >> 18)); tmp[k++] = (char)(0x80 | ((cp >> 12) & 0x3F)); tmp[k++] = (char)(0x80 | ((cp >> 6) & 0x3F)); tmp[k++] = (char)(0x80 | (cp & 0x3F)); }
            }
            tmp[k] = 0;
            return pad(tmp, &f, '<');
        } else snprintf(digits, sizeof digits, "%llu", (unsigned long long)ax);
        snprintf(buf, sizeof buf, "%s%s", x < 0 ? "-" : f.sign == '+' ? "+" : f.sign == ' ' ? " " : "", digits);
        if (f.grouping && (type == 0 || type == 'd' || type == 'n')) {
            char *g = group_digits(buf, f.grouping);
            char *r = g ? pad(g, &f, '>') : NULL;
            free(g);
            return r;
        }
        return pad(buf, &f, '>');
    }
    if (!type && is_int) type = 'd';
    double d = lang_num_as_double(v);
    if (!strchr("eEfFgG%n", type ? type : 'g') && type) {
        lang_raise(I, "ValueError", "Unknown format code '%c' for object of type '%s'", type, lang_type_name(v));
        return NULL;
    }
    const char *sign = signbit(d) && !isnan(d) ? "-" : f.sign == '+' ? "+" : f.sign == ' ' ? " " : "";
    double ad = fabs(d);
    int prec = f.prec < 0 ? 6 : (int)f.prec;   /* <= FORMAT_MAX_PRECISION */
    /* the text is as long as the number needs (1e308 in 'f' has 309 digits) */
    int n = -1;
    if (type == 0) {
        if (f.prec < 0) {
            char *r = lang_float_repr(ad);
            n = r ? asprintf(&body, "%s%s", sign, r) : -1;
            free(r);
        } else {
            n = asprintf(&body, "%s%.*g", sign, prec ? prec : 1, ad);
            if (n >= 0 && !strpbrk(body, ".en") && isfinite(ad)) {
                char *b2 = NULL;
                n = asprintf(&b2, "%s.0", body);
                free(body);
                body = n >= 0 ? b2 : NULL;
            }
        }
    } else if (type == '%') {
        n = asprintf(&body, "%s%.*f%%", sign, prec, ad * 100);
    } else if (type == 'n') {
        n = asprintf(&body, "%s%.*g", sign, prec ? prec : 1, ad);
    } else {
        char fmt[16];
        snprintf(fmt, sizeof fmt, "%%s%%%s.*%c", f.alt ? "#" : "", type);
        n = asprintf(&body, fmt, sign, prec, ad);
    }
    if (n < 0) { lang_raise(I, "MemoryError", "out of memory"); return NULL; }
    char *r;
    if (f.grouping) {
        char *g = group_digits(body, f.grouping);
        r = g ? pad(g, &f, '>') : NULL;
        free(g);
    } else r = pad(body, &f, '>');
    free(body);
    return r;
}
