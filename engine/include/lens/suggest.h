/* lens/suggest.h — "did you mean": the closest of some names to a misspelt one.
 *
 * The one edit-distance helper of the project: the engine uses it for hook
 * names, the language for cache keys, names, builtins and attributes.
 *
 *     const char *names[] = {"pattern", "attn_scores", "z"};
 *     lens_suggest("patern", names, 3);      // "pattern"
 *     lens_suggest("xyz", names, 3);         // NULL: nothing close
 */
#ifndef LENS_SUGGEST_H
#define LENS_SUGGEST_H

#include <stddef.h>

/* The candidate nearest to word by edit distance (insertions, deletions,
 * substitutions and swaps of neighbours, case changes counting half), when it
 * is near enough to be a likely typo: at most (len(word) + len(candidate) + 3) / 6
 * edits, as Python's own suggestions. Ties go to the earlier candidate; a
 * candidate equal to word is skipped; NULL candidates and words over 256
 * bytes are ignored. Returns a pointer into candidates, or NULL. */
const char *lens_suggest(const char *word, const char *const *candidates, size_t n);

#endif
