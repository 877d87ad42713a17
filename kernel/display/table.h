/* kernel/display/table.h — tables as mime bundles (text/html + text/plain):
 * numbers with optional row and column labels (tensors), or text cells (lists
 * of results). Long tables show their first and last rows with an elision row
 * between. Return NULL on bad input (display_last_error() says why).
 */
#ifndef LENS_DISPLAY_TABLE_H
#define LENS_DISPLAY_TABLE_H

#include <cjson/cJSON.h>

/* values [rows][cols] row-major; row_labels [rows], col_labels [cols] and
 * title may be NULL. Non-finite values print as nan/inf. */
cJSON *display_table_numeric_bundle(const float *values, int rows, int cols,
                            const char *const *row_labels, const char *const *col_labels,
                            const char *title);
/* cells [rows][cols] of text (NULL cells are empty); headers [cols] may be NULL. */
cJSON *display_table_text_bundle(const char *const *cells, int rows, int cols,
                         const char *const *headers, const char *title);

#endif
