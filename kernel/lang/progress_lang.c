/* kernel/lang/progress_lang.c — progress bars for long builtins (rich.h):
 * one display with a display_id, updated in place, throttled, and replaced by
 * a summary at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "display.h"
#include "rich.h"

/* At most this many updates a second (the first and the last always go out). */
#define PROGRESS_RATE 10.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void send(interp *I, lang_progress *p, const cJSON *bundle)
{
    I->out->display(I->out->ctx, bundle, p->id, p->shown);
    p->shown = true;
    p->last = now_s();
}

void lang_progress_update(interp *I, lang_progress *p, const char *label, long done, long total,
                          const char *detail)
{
    if (!I->out || !I->out->display) return;
    if (!p->shown) {
        static unsigned long serial;
        snprintf(p->id, sizeof p->id, "lens-progress-%ld-%lu", (long)getpid(), ++serial);
        p->start = now_s();
    } else if (!(total >= 0 && done >= total) && now_s() - p->last < 1.0 / PROGRESS_RATE) {
        return;
    }
    cJSON *b = display_progress_bundle(label, done, total, detail);
    if (!b) return;   /* out of memory: progress is optional */
    send(I, p, b);
    cJSON_Delete(b);
}

void lang_progress_end(interp *I, lang_progress *p, const char *summary)
{
    if (!I->out || !I->out->display || !p->shown) return;
    cJSON *b = cJSON_CreateObject();
    if (!b) return;
    cJSON_AddStringToObject(b, "text/plain", summary ? summary : "");
    if (summary) {
        dbuf h = {0};
        display_dbuf_append(&h, "<div class=\"lens-progress\" style=\"font:13px sans-serif;margin:2px 0\">");
        display_dbuf_append_html(&h, summary);
        display_dbuf_append(&h, "</div>");
        char *html = display_dbuf_take(&h);
        if (html) cJSON_AddStringToObject(b, "text/html", html);
        free(html);
    }
    send(I, p, b);
    cJSON_Delete(b);
}

double lang_progress_elapsed(const lang_progress *p)
{
    return p->shown ? now_s() - p->start : 0;
}
