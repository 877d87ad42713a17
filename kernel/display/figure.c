/* kernel/display/figure.c — builds Plotly figure JSON ({data, layout}) for
 * line, imshow (heatmap), scatter and bar from plain C arrays, shaped like
 * plotly.express output without a template. Rendering to mime bundles and
 * HTML lives in figure_html.c; finding plotly.js in plotly_js.c. */
#include "figure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

/* The qualitative palette px uses for successive traces (Plotly). */
static const char *const palette[] = {"#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A",
                                      "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"};

/* ColorBrewer RdBu as plotly.colors.diverging.RdBu: red for low, blue for high. */
static const char *const rdbu[] = {"rgb(103,0,31)",    "rgb(178,24,43)",   "rgb(214,96,77)",
                                   "rgb(244,165,130)", "rgb(253,219,199)", "rgb(247,247,247)",
                                   "rgb(209,229,240)", "rgb(146,197,222)", "rgb(67,147,195)",
                                   "rgb(33,102,172)",  "rgb(5,48,97)"};

/* plotly.colors.sequential.Plasma, px's default continuous scale. */
static const char *const plasma[] = {"#0d0887", "#46039f", "#7201a8", "#9c179e", "#bd3786",
                                     "#d8576b", "#ed7953", "#fb9f3a", "#fdca26", "#f0f921"};

/* A figure holds at most this many numbers: beyond it the JSON would not be
 * usable in a browser anyway. */
#define FIGURE_MAX_VALUES 20000000LL

static bool check_size(const char *what, const void *data, long long a, long long b)
{
    if (!data) { display_set_error("%s: no data", what); return false; }
    if (a <= 0 || b <= 0) {
        display_set_error("%s: empty data (shape %lld×%lld)", what, a, b);
        return false;
    }
    if (a > FIGURE_MAX_VALUES / b) {
        display_set_error("%s: too many values (%lld×%lld); the limit is %lld", what, a, b,
                          FIGURE_MAX_VALUES);
        return false;
    }
    return true;
}

static cJSON *float_array(const float *v, long long n)
{
    cJSON *a = cJSON_CreateArray();
    for (long long i = 0; a && i < n; i++) {
        cJSON *x = display_number(v[i]);
        if (!x) { cJSON_Delete(a); return NULL; }
        cJSON_AddItemToArray(a, x);
    }
    return a;
}

static cJSON *index_array(long long n)
{
    cJSON *a = cJSON_CreateArray();
    for (long long i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)i));
    return a;
}

static cJSON *string_array(const char *const *s, long long n)
{
    cJSON *a = cJSON_CreateArray();
    for (long long i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(s[i] ? s[i] : ""));
    return a;
}

static bool all_distinct(const char *const *s, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(s[i] ? s[i] : "", s[j] ? s[j] : "") == 0) return false;
    return true;
}

/* An axis over positions 0..n-1 (layers, heads, tokens): ticks on integers
 * only, every 1, 2, 5, 10, ... so that at most about 12 show. */
static void integer_ticks(cJSON *axis, long long n)
{
    static const int mantissa[] = {1, 2, 5};
    long long step = 1;
    for (long long mag = 1; mag < (1LL << 50); mag *= 10) {
        int m = 0;
        while (m < 3 && n > 12 * mantissa[m] * mag) m++;
        if (m < 3) {
            step = mantissa[m] * mag;
            break;
        }
    }
    cJSON_AddStringToObject(axis, "tickmode", "linear");
    cJSON_AddNumberToObject(axis, "tick0", 0);
    cJSON_AddNumberToObject(axis, "dtick", (double)step);
}

/* max - min + 1 when every x is a whole number in a small range (layers,
 * positions given as numbers), else 0. */
static long long integral_span(const float *x, int n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double v = x[i];
        if (!isfinite(v) || v != floor(v)) return 0;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    return hi - lo < 1e9 ? (long long)(hi - lo) + 1 : 0;
}

