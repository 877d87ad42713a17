/* tests/lang/display_driver.c — writes one mime bundle per display kind into
 * a directory, for the Python tests (plotly validation, JupyterLab and
 * nbconvert in a browser) to check: display_driver OUTDIR.
 * Files: line.json, lines.json, heatmap.json, scatter.json, bar.json,
 * attention.json, attention_early.json, attention_heads.json, progress.json, table.json, and
 * figure.html (figure_save_html of the heatmap). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "display.h"

static int write_bundle(const char *dir, const char *name, cJSON *bundle)
{
    if (!bundle) {
        fprintf(stderr, "%s: %s\n", name, display_last_error());
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = cJSON_Print(bundle);
    FILE *f = fopen(path, "w");
    int rc = (!s || !f || fputs(s, f) < 0) ? 1 : 0;
    if (f && fclose(f) != 0) rc = 1;
    free(s);
    cJSON_Delete(bundle);
    if (rc) fprintf(stderr, "cannot write %s\n", path);
    return rc;
}

/* A causal attention pattern: head h of query q prefers key (q - h - 1),
 * else the first token, normalised per row. */
static void patterns(float *p, int heads, int n)
{
    for (int h = 0; h < heads; h++)
        for (int q = 0; q < n; q++) {
            float *row = p + ((size_t)h * n + q) * n;
            float sum = 0;
            for (int k = 0; k < n; k++) {
                row[k] = k > q ? 0.0f : (k == q - h - 1 ? 6.0f : k == 0 ? 2.0f : 0.3f);
                sum += row[k];
            }
            for (int k = 0; k < n; k++) row[k] /= sum;
        }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: display_driver OUTDIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int rc = 0;

    /* 25 points, x = 0, 0.5, ..., hover labels as in the logit lens plot. */
    float y[25], x[25];
    char lab[25][32];
    const char *labels[25];
    for (int i = 0; i < 25; i++) {
        y[i] = (float)(i * i) / 100.0f - 1.0f;
        x[i] = (float)i / 2.0f;
        snprintf(lab[i], sizeof lab[i], "%d_%s", i / 2, i % 2 ? "mid" : "pre");
        labels[i] = lab[i];
    }
    fig_opts lo = {.title = "Logit Difference From Accumulate Residual Stream", .x = x,
                   .hover_name = labels};
    cJSON *fig = display_figure_line(y, 1, 25, &lo);
    rc |= write_bundle(dir, "line.json", fig ? display_figure_bundle(fig) : NULL);
    cJSON_Delete(fig);

    float ys[3 * 10];
    for (int i = 0; i < 30; i++) ys[i] = sinf((float)i);
    const char *names[] = {"clean", "corrupted", "patched"};
    fig_opts mo = {.title = "Three lines", .names = names};
    fig = display_figure_line(ys, 3, 10, &mo);
    rc |= write_bundle(dir, "lines.json", fig ? display_figure_bundle(fig) : NULL);
    cJSON_Delete(fig);

    /* 12×12 heatmap with value r - c/12 - 5 at row r, column c; one NaN. */
    float z[12 * 12];
    for (int r = 0; r < 12; r++)
        for (int c = 0; c < 12; c++) z[r * 12 + c] = (float)r - (float)c / 12.0f - 5.0f;
    z[12 * 3 + 4] = NAN;
    fig_opts io = {.title = "Logit Difference From Each Head", .xlabel = "Head", .ylabel = "Layer"};
    fig = display_figure_imshow(z, 12, 12, &io);
    rc |= write_bundle(dir, "heatmap.json", fig ? display_figure_bundle(fig) : NULL);
    if (fig) {
        char path[4096];
        snprintf(path, sizeof path, "%s/figure.html", dir);
        if (display_figure_save_html(fig, path) != 0) {
            fprintf(stderr, "save_html: %s\n", display_last_error());
            rc = 1;
        }
    }
    cJSON_Delete(fig);

    float sc[8];
    for (int i = 0; i < 8; i++) sc[i] = (float)(i % 3);
    fig_opts so = {.title = "Scatter", .xlabel = "clean", .ylabel = "patched", .clabel = "layer",
                   .color = sc, .hover_name = labels};
    fig = display_figure_scatter(x, y, 8, &so);
    rc |= write_bundle(dir, "scatter.json", fig ? display_figure_bundle(fig) : NULL);
    cJSON_Delete(fig);

    const char *bl[] = {"embed", "L0", "L1", "<b>L2</b>"};
    fig_opts bo = {.title = "Bars", .x_labels = bl};
    fig = display_figure_bar(y, 4, &bo);
    rc |= write_bundle(dir, "bar.json", fig ? display_figure_bundle(fig) : NULL);
    cJSON_Delete(fig);

    const char *tokens[] = {"<|endoftext|>", "When", " John", " and", " Mary", " went",
                            " to", " the", " store", ",", " \"John\"", " gave", " a",
                            " drink", " to", " </script><b>x</b>", "\n", " caf\xc3\xa9 & 'co'"};
    int n = (int)(sizeof tokens / sizeof tokens[0]);
    float *p = malloc(sizeof(float) * 3 * n * n);
    if (!p) return 1;
    patterns(p, 3, n);
    const char *heads[] = {"L9H9", "L9H6", "L10H0"};
    rc |= write_bundle(dir, "attention.json",
                       display_attention_patterns_bundle(tokens, n, p, 3, heads, "Name Mover Heads"));
    rc |= write_bundle(dir, "attention_heads.json",
                       display_attention_heads_bundle(tokens, n, p, 3, heads, "Name Mover Heads"));
    const char *early[] = {"L0H4", "L1H8"};
    rc |= write_bundle(dir, "attention_early.json",
                       display_attention_patterns_bundle(tokens, n, p, 2, early, "Early heads"));
    free(p);

    rc |= write_bundle(dir, "progress.json", display_progress_bundle("loading", 3, 12, "h.3.attn"));
    const char *cells[] = {"L9H9", "3.1", "<|endoftext|>", "L10H7", "-1.2", "</script>"};
    const char *hdr[] = {"head", "logit diff", "top token"};
    rc |= write_bundle(dir, "table.json", display_table_text_bundle(cells, 2, 3, hdr, "Top heads"));
    return rc;
}
