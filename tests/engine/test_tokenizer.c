/* test_tokenizer.c — the GPT-2 tokenizer against the reference ids in
 * tests/fixtures/tokenizer-cases.json and the real GPT-2 vocabulary, plus its
 * behaviour on special tokens, invalid UTF-8, and missing or corrupt files. */
#include <cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "../harness.h"
#include "lens/tokenizer.h"

#define VOCAB "tests/fixtures/tiny-gpt2/vocab.json"
#define MERGES "tests/fixtures/tiny-gpt2/merges.txt"
#define CASES "tests/fixtures/tokenizer-cases.json"
#define EOT "<|endoftext|>"

static lens_tokenizer *tok;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = 0;
    fclose(f);
    return buf;
}

/* The reference cases: text and ids, from the fixture. */
typedef struct {
    const char *text;
    int64_t *ids;
    size_t n;
} ref_case;
static ref_case *cases;
static size_t n_cases;
static cJSON *cases_json;

static void load_cases(void)
{
    char *buf = slurp(CASES);
    cases_json = buf ? cJSON_Parse(buf) : NULL;
    free(buf);
    cJSON *arr = cJSON_GetObjectItem(cases_json, "cases");
    n_cases = (size_t)cJSON_GetArraySize(arr);
    cases = calloc(n_cases ? n_cases : 1, sizeof *cases);
    size_t i = 0;
    for (cJSON *c = arr ? arr->child : NULL; c; c = c->next, i++) {
        cJSON *ids = cJSON_GetObjectItem(c, "ids");
        cases[i].text = cJSON_GetObjectItem(c, "text")->valuestring;
        cases[i].n = (size_t)cJSON_GetArraySize(ids);
        cases[i].ids = calloc(cases[i].n + 1, sizeof(int64_t));
        size_t j = 0;
        for (cJSON *x = ids->child; x; x = x->next) cases[i].ids[j++] = (int64_t)x->valuedouble;
    }
}

static void free_cases(void)
{
    for (size_t i = 0; i < n_cases; i++) free(cases[i].ids);
    free(cases);
    cJSON_Delete(cases_json);
}