/* A colour scale of n equally spaced stops into obj["colorscale"]. */
static void add_colorscale(cJSON *obj, const char *const *colors, int n)
{
    cJSON *cs = cJSON_AddArrayToObject(obj, "colorscale");
    for (int i = 0; cs && i < n; i++) {
        cJSON *stop = cJSON_CreateArray();
        cJSON_AddItemToArray(stop, cJSON_CreateNumber((double)i / (n - 1)));
        cJSON_AddItemToArray(stop, cJSON_CreateString(colors[i]));
        cJSON_AddItemToArray(cs, stop);
    }
}

static void add_title(cJSON *obj, const char *text)
{
    cJSON *t = cJSON_AddObjectToObject(obj, "title");
    if (t) cJSON_AddStringToObject(t, "text", text);
}

/* The layout skeleton every figure shares. */
static cJSON *new_figure(const fig_opts *o, const char *xtitle, const char *ytitle,
                         cJSON **data, cJSON **layout, cJSON **xaxis, cJSON **yaxis)
{
    cJSON *fig = cJSON_CreateObject();
    if (!fig) return NULL;
    *data = cJSON_AddArrayToObject(fig, "data");
    *layout = cJSON_AddObjectToObject(fig, "layout");
    if (!*data || !*layout) { cJSON_Delete(fig); return NULL; }
    if (o->title) add_title(*layout, o->title);
    cJSON *margin = cJSON_AddObjectToObject(*layout, "margin");
    if (margin) cJSON_AddNumberToObject(margin, "t", 60);
    *xaxis = cJSON_AddObjectToObject(*layout, "xaxis");
    *yaxis = cJSON_AddObjectToObject(*layout, "yaxis");
    if (!*xaxis || !*yaxis) { cJSON_Delete(fig); return NULL; }
    cJSON_AddStringToObject(*xaxis, "anchor", "y");
    cJSON_AddStringToObject(*yaxis, "anchor", "x");
    if (xtitle) add_title(*xaxis, xtitle);
    if (ytitle) add_title(*yaxis, ytitle);
    return fig;
}

static char *hover_template(const char *hover_heading, const char *xname, const char *yname,
                            const char *cname)
{
    dbuf b = {0};
    if (hover_heading) display_dbuf_appendf(&b, "<b>%s</b><br><br>", hover_heading);
    display_dbuf_appendf(&b, "%s=%%{x}<br>%s=%%{y}", xname, yname);
    if (cname) display_dbuf_appendf(&b, "<br>%s=%%{marker.color}", cname);
    display_dbuf_append(&b, "<extra></extra>");
    return display_dbuf_take(&b);
}

static bool set_hover(cJSON *trace, const fig_opts *o, int n, const char *xname,
                      const char *yname, const char *cname)
{
    if (o->hover_name) cJSON_AddItemToObject(trace, "hovertext", string_array(o->hover_name, n));
    char *t = hover_template(o->hover_name ? "%{hovertext}" : NULL, xname, yname, cname);
    if (!t) return false;
    cJSON_AddStringToObject(trace, "hovertemplate", t);
    free(t);
    return true;
}

static const fig_opts no_opts;

/* A new trace of the given type and name, appended to data; NULL when out of memory. */
static cJSON *add_trace(cJSON *data, const char *type, const char *name)
{
    cJSON *tr = cJSON_CreateObject();
    if (!tr) return NULL;
    cJSON_AddItemToArray(data, tr);
    cJSON_AddStringToObject(tr, "type", type);
    cJSON_AddStringToObject(tr, "name", name);
    return tr;
}

