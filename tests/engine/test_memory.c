/* tests/engine/test_memory.c — the size rule (lens/checked.h) and the process's memory
 * budget (lens/memory.h): shapes whose element counts overflow are refused even beside
 * a 0, allocations over the limit are refused with the sizes stated, freed memory goes
 * back to the budget, and activation caches held across runs count against one limit. */
#include <string.h>

#include "../harness.h"
#include "lens/checked.h"
#include "lens/memory.h"
#include "lens/model.h"
#include "lens/tensor_ops.h"

#define MiB ((size_t)1 << 20)

static void test_shape_numel_refuses_overflow_even_beside_a_zero(void)
{
    lens_error err;
    int64_t n = -1;
    CHECK(lens_shape_numel(3, (int64_t[]){4, 11, 64}, &n, &err) == 0 && n == 2816);
    CHECK(lens_shape_numel(0, NULL, &n, &err) == 0 && n == 1, "a 0-d tensor has one element");
    CHECK(lens_shape_numel(2, (int64_t[]){(int64_t)1 << 40, 0}, &n, &err) == 0 && n == 0);
    CHECK(lens_shape_numel(1, (int64_t[]){LENS_MAX_NUMEL}, &n, &err) == 0 && n == LENS_MAX_NUMEL);
    CHECK(lens_shape_numel(1, (int64_t[]){LENS_MAX_NUMEL + 1}, &n, &err) == -1 && err.kind == LENS_ERR_TOO_LARGE);
    CHECK(!strcmp(err.msg, "tensor too large: shape [1152921504606846977] has more than 2^60 elements"), "%s", err.msg);
    CHECK(lens_shape_numel(3, (int64_t[]){(int64_t)1 << 32, (int64_t)1 << 32, 0}, &n, &err) == -1);
    CHECK(!strcmp(err.msg, "tensor too large: shape [4294967296, 4294967296, 0] has more than 2^60 elements"), "%s", err.msg);
    CHECK(lens_shape_numel(2, (int64_t[]){INT64_MAX, INT64_MAX}, &n, &err) == -1 && err.kind == LENS_ERR_TOO_LARGE);
    CHECK(lens_shape_numel(2, (int64_t[]){3, -1}, &n, &err) == -1 && err.kind == LENS_ERR_OTHER);
    CHECK(strstr(err.msg, "negative dimension -1 in the shape [3, -1]"), "%s", err.msg);
    CHECK(lens_shape_numel(9, (int64_t[9]){1}, &n, &err) == -1 && strstr(err.msg, "at most 8 dimensions"), "%s", err.msg);
    size_t bytes = 0;
    CHECK(lens_shape_bytes(LENS_I64, 1, (int64_t[]){LENS_MAX_NUMEL}, &bytes, &err) == 0 && bytes == (size_t)1 << 63);
}

static void test_constructors_and_views_refuse_what_would_wrap(void)
{
    lens_error err;
    CHECK(!lens_tensor_new_v(LENS_F32, 1, (int64_t)1 << 62));
    lens_fail_alloc(&err);
    CHECK(err.kind == LENS_ERR_TOO_LARGE && strstr(err.msg, "shape [4611686018427387904]"), "%s", err.msg);
    lens_tensor *one = lens_tensor_new_v(LENS_F32, 1, (int64_t)1);
    CHECK(!lens_tensor_expand(one, 2, (int64_t[]){(int64_t)1 << 40, (int64_t)1 << 40}, &err));
    CHECK(err.kind == LENS_ERR_TOO_LARGE && strstr(err.msg, "[1099511627776, 1099511627776]"), "%s", err.msg);
    lens_tensor *big = lens_tensor_expand(one, 2, (int64_t[]){(int64_t)1 << 30, (int64_t)1 << 30}, &err);
    CHECK(big && lens_tensor_numel(big) == (int64_t)1 << 60, "a stride-0 view of 2^60 elements is fine: %s", err.msg);
    lens_tensor_free(big);
    lens_tensor *empty = lens_tensor_new_v(LENS_F32, 1, (int64_t)0);
    CHECK(!lens_tensor_reshape(empty, 3, (int64_t[]){0, (int64_t)1 << 40, (int64_t)1 << 40}, &err));
    CHECK(err.kind == LENS_ERR_TOO_LARGE, "%s", err.msg);
    CHECK(!lens_tensor_reshape(empty, 3, (int64_t[]){-1, (int64_t)1 << 40, (int64_t)1 << 40}, &err));
    CHECK(err.kind == LENS_ERR_TOO_LARGE, "%s", err.msg);
    /* Slice lengths with steps near the int64 limits. */
    lens_tensor *r = lens_arange(0, 10, 1, LENS_I64, &err);
    lens_tensor *s1 = lens_tensor_slice(r, 0, 1, 9, INT64_MAX, &err);
    CHECK(s1 && s1->shape[0] == 1 && lens_tensor_i64(s1)[0] == 1);
    lens_tensor *s2 = lens_tensor_slice(r, 0, 9, INT64_MIN, INT64_MIN, &err);
    CHECK(s2 && s2->shape[0] == 1 && lens_tensor_i64(s2)[0] == 9);
    CHECK(!lens_tensor_narrow(r, 0, INT64_MAX, INT64_MAX), "start + len must not wrap");
    lens_tensor_free(s1); lens_tensor_free(s2); lens_tensor_free(r);
    lens_tensor_free(empty); lens_tensor_free(one);
}

