/* tests/lang/test_limits.c — one-line cells that used to crash the kernel through
 * size arithmetic, and the memory limit as the language sees it: each must raise
 * the right exception with a message that states the size, and leave the session
 * working. The model's paths (forward and cache, patching, the backward pass, a
 * tensor op on an activation) raise MemoryError by the engine error's kind. */
#include <string.h>

#include "../harness.h"
#include "lang_test_util.h"
#include "lens/memory.h"
#include "lens/model.h"

typedef struct { const char *code, *ename, *needle; } raising;

static void expect_all(lang_session *s, const raising *cases, size_t n)
{
    lang_error err = {0};
    capture c;
    for (size_t i = 0; i < n; i++) {
        const char *got = cell(s, cases[i].code, &c, &err);
        CHECK(!strcmp(err.ename, cases[i].ename) && strstr(err.evalue, cases[i].needle),
              "%s -> %s (want %s containing \"%s\")", cases[i].code, got, cases[i].ename, cases[i].needle);
        lang_error_clear(&err);
        got = cell(s, "1 + 1", &c, &err);
        CHECK(!strcmp(got, "2"), "the session still works after %s: %s", cases[i].code, got);
    }
}

static void test_sizes_that_overflow_are_refused(void)
{
    static const raising cases[] = {
        {"zeros(2**62)", "ValueError", "shape [4611686018427387904] has more than 2^60 elements"},
        {"ones(2**40, 2**40)", "ValueError", "shape [1099511627776, 1099511627776] has more than 2^60 elements"},
        {"full((2**31, 2**31, 2**31), 1.5)", "ValueError", "more than 2^60 elements"},
        {"zeros(0, 2**62, 2**62)", "ValueError", "shape [0, 4611686018427387904, 4611686018427387904]"},
        {"zeros(0, 2**62, 2**62).sum(0)", "ValueError", "more than 2^60 elements"},
        {"randn(2**61, 8)", "ValueError", "more than 2^60 elements"},
        {"randint(0, 5, (2**33, 2**33))", "ValueError", "more than 2^60 elements"},
        {"zeros(1).expand(2**40, 2**40)", "ValueError", "shape [1099511627776, 1099511627776]"},
        {"zeros(4).reshape(2**62, 2**62, 0)", "ValueError", "more than 2^60 elements"},
        {"zeros(0).reshape(0, 2**40, 2**40)", "ValueError", "more than 2^60 elements"},
        {"zeros(0).reshape(-1, 2**62, 2**62)", "ValueError", "more than 2^60 elements"},
        {"arange(1e18)", "RuntimeError", "too many"},
        {"zeros(-3)", "ValueError", "negative dimension -3"},
    };
    lang_session *s = lang_session_new();
    expect_all(s, cases, sizeof cases / sizeof *cases);
    lang_session_free(s);
}

static void test_slices_and_lists_that_used_to_wrap(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    /* A step near INT64_MAX once overflowed the length computation. */
    const char *got = cell(s, "x = arange(10)\nx[1:9:9223372036854775807].tolist(), x[2:5:2**62].shape", &c, &err);
    CHECK(!strcmp(got, "([1], torch.Size([1]))"), "got %s", got);
    lang_error_clear(&err);
    /* A number before a sequence gave a tensor sized from the last item (a heap overflow for [1, []]). */
    static const raising ragged[] = {
        {"tensor([1, []])", "ValueError", "expected a number at dim 1"},
        {"tensor([1, [2, 3]])", "ValueError", "expected a number at dim 1"},
        {"tensor([1, zeros(2)])", "ValueError", "expected a number at dim 1"},
        {"tensor([[1, 2], tensor(3)])", "ValueError", "different shapes"},
    };
    expect_all(s, ragged, sizeof ragged / sizeof *ragged);
    got = cell(s, "tensor([tensor(1), tensor(2)]).tolist(), tensor([[], []]).shape", &c, &err);
    CHECK(!strcmp(got, "([1, 2], torch.Size([2, 0]))"), "0-d tensors are numbers, empty rows are fine: %s", got);
    lang_error_clear(&err);
    lang_session_free(s);
}

/* One limit for tensors, strings and lists: each refused with the sizes, and memory
 * freed by del comes back. */
static void test_the_memory_limit_covers_tensors_strings_and_lists(void)
{
    lang_session *s = lang_session_new();
    lens_set_memory_limit(lens_mem_in_use() + ((size_t)256 << 20));
    static const raising cases[] = {
        {"ones(3*10**9)", "MemoryError", "cannot allocate 11.18 GiB for a float32 tensor of shape [3000000000]: "},
        {"zeros(2**40, dtype=int64)", "MemoryError", "cannot allocate 8192.00 GiB for a int64 tensor"},
        {"'x' * 10**10", "MemoryError", "cannot allocate 9.31 GiB for a string: "},
        {"[0] * 10**9", "MemoryError", "cannot allocate 7.45 GiB for a list: "},
        {"(1, 2) * 10**9", "MemoryError", "cannot allocate 14.90 GiB for a tuple: "},
        {"big = 'y' * (200 * 2**20)\nbig + big", "MemoryError", "cannot allocate 400.0 MiB for a string: 200.0 MiB of the "},
        {"'x' * 2**62", "MemoryError", "cannot allocate 4294967296.00 GiB for a string"},
        {"'x' * 2**63 if False else 'xy' * 2**62", "MemoryError", "too large"},
    };
    expect_all(s, cases, sizeof cases / sizeof *cases);
    lang_error err = {0};
    capture c;
    /* Near the limit, freed, and again: the budget comes back each time. */
    const char *got = cell(s, "del big", &c, &err);
    for (int i = 0; i < 3; i++) {
        got = cell(s, "t = zeros(50 * 2**20)\ndel t\nbig = 'y' * (200 * 2**20)\nn = len(big)\ndel big\n"
                      "l = [None] * (25 * 2**20)\nn += len(l)\ndel l\nn", &c, &err);
        CHECK(!strcmp(got, "235929600"), "round %d: %s", i, got);
        lang_error_clear(&err);
    }
    lang_session_free(s);
    lens_set_memory_limit(0);
}

