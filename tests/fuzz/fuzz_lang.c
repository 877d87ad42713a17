/* tests/fuzz/fuzz_lang.c — the language: lexer, parser and evaluator through
 * lang_execute, under a 256 MiB memory limit and a one-second interrupt. One
 * session is kept across inputs (renewed every 2,000), so a cell runs on what the
 * cells before it left: functions defined earlier, cycles waiting for the
 * collector, modules imported. FUZZ_LANG_FRESH_SESSION=1 gives each input a fresh
 * session instead (to tell a cross-cell failure from a one-cell one).
 * The input is one cell's source. Dictionary: tests/fuzz/lens.dict. The working
 * directory is a private temporary one, so files that cells save land there. */
#include <stdint.h>

#include "fuzz_util.h"
#include "lang.h"
#include "lens/model.h"

static void ignore_stream(void *ctx, const char *name, const char *text) { (void)ctx; (void)name; (void)text; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lang_session *s;
    static int runs, keep = -1;
    if (keep < 0) keep = getenv("FUZZ_LANG_FRESH_SESSION") == NULL;
    if (!s && chdir(fuzz_dir())) abort();   /* relative paths a cell saves to land here */
    if (!s || !keep || ++runs % 2000 == 0) {
        lang_session_free(s);
        lens_set_memory_limit((size_t)256 << 20);
        s = lang_session_new();
        if (!s) abort();
    }
    char *code = fuzz_cstr(data, size);
    lang_output out = {NULL, ignore_stream, NULL, NULL, NULL, NULL};
    cJSON *result = NULL;
    lang_error err = {0};
    fuzz_arm(1000);
    lang_execute(s, code, &out, &result, &err);
    fuzz_disarm();
    cJSON_Delete(result);
    lang_error_clear(&err);
    free(code);
    return 0;
}
