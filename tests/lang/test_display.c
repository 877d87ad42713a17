/* tests/lang/test_display.c — kernel/display: figure JSON structure and
 * values, NaN → null, mime bundles, HTML escaping of hostile tokens in the
 * attention display and tables, unique ids, progress bars, bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "display.h"
#include "lens/file.h"

static const cJSON *get(const cJSON *o, const char *path)
{
    /* "a.b.0.c": object keys and array indices separated by dots. */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, "."))
        o = (*tok >= '0' && *tok <= '9') ? cJSON_GetArrayItem(o, atoi(tok))
                                         : cJSON_GetObjectItemCaseSensitive(o, tok);
    return o;
}

static const char *str(const cJSON *o, const char *path)
{
    const cJSON *v = get(o, path);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *path)
{
    const cJSON *v = get(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_line_defaults_x_to_indices_and_keeps_values(void)
{
    float y[5] = {0, 1, 2, 3, 4};
    cJSON *fig = display_figure_line(y, 1, 5, NULL);
    CHECK(fig != NULL, "%s", display_last_error());
    CHECK(strcmp(str(fig, "data.0.type"), "scatter") == 0, "%s", "");
    CHECK(strstr(str(fig, "data.0.mode"), "lines") != NULL, "%s", "");
    CHECK(cJSON_GetArraySize(get(fig, "data.0.x")) == 5, "%s", "");
    for (int i = 0; i < 5; i++) {
        char p[32];
        snprintf(p, sizeof p, "data.0.x.%d", i);
        CHECK(num(fig, p) == i, "x[%d]", i);
        snprintf(p, sizeof p, "data.0.y.%d", i);
        CHECK(num(fig, p) == y[i], "y[%d]", i);
    }
    CHECK(strcmp(str(fig, "layout.xaxis.title.text"), "index") == 0, "%s", "");
    CHECK(strcmp(str(fig, "layout.yaxis.title.text"), "y") == 0, "%s", "");
    CHECK(get(fig, "layout.template") == NULL, "%s", "");
    cJSON_Delete(fig);
}

static void test_line_uses_x_hover_names_and_title(void)
{
    float y[3] = {1.5f, -2, 0.1f}, x[3] = {0, 0.5f, 1};
    const char *names[3] = {"embed", "0_pre", "0_mid"};
    fig_opts o = {.title = "Logit Lens", .x = x, .hover_name = names, .ylabel = "logit diff"};
    cJSON *fig = display_figure_line(y, 1, 3, &o);
    CHECK(fig != NULL, "%s", "");
    CHECK(num(fig, "data.0.x.1") == 0.5, "%s", "");
    CHECK(strcmp(str(fig, "data.0.hovertext.2"), "0_mid") == 0, "%s", "");
    CHECK(strstr(str(fig, "data.0.hovertemplate"), "%{hovertext}") != NULL, "%s", "");
    CHECK(strcmp(str(fig, "layout.title.text"), "Logit Lens") == 0, "%s", "");
    CHECK(strcmp(str(fig, "layout.xaxis.title.text"), "x") == 0, "%s", "");
    CHECK(strcmp(str(fig, "layout.yaxis.title.text"), "logit diff") == 0, "%s", "");
    /* Floats print short: 0.1f is 0.1 in the JSON, not 0.100000001490116. */
    char *json = cJSON_PrintUnformatted(fig);
    CHECK(json && strstr(json, "0.1,") == NULL && strstr(json, "0.1]") != NULL, "%s", json);
    free(json);
    cJSON_Delete(fig);
}

static void test_line_with_several_lines_makes_one_trace_each(void)
{
    float y[2 * 4] = {0, 1, 2, 3, 10, 11, 12, 13};
    const char *names[2] = {"clean", "corrupt"};
    fig_opts o = {.names = names};
    cJSON *fig = display_figure_line(y, 2, 4, &o);
    CHECK(cJSON_GetArraySize(get(fig, "data")) == 2, "%s", "");
    CHECK(num(fig, "data.1.y.3") == 13, "%s", "");
    CHECK(strcmp(str(fig, "data.1.name"), "corrupt") == 0, "%s", "");
    CHECK(cJSON_IsTrue(get(fig, "data.0.showlegend")), "%s", "");
    CHECK(strcmp(str(fig, "data.0.line.color"), str(fig, "data.1.line.color")) != 0, "%s", "");
    cJSON_Delete(fig);
}

static void test_imshow_keeps_row_zero_on_top_with_symmetric_rdbu(void)
{
    float z[2 * 3] = {1, 2, 3, -4, 5, -6};
    fig_opts o = {.title = "Heads", .xlabel = "Head", .ylabel = "Layer"};
    cJSON *fig = display_figure_imshow(z, 2, 3, &o);
    CHECK(fig != NULL, "%s", "");
    CHECK(strcmp(str(fig, "data.0.type"), "heatmap") == 0, "%s", "");
    CHECK(cJSON_GetArraySize(get(fig, "data.0.z")) == 2, "%s", "");
    CHECK(cJSON_GetArraySize(get(fig, "data.0.z.0")) == 3, "%s", "");
    CHECK(num(fig, "data.0.z.0.2") == 3 && num(fig, "data.0.z.1.0") == -4, "%s", "");
    CHECK(strcmp(str(fig, "layout.yaxis.autorange"), "reversed") == 0, "%s", "");
    CHECK(num(fig, "layout.coloraxis.cmid") == 0, "%s", "");
    CHECK(num(fig, "layout.coloraxis.cmin") == -6 && num(fig, "layout.coloraxis.cmax") == 6, "%s", "");
    CHECK(strcmp(str(fig, "layout.coloraxis.colorscale.0.1"), "rgb(103,0,31)") == 0, "%s", "");
    CHECK(strcmp(str(fig, "layout.xaxis.title.text"), "Head") == 0, "%s", "");
    CHECK(strcmp(str(fig, "layout.yaxis.title.text"), "Layer") == 0, "%s", "");
    char *plain = display_figure_describe(fig);
    CHECK(plain && strcmp(plain, "Figure: heatmap 2×3 'Heads'") == 0, "%s", plain);
    free(plain);
    cJSON_Delete(fig);

    fig_opts r = {.zmin_set = true, .zmin = -1, .zmax_set = true, .zmax = 2};
    fig = display_figure_imshow(z, 2, 3, &r);
    CHECK(num(fig, "layout.coloraxis.cmin") == -1 && num(fig, "layout.coloraxis.cmax") == 2, "%s", "");
    cJSON_Delete(fig);
}

static void test_imshow_labels_distinct_as_categories_repeated_as_ticks(void)
{
    float z[4] = {1, 2, 3, 4};
    const char *xs[2] = {"a", "b"}, *ys[2] = {" the", " the"};
    fig_opts o = {.x_labels = xs, .y_labels = ys};
    cJSON *fig = display_figure_imshow(z, 2, 2, &o);
    CHECK(strcmp(str(fig, "data.0.x.1"), "b") == 0, "%s", "");
    CHECK(num(fig, "data.0.y.1") == 1, "%s", "");
    CHECK(strcmp(str(fig, "layout.yaxis.ticktext.1"), " the") == 0, "%s", "");
    cJSON_Delete(fig);
}

static void test_non_finite_numbers_become_null(void)
{
    float z[4] = {NAN, INFINITY, -INFINITY, 1};
    cJSON *fig = display_figure_imshow(z, 2, 2, NULL);
    CHECK(cJSON_IsNull(get(fig, "data.0.z.0.0")), "%s", "");
    CHECK(cJSON_IsNull(get(fig, "data.0.z.0.1")), "%s", "");
    CHECK(cJSON_IsNull(get(fig, "data.0.z.1.0")), "%s", "");
    CHECK(num(fig, "layout.coloraxis.cmax") == 1, "%s", "");
    char *json = cJSON_PrintUnformatted(fig);
    CHECK(json && !strstr(json, "nan") && !strstr(json, "inf"), "%s", "");
    free(json);
    cJSON_Delete(fig);
    float y[2] = {NAN, 2};
    fig = display_figure_line(y, 1, 2, NULL);
    CHECK(cJSON_IsNull(get(fig, "data.0.y.0")), "%s", "");
    cJSON_Delete(fig);
}

static void test_scatter_and_bar(void)
{
    float x[3] = {1, 2, 3}, y[3] = {4, 5, 6}, c[3] = {0, 1, 2};
    const char *names[3] = {"a", "b", "c"};
    fig_opts o = {.xlabel = "clean", .ylabel = "patched", .clabel = "layer", .color = c,
                  .hover_name = names};
    cJSON *fig = display_figure_scatter(x, y, 3, &o);
    CHECK(strcmp(str(fig, "data.0.mode"), "markers") == 0, "%s", "");
    CHECK(num(fig, "data.0.marker.color.2") == 2, "%s", "");
    CHECK(strcmp(str(fig, "layout.coloraxis.colorbar.title.text"), "layer") == 0, "%s", "");
    CHECK(strcmp(str(fig, "layout.xaxis.title.text"), "clean") == 0, "%s", "");
    CHECK(strcmp(str(fig, "data.0.hovertext.1"), "b") == 0, "%s", "");
    cJSON_Delete(fig);
    fig_opts b = {.x_labels = names};
    fig = display_figure_bar(y, 3, &b);
    CHECK(strcmp(str(fig, "data.0.type"), "bar") == 0, "%s", "");
    CHECK(strcmp(str(fig, "data.0.x.2"), "c") == 0 && num(fig, "data.0.y.2") == 6, "%s", "");
    cJSON_Delete(fig);
}

static void test_bad_input_returns_null_with_a_message(void)
{
    float y[2] = {1, 2};
    CHECK(display_figure_line(NULL, 1, 2, NULL) == NULL, "%s", "");
    CHECK(strstr(display_last_error(), "no data") != NULL, "%s", "");
    CHECK(display_figure_line(y, 1, 0, NULL) == NULL, "%s", "");
    CHECK(display_figure_imshow(y, -1, 2, NULL) == NULL, "%s", "");
    CHECK(display_figure_imshow(y, 1 << 30, 1 << 30, NULL) == NULL, "%s", "");
    CHECK(strstr(display_last_error(), "too many") != NULL, "%s", "");
    CHECK(display_figure_scatter(y, NULL, 2, NULL) == NULL, "%s", "");
    CHECK(display_figure_bar(y, 0, NULL) == NULL, "%s", "");
    CHECK(display_figure_bundle(NULL) == NULL, "%s", "");
    cJSON *junk = cJSON_Parse("{\"data\": 3}");
    CHECK(display_figure_bundle(junk) == NULL, "%s", "");
    char *d = display_figure_describe(junk);
    CHECK(d != NULL, "%s", "");
    free(d);
    cJSON_Delete(junk);
    const char *tok[2] = {"a", "b"};
    CHECK(display_attention_patterns_bundle(tok, 2, NULL, 1, NULL, NULL) == NULL, "%s", "");
    CHECK(display_attention_patterns_bundle(tok, 0, y, 1, NULL, NULL) == NULL, "%s", "");
    CHECK(display_attention_patterns_bundle(tok, 2, y, 0, NULL, NULL) == NULL, "%s", "");
    CHECK(display_table_numeric_bundle(NULL, 1, 1, NULL, NULL, NULL) == NULL, "%s", "");
    CHECK(display_table_text_bundle(tok, 0, 1, NULL, NULL) == NULL, "%s", "");
    CHECK(display_figure_save_html(NULL, "/tmp/x.html") != 0, "%s", "");
}

static void test_figure_bundle_has_three_mime_types(void)
{
    float y[3] = {1, 2, 3};
    fig_opts o = {.title = "</script><b>t</b>"};
    cJSON *fig = display_figure_line(y, 1, 3, &o);
    cJSON *b = display_figure_bundle(fig);
    CHECK(b != NULL, "%s", "");
    CHECK(cJSON_IsArray(get(cJSON_GetObjectItem(b, "application/vnd.plotly.v1+json"), "data")), "%s", "");
    CHECK(cJSON_IsObject(get(cJSON_GetObjectItem(b, "application/vnd.plotly.v1+json"), "layout")), "%s", "");
    CHECK(cJSON_IsObject(get(cJSON_GetObjectItem(b, "application/vnd.plotly.v1+json"), "config")), "%s", "");
    const char *html = str(b, "text/html");
    CHECK(strstr(html, "Plotly.newPlot") != NULL, "%s", "");
    CHECK(strstr(html, "window.Plotly") != NULL, "%s", "");
    CHECK(strstr(html, "\\u003c/script\\u003e\\u003cb\\u003et") != NULL, "%s", "");
    /* Exactly as many "</script" as script elements: none from the title. */
    int opens = 0, closes = 0;
    for (const char *p = html; (p = strstr(p, "<script")); p++) opens++;
    for (const char *p = html; (p = strstr(p, "</script")); p++) closes++;
    CHECK(opens == closes && opens >= 1, "%d opens, %d closes", opens, closes);
    CHECK(strncmp(str(b, "text/plain"), "Figure: line, 3 points", 22) == 0, "%s", str(b, "text/plain"));
    cJSON_Delete(b);
    cJSON_Delete(fig);
}

static void test_plotly_js_is_inlined_from_env_with_require_guard(void)
{
    char path[] = "/tmp/lens-plotly-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "%s", "");
    const char lib[] = "window.Plotly={newPlot:function(){}};/*</script><!--*/";
    CHECK(write(fd, lib, sizeof lib - 1) == (ssize_t)(sizeof lib - 1), "%s", "");
    close(fd);
    setenv("LENS_PLOTLY_JS", path, 1);
    display_plotly_js_reset();
    float y[1] = {1};
    cJSON *fig = display_figure_line(y, 1, 1, NULL);
    char *html = display_figure_html(fig);
    CHECK(html && strstr(html, "window.Plotly={newPlot") != NULL, "%s", "");
    CHECK(html && strstr(html, "(function(define,module,exports)") != NULL, "%s", "");
    CHECK(html && strstr(html, "<\\/script><\\!--") != NULL, "%s", "");
    CHECK(strcmp(display_plotly_js_path(), path) == 0, "%s", "");
    free(html);

    setenv("LENS_PLOTLY_JS", "https://cdn.example.org/plotly.min.js", 1);
    display_plotly_js_reset();
    html = display_figure_html(fig);
    CHECK(html && strstr(html, "\"https://cdn.example.org/plotly.min.js\"") != NULL, "%s", "");
    CHECK(html && strstr(html, "window.define=undefined") != NULL, "%s", "");
    free(html);

    setenv("LENS_PLOTLY_JS", "/nonexistent/plotly.min.js", 1);
    display_plotly_js_reset();
    cJSON *b = display_figure_bundle(fig);
    CHECK(strstr(str(b, "text/html"), "lens-figure-note") != NULL, "%s", "");
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(b, "application/vnd.plotly.v1+json")), "%s", "");
    cJSON_Delete(b);
    cJSON_Delete(fig);
    unsetenv("LENS_PLOTLY_JS");
    display_plotly_js_reset();
    unlink(path);
}

