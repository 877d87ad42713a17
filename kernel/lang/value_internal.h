/* kernel/lang/value_internal.h — what the value concept files (value.c,
 * dict.c, sequence.c, compare.c, repr.c, arith.c, subscript.c, format_spec.c,
 * kinds.c) share and nothing else needs.
 *
 * Owns: the memory accounting rule for value storage, the integer view of a
 * bool/int, the code-point offset in a UTF-8 string.
 * Does not own: the value API (value.h). */
#ifndef LANG_VALUE_INTERNAL_H
#define LANG_VALUE_INTERNAL_H

#include "value.h"

/* Memory accounting: every string's bytes and list/tuple/dict array is reserved
 * against the session's memory limit (lens/memory.h) before it is allocated and
 * released when freed; a refusal is noted for lang_mem_raise. (The fixed-size
 * value structs themselves are not counted: they are allocated in several files.) */
bool lang_mem_take(size_t bytes, const char *what);
/* MemoryError with the sizes of the last refusal ("out of memory" when none). */
value *lang_mem_raise(interp *I);

/* A bool or int as an integer (True is 1). */
static inline int64_t lang_num_as_int(const value *v) { return v->type == V_INT ? v->u.i : v->u.b ? 1 : 0; }

/* Byte offset of code point cp in a UTF-8 string of len bytes (len when past the end). */
static inline size_t lang_utf8_offset(const char *s, size_t len, int64_t cp)
{
    size_t i = 0;
    while (i < len && cp > 0) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
        cp--;
    }
    return i;
}

#endif
