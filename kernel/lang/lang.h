/* kernel/lang/lang.h — the command language as the kernel sees it.
 *
 * The Jupyter handlers (kernel/handlers.c) and `lens run` talk to the
 * interpreter only through this interface; the interpreter knows nothing of
 * ZeroMQ or messages. Outputs leave through a lang_output the caller fills in:
 * every callback may be NULL (then that kind of output is dropped).
 * Mime bundles are cJSON objects {"text/plain": "...", "text/html": "...", ...}.
 */
#ifndef LENS_LANG_H
#define LENS_LANG_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct lang_output {
    void *ctx;
    /* name is "stdout" or "stderr". */
    void (*stream)(void *ctx, const char *name, const char *text);
    /* A rich output. display_id may be NULL; update = replace an earlier display
     * with the same display_id (update_display_data). The bundle stays owned by
     * the caller of the callback. */
    void (*display)(void *ctx, const cJSON *bundle, const char *display_id, bool update);
    void (*clear_output)(void *ctx, bool wait);
    /* A line typed by the user (without the newline), malloc'd; NULL when input
     * is not allowed (then the builtin `input` raises an error). */
    char *(*input)(void *ctx, const char *prompt, bool password);
    /* help(x) / x? output for the pager (Jupyter "page" payload). */
    void (*page)(void *ctx, const cJSON *bundle);
} lang_output;

/* An error as Jupyter shows it. traceback lines may hold ANSI colours. */
typedef struct lang_error {
    char ename[64];       /* "SyntaxError", "NameError", "KeyboardInterrupt", ... */
    char *evalue;         /* malloc'd one-line message */
    char **traceback;     /* malloc'd array of malloc'd lines */
    int n_traceback;
} lang_error;

void lang_error_clear(lang_error *err);

typedef struct lang_session lang_session;

lang_session *lang_session_new(void);
void lang_session_free(lang_session *s);

/* Runs a cell. On success returns 0 and sets *result to the bundle of the
 * cell's value when its last statement is an expression whose value is not
 * None (caller frees with cJSON_Delete), else NULL. On error returns -1 and
 * fills err; variables assigned before the error keep their values. */
int lang_execute(lang_session *s, const char *code, const lang_output *out,
                 cJSON **result, lang_error *err);

/* Whether the last cell asked to end the session (`exit`, `exit()`, `quit`).
 * The kernel then adds the payload {"source": "ask_exit", "keepkernel": false}
 * to the execute_reply, which jupyter console answers by exiting. */
bool lang_exit_requested(const lang_session *s);

/* Evaluates one expression (user_expressions) into a mime bundle. */
int lang_evaluate(lang_session *s, const char *expr, cJSON **bundle, lang_error *err);

/* Asks running code to stop: safe to call from a signal handler or another
 * thread; the running cell fails with KeyboardInterrupt soon after. */
void lang_interrupt(void);

/* "complete", "incomplete" (then indent holds the indentation to use) or
 * "invalid". */
const char *lang_is_complete(const char *code, char *indent, size_t indent_size);

/* Completion at cursor (a count of Unicode code points into code). Fills a
 * malloc'd array of malloc'd strings and the replaced range [start, end) in
 * code points. Returns the number of matches. */
int lang_complete(lang_session *s, const char *code, int cursor, char ***matches,
                  int *start, int *end);

/* Signature and documentation of the name at cursor, as a mime bundle, or
 * NULL when nothing is found. */
cJSON *lang_inspect(lang_session *s, const char *code, int cursor, int detail_level);

#endif
