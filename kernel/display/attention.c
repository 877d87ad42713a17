/* kernel/display/attention.c — builds the attention displays' HTML: the
 * static part (coloured tokens, head chips, strongest-attention table) and
 * the data the inline script (attention_js.c) uses to make it interactive. */
#include "attention.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

#define ATTN_MAX_TOKENS 4096
#define ATTN_MAX_HEADS 256
#define ATTN_MAX_VALUES 40000000LL
#define ATTN_TOP 5

typedef struct rgb { int r, g, b; } rgb;

/* Evenly spaced hues, one per head. */
static rgb head_color(int h, int heads)
{
    double hue = 360.0 * h / (heads > 0 ? heads : 1), s = 0.75, l = 0.45;
    double c = (1 - fabs(2 * l - 1)) * s, hp = hue / 60.0;
    double x = c * (1 - fabs(fmod(hp, 2) - 1)), m = l - c / 2;
    double r = 0, g = 0, b = 0;
    if (hp < 1) { r = c; g = x; }
    else if (hp < 2) { r = x; g = c; }
    else if (hp < 3) { g = c; b = x; }
    else if (hp < 4) { g = x; b = c; }
    else if (hp < 5) { r = x; b = c; }
    else { r = c; b = x; }
    return (rgb){(int)lround((r + m) * 255), (int)lround((g + m) * 255), (int)lround((b + m) * 255)};
}

static double clamp01(double v) { return isfinite(v) ? (v < 0 ? 0 : v > 1 ? 1 : v) : 0; }

/* Mixes the head colours: their average weighted by attention, laid over
 * white as strongly as the strongest weight, so several heads never add up
 * to black. */
static rgb mix(const rgb *colors, const double *w, int heads)
{
    double sum = 0, top = 0, r = 0, g = 0, b = 0;
    for (int h = 0; h < heads; h++) {
        sum += w[h];
        if (w[h] > top) top = w[h];
        r += w[h] * colors[h].r;
        g += w[h] * colors[h].g;
        b += w[h] * colors[h].b;
    }
    if (sum <= 0) return (rgb){255, 255, 255};
    r /= sum, g /= sum, b /= sum;
    return (rgb){(int)lround(255 - top * (255 - r)), (int)lround(255 - top * (255 - g)),
                 (int)lround(255 - top * (255 - b))};
}

static bool validate(const char *what, const char *const *tokens, int n, const float *patterns,
                     int heads)
{
    if (!tokens || !patterns) {
        display_set_error("%s: no %s", what, tokens ? "patterns" : "tokens");
        return false;
    }
    if (n <= 0 || n > ATTN_MAX_TOKENS) {
        display_set_error("%s: %d tokens; expected 1 to %d", what, n, ATTN_MAX_TOKENS);
        return false;
    }
    if (heads <= 0 || heads > ATTN_MAX_HEADS) {
        display_set_error("%s: %d heads; expected 1 to %d", what, heads, ATTN_MAX_HEADS);
        return false;
    }
    if ((long long)heads * n * n > ATTN_MAX_VALUES) {
        display_set_error("%s: %d heads × %d × %d tokens is too large to show", what, heads, n, n);
        return false;
    }
    return true;
}

/* Token text as shown: newlines and tabs made visible. */
static void append_token_text(dbuf *b, const char *tok)
{
    if (!tok) return;
    dbuf t = {0};
    for (const char *p = tok; *p; p++) {
        if (*p == '\n') display_dbuf_append(&t, "\\n");
        else if (*p == '\t') display_dbuf_append(&t, "\\t");
        else if (*p == '\r') display_dbuf_append(&t, "\\r");
        else display_dbuf_append_n(&t, p, 1);
    }
    char *s = display_dbuf_take(&t);
    if (!s) { b->failed = true; return; }
    display_dbuf_append_html(b, s);
    free(s);
}

static float att(const float *p, int n, int h, int q, int k)
{
    return p[((long long)h * n + q) * n + k];
}

typedef struct top_entry { int q, k; float v; } top_entry;

/* The strongest ATTN_TOP (query > 0, key <= query) entries of head h. */
static int head_top(const float *p, int n, int h, top_entry *top)
{
    int count = 0;
    for (int q = 1; q < n; q++)
        for (int k = 0; k <= q; k++) {
            float v = att(p, n, h, q, k);
            if (!isfinite(v)) continue;
            int pos = count < ATTN_TOP ? count++ : ATTN_TOP;
            if (pos == ATTN_TOP) {
                if (v <= top[ATTN_TOP - 1].v) continue;
                pos = ATTN_TOP - 1;
            }
            while (pos > 0 && top[pos - 1].v < v) { top[pos] = top[pos - 1]; pos--; }
            top[pos] = (top_entry){q, k, v};
        }
    return count;
}

