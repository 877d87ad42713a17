/* kernel/display/table.c — HTML + plain-text tables for tensors and lists of
 * results. Every label and cell is escaped; long tables keep their first and
 * last TABLE_EDGE rows. */
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

#define TABLE_EDGE 20
#define TABLE_MAX_CELLS 100000000LL

static const char table_style[] =
    "<style>.lens-table{border-collapse:collapse;font:12px Menlo,Consolas,monospace}"
    ".lens-table td,.lens-table th{border:1px solid #ddd;padding:2px 8px}"
    ".lens-table td{text-align:right}.lens-table th{background:#f5f5f5}"
    ".lens-table caption{font:bold 13px sans-serif;text-align:left;padding:2px 0}</style>";

/* One table, either numeric (values) or text (cells). */
typedef struct table_src {
    const float *values;
    const char *const *cells;
    int rows, cols;
    const char *const *row_labels, *const *col_labels;
    const char *title;
} table_src;

static char *cell_text(const table_src *t, int r, int c)
{
    long long i = (long long)r * t->cols + c;
    if (t->values) {
        char buf[48];
        display_format_float(buf, sizeof buf, t->values[i]);
        return strdup(buf);
    }
    return strdup(t->cells[i] ? t->cells[i] : "");
}

/* Rows to show: all, or the first and last TABLE_EDGE (-1 marks the gap). */
static int shown_rows(int rows, int *out)
{
    if (rows <= 2 * TABLE_EDGE + 1) {
        for (int r = 0; r < rows; r++) out[r] = r;
        return rows;
    }
    int m = 0;
    for (int r = 0; r < TABLE_EDGE; r++) out[m++] = r;
    out[m++] = -1;
    for (int r = rows - TABLE_EDGE; r < rows; r++) out[m++] = r;
    return m;
}

static cJSON *table_bundle(const table_src *t)
{
    if ((!t->values && !t->cells) || t->rows <= 0 || t->cols <= 0 ||
        (long long)t->rows * t->cols > TABLE_MAX_CELLS) {
        display_set_error("table: no data or bad shape (%d×%d)", t->rows, t->cols);
        return NULL;
    }
    int order[2 * TABLE_EDGE + 1];
    int m = shown_rows(t->rows, order);
    dbuf h = {0}, p = {0};
    display_dbuf_append(&h, table_style);
    display_dbuf_append(&h, "<table class=\"lens-table\">");
    if (t->title && *t->title) {
        display_dbuf_append(&h, "<caption>");
        display_dbuf_append_html(&h, t->title);
        display_dbuf_append(&h, "</caption>");
        display_dbuf_appendf(&p, "%s\n", t->title);
    }
    if (t->col_labels) {
        display_dbuf_append(&h, "<thead><tr>");
        if (t->row_labels) display_dbuf_append(&h, "<th></th>");
        for (int c = 0; c < t->cols; c++) {
            display_dbuf_append(&h, "<th>");
            display_dbuf_append_html(&h, t->col_labels[c]);
            display_dbuf_append(&h, "</th>");
            display_dbuf_appendf(&p, "%s%s", c ? "\t" : (t->row_labels ? "\t" : ""),
                         t->col_labels[c] ? t->col_labels[c] : "");
        }
        display_dbuf_append(&h, "</tr></thead>");
        display_dbuf_append(&p, "\n");
    }
    display_dbuf_append(&h, "<tbody>");
    for (int i = 0; i < m; i++) {
        int r = order[i];
        if (r < 0) {
            display_dbuf_appendf(&h, "<tr><td colspan=\"%d\" style=\"text-align:center\">… %d more rows …</td></tr>",
                         t->cols + (t->row_labels ? 1 : 0), t->rows - 2 * TABLE_EDGE);
            display_dbuf_appendf(&p, "... %d more rows ...\n", t->rows - 2 * TABLE_EDGE);
            continue;
        }
        display_dbuf_append(&h, "<tr>");
        if (t->row_labels) {
            display_dbuf_append(&h, "<th>");
            display_dbuf_append_html(&h, t->row_labels[r]);
            display_dbuf_append(&h, "</th>");
            display_dbuf_appendf(&p, "%s\t", t->row_labels[r] ? t->row_labels[r] : "");
        }
        for (int c = 0; c < t->cols; c++) {
            char *s = cell_text(t, r, c);
            if (!s) { h.failed = true; break; }
            display_dbuf_append(&h, t->values ? "<td>" : "<td style=\"text-align:left\">");
            display_dbuf_append_html(&h, s);
            display_dbuf_append(&h, "</td>");
            display_dbuf_appendf(&p, "%s%s", c ? "\t" : "", s);
            free(s);
        }
        display_dbuf_append(&h, "</tr>");
        display_dbuf_append(&p, "\n");
    }
    display_dbuf_append(&h, "</tbody></table>");
    if (p.len && p.data[p.len - 1] == '\n') p.data[--p.len] = '\0';
    char *hs = display_dbuf_take(&h), *ps = display_dbuf_take(&p);
    cJSON *b = cJSON_CreateObject();
    if (!hs || !ps || !b) {
        free(hs);
        free(ps);
        cJSON_Delete(b);
        display_set_error("table: out of memory");
        return NULL;
    }
    cJSON_AddStringToObject(b, "text/html", hs);
    cJSON_AddStringToObject(b, "text/plain", ps);
    free(hs);
    free(ps);
    return b;
}

cJSON *display_table_numeric_bundle(const float *values, int rows, int cols,
                            const char *const *row_labels, const char *const *col_labels,
                            const char *title)
{
    table_src t = {values, NULL, rows, cols, row_labels, col_labels, title};
    if (!values) { display_set_error("table: no values"); return NULL; }
    return table_bundle(&t);
}

cJSON *display_table_text_bundle(const char *const *cells, int rows, int cols,
                         const char *const *headers, const char *title)
{
    table_src t = {NULL, cells, rows, cols, NULL, headers, title};
    if (!cells) { display_set_error("table: no cells"); return NULL; }
    return table_bundle(&t);
}
