/* kernel/lang/rich.h — rich values and live outputs for builtins.
 *
 * Figures and attention displays are values (types "Figure" and
 * "AttentionDisplay") that builtins show at once, as plotly.express's
 * fig.show() would:
 *
 *     line(x)            # shows one figure (display_data)
 *     fig = imshow(z)    # shows it too, and keeps it in fig
 *     fig                # in a later cell: shows it again (execute_result)
 *
 * The rule: a figure builtin displays its figure immediately (unless called
 * with show=False) and returns it; a value already displayed during the
 * current cell gives no execute_result when it is also the cell's last
 * expression, so `imshow(z)` as a last line shows exactly one figure.
 * In any later cell, `fig` or `fig.show()` displays it again.
 *
 * Progress: a builtin doing long work shows a bar that is updated in place
 * (display_data with a display_id, then update_display_data), and replaced
 * by a one-line summary at the end:
 *
 *     lang_progress p = {0};
 *     for (int l = 0; l < n_layers; l++) {
 *         lang_progress_update(I, &p, "patching resid_pre", l, n_layers, NULL);
 *         ...
 *     }
 *     lang_progress_end(I, &p, "patched 12 layers in 3.1 s");   // or NULL: clears the bar
 *
 * Updates are throttled (at most about ten a second; the first, and the last
 * one with done == total, always go out), so calling it on every step is cheap.
 */
#ifndef LANG_RICH_H
#define LANG_RICH_H

#include <stdbool.h>

#include "value.h"

/* A Figure value owning fig (a {data, layout} object of kernel/display/figure.h);
 * NULL with an error raised when fig is NULL. */
value *lang_rich_figure(interp *I, cJSON *fig);
/* An AttentionDisplay value owning bundle (a mime bundle with text/html). */
value *lang_rich_html_display(interp *I, cJSON *bundle);
/* Displays v now through the interpreter's output and marks it shown in this
 * cell. Returns 0, or -1 with an error raised. */
int lang_rich_show(interp *I, value *v);
/* True when v is a figure or display shown during the current cell. */
bool lang_rich_shown_in_cell(interp *I, value *v);
/* Writes a standalone HTML page of a Figure or AttentionDisplay; -1 with an
 * error raised on failure. */
int lang_rich_save_html(interp *I, value *v, const char *path);

/* Shows v unless the call has show=False (a keyword the builtin must accept),
 * and returns it. Takes the reference to v: on error releases it and returns
 * NULL. For figure builtins: `return lang_rich_finish(I, a, v)`. */
value *lang_rich_finish(interp *I, args *a, value *v);

typedef struct lang_progress {
    char id[64];          /* display_id, set on the first update */
    bool shown;
    double last;          /* time of the last update sent (s) */
    double start;         /* time of the first update (s) */
} lang_progress;

/* Shows or updates a progress bar "label done/total (detail)". total < 0: no
 * count (a status line such as "loading gpt2-small"). Needs nothing but a
 * zeroed lang_progress; does nothing when the output has no display callback. */
void lang_progress_update(interp *I, lang_progress *p, const char *label, long done, long total,
                          const char *detail);
/* Replaces the bar with summary (text), or with an empty output when summary is
 * NULL. Safe to call when no update was shown (then it shows nothing). */
void lang_progress_end(interp *I, lang_progress *p, const char *summary);
/* Seconds since the first update (0 before it). */
double lang_progress_elapsed(const lang_progress *p);

#endif
