/* tokenizer_load.c — builds a lens_tokenizer from vocab.json + merges.txt, and frees it.
 *
 * Owns GPT-2's byte <-> unicode mapping (vocab.json spells every byte as a
 * printable character), the checks that make a bad vocabulary or merges file a
 * clear error instead of a wrong tokenisation, and the compilation of the
 * pre-tokenisation pattern. Encoding and decoding live in tokenizer.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "lens/file.h"
#include "tokenizer_internal.h"
#include "utf8.h"

/* GPT-2's pre-tokenisation pattern: contractions, letter runs, number runs,
 * other-symbol runs (each with at most one leading space), then whitespace. */
static const char PRETOKENIZE_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

#define BYTE_LEVEL_CODEPOINTS 324 /* byte-level characters are U+0021 .. U+0143 */

/* The code point that stands for each byte: printable Latin-1 bytes stand for
 * themselves, the other 68 bytes for U+0100 onwards, in byte order. */
static void byte_level_codepoints(uint32_t cp_of_byte[256])
{
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        cp_of_byte[b] = printable ? (uint32_t)b : next++;
    }
}

/* Turns the byte-level form of a token into its raw bytes (out has room for
 * strlen(form) bytes); returns the byte count, or -1 for a character outside the
 * byte-level alphabet. */
static long byte_level_to_raw(const char *form, const int byte_of_cp[BYTE_LEVEL_CODEPOINTS],
                              char *out, uint32_t *bad_cp)
{
    size_t len = strlen(form), i = 0;
    long n = 0;
    while (i < len) {
        uint32_t cp;
        int k = lens_utf8_decode(form + i, len - i, &cp);
        if (!k) {
            *bad_cp = 0xFFFD;
            return -1;
        }
        if (cp >= BYTE_LEVEL_CODEPOINTS || byte_of_cp[cp] < 0) {
            *bad_cp = cp;
            return -1;
        }
        out[n++] = (char)byte_of_cp[cp];
        i += (size_t)k;
    }
    return n;
}