/* A stride-0 view of 2^40 elements costs nothing; every op that would materialize
 * it or something larger is refused with its size, and gathers from it work. */
static void test_ops_on_huge_views_are_refused_with_their_size(void)
{
    lang_session *s = lang_session_new();
    lens_set_memory_limit(lens_mem_in_use() + ((size_t)256 << 20));
    lang_error err = {0};
    capture c;
    const char *got = cell(s, "e = zeros(1).expand(2**40)\ne.shape, e[tensor([0, 2**40 - 1])].tolist()", &c, &err);
    CHECK(!strcmp(got, "(torch.Size([1099511627776]), [0.0, 0.0])"), "%s", got);
    lang_error_clear(&err);
    static const raising cases[] = {
        {"cat([zeros(1).expand(2**59)] * 3)", "ValueError", "cat: tensor too large: more than 2^60 elements along dimension 0"},
        {"zeros(1, 1).expand(2**31, 1) @ zeros(1, 1).expand(1, 2**31)", "ValueError",
         "matmul: tensor too large: shape [2147483648, 2147483648] has more than 2^60 elements"},
        {"einsum('i,j->ij', e, e)", "MemoryError", "cannot allocate 4096.00 GiB for a float32 tensor of shape [1099511627776]"},
        {"topk(e, 3)", "MemoryError", "cannot allocate 4096.00 GiB"},
        {"e.sort()", "MemoryError", "cannot allocate 4096.00 GiB"},
        {"e.sum()", "MemoryError", "cannot allocate 4096.00 GiB"},
        {"e + 1", "MemoryError", "cannot allocate 4096.00 GiB"},
        {"stack([e, e])", "MemoryError", "cannot allocate 8192.00 GiB for a float32 tensor of shape [2, 1099511627776]"},
        {"e.reshape(2**20, 2**20).T.contiguous()", "MemoryError", "cannot allocate 4096.00 GiB"},
    };
    expect_all(s, cases, sizeof cases / sizeof *cases);
    lang_session_free(s);
    lens_set_memory_limit(0);
}

/* Past the limit, each of the engine's paths on a model raises MemoryError (the
 * kind of its error, not its words) naming the limit, and the session goes on. */
static void test_the_memory_limit_covers_the_model(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    /* bad is not the clean batch with its rows swapped: that batch's mean logit
     * difference equals the clean one's, which leaves the metric undefined. */
    const char *got = cell(s, "model = load('tests/fixtures/tiny-gpt2')\n"
                              "tokens = model.to_tokens(['So John is a really great friend', 'So Mary is a really great friend'])\n"
                              "bad = model.to_tokens(['So Mary is a really great friend', 'So Mary is a really great friend'])\n"
                              "answers = tensor([[model.to_single_token(' he'), model.to_single_token(' she')]] * 2)\n"
                              "logits, cache = model.run_with_cache(tokens)\n"
                              "bad_logits = model(bad)\n"
                              "metric = normalized_logit_diff(answers, clean=logits, corrupted=bad_logits)\n"
                              "long = randint(0, model.cfg.d_vocab, (64, model.cfg.n_ctx))\n"
                              "resid = cache['resid_pre', 0]\n"
                              "tokens.shape[0]", &c, &err);
    CHECK(!strcmp(got, "2"), "setup: %s", got);
    lang_error_clear(&err);
    lens_set_memory_limit(lens_mem_in_use() + ((size_t)16 << 10));
    static const raising cases[] = {
        {"model.run_with_cache(long)", "MemoryError", "this run needs 1.68 GiB for its cache and logits"},
        {"model(long)", "MemoryError", "this run needs 1.53 GiB for its cache and logits"},
        {"resid[None].expand(1000, 2, resid.shape[1], resid.shape[2]) * 2", "MemoryError",
         "cannot allocate 3.9 MiB for a float32 tensor of shape [1000, 2, 8, 64]"},
        {"patch(model, bad, cache, 'resid_pre', metric)", "MemoryError", "memory limit"},
        {"model.run_with_cache(bad, metric=metric, incl_bwd=True)", "MemoryError", "memory limit"},
        {"model.run_with_cache(bad, metric=lambda l: l[0, -1, 0] - l[0, -1, 1], incl_bwd=True)", "MemoryError", "memory limit"},
        {"attribution_patch(model, bad, cache, 'resid_pre', metric)", "MemoryError", "memory limit"},
        {"model.run_with_cache(long, metric=lambda l: l[0, -1, 0] - l[0, -1, 1], incl_bwd=True)", "MemoryError",
         "this run with gradients needs 2.05 GiB for the activations the backward pass reads"},
    };
    expect_all(s, cases, sizeof cases / sizeof *cases);
    lens_set_memory_limit(0);
    got = cell(s, "model.run_with_cache(bad, metric=metric, incl_bwd=True)[2]['resid_pre', 0].shape == resid.shape", &c, &err);
    CHECK(!strcmp(got, "True"), "after the limit is raised: %s", got);
    lang_error_clear(&err);
    lang_session_free(s);
}

int main(void)
{
    RUN(test_sizes_that_overflow_are_refused);
    RUN(test_slices_and_lists_that_used_to_wrap);
    RUN(test_the_memory_limit_covers_tensors_strings_and_lists);
    RUN(test_ops_on_huge_views_are_refused_with_their_size);
    RUN(test_the_memory_limit_covers_the_model);
    return harness_summary();
}
