/* kernel/display/figure_html.c — turns figure JSON into what frontends show:
 * the mime bundle (Plotly JSON + text/html fallback + text/plain), the HTML
 * fallback itself, and standalone pages (figure_save_html). Which figure
 * carries the inline plotly.js is decided in plotly_js.c. */
#include "figure.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "lens/file.h"

static cJSON *plotly_config(void)
{
    cJSON *c = cJSON_CreateObject();
    if (!c) return NULL;
    cJSON_AddBoolToObject(c, "responsive", 1);
    cJSON_AddBoolToObject(c, "displaylogo", 0);
    return c;
}

/* {data, layout, config}: the figure as the Plotly mime type wants it. */
static cJSON *plotly_json(const cJSON *fig)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(fig, "data");
    const cJSON *layout = cJSON_GetObjectItemCaseSensitive(fig, "layout");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(fig, "config");
    if (!cJSON_IsArray(data)) {
        display_set_error("figure: no \"data\" array");
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    if (!out) return NULL;
    cJSON_AddItemToObject(out, "data", cJSON_Duplicate(data, 1));
    cJSON_AddItemToObject(out, "layout", cJSON_IsObject(layout) ? cJSON_Duplicate(layout, 1)
                                                                : cJSON_CreateObject());
    cJSON_AddItemToObject(out, "config", cJSON_IsObject(config) ? cJSON_Duplicate(config, 1)
                                                                : plotly_config());
    if (cJSON_GetArraySize(out) != 3) {
        cJSON_Delete(out);
        display_set_error("figure: out of memory");
        return NULL;
    }
    return out;
}

static const char *title_of(const cJSON *fig)
{
    const cJSON *layout = cJSON_GetObjectItemCaseSensitive(fig, "layout");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(layout, "title");
    if (cJSON_IsString(t)) return t->valuestring;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(t, "text");
    return cJSON_IsString(text) ? text->valuestring : NULL;
}

char *display_figure_describe(const cJSON *fig)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(fig, "data");
    const cJSON *tr = cJSON_GetArrayItem(data, 0);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(tr, "type");
    const char *ty = cJSON_IsString(type) ? type->valuestring : "scatter";
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(tr, "mode");
    int ntraces = cJSON_GetArraySize(data);
    dbuf b = {0};
    if (!tr) {
        display_dbuf_append(&b, "Figure: empty");
    } else if (strcmp(ty, "heatmap") == 0) {
        const cJSON *z = cJSON_GetObjectItemCaseSensitive(tr, "z");
        display_dbuf_appendf(&b, "Figure: heatmap %d×%d", cJSON_GetArraySize(z),
                     cJSON_GetArraySize(cJSON_GetArrayItem(z, 0)));
    } else {
        int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tr, "y"));
        bool lines = cJSON_IsString(mode) && strstr(mode->valuestring, "lines");
        const char *kind = strcmp(ty, "bar") == 0 ? "bar" : lines ? "line" : ty;
        const char *unit = strcmp(ty, "bar") == 0 ? "bars" : "points";
        if (ntraces > 1)
            display_dbuf_appendf(&b, "Figure: %s, %d traces × %d %s", kind, ntraces, n, unit);
        else
            display_dbuf_appendf(&b, "Figure: %s, %d %s", kind, n, unit);
    }
    const char *title = title_of(fig);
    if (title && *title) display_dbuf_appendf(&b, " '%s'", title);
    return display_dbuf_take(&b);
}

/* Draws the figure once the element is in the page and window.Plotly exists.
 * The library may come later in the page than this figure (cells run out of
 * order, the carrying output below this one): the script that defines it
 * fires 'lens-plotly-ready', and a short poll covers frontends that insert
 * outputs before running their scripts. After 5 s without it a note says
 * why, and the figure still draws when the library arrives. When the library
 * comes from a URL it is loaded once per page with AMD/CommonJS hidden, so a
 * page that uses require.js does not capture it. */
static const char draw_js[] =
    "var el=null;try{var s=document.currentScript;if(s&&s.parentNode)el=s.parentNode.querySelector('#'+id);}catch(e){}\n"
    "if(!el)el=document.getElementById(id);\n"
    "if(!el)return;\n"
    "var tries=0,done=false,note=null;\n"
    "function draw(){\n"
    "  if(done)return;\n"
    "  if(!window.Plotly){\n"
    "    if(tries++<100){setTimeout(draw,50);}\n"
    "    else if(!note&&el.parentNode){note=document.createElement('div');note.className='lens-figure-note';\n"
    "      note.style.cssText='font:12px sans-serif;color:#a40000';\n"
    "      note.textContent='Waiting for plotly.js: the first figure of the kernel session carries it. Run that cell again (or Run All) to draw this figure.';\n"
    "      el.parentNode.insertBefore(note,el.nextSibling);}\n"
    "    return;\n"
    "  }\n"
    "  if(!el.isConnected&&tries++<200){setTimeout(draw,50);return;}\n"
    "  done=true;window.removeEventListener('lens-plotly-ready',draw);\n"
    "  if(note&&note.parentNode)note.parentNode.removeChild(note);\n"
    "  window.Plotly.newPlot(el,fig.data,fig.layout,fig.config);\n"
    "}\n"
    "window.addEventListener('lens-plotly-ready',draw);\n"
    "if(!window.Plotly&&url&&!window.__lensPlotlyLoading){\n"
    "  window.__lensPlotlyLoading=true;\n"
    "  var tag=document.createElement('script');tag.src=url;\n"
    "  var saved=window.define;window.define=undefined;\n"
    "  var restore=function(){if(window.define===undefined)window.define=saved;};\n"
    "  tag.onload=function(){restore();try{window.dispatchEvent(new Event('lens-plotly-ready'));}catch(e){}};\n"
    "  tag.onerror=restore;\n"
    "  document.head.appendChild(tag);\n"
    "}\n"
    "draw();\n";

