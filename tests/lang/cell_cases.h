/* tests/lang/cell_cases.h — table-driven cell tests: each case is a cell and the
 * text its result must have (lang_test_util.h's cell(): the result's text/plain,
 * "" for none, or "ERROR <ename>: <evalue>"). */
#ifndef LANG_CELL_CASES_H
#define LANG_CELL_CASES_H

#include "../harness.h"
#include "lang_test_util.h"

typedef struct cell_case { const char *code, *want; } cell_case;

/* Runs cases (ended by {NULL, NULL}) in order in session s, checking each result. */
static inline void run_cases_in(lang_session *s, const cell_case *cases)
{
    lang_error err = {0};
    capture c;
    for (int i = 0; cases[i].code; i++) {
        const char *got = cell(s, cases[i].code, &c, &err);
        CHECK(!strcmp(got, cases[i].want), "%s\n    got  %s\n    want %s", cases[i].code, got, cases[i].want);
    }
    lang_error_clear(&err);
}

/* The same in a fresh session. */
static inline void run_cases(const cell_case *cases)
{
    lang_session *s = lang_session_new();
    run_cases_in(s, cases);
    lang_session_free(s);
}

#endif