static void append_static_table(dbuf *b, const char *const *tokens, int n, const float *p,
                                int heads, char **labels, const rgb *colors)
{
    display_dbuf_append(b, "<details class=\"lens-attn-static\" open><summary>Strongest attention per head</summary>\n"
                   "<table><thead><tr><th>head</th><th>query (position)</th><th>key (position)</th>"
                   "<th>attention</th></tr></thead><tbody>\n");
    for (int h = 0; h < heads; h++) {
        top_entry top[ATTN_TOP];
        int m = head_top(p, n, h, top);
        if (m == 0) {
            display_dbuf_appendf(b, "<tr><td><span class=\"lens-attn-swatch\" style=\"background:rgb(%d,%d,%d)\"></span>",
                         colors[h].r, colors[h].g, colors[h].b);
            display_dbuf_append_html(b, labels[h]);
            display_dbuf_append(b, "</td><td colspan=\"3\">(no query after the first token)</td></tr>\n");
        }
        for (int i = 0; i < m; i++) {
            char v[32];
            display_format_float(v, sizeof v, top[i].v);
            display_dbuf_append(b, "<tr><td>");
            if (i == 0) {
                display_dbuf_appendf(b, "<span class=\"lens-attn-swatch\" style=\"background:rgb(%d,%d,%d)\"></span>",
                             colors[h].r, colors[h].g, colors[h].b);
                display_dbuf_append_html(b, labels[h]);
            }
            display_dbuf_append(b, "</td><td><code>");
            append_token_text(b, tokens[top[i].q]);
            display_dbuf_appendf(b, "</code> (%d)</td><td><code>", top[i].q);
            append_token_text(b, tokens[top[i].k]);
            display_dbuf_appendf(b, "</code> (%d)</td><td>%s</td></tr>\n", top[i].k, v);
        }
    }
    display_dbuf_append(b, "</tbody></table></details>\n");
}

/* {"tokens": [...], "labels": [...], "colors": [[r,g,b]...], "att": [h][q][0..q]} */
static cJSON *script_data(const char *id, const char *const *tokens, int n, const float *p,
                          int heads, char **labels, const rgb *colors, bool grid_only)
{
    cJSON *d = cJSON_CreateObject();
    if (!d) return NULL;
    cJSON_AddStringToObject(d, "id", id);
    cJSON_AddBoolToObject(d, "gridOnly", grid_only);
    cJSON *t = cJSON_AddArrayToObject(d, "tokens");
    for (int i = 0; t && i < n; i++) cJSON_AddItemToArray(t, cJSON_CreateString(tokens[i] ? tokens[i] : ""));
    cJSON *l = cJSON_AddArrayToObject(d, "labels");
    cJSON *c = cJSON_AddArrayToObject(d, "colors");
    cJSON *a = cJSON_AddArrayToObject(d, "att");
    if (!t || !l || !c || !a) { cJSON_Delete(d); return NULL; }
    for (int h = 0; h < heads; h++) {
        cJSON_AddItemToArray(l, cJSON_CreateString(labels[h]));
        int triple[3] = {colors[h].r, colors[h].g, colors[h].b};
        cJSON_AddItemToArray(c, cJSON_CreateIntArray(triple, 3));
        cJSON *hm = cJSON_CreateArray();
        if (!hm) { cJSON_Delete(d); return NULL; }
        cJSON_AddItemToArray(a, hm);
        for (int q = 0; q < n; q++) {
            cJSON *row = cJSON_CreateArray();
            if (!row) { cJSON_Delete(d); return NULL; }
            cJSON_AddItemToArray(hm, row);
            for (int k = 0; k <= q; k++) {
                double v = att(p, n, h, q, k);
                cJSON_AddItemToArray(row, display_number(isfinite(v) ? round(v * 1000) / 1000 : v));
            }
        }
    }
    return d;
}

