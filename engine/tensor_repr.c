/* tensor_repr.c — printing tensors: torch-style text (lens_tensor_repr) and an HTML table
 * for small 0-d/1-d/2-d tensors (lens_tensor_html); see lens/tensor_ops.h.
 *
 * The text follows torch's default print options: precision 4, line width 80,
 * summarising with 3 edge items per dim above 1000 elements, and the same choice
 * between fixed ("1.5000"), integer-valued ("1.") and scientific ("1.5000e+08") forms,
 * made once per tensor from its nonzero finite values; bools print as True / False,
 * right-aligned to the widest shown. */
#include "lens/tensor_ops.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor_device.h"
#include "tensor_iter.h"

#define THRESHOLD 1000
#define EDGEITEMS 3
#define LINEWIDTH 80
#define PRECISION 4

typedef struct { char *buf; size_t len, cap; bool oom; } sbuf;

static void sb_put(sbuf *sb, const char *s, size_t n)
{
    if (sb->oom) return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (sb->len + n + 1 > cap) cap *= 2;
        char *nb = realloc(sb->buf, cap);
        if (!nb) { sb->oom = true; return; }
        sb->buf = nb;
        sb->cap = cap;
    }
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

static void sb_str(sbuf *sb, const char *s) { sb_put(sb, s, strlen(s)); }

