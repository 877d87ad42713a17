/* kernel/lang/builtins_figures.c — line, imshow, scatter and bar: Plotly
 * figures from tensors or lists, with plotly.express's argument names
 * (title, labels={"x":..,"y":..,"color":..}, x, y, hover_name, zmin, zmax)
 * and the seed notebook's helper names (scatter's xaxis, yaxis, caxis).
 * Each builtin displays its figure and returns it (rules in rich.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "builtins_device.h"
#include "builtins_analysis.h"
#include "display.h"
#include "rich.h"

/* ---- converting arguments ---------------------------------------------------- */

/* Numbers of a tensor or (nested) list as a malloc'd float array. */
typedef struct fdata { float *v; int ndim; int64_t shape[2]; int64_t n; } fdata;

static int get_floats(interp *I, value *v, const char *fn, const char *what, int min_dim, int max_dim, fdata *out)
{
    memset(out, 0, sizeof *out);
    lens_tensor *t = lang_engine_tensor(I, v, LENS_F32);
    if (!t) {
        if (!I->error) lang_raise(I, "MemoryError", "out of memory");
        return -1;
    }
    if (t->ndim < min_dim || t->ndim > max_dim) {
        char shape[128];
        lens_shape_str(t->ndim, t->shape, shape, sizeof shape);
        lang_raise(I, "ValueError", "%s() needs %s as a %s tensor, not one of shape %s", fn, what,
                   min_dim == max_dim ? (min_dim == 1 ? "1-d" : "2-d") : "1-d or 2-d", shape);
        lens_tensor_free(t);
        return -1;
    }
    lens_error herr;
    lens_tensor *c = lens_tensor_host_contiguous(t, &herr);
    lens_tensor_free(t);
    if (!c) { lang_engine_error(I, &herr); return -1; }
    out->ndim = c->ndim;
    out->n = lens_tensor_numel(c);
    out->shape[0] = c->ndim >= 1 ? c->shape[0] : 1;
    out->shape[1] = c->ndim == 2 ? c->shape[1] : 1;
    if (out->n == 0) {
        lens_tensor_free(c);
        lang_raise(I, "ValueError", "%s() got an empty %s", fn, what);
        return -1;
    }
    if (out->n > 20000000) {
        lens_tensor_free(c);
        lang_raise(I, "ValueError", "%s() got %lld values for %s; a figure holds at most 20000000", fn, (long long)out->n, what);
        return -1;
    }
    out->v = malloc((size_t)out->n * sizeof *out->v);
    if (out->v) memcpy(out->v, lens_tensor_f32(c), (size_t)out->n * sizeof *out->v);
    lens_tensor_free(c);
    if (!out->v) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
    return 0;
}

/* A list of n texts: list/tuple items (str as is, others as str()), or a
 * 1-d tensor's elements. NULL-free malloc'd array of malloc'd strings. */
typedef struct sdata { char **s; int n; } sdata;

static void sdata_free(sdata *d)
{
    for (int i = 0; d->s && i < d->n; i++) free(d->s[i]);
    free(d->s);
    d->s = NULL;
    d->n = 0;
}

static int get_strings(interp *I, value *v, const char *fn, const char *what, int64_t want, sdata *out)
{
    memset(out, 0, sizeof *out);
    value *list = v->type == V_LIST || v->type == V_TUPLE ? lang_incref(v) : v->type == V_TENSOR ? lang_to_list(I, v) : NULL;
    if (!list) {
        if (!I->error) lang_raise(I, "TypeError", "%s() needs %s as a list of labels, not %s", fn, what, lang_type_name(v));
        return -1;
    }
    int64_t n = (int64_t)list->u.list.n;
    if (want >= 0 && n != want) {
        lang_decref(list);
        lang_raise(I, "ValueError", "%s() got %lld %s for %lld values", fn, (long long)n, what, (long long)want);
        return -1;
    }
    out->s = calloc((size_t)n + 1, sizeof *out->s);
    if (!out->s) { lang_decref(list); lang_raise(I, "MemoryError", "out of memory"); return -1; }
    out->n = (int)n;
    for (int64_t i = 0; i < n; i++) {
        value *x = list->u.list.items[i];
        if (x->type == V_TENSOR && lens_tensor_numel(x->u.tensor.t) == 1) {
            value *it = lang_tensor_item(I, x->u.tensor.t);
            out->s[i] = it ? lang_str_of(it) : NULL;
            lang_decref(it);
        } else {
            out->s[i] = x->type == V_STR ? strdup(x->u.str.s) : lang_str_of(x);
        }
        if (!out->s[i]) {
            lang_decref(list);
            sdata_free(out);
            if (!I->error) lang_raise(I, "MemoryError", "out of memory");
            return -1;
        }
    }
    lang_decref(list);
    return 0;
}