static bool html_has(const cJSON *bundle, const char *needle)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(bundle, "text/html");
    return cJSON_IsString(h) && strstr(h->valuestring, needle) != NULL;
}

/* plotly.js goes out once per session: in the first figure, again only when
 * the cell that carried it runs again; standalone pages always carry it. */
static void test_plotly_js_is_sent_once_per_session(void)
{
    char path[] = "/tmp/lens-plotly-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "%s", "");
    const char lib[] = "window.Plotly={newPlot:function(){}};/*LIBRARY-MARK*/";
    CHECK(write(fd, lib, sizeof lib - 1) == (ssize_t)(sizeof lib - 1), "%s", "");
    close(fd);
    setenv("LENS_PLOTLY_JS", path, 1);
    display_plotly_js_reset();
    float y[2] = {1, 2};
    cJSON *fig = display_figure_line(y, 1, 2, NULL);
    display_plotly_js_cell_started("cell-a");
    cJSON *b1 = display_figure_bundle(fig), *b2 = display_figure_bundle(fig);
    CHECK(html_has(b1, "LIBRARY-MARK") && html_has(b1, "dispatchEvent(new Event('lens-plotly-ready'))"), "%s", "");
    CHECK(!html_has(b2, "LIBRARY-MARK") && html_has(b2, "Plotly.newPlot"), "%s", "");
    CHECK(html_has(b2, "addEventListener('lens-plotly-ready'"), "%s", "");
    display_plotly_js_cell_started("cell-b");
    cJSON *b3 = display_figure_bundle(fig);
    CHECK(!html_has(b3, "LIBRARY-MARK"), "%s", "");
    display_plotly_js_cell_started("");          /* a frontend that sends no cell id */
    cJSON *b4 = display_figure_bundle(fig);
    CHECK(!html_has(b4, "LIBRARY-MARK"), "%s", "");
    display_plotly_js_cell_started("cell-a");    /* its outputs, the library with them, are cleared */
    cJSON *b5 = display_figure_bundle(fig), *b6 = display_figure_bundle(fig);
    CHECK(html_has(b5, "LIBRARY-MARK") && !html_has(b6, "LIBRARY-MARK"), "%s", "");
    char page[] = "/tmp/lens-page-XXXXXX";
    fd = mkstemp(page);
    close(fd);
    CHECK(display_figure_save_html(fig, page) == 0, "%s", display_last_error());
    size_t n = 0;
    char *text = lens_read_file(page, "page", &n, NULL);
    CHECK(text && strstr(text, "LIBRARY-MARK") != NULL, "%s", "");
    free(text);
    unlink(page);
    display_plotly_js_reset();                   /* a new session */
    cJSON *b7 = display_figure_bundle(fig);
    CHECK(html_has(b7, "LIBRARY-MARK"), "%s", "");
    cJSON *all[] = {b1, b2, b3, b4, b5, b6, b7};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) cJSON_Delete(all[i]);
    cJSON_Delete(fig);
    unsetenv("LENS_PLOTLY_JS");
    display_plotly_js_reset();
    unlink(path);
}