/* inline_lib: whether this HTML carries the inline library (when one was
 * found); with false a figure draws with the page's copy. */
static void append_figure_html(dbuf *b, const cJSON *pj, bool inline_lib)
{
    char id[64];
    display_new_id(id, sizeof id, "lens-fig");
    const char *code = NULL, *url = NULL;
    size_t len = 0;
    int found = display_plotly_js_source(&code, &len, &url);
    display_dbuf_appendf(b, "<div class=\"lens-figure\" id=\"%s\" style=\"width:100%%;min-height:450px\"></div>\n", id);
    if (found != 0) {
        const char *env = getenv("LENS_PLOTLY_JS");
        display_dbuf_append(b, "<div class=\"lens-figure-note\" style=\"font:12px sans-serif;color:#a40000\">"
                       "This figure needs plotly.js, which lens did not find (");
        if (env && *env) {
            display_dbuf_append(b, "LENS_PLOTLY_JS names ");
            display_dbuf_append_html(b, env);
            display_dbuf_append(b, ", which cannot be read");
        } else {
            display_dbuf_append(b, "install the plotly Python package or set LENS_PLOTLY_JS to plotly.min.js or its URL");
        }
        display_dbuf_append(b, "). Frontends that show the Plotly mime type still draw it.</div>\n");
    } else if (code && inline_lib) {
        /* define/module/exports hidden: plotly.js sets window.Plotly even
         * where require.js is loaded */
        display_dbuf_append(b, "<script type=\"text/javascript\">if(!window.Plotly){(function(define,module,exports){\n");
        display_dbuf_append_script_code(b, code, len);
        display_dbuf_append(b, "\n}).call(window);}\n"
                       "try{window.dispatchEvent(new Event('lens-plotly-ready'));}catch(e){}</script>\n");
    }
    display_dbuf_append(b, "<script type=\"text/javascript\">(function(){\nvar id=");
    cJSON *sid = cJSON_CreateString(id);
    cJSON *surl = url ? cJSON_CreateString(url) : cJSON_CreateNull();
    display_dbuf_append_json_script(b, sid);
    display_dbuf_append(b, ";\nvar url=");
    display_dbuf_append_json_script(b, surl);
    cJSON_Delete(sid);
    cJSON_Delete(surl);
    display_dbuf_append(b, ";\nvar fig=");
    display_dbuf_append_json_script(b, pj);
    display_dbuf_append(b, ";\n");
    display_dbuf_append(b, draw_js);
    display_dbuf_append(b, "})();</script>\n");
}

/* The HTML of one figure; standalone pages always carry the library. */
static char *html_of(const cJSON *fig, bool standalone)
{
    cJSON *pj = plotly_json(fig);
    if (!pj) return NULL;
    dbuf b = {0};
    append_figure_html(&b, pj, standalone || display_plotly_js_claim_inline());
    cJSON_Delete(pj);
    char *s = display_dbuf_take(&b);
    if (!s) display_set_error("figure: out of memory");
    return s;
}

char *display_figure_html(const cJSON *fig) { return html_of(fig, false); }

cJSON *display_figure_bundle(const cJSON *fig)
{
    cJSON *pj = plotly_json(fig);
    if (!pj) return NULL;
    dbuf b = {0};
    append_figure_html(&b, pj, display_plotly_js_claim_inline());
    char *html = display_dbuf_take(&b);
    char *plain = display_figure_describe(fig);
    cJSON *bundle = cJSON_CreateObject();
    if (!html || !plain || !bundle) {
        free(html);
        free(plain);
        cJSON_Delete(pj);
        cJSON_Delete(bundle);
        display_set_error("figure: out of memory");
        return NULL;
    }
    cJSON_AddItemToObject(bundle, "application/vnd.plotly.v1+json", pj);
    cJSON_AddStringToObject(bundle, "text/html", html);
    cJSON_AddStringToObject(bundle, "text/plain", plain);
    free(html);
    free(plain);
    return bundle;
}

static int write_page(FILE *f, void *page, lens_error *err)
{
    (void)err;
    size_t n = strlen(page);
    return fwrite(page, 1, n, f) == n ? 0 : -1;
}

int display_figure_save_html(const cJSON *fig, const char *path)
{
    if (!path || !*path) {
        display_set_error("save_html: no file name");
        return -1;
    }
    char *body = html_of(fig, true);
    if (!body) return -1;
    dbuf b = {0};
    display_dbuf_append(&b, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
    const char *title = title_of(fig);
    display_dbuf_append_html(&b, title && *title ? title : "lens figure");
    display_dbuf_append(&b, "</title>\n</head>\n<body>\n");
    display_dbuf_append(&b, body);
    display_dbuf_append(&b, "</body>\n</html>\n");
    free(body);
    char *page = display_dbuf_take(&b);
    if (!page) {
        display_set_error("save_html: out of memory");
        return -1;
    }
    lens_error err;
    int rc = lens_write_file(path, "HTML file", write_page, page, &err);
    free(page);
    if (rc) {
        display_set_error("save_html: %s", err.msg);
        return -1;
    }
    return 0;
}
