/* kernel/history.h — the inputs (and text outputs) of this kernel session.
 *
 * Kept in memory only, numbered by execution_count, answering the three
 * history_request kinds: tail, range and search (glob pattern, unique, n).
 */
#ifndef LENS_HISTORY_H
#define LENS_HISTORY_H

#include <cjson/cJSON.h>

/* The session number reported in every entry (one session per process). */
#define HISTORY_SESSION 1

typedef struct history history;

history *history_new(void);
void history_free(history *h);

/* Records the input of execution `line`. */
void history_add(history *h, int line, const char *input);

/* Records the text/plain output of execution `line` (the last one wins). */
void history_set_output(history *h, int line, const char *output);

/* The "history" array for a history_reply to a request's content: entries
 * [session, line, input], or [session, line, [input, output|null]] when
 * content.output is true. Never NULL (an empty array for unknown kinds). */
cJSON *history_query(const history *h, const cJSON *request);

#endif
