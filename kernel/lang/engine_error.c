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
 * The message is the engine's, unchanged; it is never read to choose the
 * exception (every engine failure for memory or an interrupt carries its kind). */
#include "builtins.h"
#include "builtins_analysis.h"

value *lang_engine_error(interp *I, const lens_error *err)
{
    const char *ename = "RuntimeError";
    switch (err->kind) {
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
