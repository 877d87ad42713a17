/* tests/lang/test_limits.c — one-line cells that used to crash the kernel through
 * size arithmetic, and the memory limit as the language sees it: each must raise
 * the right exception with a message that states the size, and leave the session
 * working. */
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
    CHECK(!strcmp(got, "([1], (1,))"), "got %s", got);
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
    CHECK(!strcmp(got, "([1, 2], (2, 0))"), "0-d tensors are numbers, empty rows are fine: %s", got);
    lang_error_clear(&err);
    lang_session_free(s);
}

int main(void)
{
    RUN(test_sizes_that_overflow_are_refused);
    RUN(test_slices_and_lists_that_used_to_wrap);
    return harness_summary();
}
