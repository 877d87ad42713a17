/* tests/fuzz/fuzz_tokenizer.c — the tokenizer files and the BPE encoder. Mode byte
 * even: the rest is text, encoded with GPT-2's real tokenizer (the fixture's
 * vocab.json and merges.txt) and decoded back, which must give the text exactly
 * when it is valid UTF-8. Odd: three length-prefixed parts — a vocab.json, a
 * merges.txt and a text encoded with the tokenizer they make. */
#include <stdint.h>

#include "fuzz_util.h"
#include "lens/tokenizer.h"

static void encode_decode(const lens_tokenizer *tok, const char *text, size_t len, bool check_round_trip)
{
    int64_t *ids = NULL;
    size_t n = 0;
    lens_error err;
    if (lens_tokenizer_encode(tok, text, &ids, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= lens_tokenizer_vocab_size(tok)) abort();
        char *back = lens_tokenizer_decode(tok, ids, n, &err);
        if (check_round_trip && back && (strlen(back) != len || memcmp(back, text, len))) {
            fprintf(stderr, "decode(encode(text)) differs from the text\n");
            abort();
        }
        free(back);
        for (size_t i = 0; i < n; i++) (void)lens_tokenizer_token_str(tok, ids[i]);
    }
    free(ids);
    free(lens_tokenizer_encode_ordinary(tok, text, &ids, &n, &err) == 0 ? ids : NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lens_tokenizer *gpt2;
    lens_error err;
    if (!gpt2) {
        gpt2 = lens_tokenizer_load("tests/fixtures/tiny-gpt2/vocab.json", "tests/fixtures/tiny-gpt2/merges.txt", &err);
        if (!gpt2) { fprintf(stderr, "run from the repository root: %s\n", err.msg); abort(); }
    }
    if (size < 1) return 0;
    int mode = data[0];
    data++; size--;
    if (!(mode & 1)) {
        char *text = fuzz_cstr(data, size);
        encode_decode(gpt2, text, strlen(text), true);
        free(text);
        return 0;
    }
    const uint8_t *vocab, *merges, *text;
    size_t nv = fuzz_take(&data, &size, &vocab), nm = fuzz_take(&data, &size, &merges);
    size_t nt = fuzz_take(&data, &size, &text);
    char vp[256], mp[256];
    fuzz_file(vp, sizeof vp, "vocab.json", vocab, nv);
    fuzz_file(mp, sizeof mp, "merges.txt", merges, nm);
    lens_tokenizer *tok = lens_tokenizer_load(vp, mp, &err);
    if (!tok) return 0;
    char *t = fuzz_cstr(text, nt);
    encode_decode(tok, t, strlen(t), false);
    free(t);
    lens_tokenizer_free(tok);
    return 0;
}