static void test_save_html_writes_a_standalone_page(void)
{
    setenv("LENS_PLOTLY_JS", "https://cdn.example.org/plotly.min.js", 1);
    display_plotly_js_reset();
    float z[1] = {1};
    fig_opts o = {.title = "a<b"};
    cJSON *fig = display_figure_imshow(z, 1, 1, &o);
    char path[] = "/tmp/lens-fig-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(display_figure_save_html(fig, path) == 0, "%s", display_last_error());
    FILE *f = fopen(path, "r");
    char buf[4096] = {0};
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    CHECK(n > 0 && strncmp(buf, "<!DOCTYPE html>", 15) == 0, "%s", "");
    CHECK(strstr(buf, "<title>a&lt;b</title>") != NULL, "%s", "");
    CHECK(display_figure_save_html(fig, "/nonexistent-dir/x.html") != 0, "%s", "");
    CHECK(strstr(display_last_error(), "cannot write") != NULL, "%s", "");
    unlink(path);
    cJSON_Delete(fig);
    unsetenv("LENS_PLOTLY_JS");
    display_plotly_js_reset();
}

static const char *hostile[] = {"<|endoftext|>", " \"q\"", " 'a'", "</script><script>alert(1)</script>",
                                " &amp;", "\n", " caf\xc3\xa9", "\xe2\x80\xa8"};
