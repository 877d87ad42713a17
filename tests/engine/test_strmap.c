/* test_strmap.c — the engine's string -> int64 hash table (engine/strmap.h). */
#include "../harness.h"
#include "../../engine/strmap.h"

static void test_strmap_finds_what_was_put_and_nothing_else(void)
{
    lens_strmap *m = lens_strmap_new(4);
    CHECK(lens_strmap_put(m, "hello", 5, 42) == 0, "put");
    CHECK(lens_strmap_put(m, "help", 4, -7) == 0, "put");
    int64_t v = 0;
    CHECK(lens_strmap_get(m, "hello", 5, &v) == 1 && v == 42, "v=%lld", (long long)v);
    CHECK(lens_strmap_get(m, "help", 4, &v) == 1 && v == -7, "v=%lld", (long long)v);
    CHECK(lens_strmap_get(m, "hell", 4, &v) == 0, "prefix is a different key");
    CHECK(lens_strmap_get(m, "hello!", 6, NULL) == 0, "longer key");
    CHECK(lens_strmap_count(m) == 2, "count %zu", lens_strmap_count(m));
    lens_strmap_free(m);
}

static void test_strmap_put_replaces_the_value_of_an_existing_key(void)
{
    lens_strmap *m = lens_strmap_new(0);
    lens_strmap_put(m, "k", 1, 1);
    lens_strmap_put(m, "k", 1, 2);
    int64_t v = 0;
    CHECK(lens_strmap_get(m, "k", 1, &v) && v == 2, "v=%lld", (long long)v);
    CHECK(lens_strmap_count(m) == 1, "count %zu", lens_strmap_count(m));
    lens_strmap_free(m);
}

static void test_strmap_keys_are_bytes_with_a_length(void)
{
    lens_strmap *m = lens_strmap_new(8);
    lens_strmap_put(m, "a\0b", 3, 1);
    lens_strmap_put(m, "a\0c", 3, 2);
    lens_strmap_put(m, "", 0, 3);
    int64_t v = 0;
    CHECK(lens_strmap_get(m, "a\0c", 3, &v) && v == 2, "embedded NUL");
    CHECK(lens_strmap_get(m, "a", 1, &v) == 0, "a is not a\\0b");
    CHECK(lens_strmap_get(m, "", 0, &v) && v == 3, "empty key");
    lens_strmap_free(m);
}

/* Only empty keys: the arena stays unallocated, and finding the key again must not
 * offset its NULL pointer (UBSan under make test SANITIZE=1; found by fuzz_tokenizer). */
static void test_strmap_holds_an_empty_key_alone(void)
{
    lens_strmap *m = lens_strmap_new(2);
    CHECK(lens_strmap_put(m, "", 0, 5) == 0 && lens_strmap_put(m, "", 0, 6) == 0, "put twice");
    int64_t v = 0;
    CHECK(lens_strmap_get(m, "", 0, &v) == 1 && v == 6, "v=%lld", (long long)v);
    CHECK(lens_strmap_count(m) == 1, "count %zu", lens_strmap_count(m));
    lens_strmap_free(m);
}

static void test_strmap_grows_past_its_initial_size(void)
{
    lens_strmap *m = lens_strmap_new(1);
    char key[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        CHECK(lens_strmap_put(m, key, (size_t)n, i * 3) == 0, "put %d", i);
    }
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        int64_t v;
        if (!lens_strmap_get(m, key, (size_t)n, &v) || v != i * 3) bad++;
    }
    CHECK(bad == 0, "%d keys lost", bad);
    CHECK(lens_strmap_count(m) == 20000, "count %zu", lens_strmap_count(m));
    lens_strmap_clear(m);
    CHECK(lens_strmap_count(m) == 0, "count after clear %zu", lens_strmap_count(m));
    CHECK(lens_strmap_get(m, "key-5", 5, NULL) == 0, "cleared");
    lens_strmap_put(m, "again", 5, 1);
    CHECK(lens_strmap_get(m, "again", 5, NULL) == 1, "usable after clear");
    lens_strmap_free(m);
}

int main(void)
{
    RUN(test_strmap_finds_what_was_put_and_nothing_else);
    RUN(test_strmap_put_replaces_the_value_of_an_existing_key);
    RUN(test_strmap_keys_are_bytes_with_a_length);
    RUN(test_strmap_holds_an_empty_key_alone);
    RUN(test_strmap_grows_past_its_initial_size);
    return harness_summary();
}
