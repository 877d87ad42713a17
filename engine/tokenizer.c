/* tokenizer.c — GPT-2 encoding (special token split, pre-tokenisation, BPE with a
 * cache) and decoding; see lens/tokenizer.h. Loading is in tokenizer_load.c.
 *
 * Encoding: the text is validated as UTF-8, split around the literal
 * "<|endoftext|>" (encoded as the special token), each piece is cut into
 * pre-tokens by GPT-2's pattern, and each pre-token's bytes are merged by rank.
 * BPE keeps a min-heap of candidate pairs (rank, then leftmost position), so a
 * long pre-token (a run of whitespace, a long word) costs O(n log n), not O(n^2).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"
#include "utf8.h"

/* The cache is emptied when it grows past these sizes (plenty for notebooks). */
#define CACHE_MAX_ENTRIES 100000
#define CACHE_MAX_IDS (4u << 20)
/* Pre-tokens longer than this are not cached (they are rarely repeated). */
#define CACHE_MAX_PRETOKEN 256

int64_t lens_tokenizer_vocab_size(const lens_tokenizer *tok) { return tok->n_vocab; }
int64_t lens_tokenizer_eos(const lens_tokenizer *tok) { return tok->eos; }

const char *lens_tokenizer_token_str(const lens_tokenizer *tok, int64_t id)
{
    if (!tok || id < 0 || id >= tok->n_vocab) return NULL;
    return tok->text + tok->text_off[id];
}

int64_t lens_tokenizer_lookup(const lens_tokenizer *tok, const char *text)
{
    int64_t id;
    if (!tok || !text || !lens_strmap_get(tok->vocab, text, strlen(text), &id)) return -1;
    return id;
}

/* A growing array of ids: the output of one encode call. */
typedef struct {
    int64_t *ids;
    size_t n, cap;
} id_vec;

static int vec_reserve(id_vec *v, size_t extra)
{
    if (v->n + extra <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < v->n + extra) cap *= 2;
    int64_t *p = realloc(v->ids, cap * sizeof *p);
    if (!p) return -1;
    v->ids = p;
    v->cap = cap;
    return 0;
}

/* Scratch space for BPE on one pre-token, reused across pre-tokens. */
typedef struct {
    int32_t *id;           /* symbol ids; a symbol sits at the index of its first byte */
    int32_t *next, *prev;  /* linked list of live symbols (-1 ends it) */
    struct heap_entry {
        int32_t rank, pos, left, right;
    } *heap;
    size_t cap, heap_len;
} bpe_scratch;

static int scratch_reserve(bpe_scratch *s, size_t n)
{
    if (n <= s->cap) return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n) cap *= 2;
    int32_t *id = realloc(s->id, cap * sizeof *id);
    if (id) s->id = id;
    int32_t *next = realloc(s->next, cap * sizeof *next);
    if (next) s->next = next;
    int32_t *prev = realloc(s->prev, cap * sizeof *prev);
    if (prev) s->prev = prev;
    struct heap_entry *heap = realloc(s->heap, cap * sizeof *heap);
    if (heap) s->heap = heap;
    if (!id || !next || !prev || !heap) return -1;
    s->cap = cap;
    return 0;
}

static void scratch_free(bpe_scratch *s)
{
    free(s->id);
    free(s->next);
    free(s->prev);
    free(s->heap);
}

