/* lens/error.h — how engine functions report failure.
 *
 * Every engine function that can fail returns a status (0 ok, -1 failed) or a
 * pointer (NULL on failure) and fills a caller-owned lens_error with a message a
 * person can act on: what failed, the offending name or value, what to do.
 * Nothing in the engine aborts or exits on bad input.
 */
#ifndef LENS_ERROR_H
#define LENS_ERROR_H

#include <stddef.h>

typedef struct lens_error {
    char msg[1024];
} lens_error;

/* Formats msg into err (err may be NULL) and returns -1, so callers can write
 * `return lens_fail(err, "...", ...);`. */
int lens_fail(lens_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "context: " to an existing message (for wrapping lower-level errors). */
int lens_fail_context(lens_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
