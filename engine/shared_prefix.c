/* shared_prefix.c — the rows a forward pass computes when prompts share a
 * prefix (shared_prefix.h).
 *
 * The prompts are sorted by their tokens; prompts that agree on tokens 0..t are
 * then one run of neighbours whose common prefix with the previous one is
 * longer than t. Row (b, t) is computed when b is the lowest prompt of its run
 * at level t, and every row of the run equals that one.
 *
 * Owns: the plan's arrays. Does not own: the ids. */
#include <stdlib.h>

#include "lens/checked.h"
#include "shared_prefix.h"

typedef struct { const int64_t *ids; int64_t P; } order_ctx;

/* Prompts in token order; equal prompts by index. */
static int compare_prompts(const void *a, const void *b, void *ctx)
{
    const order_ctx *c = ctx;
    int64_t ra = *(const int64_t *)a, rb = *(const int64_t *)b;
    const int64_t *x = c->ids + ra * c->P, *y = c->ids + rb * c->P;
    for (int64_t t = 0; t < c->P; t++)
        if (x[t] != y[t]) return x[t] < y[t] ? -1 : 1;
    return (ra > rb) - (ra < rb);
}

static void *alloc_i64(int64_t n)
{
    size_t bytes;
    return n >= 0 && lens_mul_size((size_t)n, sizeof(int64_t), &bytes) ? malloc(bytes ? bytes : 1) : NULL;
}

int lens_prefix_plan_make(const int64_t *ids, int64_t B, int64_t P, lens_prefix_plan *plan, lens_error *err)
{
    *plan = (lens_prefix_plan){0};
    int64_t rows;
    if (B < 1 || P < 1 || !lens_mul_i64(B, P, &rows)) return lens_fail(err, "prefix plan: bad batch shape");
    int64_t *order = alloc_i64(B), *common = alloc_i64(B), *first = alloc_i64(rows);
    plan->expand = alloc_i64(rows);
    int rc = -1;
    if (!order || !common || !first || !plan->expand) { lens_fail_oom(err); goto done; }
    for (int64_t b = 0; b < B; b++) order[b] = b;
    qsort_r(order, (size_t)B, sizeof *order, compare_prompts, &(order_ctx){ids, P});
    /* common[j]: tokens order[j] shares with order[j - 1] from position 0 */
    common[0] = 0;
    for (int64_t j = 1; j < B; j++) {
        const int64_t *x = ids + order[j - 1] * P, *y = ids + order[j] * P;
        int64_t n = 0;
        while (n < P && x[n] == y[n]) n++;
        common[j] = n;
    }
    /* first[b * P + t]: the lowest prompt with b's tokens 0..t */
    for (int64_t t = 0; t < P; t++)
        for (int64_t j = 0; j < B;) {
            int64_t end = j + 1, low = order[j];
            for (; end < B && common[end] > t; end++)
                if (order[end] < low) low = order[end];
            for (; j < end; j++) first[order[j] * P + t] = low;
        }
    int64_t computed = 0;
    for (int64_t i = 0; i < rows; i++)
        if (first[i] * P + i % P == i) plan->expand[i] = computed++;
    if (!(plan->compact = alloc_i64(computed))) { lens_fail_oom(err); goto done; }
    for (int64_t i = 0, c = 0; i < rows; i++) {
        int64_t same = first[i] * P + i % P;
        if (same == i) plan->compact[c++] = i;
        else plan->expand[i] = plan->expand[same];   /* same < i: already set */
    }
    plan->rows = rows;
    plan->computed = computed;
    rc = 0;
done:
    free(order);
    free(common);
    free(first);
    if (rc) lens_prefix_plan_free(plan);
    return rc;
}

void lens_prefix_plan_free(lens_prefix_plan *plan)
{
    free(plan->compact);
    free(plan->expand);
    *plan = (lens_prefix_plan){0};
}