#define NH 8

static void make_patterns(float *p, int heads, int n)
{
    for (int h = 0; h < heads; h++)
        for (int q = 0; q < n; q++)
            for (int k = 0; k < n; k++)
                p[((size_t)h * n + q) * n + k] = k <= q ? 1.0f / (float)(q + 1) : 0.0f;
}

static int count(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) c++;
    return c;
}

static void test_attention_escapes_hostile_tokens(void)
{
    float p[2 * NH * NH];
    make_patterns(p, 2, NH);
    const char *labels[2] = {"L9H9", "<i>L1H1</i>"};
    cJSON *b = display_attention_patterns_bundle(hostile, NH, p, 2, labels, "t</script>");
    CHECK(b != NULL, "%s", display_last_error());
    const char *html = str(b, "text/html");
    CHECK(count(html, "<script") == 1, "%d scripts", count(html, "<script"));
    CHECK(count(html, "</script") == 1, "%d script ends", count(html, "</script"));
    CHECK(strstr(html, "<|endoftext|>") == NULL, "%s", "");
    CHECK(strstr(html, "&lt;|endoftext|&gt;") != NULL, "%s", "");
    CHECK(strstr(html, "\\u003c|endoftext|\\u003e") != NULL, "%s", "");
    CHECK(strstr(html, "&quot;q&quot;") != NULL, "%s", "");
    CHECK(strstr(html, "&#39;a&#39;") != NULL, "%s", "");
    CHECK(strstr(html, "&amp;amp;") != NULL, "%s", "");
    CHECK(strstr(html, "<i>") == NULL, "%s", "");
    CHECK(strstr(html, "caf\xc3\xa9") != NULL, "%s", "");
    const char *script = strstr(html, "<script");
    CHECK(script && strstr(script, "\xe2\x80\xa8") == NULL && strstr(script, "\\u2028") != NULL, "%s", "");
    CHECK(strstr(html, "lens-attn-tok") && strstr(html, "lens-attn-static"), "%s", "");
    CHECK(strstr(str(b, "text/plain"), "2 heads × 8 tokens") != NULL, "%s", str(b, "text/plain"));
    cJSON_Delete(b);
}

