/* kernel/lang/exceptions.h — Python's exception classes and instances.
 *
 * Owns: the builtin exception classes (BaseException, Exception, ValueError,
 * KeyError, ... with Python's hierarchy), exception instances (args, str,
 * repr), matching a pending error against an `except` clause, raising an
 * exception value, and setting a pending error aside while a handler or a
 * finally block runs.
 * Does not own: the error state itself (value.h: ename/emsg/exc on the
 * interpreter), the try statement (exec.c).
 *
 * Every error is named by its class name (interp.ename); errors raised by
 * builtins through lang_raise carry only a name and message, and become an
 * instance of that class when code catches them.
 */
#ifndef LANG_EXCEPTIONS_H
#define LANG_EXCEPTIONS_H

#include "value.h"

/* Adds the exception classes to the interpreter's builtins. */
int lang_exceptions_install(interp *I);

/* The exception object of the pending error (new reference). */
value *lang_exc_current(interp *I);
/* Raises v (an exception class or instance) with an optional cause; always
 * returns -1 (a TypeError when v is not an exception). */
int lang_exc_raise(interp *I, value *v, value *cause);
/* Whether the pending error matches an except clause's value (a class or a
 * tuple of classes): 1, 0, or -1 with a TypeError raised instead. */
int lang_exc_matches(interp *I, const char *ename, value *type);
/* The class name of an exception instance, or NULL when v is none. */
const char *lang_exc_name(const value *v);

/* A pending error set aside (take), then put back (restore) or dropped. */
typedef struct exc_stash {
    bool error;
    char ename[64];
    char *emsg;
    int eline, ecol;
    value *exc;
    lang_frame *frames;
    int n_frames;
} exc_stash;

void lang_exc_stash_take(interp *I, exc_stash *st);
/* The exception object of a stashed error (new reference). */
value *lang_exc_from_stash(const exc_stash *st);
/* Makes the stashed error pending again (replacing any pending one). */
void lang_exc_stash_restore(interp *I, exc_stash *st);
void lang_exc_stash_drop(exc_stash *st);

#endif
