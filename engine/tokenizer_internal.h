/* tokenizer_internal.h — the layout of lens_tokenizer, shared by the loader
 * (tokenizer_load.c) and the encoder/decoder (tokenizer.c). Internal to the engine.
 *
 * Tokens are handled as ids throughout: every merge "a b" is stored as the id
 * pair (id(a), id(b)) with its rank and the id of "ab", so BPE never builds
 * strings. Each token's raw bytes and its display text (raw bytes made valid
 * UTF-8) are computed once at load.
 */
#ifndef LENS_TOKENIZER_INTERNAL_H
#define LENS_TOKENIZER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lens/tokenizer.h"
#include "strmap.h"

/* One merge: the pair (left, right) of ids becomes `merged`; lower rank first. */
typedef struct {
    uint64_t key; /* left << 32 | right; PAIR_EMPTY marks a free slot */
    int32_t rank;
    int32_t merged;
} lens_bpe_pair;

#define LENS_PAIR_EMPTY UINT64_MAX

struct lens_tokenizer {
    int64_t n_vocab;
    int64_t eos;              /* id of "<|endoftext|>", or -1 when the vocab has none */
    lens_strmap *vocab;       /* byte-level form (as in vocab.json) -> id */
    int32_t byte_id[256];     /* the single-byte token of each byte value */

    char *raw;                /* every token's raw bytes, back to back */
    size_t *raw_off;          /* [n_vocab + 1]: token i is raw[raw_off[i] .. raw_off[i+1]) */
    char *text;               /* every token's display text, NUL-terminated, back to back */
    size_t *text_off;         /* [n_vocab] */

    lens_bpe_pair *pairs;     /* open-addressing table of merges */
    size_t pair_cap;          /* power of two */
    int64_t n_merges;

    pcre2_code *pretok;       /* GPT-2's pre-tokenisation pattern (UTF + UCP, JIT when available) */

    /* Pre-token -> ids cache. Encoding takes a const tokenizer, so the cache is
     * the one mutable part; the lock makes concurrent encodes safe. cache maps a
     * pre-token to an offset into cache_ids, where its count is followed by its ids. */
    pthread_mutex_t cache_lock;
    lens_strmap *cache;
    int32_t *cache_ids;
    size_t cache_len, cache_cap;
};

static inline uint64_t lens_pair_hash(uint64_t key)
{
    key *= 0x9E3779B97F4A7C15ull;
    return key ^ (key >> 31);
}

/* The merge of (left, right), or NULL when the pair never merges. */
static inline const lens_bpe_pair *lens_pair_find(const struct lens_tokenizer *tok, int32_t left,
                                                  int32_t right)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t mask = tok->pair_cap - 1;
    for (size_t i = lens_pair_hash(key) & mask;; i = (i + 1) & mask) {
        const lens_bpe_pair *p = &tok->pairs[i];
        if (p->key == key) return p;
        if (p->key == LENS_PAIR_EMPTY) return NULL;
    }
}

#endif