static void test_attention_static_colours_and_table(void)
{
    /* One head: everything attends to token 0, so only token 0 is coloured. */
    const char *tok[3] = {"a", "b", "c"};
    float p[9] = {1, 0, 0, 1, 0, 0, 1, 0, 0};
    char *html = display_attention_html(tok, 3, p, 1, NULL, NULL, false);
    CHECK(html != NULL, "%s", "");
    const char *t0 = strstr(html, "data-i=\"0\"");
    const char *t1 = strstr(html, "data-i=\"1\"");
    CHECK(t0 && t1 && strstr(t1, "background:rgb(255,255,255)") != NULL, "%s", "");
    CHECK(t0 && strstr(t0, "background:rgb(255,255,255)") > strstr(t0, "data-i=\"1\""), "%s", "");
    CHECK(strstr(html, ">H0<") != NULL, "%s", "");
    CHECK(strstr(html, "Strongest attention per head") != NULL, "%s", "");
    free(html);
}

static void test_attention_displays_get_unique_ids(void)
{
    const char *tok[2] = {"a", "b"};
    float p[4] = {1, 0, 0.5f, 0.5f};
    char *a = display_attention_html(tok, 2, p, 1, NULL, NULL, false);
    char *b = display_attention_html(tok, 2, p, 1, NULL, NULL, true);
    CHECK(a && b, "%s", "");
    const char *ia = strstr(a, "id=\""), *ib = strstr(b, "id=\"");
    CHECK(ia && ib, "%s", "");
    size_t la = strcspn(ia + 4, "\""), lb = strcspn(ib + 4, "\"");
    CHECK(la > 10 && (la != lb || strncmp(ia + 4, ib + 4, la) != 0), "%s", "");
    CHECK(strstr(b, "lens-attn-gridonly") != NULL && strstr(b, "lens-attn-tok\"") == NULL, "%s", "");
    free(a);
    free(b);
    cJSON *f1 = display_figure_line(p, 1, 2, NULL);
    char *h1 = display_figure_html(f1), *h2 = display_figure_html(f1);
    const char *j1 = strstr(h1, "id=\"lens-fig"), *j2 = strstr(h2, "id=\"lens-fig");
    CHECK(j1 && j2 && strncmp(j1, j2, strcspn(j1 + 4, "\"") + 4) != 0, "%s", "");
    free(h1);
    free(h2);
    cJSON_Delete(f1);
}

