/* kernel/lang/lang_internal.h — what the interpreter's files share beyond
 * value.h: the session object, help pages, and the runner entry point. */
#ifndef LANG_INTERNAL_H
#define LANG_INTERNAL_H

#include "lang.h"
#include "value.h"

struct lang_session {
    interp I;
    bool exit_requested;     /* exit() or quit() ran in the last cell (builtins_lang.c) */
};

/* Fills err with ename/message and a traceback pointing at line/col (1-based
 * line, 0-based byte column; line 0 = no position). */
void lang_fill_error(lang_error *err, const char *code, const char *ename, const char *msg, int line, int col);

/* The help page of an expression's value (a name, an attribute chain, or any
 * expression without calls), as a bundle; NULL when nothing is known. */
cJSON *lang_help_bundle(interp *I, const char *expr, bool detail);
/* Evaluates a call-free name/attribute/subscript expression for inspection;
 * NULL (no error left) when it cannot. */
value *lang_safe_eval(interp *I, const char *expr);
/* Help text for a value (help(x)). malloc'd. */
char *lang_help_text(interp *I, value *v);

/* Runs code statement by statement; each top-level expression statement's
 * non-None value is passed to show (text/plain bundle). */
int lang_run_program(lang_session *s, const char *code, const lang_output *out,
                     void (*show)(void *ctx, const cJSON *bundle), void *ctx, lang_error *err);

/* Attribute names of a value for dir() and completion: fills a malloc'd array
 * of malloc'd names; returns the count. */
int lang_attr_names(interp *I, value *v, char ***names);
/* Sorts a list in place (stable); key may be NULL. */
int lang_list_sort_inplace(interp *I, value *list, value *key, bool reverse);

/* builtins_model.c: frees the per-session model state. */
void lang_model_state_free(interp *I);

#endif
