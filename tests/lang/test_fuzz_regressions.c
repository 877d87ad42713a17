/* tests/lang/test_fuzz_regressions.c — inputs the fuzzers found (tests/fuzz/regressions/),
 * replayed in the normal suite: each lang-* file is one cell, run in a fresh session;
 * it must fail with the exception listed (not crash, not trip a sanitizer) and leave
 * the session answering. */
#include <stdio.h>
#include <string.h>

#include "../harness.h"
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

static void test_lang_inputs_found_by_fuzzing(void)
{
    static const struct { const char *file, *ename, *needle; } cases[] = {
        /* reshape() with no arguments: get_shape did pointer arithmetic on a NULL
         * argument array (UBSan: applying zero offset to null pointer). */
        {"lang-reshape-without-args", "RuntimeError", "cannot reshape a tensor of shape [12] (12 elements) into []"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/regressions/%s", cases[i].file);
        char *code = read_all(path);
        CHECK(code, "missing %s", path);
        if (!code) continue;
        lang_session *s = lang_session_new();
        lang_error err = {0};
        capture c;
        const char *got = cell(s, code, &c, &err);
        CHECK(!strcmp(err.ename, cases[i].ename) && strstr(err.evalue, cases[i].needle),
              "%s: %s", cases[i].file, got);
        got = cell(s, "1 + 1", &c, &err);
        CHECK(!strcmp(got, "2"), "%s: the session still answers: %s", cases[i].file, got);
        lang_error_clear(&err);
        lang_session_free(s);
        free(code);
    }
}

int main(void)
{
    RUN(test_lang_inputs_found_by_fuzzing);
    return harness_summary();
}