/* True when v is a list or tuple whose first item is a str (category labels). */
static bool is_text_list(value *v)
{
    return (v->type == V_LIST || v->type == V_TUPLE) && v->u.list.n && v->u.list.items[0]->type == V_STR;
}

/* Options every figure builtin shares: title, labels, hover_name. The strings
 * stay owned by the argument values (borrowed for the call). */
typedef struct common {
    fig_opts o;
    sdata hover;
} common;

static int opt_str(interp *I, args *a, const char *name, const char **out)
{
    value *v = lang_arg(a, name);
    if (!v || v->type == V_NONE) return 0;
    const char *s = lang_arg_str(I, v, name);
    if (!s) return -1;
    *out = s;
    return 0;
}

static int get_common(interp *I, args *a, const char *fn, int64_t npoints, common *c)
{
    memset(c, 0, sizeof *c);
    if (opt_str(I, a, "title", &c->o.title)) return -1;
    value *l = lang_arg(a, "labels");
    if (l && l->type != V_NONE) {
        if (l->type != V_DICT) { lang_raise(I, "TypeError", "%s() needs labels as a dict like {\"x\": \"Head\", \"y\": \"Layer\"}", fn); return -1; }
        static const char *const keys[] = {"x", "y", "color"};
        const char **slots[] = {&c->o.xlabel, &c->o.ylabel, &c->o.clabel};
        for (int i = 0; i < 3; i++) {
            value *s = lang_dict_get_str(l->u.d, keys[i]);
            if (!s || s->type == V_NONE) continue;
            if (s->type != V_STR) { lang_raise(I, "TypeError", "%s(): labels[\"%s\"] must be a str, not %s", fn, keys[i], lang_type_name(s)); return -1; }
            *slots[i] = s->u.str.s;
        }
    }
    value *h = lang_arg(a, "hover_name");
    if (h && h->type != V_NONE) {
        if (get_strings(I, h, fn, "hover names", npoints, &c->hover)) return -1;
        c->o.hover_name = (const char *const *)c->hover.s;
    }
    return 0;
}

/* ---- line ------------------------------------------------------------------- */

/* px.line(data, x=...): the data first, the rest by keyword */
static const lang_param b_line_params[] = {
    {"y", LANG_REQUIRED}, {"x", LANG_KEYWORD, "None"}, {"hover_name", LANG_KEYWORD, "None"},
    {"title", LANG_KEYWORD, "None"}, {"labels", LANG_KEYWORD, "None"}, {"names", LANG_KEYWORD, "None"},
    {"xaxis", LANG_KEYWORD, "None"}, {"yaxis", LANG_KEYWORD, "None"}, {"show", LANG_KEYWORD, "True"}, {NULL}};

