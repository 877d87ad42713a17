/* kernel/lang/code.c — reference-counted parsed code (see code.h). */
#include "code.h"

#include <stdlib.h>
#include <string.h>

lang_code *lang_code_parse(const char *src, unsigned long cell, parse_error *err)
{
    lang_code *c = calloc(1, sizeof *c);
    if (!c || !(c->source = strdup(src))) {
        free(c);
        memset(err, 0, sizeof *err);
        strcpy(err->ename, "MemoryError");
        strcpy(err->msg, "out of memory");
        return NULL;
    }
    if (lang_parse_program(src, &c->prog, err)) {
        free(c->source);
        free(c);
        return NULL;
    }
    c->refcount = 1;
    c->cell = cell;
    return c;
}

lang_code *lang_code_ref(lang_code *c)
{
    if (c) c->refcount++;
    return c;
}

void lang_code_release(lang_code *c)
{
    if (!c || --c->refcount > 0) return;
    lang_program_free(&c->prog);
    free(c->source);
    free(c);
}