static int load_vocab(lens_tokenizer *tok, const char *path, lens_error *err)
{
    size_t len;
    char *buf = lens_read_file(path, "vocabulary file", &len, err);
    if (!buf) return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        size_t at = end && end >= buf ? (size_t)(end - buf) : 0;
        free(buf);
        return lens_fail(err, "vocabulary file '%s' is not valid JSON (error near byte %zu)",
                         path, at);
    }
    free(buf);
    int rc = -1;
    int64_t n = cJSON_IsObject(root) ? cJSON_GetArraySize(root) : 0;
    if (n <= 0) {
        lens_fail(err, "vocabulary file '%s' must be a non-empty JSON object mapping tokens "
                       "to ids", path);
        goto done;
    }
    tok->n_vocab = n;
    tok->vocab = lens_strmap_new((size_t)n);
    tok->raw_off = calloc((size_t)n + 1, sizeof *tok->raw_off);
    tok->text_off = calloc((size_t)n, sizeof *tok->text_off);
    const char **form_of = calloc((size_t)n, sizeof *form_of); /* byte-level form by id */
    size_t forms_len = 0;
    if (!tok->vocab || !tok->raw_off || !tok->text_off || !form_of) {
        free(form_of);
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory loading '%s'", path);
        goto done;
    }
    /* Errors give positions and ids, never the file's text: a cell may point the
     * loader at any readable file. */
    int64_t entry = 0;
    for (cJSON *e = root->child; e; e = e->next, entry++) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (v < 0 || v >= (double)n || v != (double)(int64_t)v) {
            lens_fail(err, "vocabulary file '%s': entry %lld has an id %s; ids must be "
                           "integers from 0 to %lld", path, (long long)entry,
                      cJSON_IsNumber(e) ? "out of range" : "that is not a number",
                      (long long)n - 1);
            goto free_forms;
        }
        int64_t id = (int64_t)v;
        if (form_of[id]) {
            lens_fail(err, "vocabulary file '%s': id %lld is used by both entry %lld and an "
                           "earlier one", path, (long long)id, (long long)entry);
            goto free_forms;
        }
        form_of[id] = e->string;
        forms_len += strlen(e->string);
        if (lens_strmap_put(tok->vocab, e->string, strlen(e->string), id) < 0) {
            lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory loading '%s'", path);
            goto free_forms;
        }
    }

    /* Raw bytes of every token: never longer than its byte-level form. */
    uint32_t cp_of_byte[256];
    int byte_of_cp[BYTE_LEVEL_CODEPOINTS];
    byte_level_codepoints(cp_of_byte);
    for (int c = 0; c < BYTE_LEVEL_CODEPOINTS; c++) byte_of_cp[c] = -1;
    for (int b = 0; b < 256; b++) byte_of_cp[cp_of_byte[b]] = b;
    tok->raw = malloc(forms_len + 1);
    if (!tok->raw) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory loading '%s'", path);
        goto free_forms;
    }
    size_t off = 0;
    for (int64_t id = 0; id < n; id++) {
        uint32_t bad = 0;
        long k = byte_level_to_raw(form_of[id], byte_of_cp, tok->raw + off, &bad);
        if (k < 0) {
            lens_fail(err, "vocabulary file '%s': token id %lld contains U+%04X, "
                           "which is not one of GPT-2's byte-level characters",
                      path, (long long)id, (unsigned)bad);
            goto free_forms;
        }
        tok->raw_off[id] = off;
        off += (size_t)k;
    }
    tok->raw_off[n] = off;

    /* The token of each single byte, which BPE starts from. */
    for (int b = 0; b < 256; b++) {
        char form[4];
        int k = lens_utf8_encode(cp_of_byte[b], form);
        int64_t id;
        if (!lens_strmap_get(tok->vocab, form, (size_t)k, &id)) {
            lens_fail(err, "vocabulary file '%s' has no token for byte 0x%02X (\"%.*s\"); "
                           "is it a GPT-2 byte-level vocabulary?", path, b, k, form);
            goto free_forms;
        }
        tok->byte_id[b] = (int32_t)id;
    }

    /* Display text: raw bytes with invalid UTF-8 replaced (at most 3x longer). */
    tok->text = malloc(off * 3 + (size_t)n);
    if (!tok->text) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory loading '%s'", path);
        goto free_forms;
    }
    size_t toff = 0;
    for (int64_t id = 0; id < n; id++) {
        size_t rlen = tok->raw_off[id + 1] - tok->raw_off[id];
        size_t tlen = lens_utf8_repair_into(tok->raw + tok->raw_off[id], rlen, tok->text + toff);
        tok->text_off[id] = toff;
        toff += tlen + 1;
    }

    int64_t eos;
    tok->eos = lens_strmap_get(tok->vocab, "<|endoftext|>", 13, &eos) ? eos : -1;
    rc = 0;
free_forms:
    free(form_of);
done:
    cJSON_Delete(root);
    return rc;
}

static int pair_insert(lens_tokenizer *tok, int32_t left, int32_t right, int32_t rank,
                       int32_t merged)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t mask = tok->pair_cap - 1;
    for (size_t i = lens_pair_hash(key) & mask;; i = (i + 1) & mask) {
        lens_bpe_pair *p = &tok->pairs[i];
        if (p->key == key) return 0; /* a repeated merge keeps its first (lowest) rank */
        if (p->key == LENS_PAIR_EMPTY) {
            *p = (lens_bpe_pair){key, rank, merged};
            return 1;
        }
    }
}