static int same_ids(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void print_ids(const char *label, const int64_t *ids, size_t n)
{
    fprintf(stderr, "    %s [", label);
    for (size_t i = 0; i < n; i++) fprintf(stderr, "%s%lld", i ? ", " : "", (long long)ids[i]);
    fprintf(stderr, "]\n");
}

/* Checks encode (or encode_ordinary) of one case against the reference. */
static int check_case(const ref_case *c, int ordinary)
{
    lens_error err = {0};
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = ordinary ? lens_tokenizer_encode_ordinary(tok, c->text, &ids, &n, &err)
                      : lens_tokenizer_encode(tok, c->text, &ids, &n, &err);
    int ok = rc == 0 && same_ids(ids, n, c->ids, c->n);
    if (!ok) {
        fprintf(stderr, "  mismatch for text \"%s\" (%s)\n", c->text, rc ? err.msg : "");
        print_ids("expected", c->ids, c->n);
        print_ids("got     ", ids, n);
    }
    free(ids);
    return ok;
}

static void test_tokenizer_loads_the_gpt2_vocabulary(void)
{
    CHECK(lens_tokenizer_vocab_size(tok) == 50257, "vocab size %lld",
          (long long)lens_tokenizer_vocab_size(tok));
    CHECK(lens_tokenizer_eos(tok) == 50256, "unexpected");
}

static void test_tokenizer_matches_all_reference_cases(void)
{
    CHECK(n_cases == 300, "fixture has %zu cases", n_cases);
    size_t bad = 0;
    for (size_t i = 0; i < n_cases; i++) bad += !check_case(&cases[i], 1);
    CHECK(bad == 0, "%zu of %zu cases differ from the reference ids", bad, n_cases);
}

/* The reference encoder treats "<|endoftext|>" as text; every case without it
 * must come out the same from the default (special-aware) encoder. */
static void test_tokenizer_encode_matches_cases_without_the_special_literal(void)
{
    size_t bad = 0, checked = 0;
    for (size_t i = 0; i < n_cases; i++) {
        if (strstr(cases[i].text, EOT)) continue;
        checked++;
        bad += !check_case(&cases[i], 0);
    }
    CHECK(checked > 250, "only %zu cases checked", checked);
    CHECK(bad == 0, "%zu of %zu cases differ", bad, checked);
}

static void test_tokenizer_decode_round_trips_every_case(void)
{
    size_t bad = 0;
    for (size_t i = 0; i < n_cases; i++) {
        lens_error err;
        char *text = lens_tokenizer_decode(tok, cases[i].ids, cases[i].n, &err);
        if (!text || strcmp(text, cases[i].text)) {
            bad++;
            fprintf(stderr, "  decode(\"%s\") gave \"%s\"\n", cases[i].text, text ? text : err.msg);
        }
        free(text);
    }
    CHECK(bad == 0, "%zu cases do not round-trip", bad);
}

/* Concatenating token_str of each reference id gives the text back whenever
 * every token is valid UTF-8 on its own (no U+FFFD in any piece). */
static void test_tokenizer_token_strs_concatenate_to_the_text(void)
{
    size_t checked = 0;
    for (size_t i = 0; i < n_cases; i++) {
        char buf[4096] = "";
        int whole = 1;
        for (size_t j = 0; j < cases[i].n; j++) {
            const char *s = lens_tokenizer_token_str(tok, cases[i].ids[j]);
            if (!s || strstr(s, "\xEF\xBF\xBD") || strlen(buf) + strlen(s) >= sizeof buf) {
                whole = 0;
                break;
            }
            strcat(buf, s);
        }
        if (!whole || strstr(cases[i].text, "\xEF\xBF\xBD")) continue;
        checked++;
        CHECK(!strcmp(buf, cases[i].text), "token strs of \"%s\" give \"%s\"", cases[i].text, buf);
    }
    CHECK(checked > 200, "only %zu cases checked", checked);
}

static void test_tokenizer_token_str_of_known_ids(void)
{
    CHECK(!strcmp(lens_tokenizer_token_str(tok, 1757), " John"), "unexpected");
    CHECK(!strcmp(lens_tokenizer_token_str(tok, 15496), "Hello"), "unexpected");
    CHECK(!strcmp(lens_tokenizer_token_str(tok, 995), " world"), "unexpected");
    CHECK(!strcmp(lens_tokenizer_token_str(tok, 198), "\n"), "unexpected");
    CHECK(!strcmp(lens_tokenizer_token_str(tok, 220), " "), "unexpected");
    CHECK(!strcmp(lens_tokenizer_token_str(tok, 50256), EOT), "unexpected");
    /* "â" (id 158) is the lone byte 0xE2: not UTF-8 on its own. */
    CHECK(!strcmp(lens_tokenizer_token_str(tok, 158), "\xEF\xBF\xBD"), "unexpected");
    CHECK(lens_tokenizer_token_str(tok, -1) == NULL, "unexpected");
    CHECK(lens_tokenizer_token_str(tok, 50257) == NULL, "unexpected");
}

/* Every vocab.json entry whose byte-level form is printable ASCII apart from
 * "Ġ" (space) and "Ċ" (newline) has that text as its token_str, and every
 * entry is found by lookup with its id. */
static void test_tokenizer_token_str_and_lookup_agree_with_vocab_json(void)
{
    char *buf = slurp(VOCAB);
    cJSON *vocab = buf ? cJSON_Parse(buf) : NULL;
    free(buf);
    CHECK(cJSON_GetArraySize(vocab) == 50257, "unexpected");
    size_t text_checked = 0, lookup_bad = 0, text_bad = 0;
    for (cJSON *e = vocab ? vocab->child : NULL; e; e = e->next) {
        int64_t id = (int64_t)e->valuedouble;
        if (lens_tokenizer_lookup(tok, e->string) != id) lookup_bad++;
        char want[256];
        size_t o = 0;
        int plain = 1;
        for (const unsigned char *p = (const unsigned char *)e->string; *p && plain; p++) {
            if (o + 2 >= sizeof want) plain = 0;
            else if (p[0] == 0xC4 && p[1] == 0xA0) want[o++] = ' ', p++;
            else if (p[0] == 0xC4 && p[1] == 0x8A) want[o++] = '\n', p++;
            else if (*p > 32 && *p < 127) want[o++] = (char)*p;
            else plain = 0;
        }
        if (!plain) continue;
        want[o] = 0;
        text_checked++;
        const char *got = lens_tokenizer_token_str(tok, id);
        if (!got || strcmp(got, want)) {
            if (text_bad++ < 5) fprintf(stderr, "  token %lld: \"%s\" != \"%s\"\n", (long long)id, got, want);
        }
    }
    CHECK(lookup_bad == 0, "%zu entries not found by lookup", lookup_bad);
    CHECK(text_bad == 0, "%zu of %zu token strs differ", text_bad, text_checked);
    CHECK(text_checked > 30000, "only %zu checked", text_checked);
    CHECK(lens_tokenizer_lookup(tok, "ĠJohn") == 1757, "unexpected");
    CHECK(lens_tokenizer_lookup(tok, " John") == -1, "lookup takes the byte-level form");
    CHECK(lens_tokenizer_lookup(tok, "no such token here") == -1, "unexpected");
    cJSON_Delete(vocab);
}

static void test_tokenizer_encodes_the_special_literal_as_eos(void)
{
    lens_error err;
    int64_t *ids = NULL;
    size_t n = 0;
    CHECK(lens_tokenizer_encode(tok, EOT, &ids, &n, &err) == 0, "unexpected");
    CHECK(n == 1 && ids[0] == 50256, "n=%zu", n);
    free(ids);
    CHECK(lens_tokenizer_encode(tok, EOT EOT, &ids, &n, &err) == 0, "unexpected");
    CHECK(n == 2 && ids[0] == 50256 && ids[1] == 50256, "n=%zu", n);
    free(ids);
    /* The text around the literal is encoded on its own: A<|endoftext|>B gives
     * ids(A), 50256, ids(B), with A and B two reference cases. */
    const ref_case *a = &cases[0], *b = &cases[1];
    char text[1024];
    snprintf(text, sizeof text, "%s" EOT "%s", a->text, b->text);
    CHECK(lens_tokenizer_encode(tok, text, &ids, &n, &err) == 0, "unexpected");
    int64_t want[256];
    memcpy(want, a->ids, a->n * sizeof *want);
    want[a->n] = 50256;
    memcpy(want + a->n + 1, b->ids, b->n * sizeof *want);
    CHECK(same_ids(ids, n, want, a->n + 1 + b->n), "\"%s\"", text);
    char *back = lens_tokenizer_decode(tok, ids, n, &err);
    CHECK(back && !strcmp(back, text), "decode gives \"%s\"", back);
    free(back);
    free(ids);
    /* A partial literal is ordinary text. */
    CHECK(lens_tokenizer_encode(tok, "<|endoftext|", &ids, &n, &err) == 0, "unexpected");
    for (size_t i = 0; i < n; i++) CHECK(ids[i] != 50256, "unexpected");
    free(ids);
}

static void test_tokenizer_rejects_invalid_utf8(void)
{
    const char *bad[] = {"\xff", "abc\xC3", "\xC3(", "\xED\xA0\x80", "\xC0\xAF", "ok \xF4\x90\x80\x80",
                         "\x80 lone continuation"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lens_error err = {0};
        int64_t *ids = (int64_t *)&err;
        size_t n = 99;
        CHECK(lens_tokenizer_encode(tok, bad[i], &ids, &n, &err) == -1, "case %zu", i);
        CHECK(ids == NULL && n == 0, "case %zu", i);
        CHECK(strstr(err.msg, "UTF-8") != NULL, "message: %s", err.msg);
    }
}

static void test_tokenizer_empty_text_gives_no_ids(void)
{
    lens_error err;
    int64_t *ids = NULL;
    size_t n = 99;
    CHECK(lens_tokenizer_encode(tok, "", &ids, &n, &err) == 0, "unexpected");
    CHECK(n == 0, "unexpected");
    free(ids);
    char *text = lens_tokenizer_decode(tok, NULL, 0, &err);
    CHECK(text && !strcmp(text, ""), "unexpected");
    free(text);
}

static void test_tokenizer_decode_replaces_invalid_utf8_and_rejects_bad_ids(void)
{
    lens_error err = {0};
    int64_t lone[] = {15496, 158, 995}; /* "Hello", byte 0xE2, " world" */
    char *text = lens_tokenizer_decode(tok, lone, 3, &err);
    CHECK(text && !strcmp(text, "Hello\xEF\xBF\xBD world"), "got \"%s\"", text);
    free(text);
    int64_t out_of_range[] = {15496, 50257};
    CHECK(lens_tokenizer_decode(tok, out_of_range, 2, &err) == NULL, "unexpected");
    CHECK(strstr(err.msg, "50257") != NULL, "message: %s", err.msg);
    int64_t negative[] = {-3};
    CHECK(lens_tokenizer_decode(tok, negative, 1, &err) == NULL, "unexpected");
}

/* Long pre-tokens (a run of spaces, a word with no break) encode and round-trip. */
static void test_tokenizer_handles_long_pretokens(void)
{
    const char fill[] = {' ', 'a', '7', '\n'};
    for (size_t k = 0; k < sizeof fill; k++) {
        size_t len = 200000;
        char *text = malloc(len + 1);
        memset(text, fill[k], len);
        text[len] = 0;
        lens_error err;
        int64_t *ids = NULL;
        size_t n = 0;
        int rc = lens_tokenizer_encode(tok, text, &ids, &n, &err);
        CHECK(rc == 0, "fill '%c': %s", fill[k], err.msg);
        CHECK(n > 0 && n <= len, "fill '%c': %zu ids", fill[k], n);
        char *back = rc == 0 ? lens_tokenizer_decode(tok, ids, n, &err) : NULL;
        CHECK(back && !strcmp(back, text), "fill '%c' does not round-trip", fill[k]);
        free(back);
        free(ids);
        free(text);
    }
}

static void *encode_all_cases(void *arg)
{
    long *bad = arg;
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < n_cases; i++) {
            int64_t *ids = NULL;
            size_t n = 0;
            if (lens_tokenizer_encode_ordinary(tok, cases[i].text, &ids, &n, NULL) != 0 ||
                !same_ids(ids, n, cases[i].ids, cases[i].n))
                (*bad)++;
            free(ids);
        }
    return NULL;
}

