/* kernel/lang/session.c — the interface the kernel sees (lang.h): sessions,
 * executing cells (each cell's parsed code kept alive by the functions it
 * defines), evaluating expressions, errors with tracebacks through function
 * calls, `x?` help, shell-command and magic lines, exit requests, the stack
 * guard, interrupts. Completion, inspection and is_complete live in complete.c. */
#include <ctype.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "code.h"
#include "eval.h"
#include "exceptions.h"
#include "gc.h"
#include "modules.h"
#include "lang.h"
#include "lang_internal.h"
#include "parser.h"
#include "rich.h"

lang_session *lang_session_new(void)
{
    lang_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->I.globals = lang_dict_new();
    s->I.builtins = lang_dict_new();
    if (!s->I.globals || !s->I.builtins || lang_builtins_install(&s->I) || lang_exceptions_install(&s->I)) {
        lang_session_free(s);
        return NULL;
    }
    return s;
}

void lang_session_free(lang_session *s)
{
    if (!s) return;
    lang_dict_free(s->I.globals);
    lang_dict_free(s->I.builtins);
    lang_dict_free(s->I.modules);
    lang_clear_error(&s->I);
    lang_model_state_free(&s->I);
    free(s);
    lang_gc_collect();   /* cycles that only the session's variables reached */
}

void lang_interrupt(void) { lang_interrupted = 1; }

void lang_error_clear(lang_error *err)
{
    if (!err) return;
    free(err->evalue);
    for (int i = 0; i < err->n_traceback; i++) free(err->traceback[i]);
    free(err->traceback);
    memset(err, 0, sizeof *err);
}

static void tb_add(lang_error *err, char *line)
{
    if (!line) return;
    char **t = realloc(err->traceback, (size_t)(err->n_traceback + 1) * sizeof *t);
    if (!t) { free(line); return; }
    err->traceback = t;
    err->traceback[err->n_traceback++] = line;
}