cJSON *display_figure_line(const float *y, int k, int n, const fig_opts *o)
{
    if (!o) o = &no_opts;
    if (!check_size("line", y, k, n)) return NULL;
    const char *xt = o->xlabel ? o->xlabel : o->x ? "x" : "index";
    const char *yt = o->ylabel ? o->ylabel : k > 1 ? "value" : "y";
    cJSON *data, *layout, *xaxis, *yaxis;
    cJSON *fig = new_figure(o, xt, yt, &data, &layout, &xaxis, &yaxis);
    if (!fig) goto oom;
    for (int t = 0; t < k; t++) {
        char name[32];
        snprintf(name, sizeof name, "%d", t);
        const char *nm = k > 1 ? (o->names && o->names[t] ? o->names[t] : name) : "";
        cJSON *tr = add_trace(data, "scatter", nm);
        if (!tr) goto oom;
        cJSON_AddStringToObject(tr, "mode", "lines+markers");
        cJSON_AddStringToObject(tr, "legendgroup", nm);
        cJSON_AddBoolToObject(tr, "showlegend", k > 1);
        cJSON *line = cJSON_AddObjectToObject(tr, "line");
        if (line) {
            cJSON_AddStringToObject(line, "color", palette[t % 10]);
            cJSON_AddStringToObject(line, "dash", "solid");
        }
        cJSON *marker = cJSON_AddObjectToObject(tr, "marker");
        if (marker) {
            cJSON_AddStringToObject(marker, "symbol", "circle");
            cJSON_AddNumberToObject(marker, "size", 5);
        }
        cJSON_AddItemToObject(tr, "x", o->x ? float_array(o->x, n) : index_array(n));
        long long span = o->x ? integral_span(o->x, n) : n;
        if (span > 0 && t == 0) integer_ticks(xaxis, span);
        cJSON_AddItemToObject(tr, "y", float_array(y + (long long)t * n, n));
        cJSON_AddStringToObject(tr, "xaxis", "x");
        cJSON_AddStringToObject(tr, "yaxis", "y");
        if (!set_hover(tr, o, n, xt, yt, NULL)) goto oom;
        if (!cJSON_GetObjectItem(tr, "x") || !cJSON_GetObjectItem(tr, "y")) goto oom;
    }
    if (k > 1) {
        cJSON *legend = cJSON_AddObjectToObject(layout, "legend");
        if (legend) add_title(legend, "variable");
    }
    return fig;
oom:
    cJSON_Delete(fig);
    display_set_error("line: out of memory");
    return NULL;
}

/* Rows or columns of a heatmap: category labels when given and distinct (as
 * px.imshow does), else indices with the labels as tick text, so repeated
 * tokens do not merge into one column. */
static void heatmap_axis(cJSON *trace, cJSON *axis, const char *key, const char *const *labels,
                         int n)
{
    if (!labels) return;
    if (all_distinct(labels, n)) {
        cJSON_AddItemToObject(trace, key, string_array(labels, n));
        return;
    }
    cJSON_AddItemToObject(trace, key, index_array(n));
    cJSON_AddStringToObject(axis, "tickmode", "array");
    cJSON_AddItemToObject(axis, "tickvals", index_array(n));
    cJSON_AddItemToObject(axis, "ticktext", string_array(labels, n));
}

