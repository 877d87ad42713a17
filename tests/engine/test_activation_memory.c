/* test_activation_memory.c — activation caches reuse their memory across runs
 * (engine/arena_pool.c): a re-run alternates between two arenas, the first
 * cache stays readable and equal to TransformerLens's activations while the
 * second run fills its own, and the pool is released on request, when idle, and
 * not used at all when pooling is off. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../harness.h"
#include "model_fixture.h"

static lens_safetensors *ref;
static lens_tensor *ref_tokens;
static lens_model *model;

/* How many "default.cache.<hook>" fixture entries the cache matches (all must). */
static int matching_hooks(const lens_cache *cache)
{
    int n = 0, total = 0;
    for (int i = 0; i < lens_safetensors_count(ref); i++) {
        const lens_st_entry *e = lens_safetensors_entry(ref, i);
        if (strncmp(e->name, "default.cache.", 14)) continue;
        total++;
        lens_tensor *want = fixture_tensor(ref, e->name);
        const lens_tensor *got = lens_cache_get(cache, e->name + 14);
        if (got && tensor_rel_err(got, want) <= 1e-4) n++;
        lens_tensor_free(want);
    }
    return n == total ? n : -n;
}

static lens_cache *run_cached(lens_run_options *o)
{
    lens_error err;
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    if (lens_model_run(model, ref_tokens, o, &logits, &cache, &err)) fprintf(stderr, "run: %s\n", err.msg);
    lens_tensor_free(logits);
    return cache;
}

/* The storage all of a cache's tensors share (its arena). */
static const void *arena_of(const lens_cache *c)
{
    return c && lens_cache_count(c) ? lens_cache_at(c, 0)->storage->data : NULL;
}

typedef struct watcher { const lens_cache *first; int calls, first_correct; } watcher;

/* hook_fn of the second run: reads the first run's cache while this run fills its own. */
static int check_first_cache(void *ctx, const char *name, lens_tensor *act, lens_error *err)
{
    (void)name; (void)act; (void)err;
    watcher *w = ctx;
    if (w->calls++ % 10 == 0) w->first_correct += matching_hooks(w->first) > 0;
    return 0;
}

static void test_a_rerun_alternates_between_two_arenas(void)
{
    lens_activation_pool_release();
    lens_activation_pool_info s0, s;
    lens_activation_pool_stats(&s0);
    lens_run_options o = lens_run_options_default();
    lens_cache *first = run_cached(&o);
    int hooks = matching_hooks(first);
    CHECK(hooks == 2 + 2 * 17 + 3, "first run matches %d hooks", hooks);

    watcher w = {.first = first};
    lens_run_options ow = o;
    ow.hook_fn = check_first_cache;
    ow.hook_ctx = &w;
    lens_cache *second = run_cached(&ow);
    CHECK(w.calls > 20 && w.first_correct == (w.calls + 9) / 10,
          "first cache correct at %d of %d checks during the second run", w.first_correct, (w.calls + 9) / 10);
    CHECK(matching_hooks(first) == hooks, "first cache after the second run");
    CHECK(matching_hooks(second) == hooks, "second cache");
    CHECK(arena_of(first) && arena_of(second) && arena_of(first) != arena_of(second));
    lens_activation_pool_stats(&s);
    CHECK(s.mapped == s0.mapped + 2 && s.pooled == 0, "mapped %zu pooled %d", s.mapped - s0.mapped, s.pooled);

    /* logits, cache = run_with_cache(...) again: the new cache, then the old one goes */
    const void *arenas[2] = {arena_of(first), arena_of(second)};
    lens_cache *prev = second;
    lens_cache_free(first);
    for (int i = 0; i < 4; i++) {
        lens_activation_pool_stats(&s);
        CHECK(s.pooled == 1, "rerun %d: %d pooled before", i, s.pooled);
        lens_cache *next = run_cached(&o);
        CHECK(arena_of(next) == arenas[i % 2], "rerun %d took the pooled arena", i);
        CHECK(matching_hooks(next) == hooks, "rerun %d cache", i);
        lens_cache_free(prev);
        prev = next;
    }
    lens_activation_pool_stats(&s);
    CHECK(s.mapped == s0.mapped + 2, "six runs mapped %zu arenas", s.mapped - s0.mapped);
    lens_cache_free(prev);
    lens_activation_pool_release();
    lens_activation_pool_stats(&s);
    CHECK(s.pooled == 0 && s.pooled_bytes == 0);
}

static lens_cache *run_tokens(const lens_tensor *tokens, const lens_run_options *o)
{
    lens_error err;
    lens_cache *cache = NULL;
    if (lens_model_run(model, tokens, o, NULL, &cache, &err)) fprintf(stderr, "run: %s\n", err.msg);
    return cache;
}

