/* kernel/lang/engine_error.c — the one mapping from an engine failure
 * (lens_error, lens/error.h) to the language exception it raises, by its kind:
 *   LENS_ERR_MEMORY      -> MemoryError
 *   LENS_ERR_INTERRUPTED -> KeyboardInterrupt (the pending interrupt is consumed)
 *   LENS_ERR_INVALID     -> ValueError
 *   LENS_ERR_TOO_LARGE   -> ValueError (numpy's "array is too big")
 *   LENS_ERR_DEVICE      -> RuntimeError (as torch reports CUDA errors)
 *   LENS_ERR_DTYPE       -> NotImplementedError (torch: "... not implemented for 'Bool'")
 *   LENS_ERR_TYPE        -> TypeError
 *   LENS_ERR_OTHER       -> RuntimeError
 * The message is the engine's, unchanged. */
#include <string.h>

#include "builtins.h"
#include "builtins_analysis.h"

/* Engine code that still fails without a kind: the forward and backward passes
 * report an interrupt as "interrupted" and some exhausted allocations only in
 * the words. Read as their kinds until those failures carry one. */
static lens_error_kind legacy_kind(const lens_error *err)
{
    if (!strcmp(err->msg, "interrupted")) return LENS_ERR_INTERRUPTED;
    if (strstr(err->msg, "out of memory") || strstr(err->msg, "over the memory limit")) return LENS_ERR_MEMORY;
    return LENS_ERR_OTHER;
}

value *lang_engine_error(interp *I, const lens_error *err)
{
    lens_error_kind kind = err->kind == LENS_ERR_OTHER ? legacy_kind(err) : err->kind;
    const char *ename = "RuntimeError";
    switch (kind) {
    case LENS_ERR_MEMORY: ename = "MemoryError"; break;
    case LENS_ERR_INTERRUPTED:
        lang_interrupted = 0;
        ename = "KeyboardInterrupt";
        break;
    case LENS_ERR_INVALID:
    case LENS_ERR_TOO_LARGE: ename = "ValueError"; break;
    case LENS_ERR_DEVICE:
    case LENS_ERR_OTHER: ename = "RuntimeError"; break;
    case LENS_ERR_DTYPE: ename = "NotImplementedError"; break;
    case LENS_ERR_TYPE: ename = "TypeError"; break;
    }
    return lang_raise(I, ename, "%s", err->msg);
}