static int heap_less(const struct heap_entry *a, const struct heap_entry *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

/* Pushes the pair starting at symbol pos when it has a merge. The heap never
 * holds more entries than there are bytes: each merge removes a symbol and adds
 * at most two pairs, but invalidates the entries of the two pairs it touched. */
static void heap_push_pair(const lens_tokenizer *tok, bpe_scratch *s, int32_t pos)
{
    if (pos < 0) return;
    int32_t r = s->next[pos];
    if (r < 0) return;
    const lens_bpe_pair *p = lens_pair_find(tok, s->id[pos], s->id[r]);
    if (!p) return;
    size_t i = s->heap_len++;
    struct heap_entry e = {p->rank, pos, s->id[pos], s->id[r]};
    while (i > 0 && heap_less(&e, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = e;
}

static struct heap_entry heap_pop(bpe_scratch *s)
{
    struct heap_entry top = s->heap[0], last = s->heap[--s->heap_len];
    size_t i = 0, n = s->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_less(&s->heap[c + 1], &s->heap[c])) c++;
        if (!heap_less(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

/* BPE on the bytes of one pre-token; appends the ids to out. */
static int bpe_encode(const lens_tokenizer *tok, bpe_scratch *s, const char *bytes, size_t len,
                      id_vec *out)
{
    /* The heap starts with len - 1 pairs and each merge adds at most one net
     * entry (pops one, pushes two), so it never holds more than 2 * len. */
    if (scratch_reserve(s, 2 * len) < 0 || vec_reserve(out, len) < 0) return -1;
    for (size_t i = 0; i < len; i++) {
        s->id[i] = tok->byte_id[(unsigned char)bytes[i]];
        s->prev[i] = (int32_t)i - 1;
        s->next[i] = i + 1 < len ? (int32_t)i + 1 : -1;
    }
    s->heap_len = 0;
    for (size_t i = 0; i + 1 < len; i++) heap_push_pair(tok, s, (int32_t)i);
    while (s->heap_len) {
        struct heap_entry e = heap_pop(s);
        int32_t r = s->next[e.pos];
        /* Stale entries: the left symbol was merged away or changed, or its right
         * neighbour did. A removed symbol has id -1. */
        if (s->id[e.pos] != e.left || r < 0 || s->id[r] != e.right) continue;
        const lens_bpe_pair *p = lens_pair_find(tok, e.left, e.right);
        s->id[e.pos] = p->merged;
        s->id[r] = -1;
        s->next[e.pos] = s->next[r];
        if (s->next[r] >= 0) s->prev[s->next[r]] = e.pos;
        heap_push_pair(tok, s, s->prev[e.pos]);
        heap_push_pair(tok, s, e.pos);
    }
    for (int32_t i = 0; i >= 0; i = s->next[i]) out->ids[out->n++] = s->id[i];
    return 0;
}

/* BPE through the cache. The cache lock is held only for lookups and inserts. */
static int bpe_cached(const lens_tokenizer *ctok, bpe_scratch *s, const char *bytes, size_t len,
                      id_vec *out)
{
    lens_tokenizer *tok = (lens_tokenizer *)ctok; /* the cache is the mutable part */
    int cacheable = len <= CACHE_MAX_PRETOKEN;
    if (cacheable) {
        int64_t at;
        pthread_mutex_lock(&tok->cache_lock);
        if (lens_strmap_get(tok->cache, bytes, len, &at)) {
            int32_t count = tok->cache_ids[at];
            int rc = vec_reserve(out, (size_t)count);
            if (rc == 0)
                for (int32_t i = 0; i < count; i++) out->ids[out->n++] = tok->cache_ids[at + 1 + i];
            pthread_mutex_unlock(&tok->cache_lock);
            return rc;
        }
        pthread_mutex_unlock(&tok->cache_lock);
    }
    size_t first = out->n;
    if (bpe_encode(tok, s, bytes, len, out) < 0) return -1;
    if (!cacheable) return 0;

    size_t count = out->n - first;
    pthread_mutex_lock(&tok->cache_lock);
    if (lens_strmap_count(tok->cache) >= CACHE_MAX_ENTRIES ||
        tok->cache_len + count + 1 > CACHE_MAX_IDS) {
        lens_strmap_clear(tok->cache);
        tok->cache_len = 0;
    }
    if (tok->cache_len + count + 1 > tok->cache_cap) {
        size_t cap = tok->cache_cap ? tok->cache_cap : 4096;
        while (cap < tok->cache_len + count + 1) cap *= 2;
        int32_t *p = realloc(tok->cache_ids, cap * sizeof *p);
        if (p) {
            tok->cache_ids = p;
            tok->cache_cap = cap;
        }
    }
    /* Caching is best effort: out of memory here only means no cache entry. */
    if (tok->cache_len + count + 1 <= tok->cache_cap &&
        lens_strmap_put(tok->cache, bytes, len, (int64_t)tok->cache_len) == 0) {
        tok->cache_ids[tok->cache_len] = (int32_t)count;
        for (size_t i = 0; i < count; i++) tok->cache_ids[tok->cache_len + 1 + i] = (int32_t)out->ids[first + i];
        tok->cache_len += count + 1;
    }
    pthread_mutex_unlock(&tok->cache_lock);
    return 0;
}

/* Pre-tokenises text[0..len) (valid UTF-8, no special tokens) and BPE-encodes each piece. */
static int encode_ordinary(const lens_tokenizer *tok, bpe_scratch *s, pcre2_match_data *md,
                           const char *text, size_t len, id_vec *out, lens_error *err)
{
    size_t off = 0;
    while (off < len) {
        int rc = pcre2_match(tok->pretok, (PCRE2_SPTR)text, len, off, PCRE2_NO_UTF_CHECK, md, NULL);
        size_t start, end;
        if (rc == PCRE2_ERROR_NOMATCH) {
            start = len; /* cannot happen with GPT-2's pattern; keep the rest as one piece */
            end = len;
        } else if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return lens_fail(err, "pre-tokenisation failed at byte %zu: %s", off, (char *)msg);
        } else {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            start = ov[0];
            end = ov[1];
        }
        if (start > off && bpe_cached(tok, s, text + off, start - off, out) < 0) goto oom;
        if (end == start) { /* an empty match (not possible with this pattern): step on */
            if (end >= len) break;
            end = start + 1;
            while (end < len && ((unsigned char)text[end] & 0xC0) == 0x80) end++;
        }
        if (end > start && bpe_cached(tok, s, text + start, end - start, out) < 0) goto oom;
        off = end;
    }
    return 0;
oom:
    return lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory while tokenising");
}

static int encode_impl(const lens_tokenizer *tok, const char *text, int specials, int64_t **ids,
                       size_t *n, lens_error *err)
{
    if (!tok || !text || !ids || !n) return lens_fail(err, "lens_tokenizer_encode: NULL argument");
    *ids = NULL;
    *n = 0;
    size_t len = strlen(text);
    size_t valid = lens_utf8_valid_prefix(text, len);
    if (valid != len)
        return lens_fail(err, "cannot tokenise: the text is not valid UTF-8 (byte 0x%02X at "
                              "offset %zu)", (unsigned char)text[valid], valid);

    id_vec out = {0};
    bpe_scratch s = {0};
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(tok->pretok, NULL);
    if (!md || vec_reserve(&out, 1) < 0) {
        pcre2_match_data_free(md);
        free(out.ids);
        return lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory while tokenising");
    }
    const char *special = specials && tok->eos >= 0 ? tok->raw + tok->raw_off[tok->eos] : NULL;
    size_t special_len = special ? tok->raw_off[tok->eos + 1] - tok->raw_off[tok->eos] : 0;
    const char *p = text, *end = text + len;
    int rc = 0;
    while (p < end && rc == 0) {
        const char *hit = special ? memmem(p, (size_t)(end - p), special, special_len) : NULL;
        const char *stop = hit ? hit : end;
        rc = encode_ordinary(tok, &s, md, p, (size_t)(stop - p), &out, err);
        if (rc == 0 && hit) {
            if (vec_reserve(&out, 1) < 0) rc = lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory while tokenising");
            else out.ids[out.n++] = tok->eos;
            stop += special_len;
        }
        p = stop;
    }
    pcre2_match_data_free(md);
    scratch_free(&s);
    if (rc < 0) {
        free(out.ids);
        return -1;
    }
    *ids = out.ids;
    *n = out.n;
    return 0;
}

int lens_tokenizer_encode(const lens_tokenizer *tok, const char *text, int64_t **ids, size_t *n,
                          lens_error *err)
{
    return encode_impl(tok, text, 1, ids, n, err);
}

int lens_tokenizer_encode_ordinary(const lens_tokenizer *tok, const char *text, int64_t **ids,
                                   size_t *n, lens_error *err)
{
    return encode_impl(tok, text, 0, ids, n, err);
}

char *lens_tokenizer_decode(const lens_tokenizer *tok, const int64_t *ids, size_t n,
                            lens_error *err)
{
    if (!tok || (!ids && n)) {
        lens_fail(err, "lens_tokenizer_decode: NULL argument");
        return NULL;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= tok->n_vocab) {
            lens_fail(err, "cannot decode token id %lld at position %zu: ids run from 0 to %lld",
                      (long long)ids[i], i, (long long)tok->n_vocab - 1);
            return NULL;
        }
        total += tok->raw_off[ids[i] + 1] - tok->raw_off[ids[i]];
    }
    char *raw = malloc(total + 1);
    if (!raw) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory decoding %zu tokens", n);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = tok->raw_off[ids[i] + 1] - tok->raw_off[ids[i]];
        memcpy(raw + o, tok->raw + tok->raw_off[ids[i]], k);
        o += k;
    }
    char *text = lens_utf8_repair(raw, total, NULL);
    free(raw);
    if (!text) lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory decoding %zu tokens", n);
    return text;
}
