/* kernel/lang/interp_error.c — the interpreter's pending error: raising one
 * (the first error wins), the interrupt check at the evaluator's safe points,
 * and clearing it with the traceback frames it collected.
 *
 * Owns: I->error, ename, emsg, frames, exc; lang_interrupted.
 * Does not own: exception objects (exceptions.c), traceback text (function.c). */
#include "value.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "gc.h"

volatile sig_atomic_t lang_interrupted;

value *lang_raise(interp *I, const char *ename, const char *fmt, ...)
{
    if (I->error) return NULL;
    I->error = true;
    snprintf(I->ename, sizeof I->ename, "%s", ename);
    va_list ap;
    va_start(ap, fmt);
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(I->emsg);
    I->emsg = strdup(buf);
    I->eline = I->ecol = 0;
    return NULL;
}

bool lang_check_interrupt(interp *I)
{
    /* the evaluator's safe points: a cycle collection runs here when one is due */
    if (lang_gc_collection_due()) lang_gc_collect();
    if (!lang_interrupted) return false;
    lang_interrupted = 0;
    lang_raise(I, "KeyboardInterrupt", "interrupted");
    return true;
}

void lang_clear_error(interp *I)
{
    I->error = false;
    I->ename[0] = 0;
    free(I->emsg);
    I->emsg = NULL;
    I->eline = I->ecol = 0;
    lang_decref(I->exc);
    I->exc = NULL;
    for (int i = 0; i < I->n_frames; i++) {
        lang_code_release(I->frames[i].code);
        free(I->frames[i].name);
    }
    free(I->frames);
    I->frames = NULL;
    I->n_frames = 0;
}