static void test_progress_bundle(void)
{
    cJSON *b = display_progress_bundle("loading", 3, 12, NULL);
    CHECK(strcmp(str(b, "text/plain"), "loading 3/12") == 0, "%s", str(b, "text/plain"));
    CHECK(strstr(str(b, "text/html"), "width:25.0%") != NULL, "%s", "");
    cJSON_Delete(b);
    b = display_progress_bundle("<x>", 20, 10, "a&b");
    CHECK(strstr(str(b, "text/html"), "&lt;x&gt;") && strstr(str(b, "text/html"), "a&amp;b"), "%s", "");
    CHECK(strcmp(str(b, "text/plain"), "<x> 10/10 a&b") == 0, "%s", "");
    cJSON_Delete(b);
    b = display_progress_bundle(NULL, 5, 0, NULL);
    CHECK(strcmp(str(b, "text/plain"), "5") == 0, "%s", "");
    cJSON_Delete(b);
    /* total < 0: a status line without count or bar */
    b = display_progress_bundle("loading", 0, -1, "gpt2-small");
    CHECK(strcmp(str(b, "text/plain"), "loading gpt2-small") == 0, "%s", str(b, "text/plain"));
    CHECK(!strstr(str(b, "text/html"), "width:240px") && strstr(str(b, "text/html"), "gpt2-small"));
    cJSON_Delete(b);
    b = display_progress_bundle(NULL, 0, -1, "status");
    CHECK(strcmp(str(b, "text/plain"), "status") == 0, "%s", str(b, "text/plain"));
    cJSON_Delete(b);
}

