/* kernel/lang/help.c — help(x), `x?` pages and the text of inspection:
 * signature + documentation from the builtin tables, type docs, and a summary
 * of the value itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "eval.h"
#include "function.h"
#include "lang_internal.h"
#include "namespaces.h"
#include "parser.h"

static char *builtin_help(const lang_builtin *b)
{
    char *s;
    char sig[2048];
    if (asprintf(&s, "%s\n\n%s", lang_builtin_signature(b, sig, sizeof sig), b->doc ? b->doc : "") < 0) return NULL;
    return s;
}

static char *overview(void)
{
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    n += (size_t)snprintf(s, cap, "lens: a Python-shaped language for looking inside GPT-2 models.\n"
                                  "Write `name?` or help(name) for one entry. Builtins:\n\n");
    for (int t = 0; builtin_tables[t]; t++)
        for (const lang_builtin *b = builtin_tables[t]; b->name; b++) {
            if (strchr(b->name, '.')) continue;
            char sig[2048];
            const char *text = lang_builtin_signature(b, sig, sizeof sig);
            size_t need = strlen(text) + 8;
            if (n + need >= cap) {
                cap = cap * 2 + need;
                char *x = realloc(s, cap);
                if (!x) { free(s); return NULL; }
                s = x;
            }
            n += (size_t)snprintf(s + n, cap - n, "  %s\n", text);
        }
    return s;
}

char *lang_help_text(interp *I, value *v)
{
    (void)I;
    if (!v) return overview();
    if (v->type == V_BUILTIN) return builtin_help(v->u.builtin.def);
    if (lang_is_function(v)) return lang_function_help(v);
    if (lang_is_partial(v) && lang_partial_func(v)->type == V_BUILTIN) {
        /* px.imshow: imshow's help, and what is bound */
        char *h = builtin_help(lang_partial_func(v)->u.builtin.def), *r = lang_repr_of(v), *s = NULL;
        if (h && r && asprintf(&s, "%s\n\nAs %s.", h, r) < 0) s = NULL;
        free(h);
        free(r);
        return s;
    }
    const char *tn = lang_type_name(v);
    const char *doc = v->type == V_OBJECT ? v->u.obj.type->doc : lang_doc_for_type(tn);
    char *r = lang_repr_of(v);
    if (r && strlen(r) > 2000) strcpy(r + 1990, " ...");
    char *s;
    if (asprintf(&s, "Type: %s\nValue: %s%s%s", tn, r ? r : "?", doc ? "\n\n" : "", doc ? doc : "") < 0) s = NULL;
    free(r);
    return s;
}

/* Evaluates an expression only when it has no calls (so inspecting never runs code). */
static bool call_free(node *n)
{
    if (!n) return true;
    if (n->kind == N_CALL || n->kind == N_LAMBDA || n->kind == N_LISTCOMP || n->kind == N_DICTCOMP) return false;
    if (!call_free(n->a) || !call_free(n->b) || !call_free(n->c)) return false;
    for (int i = 0; i < n->n_items; i++) if (!call_free(n->items[i])) return false;
    return true;
}

value *lang_safe_eval(interp *I, const char *expr)
{
    parse_error pe;
    program prog;
    if (lang_parse_expression(expr, &prog, &pe)) return NULL;
    node *n = prog.stmts[0];
    value *v = NULL;
    if (call_free(n) && (n->kind == N_NAME || n->kind == N_ATTR || n->kind == N_SUBSCRIPT || n->kind == N_CONST ||
                         n->kind == N_STR || n->kind == N_INT || n->kind == N_FLOAT)) {
        bool had = I->error;
        v = lang_eval_expr(I, NULL, n);
        if (!v && !had) lang_clear_error(I);
    }
    lang_program_free(&prog);
    return v;
}

/* For `x.method` of a builtin type, the entry without evaluating a bound method. */
cJSON *lang_help_bundle(interp *I, const char *expr, bool detail)
{
    (void)detail;
    char *text = NULL;
    const char *trimmed = expr;
    while (*trimmed == ' ') trimmed++;
    if (!*trimmed) text = overview();
    if (!text) {
        const lang_builtin *b = lang_builtin_find(trimmed);
        if (b && !lang_lookup_name(I, NULL, trimmed)) text = builtin_help(b);
    }
    if (!text) {
        value *v = lang_safe_eval(I, trimmed);
        if (v) { text = lang_help_text(I, v); lang_decref(v); }
    }
    if (!text) {
        static const struct { const char *kw, *doc; } kws[] = {
            {"for", "for TARGET in ITERABLE:\n    BODY\n\nRuns BODY for each item (lists, tuples, strings, dicts, ranges, tensors along dim 0)."},
            {"if", "if COND:\n    BODY\nelif COND:\n    BODY\nelse:\n    BODY"},
            {"while", "while COND:\n    BODY\n\nRuns BODY while COND is true; break and continue work as in Python."},
            {"lambda", "lambda ARGS: EXPR\n\nA small function, e.g. sorted(xs, key=lambda x: -x)."},
            {"def", "def NAME(x, y=1, *args, key=None, **kwargs):\n    \"\"\"Docstring.\"\"\"\n    BODY\n\n"
                    "Defines a function; defaults are evaluated once, names assigned in BODY are local "
                    "(unless declared global or nonlocal), return gives the result."},
            {"try", "try:\n    BODY\nexcept ValueError as e:\n    HANDLER\nelse:\n    IF_NO_ERROR\nfinally:\n    ALWAYS\n\n"
                    "Python's exception classes (Exception, ValueError, KeyError, ...) are builtins."},
            {"with", "with MANAGER as NAME:\n    BODY\n\nRuns BODY inside a context manager (torch.no_grad(), nullcontext())."},
            {"import", "import torch, from einops import rearrange, import plotly.express as px: the modules lens "
                       "provides are namespaces over its builtins (every builtin is also available without importing)."},
            {NULL, NULL}};
        for (int i = 0; kws[i].kw; i++) if (!strcmp(kws[i].kw, trimmed)) text = strdup(kws[i].doc);
    }
    if (!text) {
        if (!I->error) lang_raise(I, "NameError", "no help found for '%s'", trimmed);
        return NULL;
    }
    cJSON *b = cJSON_CreateObject();
    if (b) cJSON_AddStringToObject(b, "text/plain", text);
    free(text);
    return b;
}
