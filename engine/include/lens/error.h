/* lens/error.h — how engine functions report failure.
 *
 * Every engine function that can fail returns a status (0 ok, -1 failed) or a
 * pointer (NULL on failure) and fills a caller-owned lens_error with a message a
 * person can act on: what failed, the offending name or value, what to do.
 * Nothing in the engine aborts or exits on bad input.
 *
 * kind says which class of failure it was, so the language can raise the right
 * exception without reading the message: a size that does not fit (a shape whose
 * element count overflows), a request over the memory limit, an interrupted run,
 * an invalid argument, a failure of the compute device, or a dtype or operand
 * kind the operation does not take.
 */
#ifndef LENS_ERROR_H
#define LENS_ERROR_H

#include <stddef.h>

typedef enum {
    LENS_ERR_OTHER = 0,
    LENS_ERR_TOO_LARGE,   /* a size computed from the input overflows (numpy: "array is too big") */
    LENS_ERR_MEMORY,      /* over the memory limit, or the allocation itself failed */
    LENS_ERR_INTERRUPTED, /* stopped because its interrupt flag was raised (options .interrupt) */
    LENS_ERR_INVALID,     /* an argument the operation cannot take (bad name, shape, value) */
    LENS_ERR_DEVICE,      /* the compute device failed or is not present */
    LENS_ERR_DTYPE,       /* the operation has no implementation for that dtype (torch: NotImplementedError) */
    LENS_ERR_TYPE         /* the operation does not take that kind of operand (torch: TypeError) */
} lens_error_kind;

typedef struct lens_error {
    char msg[1024];
    lens_error_kind kind;
} lens_error;

/* Formats msg into err (err may be NULL), sets kind LENS_ERR_OTHER and returns -1,
 * so callers can write `return lens_fail(err, "...", ...);`. */
int lens_fail(lens_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same with a kind. */
int lens_fail_kind(lens_error *err, lens_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An allocation failed: "out of memory" with kind LENS_ERR_MEMORY. A failure that
 * has more to say (the size, what it was for) gives it through lens_fail_kind; one
 * after a tensor constructor returned NULL reports that constructor's reason
 * (lens_fail_alloc, lens/memory.h). Engine code never fails for memory, or for an
 * interrupt (LENS_ERR_INTERRUPTED), without the kind: the language maps errors by
 * kind alone. */
int lens_fail_oom(lens_error *err);

/* Prepends "context: " to an existing message (for wrapping lower-level errors);
 * the kind stays. */
int lens_fail_context(lens_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