static void test_tokenizer_is_safe_to_share_between_threads(void)
{
    pthread_t th[4];
    long bad[4] = {0};
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, encode_all_cases, &bad[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) CHECK(bad[i] == 0, "thread %d: %ld mismatches", i, bad[i]);
}

/* ---- missing and corrupt files ---- */

static char tmpdir[64];

static const char *write_tmp(const char *name, const char *content)
{
    static char path[2][128];
    static int which;
    char *p = path[which++ % 2];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    fputs(content, f);
    fclose(f);
    return p;
}

/* Loading must fail with a message containing `want`. */
static void expect_load_error(const char *vocab, const char *merges, const char *want)
{
    lens_error err = {0};
    lens_tokenizer *t = lens_tokenizer_load(vocab, merges, &err);
    CHECK(t == NULL, "loading %s + %s should fail", vocab, merges);
    lens_tokenizer_free(t);
    CHECK(strstr(err.msg, want) != NULL, "message \"%s\" lacks \"%s\"", err.msg, want);
}

static void test_tokenizer_load_reports_missing_files(void)
{
    expect_load_error("tests/fixtures/nope/vocab.json", MERGES, "tests/fixtures/nope/vocab.json");
    expect_load_error(VOCAB, "tests/fixtures/nope/merges.txt", "tests/fixtures/nope/merges.txt");
    expect_load_error(tmpdir, MERGES, "not a regular file");
}