/* The text of line `line` (1-based) of code, malloc'd, without the newline. */
static char *source_line(const char *code, int line)
{
    const char *p = code;
    for (int l = 1; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p) return NULL;
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n && p[n - 1] == '\r') n--;
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static int cp_count(const char *s, size_t bytes)
{
    int n = 0;
    for (size_t i = 0; i < bytes && s[i]; i++) if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

/* One traceback entry: the location line, the source line and a caret. */
static void tb_location(lang_error *err, const char *code, int line, int col, const char *name, bool other_code)
{
    char *src = line > 0 && code ? source_line(code, line) : NULL;
    if (!src) return;
    size_t len = strlen(src);
    if ((size_t)col > len) col = (int)len;
    int ccol = cp_count(src, (size_t)col);
    char *loc;
    int r = name ? asprintf(&loc, "  %sine %d, column %d, in %s%s", other_code ? "L" : "Cell l", line, ccol + 1, name,
                            other_code ? " (defined in an earlier cell)" : "")
                 : asprintf(&loc, "  Cell line %d, column %d", line, ccol + 1);
    if (r >= 0) tb_add(err, loc);
    /* strip common leading whitespace for display, keeping the caret aligned */
    size_t lead = 0;
    while (src[lead] == ' ' || src[lead] == '\t') lead++;
    if (lead > (size_t)col) lead = (size_t)col;
    char *l2;
    if (asprintf(&l2, "    %s", src + lead) >= 0) tb_add(err, l2);
    int caret = ccol - cp_count(src, lead);
    char *l3 = malloc((size_t)caret + 6);
    if (l3) {
        memset(l3, ' ', (size_t)caret + 4);
        l3[caret + 4] = '^';
        l3[caret + 5] = 0;
        tb_add(err, l3);
    }
    free(src);
}

static void tb_last(lang_error *err, const char *ename, const char *msg)
{
    char *last;
    int r = msg && *msg ? asprintf(&last, "%s: %s", ename, msg) : asprintf(&last, "%s", ename);
    if (r >= 0) tb_add(err, last);
}

void lang_fill_error(lang_error *err, const char *code, const char *ename, const char *msg, int line, int col)
{
    if (!err) return;
    lang_error_clear(err);
    snprintf(err->ename, sizeof err->ename, "%s", ename);
    err->evalue = strdup(msg ? msg : "");
    tb_location(err, code, line, col, NULL, false);
    tb_last(err, ename, msg);
}

static bool same_frame(const lang_frame *a, const lang_frame *b)
{
    return a->code == b->code && a->line == b->line && a->col == b->col && !strcmp(a->name, b->name);
}

/* The pending error as Jupyter shows it: the cell's line, then each function
 * call it passed through (outermost first; a recursion's repeats folded). */
static void error_from_interp(interp *I, const char *code, lang_error *err)
{
    const char *ename = I->ename[0] ? I->ename : "RuntimeError";
    const char *msg = I->emsg ? I->emsg : "";
    lang_error_clear(err);
    snprintf(err->ename, sizeof err->ename, "%s", ename);
    err->evalue = strdup(msg);
    tb_location(err, code, I->eline, I->ecol, NULL, false);
    int repeats = 0;
    for (int i = I->n_frames - 1; i >= 0; i--) {
        const lang_frame *f = &I->frames[i];
        if (i < I->n_frames - 1 && same_frame(f, f + 1)) {
            if (++repeats > 2) continue;
        } else if (repeats > 2) {
            char *l;
            if (asprintf(&l, "  [Previous line repeated %d more times]", repeats - 2) >= 0) tb_add(err, l);
            repeats = 0;
        } else repeats = 0;
        tb_location(err, f->code ? f->code->source : NULL, f->line, f->col, f->name, f->code != I->code);
    }
    if (repeats > 2) {
        char *l;
        if (asprintf(&l, "  [Previous line repeated %d more times]", repeats - 2) >= 0) tb_add(err, l);
    }
    tb_last(err, ename, msg);
    lang_clear_error(I);
}

/* `x?` / `x??` / `?x` / `help(x)` → page the documentation of x */
static int help_cell(lang_session *s, const char *code, const lang_output *out, lang_error *err)
{
    size_t n = strlen(code);
    while (n && isspace((unsigned char)code[n - 1])) n--;
    size_t b = 0;
    while (b < n && isspace((unsigned char)code[b])) b++;
    bool detail = false;
    if (b < n && code[b] == '?') { b++; if (b < n && code[b] == '?') { b++; detail = true; } }
    else { while (n > b && code[n - 1] == '?') { n--; detail = true; } }
    char *expr = strndup(code + b, n - b);
    if (!expr) return -1;
    cJSON *bundle = lang_help_bundle(&s->I, expr, detail);
    if (!bundle) {
        if (s->I.error) error_from_interp(&s->I, expr, err);
        else lang_fill_error(err, code, "NameError", "nothing to show help for", 0, 0);
        free(expr);
        return -1;
    }
    free(expr);
    if (out && out->page) out->page(out->ctx, bundle);
    else if (out && out->stream) {
        cJSON *t = cJSON_GetObjectItem(bundle, "text/plain");
        if (cJSON_IsString(t)) out->stream(out->ctx, "stdout", t->valuestring);
    }
    cJSON_Delete(bundle);
    return 0;
}

static bool is_help_cell(const char *code)
{
    size_t n = strlen(code);
    while (n && isspace((unsigned char)code[n - 1])) n--;
    size_t b = 0;
    while (b < n && isspace((unsigned char)code[b])) b++;
    if (n <= b) return false;
    if (code[n - 1] != '?' && code[b] != '?') return false;
    /* a single line with no strings or comments */
    for (size_t i = b; i < n; i++) if (code[i] == '\n' || code[i] == '#' || code[i] == '"' || code[i] == '\'') return false;
    return true;
}

/* Runs a program statement by statement. A top-level expression statement's
 * value (not None, not a figure this cell already displayed) goes to on_value:
 * only the last statement's (a notebook cell) or every one (`lens run`). */
/* A parse error on a line that starts with % or ! (an IPython magic or a
 * shell escape) gets a message that says what lens does instead. */
static void magic_error(interp *I, const char *code, parse_error *pe)
{
    if (pe->line <= 0) return;
    char *line = source_line(code, pe->line);
    const char *p = line;
    while (p && (*p == ' ' || *p == '\t')) p++;
    if (p && (*p == '%' || *p == '!')) {
        (void)I;
        snprintf(pe->msg, sizeof pe->msg, "lens runs no shell commands or IPython magics (%s...): nothing needs "
                 "installing: the modules lens provides (torch, numpy, einops, transformer_lens, plotly.express, "
                 "...; docs/LANGUAGE.md lists them) are built in, so import them as usual",
                 *p == '!' ? "!" : p[1] == '%' ? "%%" : "%");
        strcpy(pe->ename, "SyntaxError");
        pe->col = (int)(p - line);
    }
    free(line);
}

static bool is_exit_builtin(const value *v)
{
    return v->type == V_BUILTIN && !v->u.builtin.self && v->u.builtin.def->fn == lang_builtin_find("exit")->fn;
}

static int run_statements(lang_session *s, const char *text, bool every_expression,
                          void (*on_value)(interp *I, value *v, void *ctx), void *ctx, lang_error *err)
{
    interp *I = &s->I;
    parse_error pe;
    lang_code *code = lang_code_parse(text, I->cell, &pe);
    if (!code) {
        magic_error(I, text, &pe);
        lang_fill_error(err, text, pe.ename, pe.msg, pe.line, pe.col);
        return -1;
    }
    lang_code *outer = I->code;
    I->code = code;
    program *prog = &code->prog;
    int rc = 0;
    for (int i = 0; i < prog->n && rc == 0 && !s->exit_requested; i++) {
        node *st = prog->stmts[i];
        if (st->kind == N_EXPR) {
            value *v = lang_eval_expr(I, NULL, st->a);
            if (!v) { rc = -1; break; }
            /* `exit` alone ends the session, as IPython's autocall does */
            if (is_exit_builtin(v)) s->exit_requested = true;
            else if ((every_expression || i == prog->n - 1) && v->type != V_NONE && on_value && !lang_rich_shown_in_cell(I, v))
                on_value(I, v, ctx);
            lang_decref(v);
        } else if (lang_exec_block(I, NULL, &prog->stmts[i], 1)) rc = -1;
    }
    if (rc) error_from_interp(I, text, err);
    I->code = outer;
    lang_code_release(code);
    return rc;
}

/* The lowest stack address calls may reach: RecursionError below it, long
 * before the C stack overflows. */
static const char *stack_floor(void)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr)) return NULL;
    int r = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (r) return NULL;
    size_t margin = size / 4 > ((size_t)2 << 20) ? (size_t)2 << 20 : size / 4;
    return (const char *)addr + margin;
}