static int load_merges(lens_tokenizer *tok, const char *path, lens_error *err)
{
    size_t len;
    char *buf = lens_read_file(path, "merges file", &len, err);
    if (!buf) return -1;
    if (memchr(buf, 0, len)) {
        free(buf);
        return lens_fail(err, "merges file '%s' contains NUL bytes; is it a text file?", path);
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    tok->pair_cap = 16;
    while (tok->pair_cap < lines * 2) tok->pair_cap *= 2;
    tok->pairs = malloc(tok->pair_cap * sizeof *tok->pairs);
    if (!tok->pairs) {
        free(buf);
        return lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory loading '%s'", path);
    }
    for (size_t i = 0; i < tok->pair_cap; i++) tok->pairs[i].key = LENS_PAIR_EMPTY;

    char *line = buf, *merged = malloc(len + 1);
    int rc = -1;
    if (!merged) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory loading '%s'", path);
        goto done;
    }
    for (size_t lineno = 1; line < buf + len; lineno++) {
        char *nl = strchr(line, '\n');
        char *next = nl ? nl + 1 : buf + len;
        if (nl) *nl = 0;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r') line[--ll] = 0;
        if (ll == 0 || (lineno == 1 && !strncmp(line, "#version", 8))) {
            line = next;
            continue;
        }
        char *sp = strchr(line, ' ');
        if (!sp || sp == line || sp[1] == 0 || strchr(sp + 1, ' ')) {
            lens_fail(err, "merges file '%s', line %zu: expected two tokens separated by one "
                           "space", path, lineno);
            goto done;
        }
        *sp = 0;
        const char *a = line, *b = sp + 1;
        int64_t ia, ib, im;
        size_t la = strlen(a), lb = strlen(b);
        memcpy(merged, a, la);
        memcpy(merged + la, b, lb);
        const char *missing = NULL;
        if (!lens_strmap_get(tok->vocab, a, la, &ia)) missing = "first token";
        else if (!lens_strmap_get(tok->vocab, b, lb, &ib)) missing = "second token";
        else if (!lens_strmap_get(tok->vocab, merged, la + lb, &im)) missing = "merged token";
        if (missing) {
            lens_fail(err, "merges file '%s', line %zu: the merge's %s is not in the "
                           "vocabulary; do vocab.json and merges.txt belong together?",
                      path, lineno, missing);
            goto done;
        }
        if (pair_insert(tok, (int32_t)ia, (int32_t)ib, (int32_t)tok->n_merges, (int32_t)im))
            tok->n_merges++;
        line = next;
    }
    if (tok->n_merges == 0) {
        lens_fail(err, "merges file '%s' has no merges", path);
        goto done;
    }
    rc = 0;
done:
    free(merged);
    free(buf);
    return rc;
}

static int compile_pattern(lens_tokenizer *tok, lens_error *err)
{
    int code;
    PCRE2_SIZE at;
    tok->pretok = pcre2_compile((PCRE2_SPTR)PRETOKENIZE_PATTERN, PCRE2_ZERO_TERMINATED,
                                PCRE2_UTF | PCRE2_UCP, &code, &at, NULL);
    if (!tok->pretok) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return lens_fail(err, "cannot compile the pre-tokenisation pattern: %s", (char *)msg);
    }
    pcre2_jit_compile(tok->pretok, PCRE2_JIT_COMPLETE); /* the interpreter is the fallback */
    return 0;
}

lens_tokenizer *lens_tokenizer_load(const char *vocab_json_path, const char *merges_path,
                                    lens_error *err)
{
    if (!vocab_json_path || !merges_path) {
        lens_fail(err, "lens_tokenizer_load needs a vocab.json path and a merges.txt path");
        return NULL;
    }
    lens_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory creating the tokenizer");
        return NULL;
    }
    pthread_mutex_init(&tok->cache_lock, NULL);
    if (load_vocab(tok, vocab_json_path, err) < 0 || load_merges(tok, merges_path, err) < 0 ||
        compile_pattern(tok, err) < 0)
        goto fail;
    tok->cache = lens_strmap_new(4096);
    if (!tok->cache) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory creating the tokenizer");
        goto fail;
    }
    return tok;
fail:
    lens_tokenizer_free(tok);
    return NULL;
}

void lens_tokenizer_free(lens_tokenizer *tok)
{
    if (!tok) return;
    lens_strmap_free(tok->vocab);
    lens_strmap_free(tok->cache);
    free(tok->cache_ids);
    free(tok->raw);
    free(tok->raw_off);
    free(tok->text);
    free(tok->text_off);
    free(tok->pairs);
    pcre2_code_free(tok->pretok);
    pthread_mutex_destroy(&tok->cache_lock);
    free(tok);
}