static void test_tokenizer_load_reports_corrupt_vocab(void)
{
    expect_load_error(write_tmp("v1.json", "{\"a\": 0, \"b\": "), MERGES, "not valid JSON");
    expect_load_error(write_tmp("v2.json", "[1, 2, 3]"), MERGES, "JSON object");
    expect_load_error(write_tmp("v3.json", "{}"), MERGES, "non-empty");
    expect_load_error(write_tmp("v4.json", "{\"a\": \"zero\"}"), MERGES, "not a number");
    expect_load_error(write_tmp("v5.json", "{\"a\": 0, \"b\": 5}"), MERGES, "out of range");
    expect_load_error(write_tmp("v6.json", "{\"a\": 0, \"b\": 0}"), MERGES, "id 0 is used by both entry 1 and an earlier one");
    expect_load_error(write_tmp("v7.json", "{\"a\": 0, \"\\u4e2d\": 1}"), MERGES, "byte-level");
    expect_load_error(write_tmp("v8.json", "{\"a\": 0, \"b\": 1}"), MERGES, "no token for byte");
    expect_load_error(MERGES, MERGES, "not valid JSON"); /* files swapped */
}

static void test_tokenizer_load_reports_corrupt_merges(void)
{
    expect_load_error(VOCAB, write_tmp("m1.txt", "#version: 0.2\nĠ t\nĠt he extra\n"), "line 3");
    expect_load_error(VOCAB, write_tmp("m2.txt", "#version: 0.2\nĠ t\nnospace\n"), "line 3");
    expect_load_error(VOCAB, write_tmp("m3.txt", "Ġ t\nĠqzx qzx\n"), "line 2: the merge's first token is not in the vocabulary");
    expect_load_error(VOCAB, write_tmp("m4.txt", "#version: 0.2\n"), "no merges");
    expect_load_error(VOCAB, VOCAB, "line 1"); /* files swapped */
}

