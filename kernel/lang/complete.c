/* kernel/lang/complete.c — editor support: is_complete (from the lexer and
 * parser), completion (names, attributes of the runtime value before a dot,
 * hook names inside cache["...], keyword arguments inside calls) and
 * inspection (signature + doc of the name at the cursor). Never runs calls. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "eval.h"
#include "lang_internal.h"
#include "parser.h"

/* ---- is_complete -------------------------------------------------------------- */

static void line_indent(const char *line, size_t n, char *out, size_t out_size, bool extra)
{
    size_t k = 0;
    while (k < n && (line[k] == ' ' || line[k] == '\t') && k + 1 < out_size) { out[k] = line[k]; k++; }
    if (extra) for (int i = 0; i < 4 && k + 1 < out_size; i++) out[k++] = ' ';
    if (out_size) out[k < out_size ? k : out_size - 1] = 0;
}

const char *lang_is_complete(const char *code, char *indent, size_t indent_size)
{
    if (indent && indent_size) indent[0] = 0;
    /* last non-blank line */
    const char *end = code + strlen(code);
    const char *e = end;
    while (e > code && isspace((unsigned char)e[-1])) e--;
    if (e == code) return "complete";
    const char *ls = e;
    while (ls > code && ls[-1] != '\n') ls--;
    size_t ll = (size_t)(e - ls);
    /* strip a trailing comment for the ':' test (good enough: no '#' inside strings at the end) */
    const char *hash = memchr(ls, '#', ll);
    size_t content = hash ? (size_t)(hash - ls) : ll;
    while (content && isspace((unsigned char)ls[content - 1])) content--;
    bool colon = content && ls[content - 1] == ':';
    /* blank line typed after the code? */
    int trailing_newlines = 0;
    for (const char *p = e; p < end; p++) if (*p == '\n') trailing_newlines++;

    program prog;
    parse_error pe;
    if (lang_parse_program(code, &prog, &pe)) {
        if (pe.incomplete || (colon && trailing_newlines < 2)) {
            if (indent) line_indent(ls, ll, indent, indent_size, colon);
            return "incomplete";
        }
        return "invalid";
    }
    lang_program_free(&prog);
    /* as IPython: an indented last line continues its block until the line
     * is ended (jupyter console sends the text again when Enter is pressed on
     * the next, empty line, which then runs the cell) */
    bool indented = ll && (ls[0] == ' ' || ls[0] == '\t');
    if (indented && trailing_newlines < 1) {
        if (indent) line_indent(ls, ll, indent, indent_size, false);
        return "incomplete";
    }
    return "complete";
}

/* ---- helpers --------------------------------------------------------------------- */

static size_t cp_to_byte(const char *s, int cp)
{
    size_t i = 0, n = strlen(s);
    while (i < n && cp > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
        cp--;
    }
    return i;
}

static int byte_to_cp(const char *s, size_t b)
{
    int n = 0;
    for (size_t i = 0; i < b && s[i]; i++) if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80; }

/* Start of the identifier ending at b. */
static size_t ident_start(const char *s, size_t b)
{
    while (b > 0 && ident_char(s[b - 1])) b--;
    return b;
}

/* Start of a chain like a.b[0].c ending at b (no calls). */
static size_t chain_start(const char *s, size_t b)
{
    for (;;) {
        size_t st = ident_start(s, b);
        if (st == b) {
            if (b > 0 && s[b - 1] == ']') {
                /* [digits] or ["name"] */
                size_t k = b - 1;
                while (k > 0 && s[k - 1] != '[' && s[k - 1] != '(' && s[k - 1] != ')') k--;
                if (k == 0 || s[k - 1] != '[') return b;
                b = k - 1;
                continue;
            }
            return b;
        }
        b = st;
        if (b > 0 && s[b - 1] == '.') { b--; continue; }
        if (b > 0 && s[b - 1] == ']') continue;
        return b;
    }
}

typedef struct matches { char **v; int n; } matches;

