/* seed_batch.h — the seed notebook's batch for the benchmarks (bench.c,
 * peak_memory.c): 100 prompts, 5 templates x 10 male then 10 female names, as
 * bench/transformerlens_bench.py gives TransformerLens.
 *
 * Owns: the prompt texts. Does not own: what is run on them. */
#ifndef LENS_BENCH_SEED_BATCH_H
#define LENS_BENCH_SEED_BATCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "lens/model.h"

static const char *const seed_templates[] = {
    "So %s is a really great friend, isn't", "So %s is such a good cook, isn't", "So %s is a very good athlete, isn't",
    "So %s is a really nice person, isn't", "So %s is such a funny person, isn't"};
static const char *const seed_names[] = {"John", "David", "Mark",  "Paul",  "Ryan",  "Gary",  "Jack",
                                         "Sean", "Carl",  "Joe",   "Mary",  "Lisa",  "Anna",  "Sarah",
                                         "Amy",  "Carol", "Karen", "Susan", "Julie", "Judy"};

/* text[100] (swap: female names first, as the corrupted prompts). */
static inline void seed_prompt_texts(char text[100][64], bool swap)
{
    for (int n = 0; n < 20; n++)
        for (int t = 0; t < 5; t++)
            snprintf(text[n * 5 + t], sizeof text[0], seed_templates[t], seed_names[swap ? (n + 10) % 20 : n]);
}

/* The prompts tokenized with <bos>, as the notebook runs them: [100, 11]. */
static inline lens_tensor *seed_batch_tokens(const lens_model *m, bool swap, lens_error *err)
{
    char text[100][64];
    const char *prompts[100];
    seed_prompt_texts(text, swap);
    for (int i = 0; i < 100; i++) prompts[i] = text[i];
    return lens_model_to_tokens(m, prompts, 100, true, err);
}

#endif