/* Starts a cell: interrupt flag, error state, outputs, the cell counter. */
static interp *begin_cell(lang_session *s, const lang_output *out)
{
    interp *I = &s->I;
    lang_interrupted = 0;
    lang_clear_error(I);
    I->out = out;
    I->cell++;
    s->exit_requested = false;
    I->stack_floor = stack_floor();   /* per cell: the thread running cells may change */
    return I;
}

bool lang_exit_requested(const lang_session *s) { return s->exit_requested; }

static void end_cell(interp *I)
{
    I->out = NULL;
    lang_interrupted = 0;
    lang_gc_collect_if_grown();   /* the cell's dropped cycles, when it made enough to be worth a scan */
}

/* The cell's result: its mime bundle, and `_` as in IPython. */
static void keep_result(interp *I, value *v, void *ctx)
{
    cJSON **result = ctx;
    if (!result) return;
    *result = lang_value_bundle(v);
    lang_dict_set_str(I->globals, "_", lang_incref(v));
}

int lang_execute(lang_session *s, const char *code, const lang_output *out, cJSON **result, lang_error *err)
{
    if (result) *result = NULL;
    interp *I = begin_cell(s, out);
    int rc = is_help_cell(code) ? help_cell(s, code, out, err)
                                : run_statements(s, code, false, keep_result, result, err);
    end_cell(I);
    return rc;
}

int lang_evaluate(lang_session *s, const char *expr, cJSON **bundle, lang_error *err)
{
    *bundle = NULL;
    interp *I = &s->I;
    lang_clear_error(I);
    parse_error pe;
    program check;
    if (lang_parse_expression(expr, &check, &pe)) {
        lang_fill_error(err, expr, pe.ename, pe.msg, pe.line, pe.col);
        return -1;
    }
    lang_program_free(&check);
    /* evaluated from a code object, so a function made by the expression may outlive it */
    lang_code *code = lang_code_parse(expr, I->cell, &pe);
    if (!code) {
        lang_fill_error(err, expr, pe.ename, pe.msg, pe.line, pe.col);
        return -1;
    }
    lang_code *outer = I->code;
    I->code = code;
    value *v = code->prog.n == 1 && code->prog.stmts[0]->kind == N_EXPR ? lang_eval_expr(I, NULL, code->prog.stmts[0]->a) : v_none();
    int rc = 0;
    if (!v) { error_from_interp(I, expr, err); rc = -1; }
    else { *bundle = lang_value_bundle(v); lang_decref(v); }
    I->code = outer;
    lang_code_release(code);
    return rc;
}

/* ---- used by cmd_run.c: run statement by statement, printing values ---------- */

typedef struct shower {
    void (*show)(void *ctx, const cJSON *bundle);
    void *ctx;
} shower;

static void show_value(interp *I, value *v, void *ctx)
{
    (void)I;
    shower *sh = ctx;
    cJSON *b = lang_value_bundle(v);
    if (b) sh->show(sh->ctx, b);
    cJSON_Delete(b);
}

int lang_run_program(lang_session *s, const char *code, const lang_output *out,
                     void (*show)(void *ctx, const cJSON *bundle), void *ctx, lang_error *err)
{
    interp *I = begin_cell(s, out);
    shower sh = {show, ctx};
    int rc = run_statements(s, code, true, show ? show_value : NULL, &sh, err);
    end_cell(I);
    return rc;
}
