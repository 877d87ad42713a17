/* tests/lang/lang_test_util.h — running cells in tests: captures stdout and
 * the result's text/plain. */
#ifndef LANG_TEST_UTIL_H
#define LANG_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "lang_internal.h"
#include "lens/file.h"

typedef struct capture { char out[65536]; size_t n; char page[8192]; } capture;

static inline void cap_stream(void *ctx, const char *name, const char *text)
{
    (void)name;
    capture *c = ctx;
    size_t l = strlen(text);
    if (c->n + l < sizeof c->out) { memcpy(c->out + c->n, text, l + 1); c->n += l; }
}

static inline void cap_page(void *ctx, const cJSON *b)
{
    capture *c = ctx;
    const cJSON *t = cJSON_GetObjectItem(b, "text/plain");
    if (cJSON_IsString(t)) snprintf(c->page, sizeof c->page, "%s", t->valuestring);
}

/* Runs code; returns the result's text/plain (static buffer, "" when none),
 * or "ERROR <ename>: <evalue>" on error (err keeps the details). */
static inline const char *cell(lang_session *s, const char *code, capture *c, lang_error *err)
{
    static char buf[65536];
    lang_output out = {c, cap_stream, NULL, NULL, NULL, cap_page};
    cJSON *result = NULL;
    lang_error_clear(err);
    if (c) { c->n = 0; c->out[0] = 0; c->page[0] = 0; }
    if (lang_execute(s, code, &out, &result, err)) {
        snprintf(buf, sizeof buf, "ERROR %s: %s", err->ename, err->evalue);
        return buf;
    }
    buf[0] = 0;
    if (result) {
        const cJSON *t = cJSON_GetObjectItem(result, "text/plain");
        if (cJSON_IsString(t)) snprintf(buf, sizeof buf, "%s", t->valuestring);
        cJSON_Delete(result);
    }
    return buf;
}

/* Runs the program in the file at path as `lens run` does (every statement, the
 * text output into out). Returns 0, -1 on an error in the program (err filled),
 * or -2 when the file cannot be read (err.evalue says why). */
static inline void cap_show_nothing(void *ctx, const cJSON *b) { (void)ctx; (void)b; }
static inline int run_script(const char *path, capture *out, lang_error *err)
{
    lens_error why;
    size_t len;
    char *code = lens_read_file(path, "script", &len, &why);
    if (!code) {
        snprintf(err->ename, sizeof err->ename, "OSError");
        err->evalue = strdup(why.msg);
        return -2;
    }
    lang_session *s = lang_session_new();
    lang_output o = {out, cap_stream, NULL, NULL, NULL, NULL};
    int rc = lang_run_program(s, code, &o, cap_show_nothing, NULL, err);
    lang_session_free(s);
    free(code);
    return rc;
}

#endif
