/* strmap.h — an open-addressing hash table from byte strings to int64 values.
 *
 * Internal to the engine (not part of the public API). Keys are arbitrary bytes
 * with an explicit length (they may contain NUL); the map copies them into its
 * own arena, so callers keep ownership of what they pass in. Lookups never
 * allocate. Used for the tokenizer's vocabulary and its pre-token cache.
 *
 *     lens_strmap *m = lens_strmap_new(1024);
 *     lens_strmap_put(m, "hello", 5, 42);
 *     int64_t v;
 *     if (lens_strmap_get(m, "hello", 5, &v)) ...   // v == 42
 *     lens_strmap_free(m);
 */
#ifndef LENS_STRMAP_H
#define LENS_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct lens_strmap lens_strmap;

/* A map sized for about `expected` keys (it grows as needed); NULL when out of memory. */
lens_strmap *lens_strmap_new(size_t expected);
void lens_strmap_free(lens_strmap *m);

/* Inserts key -> value, replacing the value of an existing key.
 * Returns 0, or -1 when out of memory (the map is unchanged). */
int lens_strmap_put(lens_strmap *m, const char *key, size_t len, int64_t value);

/* 1 and *value set when key is present, else 0 (value may be NULL). */
int lens_strmap_get(const lens_strmap *m, const char *key, size_t len, int64_t *value);

size_t lens_strmap_count(const lens_strmap *m);

/* Removes every key, keeping the allocated capacity. */
void lens_strmap_clear(lens_strmap *m);

#endif