static void add_match(matches *m, const char *s, size_t n)
{
    for (int i = 0; i < m->n; i++) if (strlen(m->v[i]) == n && !strncmp(m->v[i], s, n)) return;
    char **x = realloc(m->v, (size_t)(m->n + 1) * sizeof *x);
    if (!x) return;
    m->v = x;
    m->v[m->n] = strndup(s, n);
    if (m->v[m->n]) m->n++;
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    /* names starting with _ last */
    if ((x[0] == '_') != (y[0] == '_')) return x[0] == '_' ? 1 : -1;
    return strcmp(x, y);
}

/* the names a call can pass by keyword, from the builtin's spec ("name=") */
static void keyword_params(const lang_builtin *b, matches *m, const char *prefix)
{
    for (const lang_param *p = b->params; p && p->name; p++) {
        if (p->kind == LANG_POSONLY || p->kind == LANG_VARARGS || p->kind == LANG_VARKW) continue;
        if (strncmp(p->name, prefix, strlen(prefix))) continue;
        char buf[128];
        snprintf(buf, sizeof buf, "%s=", p->name);
        add_match(m, buf, strlen(buf));
    }
}

/* Position of the innermost unclosed '(' before b, or -1. Skips strings roughly. */
static long open_paren(const char *s, size_t b)
{
    int depth = 0;
    char q = 0;
    long last = -1;
    long stack[256];
    int sp = 0;
    for (size_t i = 0; i < b; i++) {
        char c = s[i];
        if (q) { if (c == '\\') i++; else if (c == q) q = 0; continue; }
        if (c == '"' || c == '\'') { q = c; continue; }
        if (c == '#') { while (i < b && s[i] != '\n') i++; continue; }
        if (c == '(' || c == '[' || c == '{') { if (sp < 256) stack[sp] = c == '(' ? (long)i : -1; sp++; depth++; }
        else if ((c == ')' || c == ']' || c == '}') && sp > 0) { sp--; depth--; }
    }
    if (sp > 0 && sp <= 256) last = stack[sp - 1];
    return last;
}

static value *value_of_chain(interp *I, const char *s, size_t a, size_t b)
{
    if (b <= a) return NULL;
    char *expr = strndup(s + a, b - a);
    if (!expr) return NULL;
    value *v = lang_safe_eval(I, expr);
    free(expr);
    return v;
}

static const lang_builtin *callee_entry(interp *I, const char *s, size_t paren, value **out_v)
{
    size_t e = paren;
    while (e > 0 && s[e - 1] == ' ') e--;
    size_t st = chain_start(s, e);
    if (st == e) return NULL;
    value *v = value_of_chain(I, s, st, e);
    if (v && v->type == V_BUILTIN) { *out_v = v; return v->u.builtin.def; }
    if (v && v->type == V_OBJECT) {
        /* calling a model: model(tokens) */
        char buf[128];
        snprintf(buf, sizeof buf, "%s.__call__", v->u.obj.type->name);
        const lang_builtin *b = lang_builtin_find(buf);
        *out_v = v;
        return b;
    }
    lang_decref(v);
    return NULL;
}