static void test_tables_escape_and_elide(void)
{
    const char *cells[4] = {"<|endoftext|>", "</script>", "a\"b", NULL};
    const char *hdr[2] = {"tok&en", "v"};
    cJSON *b = display_table_text_bundle(cells, 2, 2, hdr, "<t>");
    const char *html = str(b, "text/html");
    CHECK(strstr(html, "&lt;|endoftext|&gt;") && strstr(html, "&lt;/script&gt;"), "%s", "");
    CHECK(strstr(html, "a&quot;b") && strstr(html, "tok&amp;en") && strstr(html, "&lt;t&gt;"), "%s", "");
    CHECK(strstr(html, "</script") == NULL, "%s", "");
    CHECK(strstr(str(b, "text/plain"), "<|endoftext|>\t</script>") != NULL, "%s", "");
    cJSON_Delete(b);

    float v[100 * 2];
    for (int i = 0; i < 200; i++) v[i] = (float)i;
    v[0] = NAN;
    const char *cols[2] = {"a", "b"};
    b = display_table_numeric_bundle(v, 100, 2, NULL, cols, NULL);
    html = str(b, "text/html");
    CHECK(strstr(html, "60 more rows") != NULL, "%s", "");
    CHECK(strstr(html, "<td>nan</td>") != NULL, "%s", "");
    CHECK(strstr(html, "199.0000") != NULL && strstr(html, ">50.0000<") == NULL, "%s", "");
    cJSON_Delete(b);
}

int main(void)
{
    RUN(test_line_defaults_x_to_indices_and_keeps_values);
    RUN(test_line_uses_x_hover_names_and_title);
    RUN(test_line_with_several_lines_makes_one_trace_each);
    RUN(test_imshow_keeps_row_zero_on_top_with_symmetric_rdbu);
    RUN(test_imshow_labels_distinct_as_categories_repeated_as_ticks);
    RUN(test_non_finite_numbers_become_null);
    RUN(test_scatter_and_bar);
    RUN(test_bad_input_returns_null_with_a_message);
    RUN(test_figure_bundle_has_three_mime_types);
    RUN(test_plotly_js_is_sent_once_per_session);
    RUN(test_plotly_js_is_inlined_from_env_with_require_guard);
    RUN(test_save_html_writes_a_standalone_page);
    RUN(test_attention_escapes_hostile_tokens);
    RUN(test_attention_static_colours_and_table);
    RUN(test_attention_displays_get_unique_ids);
    RUN(test_progress_bundle);
    RUN(test_tables_escape_and_elide);
    return harness_summary();
}
