/* kernel/display/progress.h — progress bars as mime bundles.
 *
 * Progress: send the first bundle with display_data and a display_id, then
 * each later one with update_display_data and the same id:
 *     cJSON *b = display_progress_bundle("loading", 3, 12, NULL);  // "loading 3/12"
 */
#ifndef LENS_DISPLAY_PROGRESS_H
#define LENS_DISPLAY_PROGRESS_H

#include <cjson/cJSON.h>

/* text/html bar + text/plain "label done/total[ detail]". total == 0 means
 * unknown (no bar length, "label done"); total < 0 means a status line with no
 * count or bar ("label[ detail]"); label and detail may be NULL. */
cJSON *display_progress_bundle(const char *label, long done, long total, const char *detail);

#endif