int main(void)
{
    lens_error err = {0};
    tok = lens_tokenizer_load(VOCAB, MERGES, &err);
    if (!tok) {
        fprintf(stderr, "cannot load the tokenizer: %s\n", err.msg);
        return 1;
    }
    load_cases();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lens-test-tokenizer-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }

    RUN(test_tokenizer_loads_the_gpt2_vocabulary);
    RUN(test_tokenizer_matches_all_reference_cases);
    RUN(test_tokenizer_encode_matches_cases_without_the_special_literal);
    RUN(test_tokenizer_decode_round_trips_every_case);
    RUN(test_tokenizer_token_strs_concatenate_to_the_text);
    RUN(test_tokenizer_token_str_of_known_ids);
    RUN(test_tokenizer_token_str_and_lookup_agree_with_vocab_json);
    RUN(test_tokenizer_encodes_the_special_literal_as_eos);
    RUN(test_tokenizer_rejects_invalid_utf8);
    RUN(test_tokenizer_empty_text_gives_no_ids);
    RUN(test_tokenizer_decode_replaces_invalid_utf8_and_rejects_bad_ids);
    RUN(test_tokenizer_handles_long_pretokens);
    RUN(test_tokenizer_is_safe_to_share_between_threads);
    RUN(test_tokenizer_load_reports_missing_files);
    RUN(test_tokenizer_load_reports_corrupt_vocab);
    RUN(test_tokenizer_load_reports_corrupt_merges);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    free_cases();
    lens_tokenizer_free(tok);
    return harness_summary();
}