static void sb_printf(sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *sb, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_put(sb, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static char *sb_finish(sbuf *sb)
{
    if (sb->oom) { free(sb->buf); return NULL; }
    if (!sb->buf) sb_put(sb, "", 0);
    return sb->buf;
}

/* ---- number formatting (torch's _Formatter) ---- */

typedef struct {
    bool is_float, is_bool, int_mode, sci_mode;
    int width;
} formatter;

/* Unpadded text of one value. */
static int fmt_raw(const formatter *f, double v, char *out, size_t n)
{
    if (f->is_bool) return snprintf(out, n, "%s", v != 0 ? "True" : "False");
    if (!f->is_float) return snprintf(out, n, "%lld", (long long)v);
    if (isnan(v)) return snprintf(out, n, "nan");
    if (isinf(v)) return snprintf(out, n, v > 0 ? "inf" : "-inf");
    if (f->sci_mode) return snprintf(out, n, "%.*e", PRECISION, v);
    if (f->int_mode) return snprintf(out, n, "%.0f.", v);
    return snprintf(out, n, "%.*f", PRECISION, v);
}

static void fmt_padded(const formatter *f, double v, char *out, size_t n)
{
    char raw[64];
    int len = fmt_raw(f, v, raw, sizeof raw);
    int pad = f->width > len ? f->width - len : 0;
    snprintf(out, n, "%*s%s", pad, "", raw);
}

/* Scans the elements torch would show (edge items when summarising) for the format. */
typedef struct { formatter *f; double mn, mx; bool any; const lens_tensor *t; } scan_state;

static void scan_value(scan_state *s, int64_t off)
{
    formatter *f = s->f;
    if (f->is_bool) {
        int len = lens_tensor_bool(s->t)[off] ? 4 : 5;   /* "True", "False" */
        if (len > f->width) f->width = len;
        return;
    }
    if (!f->is_float) {
        char raw[64];
        int len = snprintf(raw, sizeof raw, "%lld", (long long)lens_tensor_i64(s->t)[off]);
        if (len > f->width) f->width = len;
        return;
    }
    double v = lens_tensor_f32(s->t)[off];
    if (!isfinite(v) || v == 0) return;
    double a = fabs(v);
    if (!s->any || a < s->mn) s->mn = a;
    if (!s->any || a > s->mx) s->mx = a;
    s->any = true;
    if (v != ceil(v)) f->int_mode = false;
}

static void scan(scan_state *s, int dim, int64_t off, bool summarize, bool widths_pass)
{
    const lens_tensor *t = s->t;
    if (dim == t->ndim) {
        if (!widths_pass) { scan_value(s, off); return; }
        if (!s->f->is_float) return;
        double v = lens_tensor_f32(t)[off];
        if (!isfinite(v) || v == 0) return;
        char raw[64];
        int len = fmt_raw(s->f, v, raw, sizeof raw);
        if (len > s->f->width) s->f->width = len;
        return;
    }
    int64_t n = t->shape[dim];
    for (int64_t i = 0; i < n; i++) {
        if (summarize && n > 2 * EDGEITEMS && i == EDGEITEMS) i = n - EDGEITEMS;
        scan(s, dim + 1, off + i * t->strides[dim], summarize, widths_pass);
    }
}

static formatter make_formatter(const lens_tensor *t, bool summarize)
{
    formatter f = {.is_float = t->dtype == LENS_F32, .is_bool = t->dtype == LENS_BOOL, .int_mode = true,
                   .sci_mode = false, .width = 1};
    scan_state s = {.f = &f, .t = t};
    scan(&s, 0, 0, summarize, false);
    if (!f.is_float || !s.any) return f;
    if (f.int_mode) {
        if (s.mx / s.mn > 1000.0 || s.mx > 1.0e8) f.sci_mode = true;
    } else if (s.mx / s.mn > 1000.0 || s.mx > 1.0e8 || s.mn < 1.0e-4) {
        f.sci_mode = true;
    }
    /* int_mode widths count the trailing "." that fmt_raw adds, as torch's len(str)+1. */
    scan(&s, 0, 0, summarize, true);
    return f;
}

/* ---- layout (torch's _tensor_str_with_formatter) ---- */

static void put_vector(sbuf *sb, const lens_tensor *t, int64_t off, int indent, bool summarize,
                       const formatter *f)
{
    int64_t n = t->shape[t->ndim - 1], st = t->strides[t->ndim - 1];
    int per_line = (LINEWIDTH - indent) / (f->width + 2);
    if (per_line < 1) per_line = 1;
    bool cut = summarize && n > 2 * EDGEITEMS;
    int64_t count = cut ? 2 * EDGEITEMS + 1 : n;
    sb_str(sb, "[");
    for (int64_t k = 0; k < count; k++) {
        if (k) {
            if (k % per_line == 0) {
                sb_str(sb, ",\n");
                sb_printf(sb, "%*s", indent + 1, "");
            } else sb_str(sb, ", ");
        }
        if (cut && k == EDGEITEMS) { sb_str(sb, " ..."); continue; }
        int64_t i = cut && k > EDGEITEMS ? n - (count - k) : k;
        char cell[96];
        fmt_padded(f, lens_load(t, off + i * st), cell, sizeof cell);
        sb_str(sb, cell);
    }
    sb_str(sb, "]");
}

static void put_tensor(sbuf *sb, const lens_tensor *t, int dim, int64_t off, int indent,
                       bool summarize, const formatter *f)
{
    int rem = t->ndim - dim;
    if (rem == 1) { put_vector(sb, t, off, indent, summarize, f); return; }
    int64_t n = t->shape[dim];
    bool cut = summarize && n > 2 * EDGEITEMS;
    int64_t count = cut ? 2 * EDGEITEMS + 1 : n;
    sb_str(sb, "[");
    for (int64_t k = 0; k < count; k++) {
        if (k) {
            sb_str(sb, ",");
            for (int j = 0; j < rem - 1; j++) sb_str(sb, "\n");
            sb_printf(sb, "%*s", indent + 1, "");
        }
        if (cut && k == EDGEITEMS) { sb_str(sb, "..."); continue; }
        int64_t i = cut && k > EDGEITEMS ? n - (count - k) : k;
        put_tensor(sb, t, dim + 1, off + i * t->strides[dim], indent + 1, summarize, f);
    }
    sb_str(sb, "]");
}

/* A device tensor prints from its download, with torch's device suffix:
 * tensor([1., 2.], device='sim'). */
static char *device_repr(const lens_tensor *t, bool html)
{
    lens_error err;
    lens_tensor *h = lens_tensor_host(t, &err);
    sbuf sb = {0};
    if (!h) {
        sb_printf(&sb, "<tensor on %s that could not be read: %s>", lens_device_name(lens_tensor_device(t)), err.msg);
        return sb_finish(&sb);
    }
    char *r = html ? lens_tensor_html(h) : lens_tensor_repr(h);
    lens_tensor_free(h);
    if (html || !r) return r;
    size_t n = strlen(r);
    if (n) r[n - 1] = 0;   /* the closing ')' */
    const char *dev = lens_tensor_device(t) == LENS_CUDA ? "cuda:0" : lens_device_name(lens_tensor_device(t));
    sb_printf(&sb, "%s, device='%s')", r, dev);
    free(r);
    return sb_finish(&sb);
}

char *lens_tensor_repr(const lens_tensor *t)
{
    if (!lens_tensor_on_host(t)) return device_repr(t, false);
    sbuf sb = {0};
    const char *prefix = "tensor(";
    int indent = (int)strlen(prefix);
    sb_str(&sb, prefix);
    int64_t numel = lens_tensor_numel(t);
    if (numel == 0) {
        sb_str(&sb, "[]");
        if (t->ndim != 1) {
            sb_str(&sb, ", size=(");
            for (int d = 0; d < t->ndim; d++) sb_printf(&sb, d ? ", %lld" : "%lld", (long long)t->shape[d]);
            sb_str(&sb, ")");
        }
        if (t->dtype != LENS_F32) sb_printf(&sb, ", dtype=torch.%s", lens_dtype_name(t->dtype));
    } else if (t->ndim == 0) {
        formatter f = make_formatter(t, false);
        char cell[96];
        fmt_padded(&f, lens_load(t, 0), cell, sizeof cell);
        sb_str(&sb, cell);
    } else {
        bool summarize = numel > THRESHOLD;
        formatter f = make_formatter(t, summarize);
        put_tensor(&sb, t, 0, 0, indent, summarize, &f);
    }
    sb_str(&sb, ")");
    return sb_finish(&sb);
}

/* ---- HTML ---- */

#define HTML_EDGE 10   /* rows / columns shown at each end of a long dim */

static int64_t html_index(int64_t k, int64_t n, bool cut)
{
    return cut && k > HTML_EDGE ? n - (2 * HTML_EDGE + 1 - k) : k;
}

char *lens_tensor_html(const lens_tensor *t)
{
    if (t->ndim > 2) return NULL;
    if (!lens_tensor_on_host(t)) return device_repr(t, true);
    sbuf sb = {0};
    formatter f = make_formatter(t, lens_tensor_numel(t) > THRESHOLD);
    char cell[96];
    sb_str(&sb, "<table class=\"lens-tensor\">");
    if (t->ndim == 0) {
        fmt_raw(&f, lens_load(t, 0), cell, sizeof cell);
        sb_printf(&sb, "<tr><td>%s</td></tr>", cell);
    } else {
        int64_t rows = t->ndim == 2 ? t->shape[0] : 1, cols = t->shape[t->ndim - 1];
        int64_t rs = t->ndim == 2 ? t->strides[0] : 0, cs = t->strides[t->ndim - 1];
        bool cut_r = rows > 2 * HTML_EDGE + 1, cut_c = cols > 2 * HTML_EDGE + 1;
        int64_t nr = cut_r ? 2 * HTML_EDGE + 1 : rows, nc = cut_c ? 2 * HTML_EDGE + 1 : cols;
        sb_str(&sb, "<thead><tr>");
        if (t->ndim == 2) sb_str(&sb, "<th></th>");
        for (int64_t k = 0; k < nc; k++) {
            if (cut_c && k == HTML_EDGE) sb_str(&sb, "<th>&hellip;</th>");
            else sb_printf(&sb, "<th>%lld</th>", (long long)html_index(k, cols, cut_c));
        }
        sb_str(&sb, "</tr></thead><tbody>");
        for (int64_t r = 0; r < nr; r++) {
            sb_str(&sb, "<tr>");
            int64_t i = html_index(r, rows, cut_r);
            if (t->ndim == 2) {
                if (cut_r && r == HTML_EDGE) sb_str(&sb, "<th>&vellip;</th>");
                else sb_printf(&sb, "<th>%lld</th>", (long long)i);
            }
            for (int64_t k = 0; k < nc; k++) {
                if ((cut_r && r == HTML_EDGE) || (cut_c && k == HTML_EDGE)) {
                    sb_str(&sb, "<td>&hellip;</td>");
                    continue;
                }
                int64_t j = html_index(k, cols, cut_c);
                fmt_raw(&f, lens_load(t, i * rs + j * cs), cell, sizeof cell);
                sb_printf(&sb, "<td>%s</td>", cell);
            }
            sb_str(&sb, "</tr>");
        }
        sb_str(&sb, "</tbody>");
    }
    char shape[128];
    sb_printf(&sb, "</table><div class=\"lens-tensor-info\">shape %s, %s</div>",
              lens_shape_str(t->ndim, t->shape, shape, sizeof shape), lens_dtype_name(t->dtype));
    return sb_finish(&sb);
}