static value *b_line(interp *I, value *self, args *a)
{
    (void)self;
    value *yv = lang_arg(a, "y");
    fdata y, x = {0};
    sdata xs = {0}, names = {0};
    common c = {0};
    value *r = NULL;
    if (get_floats(I, yv, "line", "y", 1, 2, &y)) return NULL;
    int k = y.ndim == 2 ? (int)y.shape[0] : 1;
    int64_t n = y.ndim == 2 ? y.shape[1] : y.shape[0];
    if (n > 0x7fffffff || k > 10000) { free(y.v); return lang_raise(I, "ValueError", "line() got too many points"); }
    if (get_common(I, a, "line", n, &c)) goto done;
    /* the seed's helper: xaxis, yaxis name the axes */
    if (opt_str(I, a, "xaxis", &c.o.xlabel) || opt_str(I, a, "yaxis", &c.o.ylabel)) goto done;
    value *xv = lang_arg(a, "x");
    if (xv && xv->type != V_NONE) {
        if (is_text_list(xv)) {
            if (get_strings(I, xv, "line", "x values", n, &xs)) goto done;
        } else {
            if (get_floats(I, xv, "line", "x", 1, 1, &x)) goto done;
            if (x.n != n) { lang_raise(I, "ValueError", "line() got %lld x values for %lld points", (long long)x.n, (long long)n); goto done; }
            c.o.x = x.v;
        }
    }
    value *nv = lang_arg(a, "names");
    if (nv && nv->type != V_NONE) {
        if (get_strings(I, nv, "line", "names", k, &names)) goto done;
        c.o.names = (const char *const *)names.s;
    }
    cJSON *fig = display_figure_line(y.v, k, (int)n, &c.o);
    if (fig && xs.s) {
        /* category x values (tokens, labels) replace the indices */
        cJSON *tr;
        cJSON_ArrayForEach(tr, cJSON_GetObjectItem(fig, "data"))
            cJSON_ReplaceItemInObject(tr, "x", cJSON_CreateStringArray((const char *const *)xs.s, (int)n));
        cJSON *xa = cJSON_GetObjectItem(cJSON_GetObjectItem(fig, "layout"), "xaxis");
        if (xa) cJSON_AddStringToObject(xa, "type", "category");
    }
    r = lang_rich_finish(I, a, lang_rich_figure(I, fig));
done:
    free(y.v);
    free(x.v);
    sdata_free(&xs);
    sdata_free(&names);
    sdata_free(&c.hover);
    return r;
}

/* ---- imshow -------------------------------------------------------------------- */

static int opt_num(interp *I, args *a, const char *name, bool *set, double *out)
{
    value *v = lang_arg(a, name);
    if (!v || v->type == V_NONE) return 0;
    if (lang_arg_double(I, v, name, out)) return -1;
    *set = true;
    return 0;
}

static const lang_param b_imshow_params[] = {
    {"img", LANG_REQUIRED}, {"labels", LANG_KEYWORD, "None"}, {"x", LANG_KEYWORD, "None"},
    {"y", LANG_KEYWORD, "None"}, {"title", LANG_KEYWORD, "None"}, {"zmin", LANG_KEYWORD, "None"},
    {"zmax", LANG_KEYWORD, "None"}, {"color_continuous_midpoint", LANG_KEYWORD, "None"},
    {"color_continuous_scale", LANG_KEYWORD, "None"}, {"show", LANG_KEYWORD, "True"}, {NULL}};

static value *b_imshow(interp *I, value *self, args *a)
{
    (void)self;
    value *zv = lang_arg(a, "img");
    value *v;
    if ((v = lang_arg(a, "color_continuous_scale")) && v->type != V_NONE) {
        const char *s = lang_arg_str(I, v, "color_continuous_scale");
        if (!s) return NULL;
        if (strcmp(s, "RdBu")) return lang_raise(I, "ValueError", "imshow() draws with the RdBu colour scale only, not '%s'", s);
    }
    fdata z;
    sdata xs = {0}, ys = {0};
    common c = {0};
    value *r = NULL;
    if (get_floats(I, zv, "imshow", "img", 2, 2, &z)) return NULL;
    if (z.shape[0] > 0x7fffffff || z.shape[1] > 0x7fffffff) { free(z.v); return lang_raise(I, "ValueError", "imshow() got too many values"); }
    if (get_common(I, a, "imshow", -1, &c)) goto done;
    if (opt_num(I, a, "zmin", &c.o.zmin_set, &c.o.zmin) || opt_num(I, a, "zmax", &c.o.zmax_set, &c.o.zmax) ||
        opt_num(I, a, "color_continuous_midpoint", &c.o.midpoint_set, &c.o.midpoint)) goto done;
    if ((v = lang_arg(a, "x")) && v->type != V_NONE) {
        if (get_strings(I, v, "imshow", "x labels", z.shape[1], &xs)) goto done;
        c.o.x_labels = (const char *const *)xs.s;
    }
    if ((v = lang_arg(a, "y")) && v->type != V_NONE) {
        if (get_strings(I, v, "imshow", "y labels", z.shape[0], &ys)) goto done;
        c.o.y_labels = (const char *const *)ys.s;
    }
    r = lang_rich_finish(I, a, lang_rich_figure(I, display_figure_imshow(z.v, (int)z.shape[0], (int)z.shape[1], &c.o)));
done:
    free(z.v);
    sdata_free(&xs);
    sdata_free(&ys);
    sdata_free(&c.hover);
    return r;
}