cJSON *display_figure_imshow(const float *z, int rows, int cols, const fig_opts *o)
{
    if (!o) o = &no_opts;
    if (!check_size("imshow", z, rows, cols)) return NULL;
    cJSON *data, *layout, *xaxis, *yaxis;
    cJSON *fig = new_figure(o, o->xlabel, o->ylabel, &data, &layout, &xaxis, &yaxis);
    if (!fig) goto oom;
    cJSON *tr = add_trace(data, "heatmap", "0");
    if (!tr) goto oom;
    cJSON_AddStringToObject(tr, "coloraxis", "coloraxis");
    cJSON_AddStringToObject(tr, "xaxis", "x");
    cJSON_AddStringToObject(tr, "yaxis", "y");
    cJSON *zz = cJSON_AddArrayToObject(tr, "z");
    if (!zz) goto oom;
    double mid = o->midpoint_set ? o->midpoint : 0;
    double amax = 0, zmin = INFINITY, zmax = -INFINITY;   /* amax: largest |z - mid| */
    for (int r = 0; r < rows; r++) {
        cJSON *row = float_array(z + (long long)r * cols, cols);
        if (!row) goto oom;
        cJSON_AddItemToArray(zz, row);
        for (int c = 0; c < cols; c++) {
            double v = (double)z[(long long)r * cols + c];
            if (!isfinite(v)) continue;
            if (fabs(v - mid) > amax) amax = fabs(v - mid);
            if (v < zmin) zmin = v;
            if (v > zmax) zmax = v;
        }
    }
    heatmap_axis(tr, xaxis, "x", o->x_labels, cols);
    heatmap_axis(tr, yaxis, "y", o->y_labels, rows);
    if (!o->x_labels) integer_ticks(xaxis, cols);
    if (!o->y_labels) integer_ticks(yaxis, rows);
    {
        char *t = NULL;
        dbuf b = {0};
        display_dbuf_appendf(&b, "%s: %%{x}<br>%s: %%{y}<br>%s: %%{z}<extra></extra>",
                     o->xlabel ? o->xlabel : "x", o->ylabel ? o->ylabel : "y",
                     o->clabel ? o->clabel : "color");
        if (!(t = display_dbuf_take(&b))) goto oom;
        cJSON_AddStringToObject(tr, "hovertemplate", t);
        free(t);
    }
    cJSON_AddStringToObject(xaxis, "scaleanchor", "y");
    cJSON_AddStringToObject(xaxis, "constrain", "domain");
    cJSON_AddStringToObject(yaxis, "autorange", "reversed");
    cJSON_AddStringToObject(yaxis, "constrain", "domain");
    cJSON *ca = cJSON_AddObjectToObject(layout, "coloraxis");
    if (!ca) goto oom;
    /* non-negative data with no range asked for: sequential, from 0 */
    bool sequential = !o->zmin_set && !o->zmax_set && !o->midpoint_set && !(zmin < 0);
    add_colorscale(ca, sequential ? plasma : rdbu, sequential ? 10 : 11);
    double half = amax > 0 ? amax : 1;
    double lo = o->zmin_set ? o->zmin : sequential ? 0 : mid - half;
    double hi = o->zmax_set ? o->zmax : sequential ? (zmax > 1 ? zmax : 1) : mid + half;
    if (o->zmin_set && !o->zmax_set && lo < mid) hi = 2 * mid - lo;
    if (o->zmax_set && !o->zmin_set && hi > mid) lo = 2 * mid - hi;
    if (!(lo < hi) || !isfinite(lo) || !isfinite(hi)) {
        cJSON_Delete(fig);
        display_set_error("imshow: colour range [%g, %g] is empty", lo, hi);
        return NULL;
    }
    if (!sequential && !o->zmin_set && !o->zmax_set) cJSON_AddNumberToObject(ca, "cmid", mid);
    cJSON_AddItemToObject(ca, "cmin", display_number(lo));
    cJSON_AddItemToObject(ca, "cmax", display_number(hi));
    if (o->clabel) {
        cJSON *cb = cJSON_AddObjectToObject(ca, "colorbar");
        if (cb) add_title(cb, o->clabel);
    }
    return fig;
oom:
    cJSON_Delete(fig);
    display_set_error("imshow: out of memory");
    return NULL;
}