static void test_allocations_over_the_limit_are_refused_with_the_sizes(void)
{
    size_t before = lens_mem_in_use();
    lens_set_memory_limit(before + 64 * MiB);
    lens_error err;
    lens_tensor *a = lens_zeros(LENS_F32, 1, (int64_t[]){(int64_t)(40 * MiB / 4)}, &err);
    CHECK(a && lens_mem_in_use() == before + 40 * MiB, "in use %zu", lens_mem_in_use() - before);
    lens_tensor *b = lens_ones(LENS_F32, 2, (int64_t[]){(int64_t)(7 * MiB), 1}, &err);
    CHECK(!b && err.kind == LENS_ERR_MEMORY);
    char want[256];
    snprintf(want, sizeof want, "cannot allocate 28.0 MiB for a float32 tensor of shape [7340032, 1]: ");
    CHECK(!strncmp(err.msg, want, strlen(want)) && strstr(err.msg, " of the ") &&
          strstr(err.msg, " memory limit is in use (LENS_MEMORY_LIMIT)"), "%s", err.msg);
    /* A result too large for what is left says the same (here a [10M] + [10M] sum). */
    lens_tensor *c = lens_binary(LENS_OP_ADD, a, a, &err);
    CHECK(!c && err.kind == LENS_ERR_MEMORY && strstr(err.msg, "cannot allocate 40.0 MiB for a float32 tensor of shape [10485760]"), "%s", err.msg);
    /* Freed memory goes back: the same request now succeeds, and again after that. */
    lens_tensor_free(a);
    CHECK(lens_mem_in_use() == before, "released %zu", lens_mem_in_use() - before);
    for (int round = 0; round < 3; round++) {
        b = lens_ones(LENS_F32, 2, (int64_t[]){(int64_t)(7 * MiB), 1}, &err);
        lens_tensor *a2 = lens_zeros(LENS_F32, 1, (int64_t[]){(int64_t)(36 * MiB / 4)}, &err);
        CHECK(b && a2, "round %d: %s", round, err.msg);
        CHECK(lens_mem_in_use() == before + 64 * MiB);
        lens_tensor_free(b);
        lens_tensor_free(a2);
    }
    /* Views share the storage and count nothing; the storage goes with its last view. */
    a = lens_zeros(LENS_F32, 1, (int64_t[]){1024}, &err);
    lens_tensor *v = lens_tensor_select(a, 0, 3);
    lens_tensor_free(a);
    CHECK(lens_mem_in_use() == before + 4096);
    lens_tensor_free(v);
    CHECK(lens_mem_in_use() == before);
    /* The reservation API itself. */
    CHECK(lens_mem_reserve(65 * MiB, "a test", &err) == -1 && err.kind == LENS_ERR_MEMORY);
    CHECK(strstr(err.msg, "cannot allocate 65.0 MiB for a test"), "%s", err.msg);
    CHECK(lens_mem_reserve(64 * MiB, "a test", &err) == 0);
    CHECK(lens_mem_reserve(1, "a byte", &err) == -1 && strstr(err.msg, "64.0 MiB of the 64.0 MiB memory limit"), "%s", err.msg);
    lens_mem_release(64 * MiB);
    CHECK(lens_mem_in_use() == before);
    lens_set_memory_limit(0);
}

