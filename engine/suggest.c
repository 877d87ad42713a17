/* suggest.c — lens_suggest: the nearest name by edit distance (contract in
 * lens/suggest.h). Owns only the distance; callers own their name lists. */
#include "lens/suggest.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

#define MAX_WORD 256

/* Restricted Damerau-Levenshtein distance in half-edits: a substitution that
 * only changes case costs 1, any other edit 2. Three rolling rows. */
static int distance2(const char *a, size_t la, const char *b, size_t lb, int limit)
{
    int rows[3][MAX_WORD + 1];
    int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++) prev[j] = 2 * (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = 2 * (int)i;
        int row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            char x = a[i - 1], y = b[j - 1];
            int sub = x == y ? 0 : tolower((unsigned char)x) == tolower((unsigned char)y) ? 1 : 2;
            int best = prev[j - 1] + sub;
            if (prev[j] + 2 < best) best = prev[j] + 2;
            if (cur[j - 1] + 2 < best) best = cur[j - 1] + 2;
            if (i > 1 && j > 1 && x == b[j - 2] && a[i - 2] == y && prev2[j - 2] + 2 < best)
                best = prev2[j - 2] + 2;
            cur[j] = best;
            if (best < row_min) row_min = best;
        }
        if (row_min > limit) return INT_MAX;   /* every path is already too long */
        int *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *lens_suggest(const char *word, const char *const *candidates, size_t n)
{
    if (!word || !candidates) return NULL;
    size_t lw = strlen(word);
    if (lw == 0 || lw > MAX_WORD) return NULL;
    const char *best = NULL;
    int best_d = INT_MAX;
    for (size_t i = 0; i < n; i++) {
        const char *c = candidates[i];
        if (!c) continue;
        size_t lc = strlen(c);
        if (lc == 0 || lc > MAX_WORD || !strcmp(c, word)) continue;
        int limit = 2 * (int)((lw + lc + 3) / 6);
        int d = distance2(word, lw, c, lc, limit);
        if (d <= limit && d < best_d) {
            best = c;
            best_d = d;
        }
    }
    return best;
}
