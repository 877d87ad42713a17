/* tests/lang/test_fuzz_regressions.c — inputs the fuzzers found (tests/fuzz/regressions/),
 * replayed in the normal suite. A lang-* input is one cell (lang-NAME) or several run in
 * order in one session (lang-NAME.1, lang-NAME.2, ...), as fuzz_lang runs them; its last
 * cell must give the result or fail with the exception listed (never crash or trip a
 * sanitizer), the session must still answer, and once the session is freed every
 * container the cells made is gone (no cycle outlives it). */
#include <stdio.h>
#include <string.h>

#include "../harness.h"
#include "gc.h"
#include "lang_test_util.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

typedef struct regression {
    const char *file;
    int cells;          /* 0: one file named file; n: file.1 .. file.n */
    const char *want;   /* the last cell's result, or "ERROR <ename>: <start of evalue>" */
} regression;

static const regression CASES[] = {
    /* reshape() with no arguments: get_shape did pointer arithmetic on a NULL
     * argument array (UBSan: applying zero offset to null pointer). */
    {"lang-reshape-without-args", 0, "ERROR RuntimeError: cannot reshape a tensor of shape [12] (12 elements) into []"},
    /* a lambda called in a later cell than the one that defined it ran on that
     * cell's freed syntax tree (ASan: heap-use-after-free in call_lambda). */
    {"lang-lambda-after-its-cell", 2, "1"},
    /* a dict holding itself was never freed (LeakSanitizer, with one session
     * kept across inputs); the cycle collector frees it with the session. */
    {"lang-dict-cycle-leaks", 0, ""},
};

static void run_case(const regression *r)
{
    lang_gc_collect();
    size_t before = lang_gc_tracked_count();
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    const char *got = "(no cell)";
    for (int i = 0; i < (r->cells ? r->cells : 1); i++) {
        char path[256];
        if (r->cells) snprintf(path, sizeof path, "tests/fuzz/regressions/%s.%d", r->file, i + 1);
        else snprintf(path, sizeof path, "tests/fuzz/regressions/%s", r->file);
        char *code = read_all(path);
        CHECK(code, "missing %s", path);
        if (!code) break;
        got = cell(s, code, &c, &err);
        free(code);
    }
    bool is_error = !strncmp(r->want, "ERROR ", 6);
    CHECK(is_error ? !strncmp(got, r->want, strlen(r->want)) : !strcmp(got, r->want),
          "%s\n    got  %s\n    want %s", r->file, got, r->want);
    got = cell(s, "1 + 1", &c, &err);
    CHECK(!strcmp(got, "2"), "%s: the session still answers: %s", r->file, got);
    lang_error_clear(&err);
    lang_session_free(s);
    lang_gc_collect();
    CHECK(lang_gc_tracked_count() == before, "%s: %zu containers outlive the session", r->file,
          lang_gc_tracked_count() - before);
}

static void test_lang_inputs_found_by_fuzzing(void)
{
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) run_case(&CASES[i]);
}

int main(void)
{
    RUN(test_lang_inputs_found_by_fuzzing);
    return harness_summary();
}
