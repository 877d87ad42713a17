/* kernel/lang/arena.h — a bump allocator for data freed all at once.
 *
 * Owns: chunks of memory handed out in 8-byte-aligned, zeroed pieces; freeing
 * them all together. The parser puts a cell's whole syntax tree (nodes,
 * strings, arrays, scopes) in one arena, and the lexer its token texts, so a
 * tree costs no allocator overhead per node and is freed in one go.
 * Does not own: what is stored in it (nothing in an arena is freed alone).
 */
#ifndef LANG_ARENA_H
#define LANG_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk;

typedef struct arena {
    arena_chunk *head;
} arena;

/* n zeroed bytes, or NULL when out of memory (or n is absurd). */
void *lang_arena_alloc(arena *a, size_t n);
/* A NUL-terminated copy of s[0..n), or NULL. */
char *lang_arena_strndup(arena *a, const char *s, size_t n);
char *lang_arena_strdup(arena *a, const char *s);
/* Grows an array that lives in the arena (the old copy stays until the arena
 * is freed): returns a copy of old (old_n elements) with room for new_n, or NULL. */
void *lang_arena_grow(arena *a, void *old, size_t old_n, size_t new_n, size_t elem);
/* Frees every chunk; the arena is empty again. */
void lang_arena_free(arena *a);

#endif