cJSON *display_figure_scatter(const float *x, const float *y, int n, const fig_opts *o)
{
    if (!o) o = &no_opts;
    if (!check_size("scatter", x, 1, n) || !check_size("scatter", y, 1, n)) return NULL;
    const char *xt = o->xlabel && *o->xlabel ? o->xlabel : "x";
    const char *yt = o->ylabel && *o->ylabel ? o->ylabel : "y";
    const char *ct = o->clabel && *o->clabel ? o->clabel : "color";
    cJSON *data, *layout, *xaxis, *yaxis;
    cJSON *fig = new_figure(o, xt, yt, &data, &layout, &xaxis, &yaxis);
    if (!fig) goto oom;
    cJSON *tr = add_trace(data, "scatter", "");
    if (!tr) goto oom;
    cJSON_AddStringToObject(tr, "mode", "markers");
    cJSON_AddBoolToObject(tr, "showlegend", 0);
    cJSON_AddItemToObject(tr, "x", float_array(x, n));
    cJSON_AddItemToObject(tr, "y", float_array(y, n));
    cJSON_AddStringToObject(tr, "xaxis", "x");
    cJSON_AddStringToObject(tr, "yaxis", "y");
    cJSON *marker = cJSON_AddObjectToObject(tr, "marker");
    if (!marker) goto oom;
    cJSON_AddStringToObject(marker, "symbol", "circle");
    if (o->color) {
        cJSON_AddItemToObject(marker, "color", float_array(o->color, n));
        cJSON_AddStringToObject(marker, "coloraxis", "coloraxis");
        cJSON *ca = cJSON_AddObjectToObject(layout, "coloraxis");
        cJSON *cb = ca ? cJSON_AddObjectToObject(ca, "colorbar") : NULL;
        if (cb) add_title(cb, ct);
        if (ca) add_colorscale(ca, plasma, 10); /* px's default */
    } else {
        cJSON_AddStringToObject(marker, "color", palette[0]);
    }
    if (!set_hover(tr, o, n, xt, yt, o->color ? ct : NULL)) goto oom;
    return fig;
oom:
    cJSON_Delete(fig);
    display_set_error("scatter: out of memory");
    return NULL;
}

cJSON *display_figure_bar(const float *y, int n, const fig_opts *o)
{
    if (!o) o = &no_opts;
    if (!check_size("bar", y, 1, n)) return NULL;
    const char *xt = o->xlabel ? o->xlabel : (o->x || o->x_labels) ? "x" : "index";
    const char *yt = o->ylabel ? o->ylabel : "y";
    cJSON *data, *layout, *xaxis, *yaxis;
    cJSON *fig = new_figure(o, xt, yt, &data, &layout, &xaxis, &yaxis);
    if (!fig) goto oom;
    cJSON *tr = add_trace(data, "bar", "");
    if (!tr) goto oom;
    cJSON_AddBoolToObject(tr, "showlegend", 0);
    cJSON_AddStringToObject(tr, "orientation", "v");
    if (o->x_labels && all_distinct(o->x_labels, n)) {
        cJSON_AddItemToObject(tr, "x", string_array(o->x_labels, n));
    } else {
        cJSON_AddItemToObject(tr, "x", o->x && !o->x_labels ? float_array(o->x, n) : index_array(n));
        if (!o->x && !o->x_labels) integer_ticks(xaxis, n);
        if (o->x_labels) {
            cJSON_AddStringToObject(xaxis, "tickmode", "array");
            cJSON_AddItemToObject(xaxis, "tickvals", index_array(n));
            cJSON_AddItemToObject(xaxis, "ticktext", string_array(o->x_labels, n));
        }
    }
    cJSON_AddItemToObject(tr, "y", float_array(y, n));
    cJSON_AddStringToObject(tr, "xaxis", "x");
    cJSON_AddStringToObject(tr, "yaxis", "y");
    cJSON *marker = cJSON_AddObjectToObject(tr, "marker");
    if (marker) cJSON_AddStringToObject(marker, "color", palette[0]);
    if (!set_hover(tr, o, n, xt, yt, NULL)) goto oom;
    cJSON_AddStringToObject(layout, "barmode", "relative");
    return fig;
oom:
    cJSON_Delete(fig);
    display_set_error("bar: out of memory");
    return NULL;
}