/* ---- scatter ------------------------------------------------------------------- */

static const lang_param b_scatter_params[] = {
    {"x", LANG_REQUIRED}, {"y", LANG_REQUIRED}, {"color", LANG_KEYWORD, "None"},
    {"hover_name", LANG_KEYWORD, "None"}, {"xaxis", LANG_KEYWORD, "\"\""}, {"yaxis", LANG_KEYWORD, "\"\""},
    {"caxis", LANG_KEYWORD, "\"\""}, {"title", LANG_KEYWORD, "None"}, {"labels", LANG_KEYWORD, "None"},
    {"show", LANG_KEYWORD, "True"}, {NULL}};

static value *b_scatter(interp *I, value *self, args *a)
{
    (void)self;
    value *xv = lang_arg(a, "x"), *yv = lang_arg(a, "y");
    fdata x, y = {0}, col = {0};
    common c = {0};
    value *r = NULL;
    if (get_floats(I, xv, "scatter", "x", 1, 1, &x)) return NULL;
    if (get_floats(I, yv, "scatter", "y", 1, 1, &y)) goto done;
    if (x.n != y.n) { lang_raise(I, "ValueError", "scatter() got %lld x values and %lld y values", (long long)x.n, (long long)y.n); goto done; }
    if (x.n > 0x7fffffff) { lang_raise(I, "ValueError", "scatter() got too many points"); goto done; }
    if (get_common(I, a, "scatter", x.n, &c)) goto done;
    /* the seed's helper: xaxis, yaxis, caxis name the axes ("" = default) */
    if (opt_str(I, a, "xaxis", &c.o.xlabel) || opt_str(I, a, "yaxis", &c.o.ylabel) || opt_str(I, a, "caxis", &c.o.clabel)) goto done;
    value *cv = lang_arg(a, "color");
    if (cv && cv->type != V_NONE) {
        if (is_text_list(cv)) { lang_raise(I, "TypeError", "scatter() colours points by numbers; color got text"); goto done; }
        if (get_floats(I, cv, "scatter", "color", 1, 1, &col)) goto done;
        if (col.n != x.n) { lang_raise(I, "ValueError", "scatter() got %lld colours for %lld points", (long long)col.n, (long long)x.n); goto done; }
        c.o.color = col.v;
    }
    r = lang_rich_finish(I, a, lang_rich_figure(I, display_figure_scatter(x.v, y.v, (int)x.n, &c.o)));
done:
    free(x.v);
    free(y.v);
    free(col.v);
    sdata_free(&c.hover);
    return r;
}

/* ---- bar ------------------------------------------------------------------------ */

static const lang_param b_bar_params[] = {
    {"y", LANG_REQUIRED}, {"x", LANG_KEYWORD, "None"}, {"hover_name", LANG_KEYWORD, "None"},
    {"title", LANG_KEYWORD, "None"}, {"labels", LANG_KEYWORD, "None"}, {"show", LANG_KEYWORD, "True"}, {NULL}};

