/* kernel/display/figure.h — Plotly figures from plain C data.
 *
 * A figure is a cJSON object {"data": [...traces], "layout": {...}} shaped the
 * way plotly.express builds it (trace types, axis titles, hover text), without
 * a template. Build one with figure_line / figure_imshow / figure_scatter /
 * figure_bar, change it freely with cJSON, then turn it into a Jupyter mime
 * bundle with figure_bundle or a standalone page with figure_save_html.
 *
 *     float diffs[12 * 12] = ...;                 // [layer][head], row-major
 *     fig_opts o = {.title = "Logit Difference From Each Head",
 *                   .xlabel = "Head", .ylabel = "Layer"};
 *     cJSON *fig = display_figure_imshow(diffs, 12, 12, &o);
 *     cJSON *bundle = display_figure_bundle(fig);          // display_data content
 *     cJSON_Delete(fig);
 *
 * Every constructor returns NULL on bad input (NULL data, a size <= 0 or too
 * large) and then display_last_error() says why. Non-finite numbers become
 * JSON null. Strings are stored as given: cJSON escapes them for JSON and the
 * HTML renderer escapes the JSON for <script>.
 */
#ifndef LENS_DISPLAY_FIGURE_H
#define LENS_DISPLAY_FIGURE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* Options shared by every kind of figure; a zeroed struct means defaults.
 * Arrays are read during the call only. */
typedef struct fig_opts {
    const char *title;
    const char *xlabel;             /* axis titles, as px's labels={"x":..,"y":..} */
    const char *ylabel;
    const char *clabel;             /* colour axis title (scatter colour, imshow) */
    const float *x;                 /* numeric x values [n]; NULL: 0..n-1 */
    const char *const *x_labels;    /* category x values [n] (imshow columns, bar) */
    const char *const *y_labels;    /* imshow rows [rows] */
    const char *const *hover_name;  /* bold hover heading per point [n] */
    const char *const *names;       /* legend name per line [k] (several lines) */
    const float *color;             /* scatter: colour value per point [n] */
    bool zmin_set, zmax_set;        /* imshow colour range (RdBu); default: see */
    double zmin, zmax;              /*   figure_imshow */
    bool midpoint_set;              /* imshow: RdBu centred here, symmetric range */
    double midpoint;                /*   (px's color_continuous_midpoint) */
} fig_opts;

/* k lines of n points each; y is [k][n] row-major (k = 1 for one line).
 * Without o->x the points are at 0, 1, ...; then, or when every x is a whole
 * number, the x axis gets integer ticks. */
cJSON *display_figure_line(const float *y, int k, int n, const fig_opts *o);
/* Heatmap of z [rows][cols] row-major: row 0 drawn at the top. Colours:
 * non-negative data (attention patterns, probabilities) on px's sequential
 * plasma scale from 0 to max(1, max z); other data, or a midpoint, zmin or
 * zmax given, RdBu with white at the midpoint (default 0; negative red,
 * positive blue, as px.imshow with RdBu). Rows and columns without labels
 * are numbered 0, 1, ... with integer ticks (layers, heads, positions). */
cJSON *display_figure_imshow(const float *z, int rows, int cols, const fig_opts *o);
/* n points (x[i], y[i]); o->color colours them on a continuous scale. */
cJSON *display_figure_scatter(const float *x, const float *y, int n, const fig_opts *o);
/* n bars of height y[i] at o->x_labels[i], o->x[i] or i. */
cJSON *display_figure_bar(const float *y, int n, const fig_opts *o);

/* {"application/vnd.plotly.v1+json": {data, layout, config}, "text/html": ...,
 * "text/plain": "Figure: heatmap 12×12 'title'"}; NULL on failure. */
cJSON *display_figure_bundle(const cJSON *fig);
/* The one-line description used as text/plain (malloc'd). */
char *display_figure_describe(const cJSON *fig);
/* The text/html fallback: a div and a script that draws fig with plotly.js
 * once window.Plotly exists. The first figure of a session inlines the
 * library (plotly_js_claim_inline); later ones wait for the page's copy, even
 * when it comes later in the page (malloc'd). */
char *display_figure_html(const cJSON *fig);
/* Writes a standalone HTML page that draws fig; 0 on success, -1 with
 * display_last_error() set on failure. */
int display_figure_save_html(const cJSON *fig, const char *path);

/* Where plotly.js comes from for the HTML fallback: LENS_PLOTLY_JS (a file
 * path, inlined, or an http(s) URL), else plotly/package_data/plotly.min.js
 * of an installed plotly Python package. Read once per process. On success
 * sets *code (inline source, *len bytes) or *url, and returns 0; returns -1
 * when none is found. Strings stay owned by the cache. */
int display_plotly_js_source(const char **code, size_t *len, const char **url);
/* Where the inlined library was read from ("" when none). */
const char *display_plotly_js_path(void);
/* True once per kernel session: for the first figure whose HTML should carry
 * the inline library (then false until plotly_js_cell_started names the cell
 * that carried it, or plotly_js_reset). figure_bundle and figure_html ask it;
 * figure_save_html always inlines. */
bool display_plotly_js_claim_inline(void);
/* A cell starts running; cell_id is the frontend's id for it (JupyterLab's
 * execute_request metadata.cellId) or NULL/"" when unknown. */
void display_plotly_js_cell_started(const char *cell_id);
/* Forgets the cached library and that it was sent, so the next call looks
 * again (tests). */
void display_plotly_js_reset(void);

#endif