static void test_each_run_takes_a_pooled_arena_of_its_size(void)
{
    lens_activation_pool_release();
    /* no idle release between the runs, however slowly they go (valgrind) */
    lens_set_activation_pool_idle(3600);
    int64_t B = ref_tokens->shape[0], P = ref_tokens->shape[1], reps = 64;
    lens_tensor *many = lens_tensor_new_v(LENS_I64, 2, B * reps, P);
    for (int64_t r = 0; r < reps; r++)
        memcpy(lens_tensor_i64(many) + r * B * P, lens_tensor_i64(ref_tokens), (size_t)(B * P) * sizeof(int64_t));
    lens_run_options all = lens_run_options_default(), embed_only = all;
    embed_only.names_regex = "^hook_embed$";
    lens_activation_pool_info s0, s;
    lens_activation_pool_stats(&s0);

    lens_cache *big = run_tokens(many, &all);
    const void *big_arena = arena_of(big);
    lens_cache_free(big);
    lens_activation_pool_stats(&s);
    CHECK(s.pooled == 1 && s.pooled_bytes >= (size_t)8 << 20, "big arena %zu bytes", s.pooled_bytes);

    lens_cache *small = run_tokens(ref_tokens, &embed_only);   /* wastes most of the big one: fresh */
    lens_activation_pool_stats(&s);
    CHECK(s.pooled == 1 && s.mapped == s0.mapped + 2 && arena_of(small) != big_arena);
    CHECK(lens_cache_count(small) == 1);
    lens_cache_free(small);

    lens_cache *again = run_tokens(many, &all);
    CHECK(arena_of(again) == big_arena, "the big run takes the big arena back");
    const lens_tensor *r1 = lens_cache_get(again, "blocks.1.hook_resid_post");
    lens_tensor *want = fixture_tensor(ref, "default.cache.blocks.1.hook_resid_post");
    lens_tensor *last_rep = r1 ? lens_tensor_narrow(r1, 0, (reps - 1) * B, B) : NULL;
    CHECK(tensor_rel_err(last_rep, want) <= 1e-4, "the last replica's resid_post");
    lens_tensor_free(last_rep);
    lens_tensor_free(want);
    lens_cache_free(again);
    lens_activation_pool_stats(&s);
    CHECK(s.pooled == 2 && s.mapped == s0.mapped + 2, "pooled %d mapped %zu", s.pooled, s.mapped - s0.mapped);
    lens_tensor_free(many);
    lens_activation_pool_release();
    lens_set_activation_pool_idle(60);
}

static void test_the_pool_is_released_when_idle_and_can_be_turned_off(void)
{
    lens_activation_pool_release();
    lens_run_options o = lens_run_options_default();
    lens_activation_pool_info s;
    lens_set_activation_pool_idle(0.05);
    lens_cache_free(run_cached(&o));
    int pooled_at_start = 0;
    for (int i = 0; i < 500; i++) {   /* the releasing thread runs after 50 ms idle */
        lens_activation_pool_stats(&s);
        if (i == 0) pooled_at_start = s.pooled;
        if (s.pooled == 0) break;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    CHECK(pooled_at_start <= 1 && s.pooled == 0, "still %d pooled", s.pooled);

    lens_set_activation_pool_idle(0);
    lens_activation_pool_info s0;
    lens_activation_pool_stats(&s0);
    lens_cache *a = run_cached(&o);
    lens_cache_free(a);
    lens_activation_pool_stats(&s);
    CHECK(s.pooled == 0 && s.mapped == s0.mapped + 1, "pooling off: %d pooled", s.pooled);
    lens_cache *b = run_cached(&o);
    CHECK(matching_hooks(b) == 2 + 2 * 17 + 3);
    lens_cache_free(b);
    lens_activation_pool_stats(&s);
    CHECK(s.mapped == s0.mapped + 2);
    lens_set_activation_pool_idle(60);
}

int main(void)
{
    lens_error err;
    ref = lens_safetensors_open(TINY_REF, &err);
    if (!ref) { fprintf(stderr, "%s\n", err.msg); return 1; }
    ref_tokens = fixture_tensor(ref, "tokens");
    lens_processing p = lens_processing_default();
    model = lens_model_load(TINY_DIR, &p, &err);
    if (!model) { fprintf(stderr, "load: %s\n", err.msg); return 1; }
    RUN(test_a_rerun_alternates_between_two_arenas);
    RUN(test_each_run_takes_a_pooled_arena_of_its_size);
    RUN(test_the_pool_is_released_when_idle_and_can_be_turned_off);
    lens_model_free(model);
    lens_tensor_free(ref_tokens);
    lens_safetensors_close(ref);
    return harness_summary();
}
