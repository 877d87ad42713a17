/* tests/kernel/test_wire.c — signing and framing of Jupyter messages.
 *
 * HMAC vectors come from RFC 4231 (SHA-224/256/384/512), RFC 2202 (SHA-1) and
 * RFC 2104 (MD5), split over the four signed parts to check that the parts are
 * concatenated. Framing is checked by round trips and by each kind of bad
 * message the kernel must drop.
 */
#include <string.h>

#include "../harness.h"
#include "wire.h"

static void sign_split(wire_ctx *w, const char *data, char *out)
{
    size_t n = strlen(data), a = n / 4, b = n / 2, c = 3 * n / 4;
    const char *p[4] = {data, data + a, data + b, data + c};
    size_t l[4] = {a, b - a, c - b, n - c};
    wire_sign(w, p, l, out);
}

static void check_vector(const char *key, const char *digest, const char *data, const char *hex)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new(key, digest, &err);
    CHECK(w != NULL, "%s", err.msg);
    if (!w) return;
    char sig[129];
    sign_split(w, data, sig);
    CHECK(!strcmp(sig, hex), "%s: got %s want %s", digest, sig, hex);
    wire_ctx_free(w);
}

static void test_hmac_sha256_matches_rfc4231(void)
{
    check_vector("Jefe", "sha256", "what do ya want for nothing?",
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    char key[21];
    memset(key, 0x0b, 20);
    key[20] = 0;
    check_vector(key, "sha256", "Hi There",
                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_other_digests_match_their_rfcs(void)
{
    check_vector("Jefe", "sha224", "what do ya want for nothing?",
                 "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44");
    check_vector("Jefe", "sha384", "what do ya want for nothing?",
                 "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                 "8e2240ca5e69e2c78b3239ecfab21649");
    check_vector("Jefe", "sha512", "what do ya want for nothing?",
                 "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                 "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
    check_vector("Jefe", "sha1", "what do ya want for nothing?",
                 "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    check_vector("Jefe", "md5", "what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738");
}

static void test_unknown_digest_is_an_error(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("k", "no-such-digest", &err);
    CHECK(w == NULL, " ");
    wire_ctx_free(w);
}

static void test_empty_key_signs_nothing(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("", "sha256", &err);
    char sig[129] = "x";
    sign_split(w, "abcd", sig);
    CHECK(sig[0] == 0, " ");
    wire_ctx_free(w);
}

static void test_header_has_every_field(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("key", "sha256", &err);
    cJSON *h = wire_header_new(w, "status");
    const char *fields[] = {"msg_id", "session", "username", "date", "msg_type", "version"};
    for (int i = 0; i < 6; i++) CHECK(cJSON_IsString(cJSON_GetObjectItem(h, fields[i])), "%s", fields[i]);
    CHECK(!strcmp(cJSON_GetObjectItem(h, "version")->valuestring, "5.3"), " ");
    CHECK(!strcmp(cJSON_GetObjectItem(h, "session")->valuestring, wire_session(w)), " ");
    const char *date = cJSON_GetObjectItem(h, "date")->valuestring;
    /* 2024-01-02T03:04:05.123456Z */
    CHECK(strlen(date) == 27 && date[10] == 'T' && date[19] == '.' && date[26] == 'Z', "%s", date);
    cJSON *h2 = wire_header_new(w, "status");
    CHECK(strcmp(cJSON_GetObjectItem(h, "msg_id")->valuestring,
                 cJSON_GetObjectItem(h2, "msg_id")->valuestring), " ");
    cJSON_Delete(h);
    cJSON_Delete(h2);
    wire_ctx_free(w);
}

/* A signed message with two identities and one buffer. */
static wire_blob *make_frames(wire_ctx *w, int *n)
{
    wire_blob ids[2] = {{(unsigned char *)"id-one", 6}, {(unsigned char *)"\x00\x01\x02", 3}};
    cJSON *header = wire_header_new(w, "execute_request");
    cJSON *content = cJSON_CreateObject();
    cJSON_AddStringToObject(content, "code", "print(\"héllo\")\n");
    wire_blob *f = wire_serialize(w, ids, 2, header, NULL, NULL, content, n);
    cJSON_Delete(header);
    cJSON_Delete(content);
    return f;
}

static void test_round_trip_keeps_identities_and_content(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("secret", "sha256", &err);
    int n = 0;
    wire_blob *f = make_frames(w, &n);
    CHECK(n == 8, " ");
    CHECK(f[2].len == 9 && !memcmp(f[2].data, "<IDS|MSG>", 9), " ");
    CHECK(f[3].len == 64, " ");
    wire_msg m;
    int rc = wire_parse(w, f, n, &m, &err);
    CHECK(rc == 0, "%s", err.msg);
    if (rc == 0) {
        CHECK(m.n_ids == 2 && m.ids[0].len == 6 && !memcmp(m.ids[1].data, "\x00\x01\x02", 3), " ");
        CHECK(!strcmp(m.msg_type, "execute_request"), " ");
        CHECK(!strcmp(cJSON_GetObjectItem(m.content, "code")->valuestring, "print(\"héllo\")\n"), " ");
        CHECK(cJSON_GetArraySize(m.parent) == 0 && m.n_buffers == 0, " ");
        wire_msg_clear(&m);
    }
    wire_blobs_free(f, n);
    wire_ctx_free(w);
}

static void test_buffers_after_content_are_kept(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("", "sha256", &err);
    int n = 0;
    wire_blob *f = make_frames(w, &n);
    wire_blob *g = calloc(n + 1, sizeof *g);
    memcpy(g, f, n * sizeof *f);
    g[n].data = (unsigned char *)"buf";
    g[n].len = 3;
    wire_msg m;
    CHECK(wire_parse(w, g, n + 1, &m, &err) == 0, "%s", err.msg);
    CHECK(m.n_buffers == 1 && m.buffers[0].len == 3, " ");
    wire_msg_clear(&m);
    free(g);
    wire_blobs_free(f, n);
    wire_ctx_free(w);
}

static void test_bad_signature_is_rejected(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("secret", "sha256", &err);
    int n = 0;
    wire_blob *f = make_frames(w, &n);
    f[3].data[0] = f[3].data[0] == 'a' ? 'b' : 'a';
    wire_msg m;
    CHECK(wire_parse(w, f, n, &m, &err) != 0, " ");
    CHECK(strstr(err.msg, "signature") != NULL, "%s", err.msg);
    wire_blobs_free(f, n);

    /* signed with another key */
    wire_ctx *other = wire_ctx_new("other", "sha256", &err);
    f = make_frames(other, &n);
    CHECK(wire_parse(w, f, n, &m, &err) != 0, " ");
    wire_blobs_free(f, n);

    /* a tampered content frame */
    f = make_frames(w, &n);
    f[n - 1].data[2] ^= 1;
    CHECK(wire_parse(w, f, n, &m, &err) != 0, " ");
    wire_blobs_free(f, n);

    /* an empty signature when a key is set */
    f = make_frames(w, &n);
    f[3].len = 0;
    CHECK(wire_parse(w, f, n, &m, &err) != 0, " ");
    wire_blobs_free(f, n);
    wire_ctx_free(other);
    wire_ctx_free(w);
}

static void test_replayed_message_is_rejected(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("secret", "sha256", &err);
    int n = 0;
    wire_blob *f = make_frames(w, &n);
    wire_msg m;
    CHECK(wire_parse(w, f, n, &m, &err) == 0, "%s", err.msg);
    wire_msg_clear(&m);
    CHECK(wire_parse(w, f, n, &m, &err) != 0, " ");
    CHECK(strstr(err.msg, "replay") != NULL, "%s", err.msg);
    wire_blobs_free(f, n);
    wire_ctx_free(w);
}

/* The old record kept 4,096 signatures; this one forgets none. */
static void test_replay_is_never_forgotten(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("secret", "sha256", &err);
    int n = 0;
    wire_blob *first = make_frames(w, &n);
    wire_msg m;
    CHECK(wire_parse(w, first, n, &m, &err) == 0, " ");
    wire_msg_clear(&m);
    const int others = 10000;
    int accepted = 0;
    for (int i = 0; i < others; i++) {
        int k = 0;
        wire_blob *f = make_frames(w, &k);
        if (wire_parse(w, f, k, &m, &err) == 0) {
            accepted++;
            wire_msg_clear(&m);
        }
        wire_blobs_free(f, k);
    }
    CHECK(accepted == others, "%d", accepted);
    CHECK(wire_replay_count(w) == (size_t)others + 1, "%zu", wire_replay_count(w));
    CHECK(wire_parse(w, first, n, &m, &err) != 0, "replayed after %d others", others);
    CHECK(strstr(err.msg, "replay") != NULL, "%s", err.msg);
    wire_blobs_free(first, n);
    wire_ctx_free(w);
}

/* A message with a bad signature does not enter the record (it cannot fill memory). */
static void test_forged_messages_are_not_recorded(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("secret", "sha256", &err);
    for (int i = 0; i < 100; i++) {
        int n = 0;
        wire_blob *f = make_frames(w, &n);
        f[3].data[5] = f[3].data[5] == '0' ? '1' : '0';
        wire_msg m;
        CHECK(wire_parse(w, f, n, &m, &err) != 0, " ");
        wire_blobs_free(f, n);
    }
    CHECK(wire_replay_count(w) == 0, "%zu", wire_replay_count(w));
    wire_ctx_free(w);
}

static void test_sizes_parse(void)
{
    size_t v = 0;
    CHECK(wire_parse_size("268435456", &v) == 0 && v == 268435456u, " ");
    CHECK(wire_parse_size("256M", &v) == 0 && v == (size_t)256 << 20, " ");
    CHECK(wire_parse_size("256MiB", &v) == 0 && v == (size_t)256 << 20, " ");
    CHECK(wire_parse_size("1G", &v) == 0 && v == (size_t)1 << 30, " ");
    CHECK(wire_parse_size("64k", &v) == 0 && v == 65536, " ");
    const char *bad[] = {"", "-5", "12Q", "M", "1.5G", "99999999999999999999", "18446744073709551615G"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(wire_parse_size(bad[i], &v) != 0, "accepted %s", bad[i]);
    lens_error err;
    wire_ctx *w = wire_ctx_new("", "sha256", &err);
    CHECK(wire_max_message(w) == WIRE_DEFAULT_MAX_MESSAGE, " ");
    wire_set_max_message(w, 10);
    CHECK(wire_max_message(w) == 1024, "%zu", wire_max_message(w));
    wire_set_max_message(w, (size_t)8 << 30);
    CHECK(wire_max_message(w) == WIRE_MAX_MAX_MESSAGE, " ");
    wire_ctx_free(w);
}

/* wire_json_size equals the printed length for values without fractions and
 * bounds it from above for the rest. */
static void test_json_size_matches_print(void)
{
    const char *docs[] = {
        "{}", "[]", "{\"a\":1}", "[1,2,3,[4,[5]],{}]", "{\"k\\\"q\":\"tab\\there\\n\\u0001\\\\\"}",
        "{\"x\":true,\"y\":false,\"z\":null,\"s\":\"h\u00e9llo\"}", "[-7,0,2147483647,\"\"]",
        "{\"nested\":{\"deeper\":[{\"a\":[]},{\"b\":{}}]}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        cJSON *j = cJSON_Parse(docs[i]);
        CHECK(j != NULL, "%s", docs[i]);
        if (!j) continue;
        char *p = cJSON_PrintUnformatted(j);
        CHECK(wire_json_size(j) == strlen(p), "%s: %zu vs %zu", docs[i], wire_json_size(j), strlen(p));
        free(p);
        cJSON_Delete(j);
    }
    cJSON *f = cJSON_Parse("[0.1, 3.14159, -2.5e-300, 1e300]");
    char *p = cJSON_PrintUnformatted(f);
    CHECK(wire_json_size(f) >= strlen(p) && wire_json_size(f) <= strlen(p) + 4, "%zu %zu",
          wire_json_size(f), strlen(p));
    free(p);
    cJSON_Delete(f);
    /* 200,000 levels deep: no recursion */
    cJSON *root = cJSON_CreateArray(), *cur = root;
    for (int i = 0; i < 200000; i++) {
        cJSON *next = cJSON_CreateArray();
        cJSON_AddItemToArray(cur, next);
        cur = next;
    }
    CHECK(wire_json_size(root) == 2 * 200001u, "%zu", wire_json_size(root));
    /* free it iteratively too: detach level by level */
    while (root) {
        cJSON *child = root->child;
        if (child) cJSON_DetachItemViaPointer(root, child);
        cJSON_Delete(root);
        root = child;
    }
}

static void test_missing_delimiter_is_rejected(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("", "sha256", &err);
    int n = 0;
    wire_blob *f = make_frames(w, &n);
    memcpy(f[2].data, "<IDS|MSX>", 9);
    wire_msg m;
    CHECK(wire_parse(w, f, n, &m, &err) != 0, " ");
    CHECK(strstr(err.msg, "delimiter") != NULL, "%s", err.msg);
    CHECK(wire_parse(w, f, 0, &m, &err) != 0, " ");
    wire_blobs_free(f, n);
    wire_ctx_free(w);
}

static void test_too_few_frames_are_rejected(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("", "sha256", &err);
    int n = 0;
    wire_blob *f = make_frames(w, &n);
    wire_msg m;
    CHECK(wire_parse(w, f, n - 1, &m, &err) != 0, " ");
    wire_blobs_free(f, n);
    wire_ctx_free(w);
}

static void test_malformed_json_is_rejected(void)
{
    lens_error err;
    const char *bad[] = {"{", "[]", "\"str\"", "", "{\"msg_type\": 3}", "null", "{\"a\":1}}", "{} x"};
    for (int k = 0; k < 8; k++) {
        for (int which = 0; which < 4; which++) {
            if (which > 0 && k == 4) continue; /* only meaningful for the header */
            wire_ctx *w = wire_ctx_new("secret", "sha256", &err);
            const char *parts[4] = {"{\"msg_type\":\"kernel_info_request\"}", "{}", "{}", "{}"};
            parts[which] = bad[k];
            wire_blob f[6] = {{(unsigned char *)"<IDS|MSG>", 9}};
            size_t lens[4];
            for (int i = 0; i < 4; i++) {
                lens[i] = strlen(parts[i]);
                f[2 + i].data = (unsigned char *)parts[i];
                f[2 + i].len = lens[i];
            }
            char sig[129];
            wire_sign(w, parts, lens, sig);
            f[1].data = (unsigned char *)sig;
            f[1].len = strlen(sig);
            wire_msg m;
            CHECK(wire_parse(w, f, 6, &m, &err) != 0, "part %d = %s accepted", which, bad[k]);
            wire_ctx_free(w);
        }
    }
}

static void test_invalid_utf8_is_rejected(void)
{
    lens_error err;
    const char *bad[] = {"{\"a\":\"\xff\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xc0\xaf\"}",
                         "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
                         "{\"a\":\"\xe0\x80\xaf\"}"};
    const char *names[4] = {"header", "parent_header", "metadata", "content"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        for (int which = 0; which < 4; which++) {
            wire_ctx *w = wire_ctx_new("secret", "sha256", &err);
            const char *parts[4] = {"{\"msg_type\":\"kernel_info_request\"}", "{}", "{}", "{}"};
            parts[which] = bad[k];
            wire_blob f[6] = {{(unsigned char *)"<IDS|MSG>", 9}};
            size_t lens[4];
            for (int i = 0; i < 4; i++) {
                lens[i] = strlen(parts[i]);
                f[2 + i].data = (unsigned char *)parts[i];
                f[2 + i].len = lens[i];
            }
            char sig[129];
            wire_sign(w, parts, lens, sig);
            f[1].data = (unsigned char *)sig;
            f[1].len = strlen(sig);
            wire_msg m;
            CHECK(wire_parse(w, f, 6, &m, &err) != 0, "%s accepted bad UTF-8 %zu", names[which], k);
            CHECK(strstr(err.msg, names[which]) && strstr(err.msg, "UTF-8"), "%s", err.msg);
            wire_ctx_free(w);
        }
    }
    /* good multi-byte text passes */
    wire_ctx *w = wire_ctx_new("", "sha256", &err);
    const char *good = "{\"msg_type\":\"x\",\"t\":\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}";
    wire_blob f[6] = {{(unsigned char *)"<IDS|MSG>", 9}, {(unsigned char *)"", 0},
                      {(unsigned char *)good, strlen(good)}, {(unsigned char *)"{}", 2},
                      {(unsigned char *)"{}", 2}, {(unsigned char *)"{}", 2}};
    wire_msg m;
    CHECK(wire_parse(w, f, 6, &m, &err) == 0, "%s", err.msg);
    wire_msg_clear(&m);
    wire_ctx_free(w);
}

static void test_nul_in_content_is_flagged(void)
{
    lens_error err;
    wire_ctx *w = wire_ctx_new("", "sha256", &err);
    const char *contents[] = {"{\"code\":\"a\\u0000b\"}", "{\"code\":\"a\\\\u0000b\"}", "{\"code\":\"ab\"}"};
    bool expect[] = {true, false, false};
    for (int i = 0; i < 3; i++) {
        wire_blob f[6] = {{(unsigned char *)"<IDS|MSG>", 9}, {(unsigned char *)"", 0},
                          {(unsigned char *)"{\"msg_type\":\"x\"}", 16}, {(unsigned char *)"{}", 2},
                          {(unsigned char *)"{}", 2}, {(unsigned char *)contents[i], strlen(contents[i])}};
        wire_msg m;
        CHECK(wire_parse(w, f, 6, &m, &err) == 0, "%s", err.msg);
        CHECK(m.content_has_nul == expect[i], "%s", contents[i]);
        wire_msg_clear(&m);
    }
    wire_ctx_free(w);
}

int main(void)
{
    RUN(test_hmac_sha256_matches_rfc4231);
    RUN(test_other_digests_match_their_rfcs);
    RUN(test_unknown_digest_is_an_error);
    RUN(test_empty_key_signs_nothing);
    RUN(test_header_has_every_field);
    RUN(test_round_trip_keeps_identities_and_content);
    RUN(test_buffers_after_content_are_kept);
    RUN(test_bad_signature_is_rejected);
    RUN(test_replayed_message_is_rejected);
    RUN(test_replay_is_never_forgotten);
    RUN(test_forged_messages_are_not_recorded);
    RUN(test_sizes_parse);
    RUN(test_json_size_matches_print);
    RUN(test_missing_delimiter_is_rejected);
    RUN(test_too_few_frames_are_rejected);
    RUN(test_malformed_json_is_rejected);
    RUN(test_invalid_utf8_is_rejected);
    RUN(test_nul_in_content_is_flagged);
    return harness_summary();
}