int lang_complete(lang_session *sess, const char *code, int cursor, char ***out, int *start, int *end)
{
    interp *I = &sess->I;
    *out = NULL;
    size_t b = cp_to_byte(code, cursor);
    *start = *end = cursor;
    matches m = {0};
    bool had_error = I->error;

    /* inside obj["... : string keys of the object (hook names of a cache) */
    {
        size_t q = b;
        while (q > 0 && code[q - 1] != '"' && code[q - 1] != '\'' && code[q - 1] != '\n') q--;
        if (q > 0 && (code[q - 1] == '"' || code[q - 1] == '\'')) {
            size_t k = q - 1;
            while (k > 0 && code[k - 1] == ' ') k--;
            if (k > 0 && code[k - 1] == '[') {
                size_t ce = k - 1, cs = chain_start(code, ce);
                value *v = value_of_chain(I, code, cs, ce);
                if (v && v->type == V_OBJECT && v->u.obj.type->keys) {
                    char **names = NULL;
                    int n = v->u.obj.type->keys(v, &names);
                    const char *prefix = code + q;
                    size_t pl = b - q;
                    for (int i = 0; i < n; i++) {
                        if (!strncmp(names[i], prefix, pl)) add_match(&m, names[i], strlen(names[i]));
                        free(names[i]);
                    }
                    free(names);
                    *start = byte_to_cp(code, q);
                } else if (v && v->type == V_DICT) {
                    size_t i = 0;
                    value *key;
                    while (lang_dict_next(v->u.d, &i, &key, NULL))
                        if (key->type == V_STR && !strncmp(key->u.str.s, code + q, b - q)) add_match(&m, key->u.str.s, key->u.str.len);
                    *start = byte_to_cp(code, q);
                }
                lang_decref(v);
                goto done;
            }
        }
    }
    size_t ws = ident_start(code, b);
    const char *prefix = code + ws;
    size_t pl = b - ws;
    *start = byte_to_cp(code, ws);
    if (ws > 0 && code[ws - 1] == '.') {
        /* attribute completion on the value before the dot */
        size_t ce = ws - 1, cs = chain_start(code, ce);
        value *v = value_of_chain(I, code, cs, ce);
        if (v) {
            char **names = NULL;
            int n = lang_attr_names(I, v, &names);
            for (int i = 0; i < n; i++) {
                if (!strncmp(names[i], prefix, pl)) add_match(&m, names[i], strlen(names[i]));
                free(names[i]);
            }
            free(names);
            lang_decref(v);
        }
        goto done;
    }
    if (ws > 0 && isdigit((unsigned char)code[ws])) goto done;
    /* keyword arguments of the enclosing call */
    long paren = open_paren(code, ws);
    if (paren >= 0) {
        value *fv = NULL;
        const lang_builtin *e = callee_entry(I, code, (size_t)paren, &fv);
        char pfx[128];
        snprintf(pfx, sizeof pfx, "%.*s", (int)(pl < 127 ? pl : 127), prefix);
        if (e) keyword_params(e, &m, pfx);
        lang_decref(fv);
    }
    /* names in scope, builtins, keywords */
    {
        size_t i = 0;
        value *k;
        while (lang_dict_next(I->globals, &i, &k, NULL))
            if (k->type == V_STR && !strncmp(k->u.str.s, prefix, pl)) add_match(&m, k->u.str.s, k->u.str.len);
        i = 0;
        while (lang_dict_next(I->builtins, &i, &k, NULL))
            if (k->type == V_STR && !strncmp(k->u.str.s, prefix, pl)) add_match(&m, k->u.str.s, k->u.str.len);
        static const char *const kws[] = {"True", "False", "None", "and", "or", "not", "in", "is", "if", "elif",
                                          "else", "for", "while", "break", "continue", "pass", "lambda", "del", "def",
                                          "return", "try", "except", "finally", "raise", "with", "as", "assert",
                                          "global", "nonlocal", "import", "from", NULL};
        if (pl)
            for (int j = 0; kws[j]; j++) if (!strncmp(kws[j], prefix, pl)) add_match(&m, kws[j], strlen(kws[j]));
    }
done:
    if (!had_error) lang_clear_error(I);
    if (m.n > 1) {
        /* keyword arguments first, then the rest alphabetically */
        int kw = 0;
        for (int i = 0; i < m.n; i++) if (m.v[i][strlen(m.v[i]) - 1] == '=') { char *t = m.v[kw]; m.v[kw] = m.v[i]; m.v[i] = t; kw++; }
        qsort(m.v, (size_t)kw, sizeof *m.v, cmp_str);
        qsort(m.v + kw, (size_t)(m.n - kw), sizeof *m.v, cmp_str);
    }
    *end = cursor;
    *out = m.v;
    return m.n;
}

cJSON *lang_inspect(lang_session *sess, const char *code, int cursor, int detail_level)
{
    interp *I = &sess->I;
    size_t b = cp_to_byte(code, cursor);
    /* extend over the identifier under the cursor */
    size_t e = b;
    while (code[e] && ident_char(code[e])) e++;
    size_t s = chain_start(code, e);
    if (s == e) {
        long paren = open_paren(code, b);
        if (paren < 0) return NULL;
        e = (size_t)paren;
        while (e > 0 && code[e - 1] == ' ') e--;
        s = chain_start(code, e);
        if (s == e) return NULL;
    }
    char *expr = strndup(code + s, e - s);
    if (!expr) return NULL;
    bool had = I->error;
    cJSON *r = lang_help_bundle(I, expr, detail_level > 0);
    if (!had) lang_clear_error(I);
    free(expr);
    return r;
}
