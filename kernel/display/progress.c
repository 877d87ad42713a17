/* kernel/display/progress.c — the progress-bar bundle shown while weights
 * load or a sweep runs, updated in place with update_display_data. */
#include "progress.h"

#include <stdlib.h>

#include "dbuf.h"

cJSON *display_progress_bundle(const char *label, long done, long total, const char *detail)
{
    if (!label) label = "";
    if (done < 0) done = 0;
    if (total > 0 && done > total) done = total;
    double frac = total > 0 ? (double)done / (double)total : 0;
    dbuf plain = {0}, html = {0};
    display_dbuf_append(&plain, label);
    if (total > 0) display_dbuf_appendf(&plain, "%s%ld/%ld", *label ? " " : "", done, total);
    else if (total == 0) display_dbuf_appendf(&plain, "%s%ld", *label ? " " : "", done);
    if (detail && *detail) display_dbuf_appendf(&plain, "%s%s", total < 0 && !*label ? "" : " ", detail);

    display_dbuf_append(&html, "<div class=\"lens-progress\" style=\"font:13px sans-serif;display:flex;"
                       "align-items:center;gap:8px;margin:2px 0\">");
    if (*label) {
        display_dbuf_append(&html, "<span>");
        display_dbuf_append_html(&html, label);
        display_dbuf_append(&html, "</span>");
    }
    if (total >= 0) {
        display_dbuf_append(&html, "<div style=\"width:240px;height:12px;background:#e6e6e6;border-radius:6px;overflow:hidden\">");
        display_dbuf_appendf(&html, "<div style=\"width:%.1f%%;height:100%%;background:#4a7bd0\"></div></div>",
                     total > 0 ? frac * 100 : 0.0);
        display_dbuf_append(&html, "<span style=\"font-variant-numeric:tabular-nums\">");
        if (total > 0) display_dbuf_appendf(&html, "%ld/%ld (%.0f%%)", done, total, frac * 100);
        else display_dbuf_appendf(&html, "%ld", done);
        display_dbuf_append(&html, "</span>");
    }
    if (detail && *detail) {
        display_dbuf_append(&html, "<span style=\"color:#666\">");
        display_dbuf_append_html(&html, detail);
        display_dbuf_append(&html, "</span>");
    }
    display_dbuf_append(&html, "</div>");
    char *p = display_dbuf_take(&plain), *h = display_dbuf_take(&html);
    cJSON *b = cJSON_CreateObject();
    if (!p || !h || !b) {
        free(p);
        free(h);
        cJSON_Delete(b);
        display_set_error("progress: out of memory");
        return NULL;
    }
    cJSON_AddStringToObject(b, "text/html", h);
    cJSON_AddStringToObject(b, "text/plain", p);
    free(p);
    free(h);
    return b;
}