static value *b_bar(interp *I, value *self, args *a)
{
    (void)self;
    value *yv = lang_arg(a, "y");
    fdata y, x = {0};
    sdata xs = {0};
    common c = {0};
    value *r = NULL;
    if (get_floats(I, yv, "bar", "y", 1, 1, &y)) return NULL;
    if (y.n > 0x7fffffff) { free(y.v); return lang_raise(I, "ValueError", "bar() got too many bars"); }
    if (get_common(I, a, "bar", y.n, &c)) goto done;
    value *xv = lang_arg(a, "x");
    if (xv && xv->type != V_NONE) {
        if (is_text_list(xv)) {
            if (get_strings(I, xv, "bar", "x labels", y.n, &xs)) goto done;
            c.o.x_labels = (const char *const *)xs.s;
        } else {
            if (get_floats(I, xv, "bar", "x", 1, 1, &x)) goto done;
            if (x.n != y.n) { lang_raise(I, "ValueError", "bar() got %lld x values for %lld bars", (long long)x.n, (long long)y.n); goto done; }
            c.o.x = x.v;
        }
    }
    r = lang_rich_finish(I, a, lang_rich_figure(I, display_figure_bar(y.v, (int)y.n, &c.o)));
done:
    free(y.v);
    free(x.v);
    sdata_free(&xs);
    sdata_free(&c.hover);
    return r;
}

/* ---- per-head heatmaps for the analyses (induction_scores) ------------------------ */

int lang_show_head_heatmaps(interp *I, const lens_tensor *const *scores, const char *const *titles, int n)
{
    for (int i = 0; i < n; i++) {
        const lens_tensor *t = scores[i];
        if (t->ndim != 2 || t->dtype != LENS_F32 || !lens_tensor_is_contiguous(t)) {
            lang_raise(I, "ValueError", "%s: expected a [layer, head] float tensor", titles[i]);
            return -1;
        }
        fig_opts o = {.title = titles[i], .xlabel = "Head", .ylabel = "Layer"};
        value *fig = lang_rich_figure(I, display_figure_imshow(lens_tensor_f32(t), (int)t->shape[0],
                                                  (int)t->shape[1], &o));
        int rc = fig ? lang_rich_show(I, fig) : -1;
        lang_decref(fig);
        if (rc) return -1;
    }
    return 0;
}

const lang_builtin builtins_figures[] = {
    {"line", b_line,
     "A line plot of y (a 1-d tensor or list; a 2-d tensor draws one line per row, named by names). "
     "x: numbers or labels for the points; hover_name: a label per point shown on hover; "
     "labels={\"x\": ..., \"y\": ...} (or xaxis=, yaxis=): axis titles. Without x the points are numbered 0, 1, ... "
     "with integer ticks. Displays the figure and returns it (show=False only returns it).", b_line_params},
    {"imshow", b_imshow, "A heatmap of a 2-d tensor, first row at the top. Non-negative data (attention patterns) is drawn on a sequential "
     "scale from 0 to 1 (or its maximum); other data in RdBu colours with white at 0 (red negative, blue positive), as "
     "px.imshow(..., color_continuous_midpoint=0, color_continuous_scale=\"RdBu\"). color_continuous_midpoint: RdBu "
     "centred there; zmin / zmax: the RdBu range. x / y: labels of the columns / rows (e.g. tokens); "
     "labels={\"x\": \"Head\", \"y\": \"Layer\", \"color\": ...}: axis titles. Rows and columns without labels get "
     "integer ticks. Displays the figure and returns it.", b_imshow_params},
    {"scatter", b_scatter, "A scatter plot of points (x[i], y[i]); color: a number per point on a continuous scale; xaxis / yaxis / caxis: "
     "axis titles (as the seed notebook's helper); hover_name: a label per point. Displays the figure and returns it.", b_scatter_params},
    {"bar", b_bar,
     "A bar chart of y; x: labels or numbers for the bars. Displays the figure and returns it.", b_bar_params},
    {NULL, NULL, NULL, NULL},
};
