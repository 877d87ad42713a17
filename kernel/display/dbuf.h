/* kernel/display/dbuf.h — the growable text buffer every display renderer
 * writes into, with the escapes that make untrusted text safe in HTML.
 *
 * A dbuf starts zeroed ({0}); appends grow it; on allocation failure it stops
 * growing and remembers the failure, so a renderer can append freely and check
 * once at the end with dbuf_take (which returns NULL after any failure).
 * Also here: the last-error slot of the display module and the number
 * conversions shared by the figure and table code.
 */
#ifndef LENS_DISPLAY_DBUF_H
#define LENS_DISPLAY_DBUF_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct dbuf {
    char *data;
    size_t len, cap;
    bool failed;
} dbuf;

void display_dbuf_append(dbuf *b, const char *s);
void display_dbuf_append_n(dbuf *b, const char *s, size_t n);
void display_dbuf_appendf(dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text as HTML text or attribute value: & < > " ' escaped; NULL appends nothing. */
void display_dbuf_append_html(dbuf *b, const char *s);
/* A JSON value that is safe inside <script>: < > & U+2028 U+2029 escaped as
 * \u sequences, so no "</script>" or "<!--" can appear. */
void display_dbuf_append_json_script(dbuf *b, const cJSON *value);
/* Text inside <script> that must stay code (a library): "</script" and "<!--"
 * are broken up with a backslash, which JavaScript reads the same way. */
void display_dbuf_append_script_code(dbuf *b, const char *s, size_t n);
/* Returns the malloc'd text (the caller frees it) and resets b; NULL if any
 * append failed (b is freed either way). */
char *display_dbuf_take(dbuf *b);
void display_dbuf_free(dbuf *b);

/* The message of the last failed display call in this thread ("" if none). */
const char *display_last_error(void);
void display_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A JSON number for a float: non-finite values become null, finite ones the
 * shortest decimal that reads back as the same float (so JSON stays short). */
cJSON *display_number(double v);
double display_short_double(float f);
/* Writes a float into buf for people to read ("nan", "inf", "0.1235"). */
void display_format_float(char *buf, size_t size, double v);

/* A fresh element id, unique in this process and unlikely to repeat across
 * processes: prefix + random + counter ("lens-attn-3fa2c1d0-7"). */
void display_new_id(char *buf, size_t size, const char *prefix);

#endif