/* Three runs whose caches are held: the third does not fit once two are held, and
 * fits again when one is freed (the limit bounds the process, not each run). */
static void test_held_caches_count_against_one_limit(void)
{
    lens_error err;
    lens_processing p = lens_processing_default();
    lens_model *m = lens_model_load("tests/fixtures/tiny-gpt2", &p, &err);
    CHECK(m, "%s", err.msg);
    if (!m) return;
    lens_tensor *tokens = lens_tensor_new_v(LENS_I64, 2, (int64_t)4, (int64_t)11);
    lens_run_options o = lens_run_options_default();
    size_t need = lens_run_estimate_bytes(m, 4, 11, &o);
    size_t base = lens_mem_in_use();
    lens_set_memory_limit(base + need * 5 / 2);
    lens_tensor *logits[3] = {0};
    lens_cache *cache[3] = {0};
    CHECK(lens_model_run(m, tokens, &o, &logits[0], &cache[0], &err) == 0, "%s", err.msg);
    CHECK(lens_model_run(m, tokens, &o, &logits[1], &cache[1], &err) == 0, "%s", err.msg);
    CHECK(lens_mem_in_use() >= base + 2 * need, "two runs hold %zu of %zu", lens_mem_in_use() - base, 2 * need);
    CHECK(lens_model_run(m, tokens, &o, &logits[2], &cache[2], &err) == -1 && err.kind == LENS_ERR_MEMORY);
    CHECK(strstr(err.msg, "this run needs") && strstr(err.msg, "is in use") && strstr(err.msg, "LENS_MEMORY_LIMIT"), "%s", err.msg);
    CHECK(!logits[2] && !cache[2]);
    lens_cache_free(cache[0]);
    lens_tensor_free(logits[0]);
    CHECK(lens_model_run(m, tokens, &o, &logits[2], &cache[2], &err) == 0, "after freeing one: %s", err.msg);
    for (int i = 1; i < 3; i++) { lens_cache_free(cache[i]); lens_tensor_free(logits[i]); }
    CHECK(lens_mem_in_use() == base, "all released: %zu left", lens_mem_in_use() - base);
    lens_set_memory_limit(0);
    lens_tensor_free(tokens);
    lens_model_free(m);
}

/* Loading weights over the limit is a memory error naming the limit and the weight
 * (the language raises MemoryError), not a plain "out of memory"; nothing stays
 * reserved. The weights cache is off, so the weights are read into tensors. */
static void test_a_load_over_the_limit_is_a_memory_error(void)
{
    const char *cache = getenv("LENS_CACHE_DIR");
    char *saved = cache ? strdup(cache) : NULL;
    setenv("LENS_CACHE_DIR", "none", 1);
    size_t before = lens_mem_in_use();
    lens_set_memory_limit(before + 256 * 1024);
    lens_error err = {0};
    lens_processing p = lens_processing_default();
    lens_model *m = lens_model_load("tests/fixtures/tiny-gpt2", &p, &err);
    CHECK(!m && err.kind == LENS_ERR_MEMORY, "kind %d: %s", (int)err.kind, err.msg);
    CHECK(strstr(err.msg, "model.safetensors: loading \"wte.weight\": cannot allocate") &&
          strstr(err.msg, "(LENS_MEMORY_LIMIT)"), "%s", err.msg);
    CHECK(lens_mem_in_use() == before, "%zu bytes left reserved", lens_mem_in_use() - before);
    lens_model_free(m);
    lens_set_memory_limit(0);
    if (saved) setenv("LENS_CACHE_DIR", saved, 1); else unsetenv("LENS_CACHE_DIR");
    free(saved);
}

int main(void)
{
    RUN(test_shape_numel_refuses_overflow_even_beside_a_zero);
    RUN(test_constructors_and_views_refuse_what_would_wrap);
    RUN(test_allocations_over_the_limit_are_refused_with_the_sizes);
    RUN(test_held_caches_count_against_one_limit);
    RUN(test_a_load_over_the_limit_is_a_memory_error);
    return harness_summary();
}