char *display_attention_html(const char *const *tokens, int n, const float *patterns, int heads,
                     const char *const *head_labels, const char *title, bool grid_only)
{
    const char *what = grid_only ? "attention_heads" : "attention_patterns";
    if (!validate(what, tokens, n, patterns, heads)) return NULL;
    char id[64];
    display_new_id(id, sizeof id, "lens-attn");
    rgb *colors = malloc(sizeof *colors * (size_t)heads);
    char **labels = calloc((size_t)heads, sizeof *labels);
    double *w = malloc(sizeof *w * (size_t)heads);
    dbuf b = {0};
    char *out = NULL;
    cJSON *data = NULL;
    if (!colors || !labels || !w) goto done;
    for (int h = 0; h < heads; h++) {
        colors[h] = head_color(h, heads);
        char def[32];
        snprintf(def, sizeof def, "H%d", h);
        labels[h] = strdup(head_labels && head_labels[h] ? head_labels[h] : def);
        if (!labels[h]) goto done;
    }
    display_dbuf_appendf(&b, "<div class=\"lens-attn%s\" id=\"%s\">\n<style>", grid_only ? " lens-attn-gridonly" : "", id);
    display_dbuf_append(&b, attention_css);
    display_dbuf_append(&b, "</style>\n");
    if (title && *title) {
        display_dbuf_append(&b, "<div class=\"lens-attn-title\">");
        display_dbuf_append_html(&b, title);
        display_dbuf_append(&b, "</div>\n");
    }
    display_dbuf_append(&b, "<div class=\"lens-attn-heads\">");
    for (int h = 0; h < heads; h++) {
        display_dbuf_appendf(&b, "<span class=\"lens-attn-head\" data-head=\"%d\"><input type=\"checkbox\" checked "
                         "title=\"include this head\"><span class=\"lens-attn-swatch\" "
                         "style=\"background:rgb(%d,%d,%d)\"></span><span class=\"lens-attn-label\">",
                     h, colors[h].r, colors[h].g, colors[h].b);
        display_dbuf_append_html(&b, labels[h]);
        display_dbuf_append(&b, "</span></span>");
    }
    display_dbuf_append(&b, "</div>\n");
    if (!grid_only) {
        display_dbuf_append(&b, "<div class=\"lens-attn-controls\"><label><input type=\"checkbox\" class=\"lens-attn-dir\"> "
                        "show which tokens attend to this one</label></div>\n");
        display_dbuf_append(&b, "<div class=\"lens-attn-tokens\">");
        for (int j = 0; j < n; j++) {
            /* Without scripts: each head weighs token j by the most attention
             * any later token pays it. */
            for (int h = 0; h < heads; h++) {
                double m = 0;
                for (int q = j + 1; q < n; q++) {
                    double v = clamp01(att(patterns, n, h, q, j));
                    if (v > m) m = v;
                }
                w[h] = m;
            }
            rgb c = mix(colors, w, heads);
            bool dark = 0.299 * c.r + 0.587 * c.g + 0.114 * c.b < 140;
            display_dbuf_appendf(&b, "<span class=\"lens-attn-tok\" data-i=\"%d\" title=\"%d: ", j, j);
            append_token_text(&b, tokens[j]);
            display_dbuf_appendf(&b, "\" style=\"background:rgb(%d,%d,%d);color:%s\">", c.r, c.g, c.b,
                         dark ? "#fff" : "#000");
            append_token_text(&b, tokens[j]);
            display_dbuf_append(&b, "</span>");
        }
        display_dbuf_append(&b, "</div>\n<div class=\"lens-attn-info\"></div>\n");
    }
    display_dbuf_append(&b, "<div class=\"lens-attn-grid\"></div><div class=\"lens-attn-tip\"></div>\n");
    append_static_table(&b, tokens, n, patterns, heads, labels, colors);
    data = script_data(id, tokens, n, patterns, heads, labels, colors, grid_only);
    if (!data) goto done;
    display_dbuf_append(&b, "<script type=\"text/javascript\">(function(D){\n");
    display_dbuf_append(&b, attention_js);
    display_dbuf_append(&b, "\n})(");
    display_dbuf_append_json_script(&b, data);
    display_dbuf_append(&b, ");</script>\n</div>\n");
    out = display_dbuf_take(&b);
done:
    display_dbuf_free(&b);
    cJSON_Delete(data);
    for (int h = 0; labels && h < heads; h++) free(labels[h]);
    free(labels);
    free(colors);
    free(w);
    if (!out) display_set_error("%s: out of memory", what);
    return out;
}

static cJSON *bundle(const char *const *tokens, int n, const float *patterns, int heads,
                     const char *const *head_labels, const char *title, bool grid_only)
{
    char *html = display_attention_html(tokens, n, patterns, heads, head_labels, title, grid_only);
    if (!html) return NULL;
    dbuf p = {0};
    display_dbuf_appendf(&p, "%s: %d head%s × %d tokens", grid_only ? "Attention heads" : "Attention patterns",
                 heads, heads == 1 ? "" : "s", n);
    if (title && *title) display_dbuf_appendf(&p, " '%s'", title);
    display_dbuf_append(&p, " (");
    for (int h = 0; h < heads && h < 12; h++) {
        if (h) display_dbuf_append(&p, ", ");
        if (head_labels && head_labels[h]) display_dbuf_append(&p, head_labels[h]);
        else display_dbuf_appendf(&p, "H%d", h);
    }
    display_dbuf_append(&p, heads > 12 ? ", ...)" : ")");
    char *plain = display_dbuf_take(&p);
    cJSON *out = cJSON_CreateObject();
    if (!plain || !out) {
        free(html);
        free(plain);
        cJSON_Delete(out);
        display_set_error("attention: out of memory");
        return NULL;
    }
    cJSON_AddStringToObject(out, "text/html", html);
    cJSON_AddStringToObject(out, "text/plain", plain);
    free(html);
    free(plain);
    return out;
}

cJSON *display_attention_patterns_bundle(const char *const *tokens, int n, const float *patterns,
                                 int heads, const char *const *head_labels, const char *title)
{
    return bundle(tokens, n, patterns, heads, head_labels, title, false);
}

cJSON *display_attention_heads_bundle(const char *const *tokens, int n, const float *patterns,
                              int heads, const char *const *head_labels, const char *title)
{
    return bundle(tokens, n, patterns, heads, head_labels, title, true);
}
