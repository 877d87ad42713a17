/* kernel/display/attention.h — interactive attention-pattern displays.
 *
 * The HTML is self-contained (inline CSS and JS written for lens, no network):
 * tokens shown inline and coloured by a mix of the heads' colours (one colour
 * per head) weighted by attention; hover a token to see where it attends, or
 * with "show which tokens attend to this one" ticked, which tokens attend to
 * it; click to lock; head chips "L9H9" to toggle heads or focus one; a grid
 * of small lower-triangular heatmaps per head with values on hover. Without
 * scripts the same HTML still reads: coloured tokens and a table of each
 * head's strongest attention. Several displays on one page do not interfere.
 *
 *     // patterns is [heads][n][n]: patterns[(h*n + q)*n + k] = attention of
 *     // query position q to key position k (lower triangular).
 *     const char *labels[] = {"L9H9", "L9H6"};
 *     cJSON *bundle = display_attention_patterns_bundle(tokens, n, patterns, 2, labels,
 *                                               "Name movers");
 *
 * Returns NULL on bad input (display_last_error() says why). Token strings
 * may hold anything (<|endoftext|>, quotes, </script>, newlines, non-ASCII).
 */
#ifndef LENS_DISPLAY_ATTENTION_H
#define LENS_DISPLAY_ATTENTION_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* head_labels may be NULL ("H0", "H1", ...); title may be NULL. */
cJSON *display_attention_patterns_bundle(const char *const *tokens, int n, const float *patterns,
                                 int heads, const char *const *head_labels, const char *title);
/* The grid of per-head heatmaps only, drawn larger; hovering a cell names
 * its query and key tokens. */
cJSON *display_attention_heads_bundle(const char *const *tokens, int n, const float *patterns,
                              int heads, const char *const *head_labels, const char *title);
/* The HTML of either display (malloc'd); grid_only picks attention_heads. */
char *display_attention_html(const char *const *tokens, int n, const float *patterns, int heads,
                     const char *const *head_labels, const char *title, bool grid_only);

/* The script and style that enhance the HTML (attention_js.c). */
extern const char attention_js[];
extern const char attention_css[];

#endif
