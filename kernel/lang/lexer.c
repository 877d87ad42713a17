/* kernel/lang/lexer.c — the tokenizer of the command language (see lexer.h).
 * One pass over the source; an indentation stack for INDENT/DEDENT and a
 * bracket stack for implicit line joining and mismatch errors. */
#include "lexer.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INDENT 100
#define MAX_BRACKETS 200

typedef struct lexer {
    const char *src;
    size_t pos, n;
    int line;
    size_t line_start;
    int line_base, col_base;
    token_list *tl;
    lex_error *err;
    int indents[MAX_INDENT];
    int n_indents;
    char brackets[MAX_BRACKETS];
    int bracket_line[MAX_BRACKETS], bracket_col[MAX_BRACKETS];
    int depth;
} lexer;

static int col_of(lexer *L, size_t off) { return (int)(off - L->line_start); }

static int fail(lexer *L, int line, int col, bool incomplete, const char *fmt, ...)
{
    if (L->err->set) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err->msg, sizeof L->err->msg, fmt, ap);
    va_end(ap);
    L->err->line = line + L->line_base - 1;
    L->err->col = (line == 1 ? L->col_base : 0) + col;
    L->err->incomplete = incomplete;
    L->err->set = true;
    return -1;
}

static token *push(lexer *L, tok_kind k, int line, int col, size_t off)
{
    token_list *tl = L->tl;
    if (tl->n == tl->cap) {
        int cap = tl->cap ? tl->cap * 2 : 64;
        token *t = realloc(tl->toks, (size_t)cap * sizeof *t);
        if (!t) return NULL;
        tl->toks = t;
        tl->cap = cap;
    }
    token *t = &tl->toks[tl->n++];
    memset(t, 0, sizeof *t);
    t->kind = k;
    t->line = line + L->line_base - 1;
    t->col = (line == 1 ? L->col_base : 0) + col;
    t->offset = off;
    return t;
}

static int set_text(lexer *L, token *t, const char *s, size_t n)
{
    t->text = lang_arena_strndup(&L->tl->mem, s, n);
    if (!t->text) return -1;
    t->len = n;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    if (cp > 0x10FFFF) cp = 0xFFFD;
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *lang_lex_unescape(const char *s, size_t n, size_t *out_len)
{
    char *o = malloc(n + 1);
    if (!o) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) { o[j++] = s[i]; continue; }
        char c = s[++i];
        switch (c) {
        case 'n': o[j++] = '\n'; break;
        case 't': o[j++] = '\t'; break;
        case 'r': o[j++] = '\r'; break;
        case 'a': o[j++] = '\a'; break;
        case 'b': o[j++] = '\b'; break;
        case 'f': o[j++] = '\f'; break;
        case 'v': o[j++] = '\v'; break;
        case '\\': o[j++] = '\\'; break;
        case '\'': o[j++] = '\''; break;
        case '"': o[j++] = '"'; break;
        case '\n': break;
        case 'x': case 'u': case 'U': {
            int want = c == 'x' ? 2 : c == 'u' ? 4 : 8, k;
            unsigned long cp = 0;
            for (k = 0; k < want && i + 1 + k < n && hexval((unsigned char)s[i + 1 + k]) >= 0; k++)
                cp = cp * 16 + (unsigned long)hexval((unsigned char)s[i + 1 + k]);
            if (k < want) { o[j++] = '\\'; o[j++] = c; break; }
            i += (size_t)want;
            j += put_utf8(o + j, cp);   /* at most 4 bytes for >= 4 source bytes */
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                unsigned v = (unsigned)(c - '0');
                for (int k = 0; k < 2 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
                    v = v * 8 + (unsigned)(s[++i] - '0');
                j += put_utf8(o + j, v);
            } else {
                o[j++] = '\\';
                o[j++] = c;
            }
        }
    }
    o[j] = 0;
    if (out_len) *out_len = j;
    return o;
}

static const char *const OPS3[] = {"**=", "//=", ">>=", "<<=", "...", NULL};
static const char *const OPS2[] = {"**", "//", "<<", ">>", "<=", ">=", "==", "!=", "+=", "-=",
                                   "*=", "/=", "%=", "&=", "|=", "^=", "@=", "->", ":=", NULL};
static const char OPS1[] = "+-*/%@&|^~<>()[]{},:.;=";

static int lex_string(lexer *L, size_t start, int line, int col)
{
    /* prefix */
    size_t p = L->pos;
    bool raw = false, fstr = false, bytes = false;
    while (p < L->n && strchr("rRfFbBuU", L->src[p])) {
        char c = (char)tolower((unsigned char)L->src[p]);
        if (c == 'r') raw = true;
        if (c == 'f') fstr = true;
        if (c == 'b') bytes = true;
        p++;
    }
    if (bytes) return fail(L, line, col, false, "bytes literals are not supported");
    char q = L->src[p];
    bool triple = p + 2 < L->n && L->src[p + 1] == q && L->src[p + 2] == q;
    p += triple ? 3 : 1;
    size_t body = p;
    int body_line = L->line, body_col = col_of(L, body);
    for (;;) {
        if (p >= L->n) {
            return fail(L, line, col, triple,
                        triple ? "unterminated triple-quoted string literal"
                               : "unterminated string literal");
        }
        char c = L->src[p];
        if (c == '\\' && p + 1 < L->n) {
            if (L->src[p + 1] == '\n') { L->line++; L->line_start = p + 2; }
            p += 2;
            continue;
        }
        if (c == '\n') {
            if (!triple) return fail(L, line, col, false, "unterminated string literal");
            L->line++;
            L->line_start = p + 1;
        }
        if (c == q && (!triple || (p + 2 < L->n && L->src[p + 1] == q && L->src[p + 2] == q)))
            break;
        p++;
    }
    size_t body_end = p;
    L->pos = p + (triple ? 3 : 1);
    token *t = push(L, fstr ? TK_FSTRING : TK_STRING, line, col, start);
    if (!t) return fail(L, line, col, false, "out of memory");
    if (fstr) {
        if (set_text(L, t, L->src + body, body_end - body)) return fail(L, line, col, false, "out of memory");
        t->raw = raw;
        t->body_line = body_line + L->line_base - 1;
        t->body_col = (body_line == 1 ? L->col_base : 0) + body_col;
    } else if (raw) {
        if (set_text(L, t, L->src + body, body_end - body)) return fail(L, line, col, false, "out of memory");
    } else {
        char *text = lang_lex_unescape(L->src + body, body_end - body, &t->len);
        t->text = text ? lang_arena_strndup(&L->tl->mem, text, t->len) : NULL;
        free(text);
        if (!t->text) return fail(L, line, col, false, "out of memory");
    }
    return 0;
}

static int lex_number(lexer *L, int line, int col)
{
    size_t s = L->pos, p = s;
    char buf[128];
    size_t bn = 0;
    bool is_float = false;
    const char *src = L->src;
    if (src[p] == '0' && p + 1 < L->n && strchr("xXoObB", src[p + 1])) {
        int base = strchr("xX", src[p + 1]) ? 16 : strchr("oO", src[p + 1]) ? 8 : 2;
        p += 2;
        uint64_t v = 0;
        bool any = false, overflow = false;
        while (p < L->n && (isalnum((unsigned char)src[p]) || src[p] == '_')) {
            if (src[p] == '_') { p++; continue; }
            int d = hexval((unsigned char)src[p]);
            if (d < 0 || d >= base) return fail(L, line, col_of(L, p), false, "invalid digit '%c' in number", src[p]);
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) overflow = true;
            v = v * (uint64_t)base + (uint64_t)d;
            any = true;
            p++;
        }
        if (!any) return fail(L, line, col, false, "invalid number literal");
        if (overflow || v > (uint64_t)INT64_MAX) return fail(L, line, col, false, "integer literal too large (lens integers are 64-bit)");
        token *t = push(L, TK_INT, line, col, s);
        if (!t) return -1;
        t->ival = (int64_t)v;
        L->pos = p;
        return 0;
    }
    while (p < L->n) {
        char c = src[p];
        if (isdigit((unsigned char)c)) { if (bn < sizeof buf - 1) buf[bn++] = c; p++; }
        else if (c == '_' && p + 1 < L->n && isdigit((unsigned char)src[p + 1]) && p > s) p++;
        else if (c == '.' && !is_float) { is_float = true; if (bn < sizeof buf - 1) buf[bn++] = c; p++; }
        else if ((c == 'e' || c == 'E') &&
                 ((p + 1 < L->n && isdigit((unsigned char)src[p + 1])) ||
                  (p + 2 < L->n && (src[p + 1] == '+' || src[p + 1] == '-') && isdigit((unsigned char)src[p + 2])))) {
            is_float = true;
            buf[bn++] = 'e';
            p++;
            if (src[p] == '+' || src[p] == '-') buf[bn++] = src[p++];
            while (p < L->n && (isdigit((unsigned char)src[p]) || src[p] == '_')) {
                if (src[p] != '_' && bn < sizeof buf - 1) buf[bn++] = src[p];
                p++;
            }
            break;
        } else break;
    }
    if (p < L->n && (isalpha((unsigned char)src[p]) || src[p] == '_')) {
        if (src[p] == 'j' || src[p] == 'J') return fail(L, line, col, false, "complex numbers are not supported");
        return fail(L, line, col_of(L, p), false, "invalid decimal literal");
    }
    buf[bn] = 0;
    token *t = push(L, is_float ? TK_FLOAT : TK_INT, line, col, s);
    if (!t) return -1;
    if (is_float) {
        t->fval = strtod(buf, NULL);
    } else {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == ERANGE) return fail(L, line, col, false, "integer literal too large (lens integers are 64-bit)");
        t->ival = v;
    }
    L->pos = p;
    return 0;
}

static bool name_start(unsigned char c) { return isalpha(c) || c == '_' || c >= 0x80; }
static bool name_char(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }

static int close_bracket(lexer *L, char c, int line, int col)
{
    char open = c == ')' ? '(' : c == ']' ? '[' : '{';
    if (L->depth == 0) return fail(L, line, col, false, "unmatched '%c'", c);
    if (L->brackets[L->depth - 1] != open)
        return fail(L, line, col, false, "closing parenthesis '%c' does not match opening parenthesis '%c'",
                    c, L->brackets[L->depth - 1]);
    L->depth--;
    return 0;
}

int lang_lex(const char *src, int line_base, int col_base, token_list *tl, lex_error *err)
{
    lexer L;
    memset(&L, 0, sizeof L);
    memset(tl, 0, sizeof *tl);
    memset(err, 0, sizeof *err);
    L.src = src;
    L.n = strlen(src);
    L.line = 1;
    L.line_base = line_base;
    L.col_base = col_base;
    L.tl = tl;
    L.err = err;
    L.indents[0] = 0;
    L.n_indents = 1;
    bool at_line_start = true, line_has_tokens = false;

    while (L.pos <= L.n) {
        if (at_line_start && L.depth == 0) {
            /* measure indentation; skip blank and comment-only lines */
            int ind = 0;
            size_t p = L.pos;
            while (p < L.n && (L.src[p] == ' ' || L.src[p] == '\t' || L.src[p] == '\f')) {
                ind = L.src[p] == '\t' ? (ind / 8 + 1) * 8 : ind + 1;
                p++;
            }
            if (p >= L.n) { L.pos = L.n; break; }
            if (L.src[p] == '#' || L.src[p] == '\n' || L.src[p] == '\r') {
                while (p < L.n && L.src[p] != '\n') p++;
                if (p >= L.n) { L.pos = L.n; break; }
                L.pos = p + 1;
                L.line++;
                L.line_start = L.pos;
                continue;
            }
            if (L.src[p] == '\\' && p + 1 < L.n && L.src[p + 1] == '\n') {
                /* a continuation at the start of a line: treat as joined */
            }
            L.pos = p;
            int cur = L.indents[L.n_indents - 1];
            if (ind > cur) {
                if (L.n_indents == MAX_INDENT) return fail(&L, L.line, 0, false, "too many levels of indentation");
                if (!line_has_tokens && tl->n == 0)
                    return fail(&L, L.line, ind, false, "unexpected indent");
                L.indents[L.n_indents++] = ind;
                if (!push(&L, TK_INDENT, L.line, ind, L.pos)) return -1;
            } else {
                while (ind < L.indents[L.n_indents - 1]) {
                    L.n_indents--;
                    if (!push(&L, TK_DEDENT, L.line, ind, L.pos)) return -1;
                }
                if (ind != L.indents[L.n_indents - 1])
                    return fail(&L, L.line, ind, false, "unindent does not match any outer indentation level");
            }
            at_line_start = false;
            line_has_tokens = false;
        }
        if (L.pos >= L.n) break;
        char c = L.src[L.pos];
        int col = col_of(&L, L.pos);
        if (c == ' ' || c == '\t' || c == '\f' || c == '\r') { L.pos++; continue; }
        if (c == '#') {
            while (L.pos < L.n && L.src[L.pos] != '\n') L.pos++;
            continue;
        }
        if (c == '\\') {
            size_t p = L.pos + 1;
            if (p < L.n && L.src[p] == '\r') p++;
            if (p >= L.n) return fail(&L, L.line, col, true, "unexpected end of input after line continuation");
            if (L.src[p] != '\n') return fail(&L, L.line, col, false, "unexpected character after line continuation character");
            L.pos = p + 1;
            L.line++;
            L.line_start = L.pos;
            continue;
        }
        if (c == '\n') {
            if (L.depth == 0 && line_has_tokens) {
                if (!push(&L, TK_NEWLINE, L.line, col, L.pos)) return -1;
                line_has_tokens = false;
            }
            L.pos++;
            L.line++;
            L.line_start = L.pos;
            if (L.depth == 0) at_line_start = true;
            continue;
        }
        line_has_tokens = true;
        if (c == '"' || c == '\'') {
            if (lex_string(&L, L.pos, L.line, col)) return -1;
            continue;
        }
        if (name_start((unsigned char)c)) {
            size_t p = L.pos;
            while (p < L.n && name_char((unsigned char)L.src[p])) p++;
            /* string prefixes */
            size_t len = p - L.pos;
            if (p < L.n && (L.src[p] == '"' || L.src[p] == '\'') && len <= 2) {
                bool ok = true;
                for (size_t i = L.pos; i < p; i++) if (!strchr("rRfFbBuU", L.src[i])) ok = false;
                if (ok) {
                    if (lex_string(&L, L.pos, L.line, col)) return -1;
                    continue;
                }
            }
            token *t = push(&L, TK_NAME, L.line, col, L.pos);
            if (!t || set_text(&L, t, L.src + L.pos, len)) return fail(&L, L.line, col, false, "out of memory");
            L.pos = p;
            continue;
        }
        if (isdigit((unsigned char)c) || (c == '.' && L.pos + 1 < L.n && isdigit((unsigned char)L.src[L.pos + 1]))) {
            if (lex_number(&L, L.line, col)) return -1;
            continue;
        }
        /* operators */
        size_t oplen = 0;
        for (int i = 0; OPS3[i] && !oplen; i++) if (!strncmp(L.src + L.pos, OPS3[i], 3)) oplen = 3;
        for (int i = 0; OPS2[i] && !oplen; i++) if (!strncmp(L.src + L.pos, OPS2[i], 2)) oplen = 2;
        if (!oplen && strchr(OPS1, c)) oplen = 1;
        if (!oplen) {
            if (c == '?' || c == '!' || c == '$' || c == '`')
                return fail(&L, L.line, col, false, "invalid syntax");
            return fail(&L, L.line, col, false, "invalid character '%c' (U+%04X)", isprint((unsigned char)c) ? c : '?', (unsigned char)c);
        }
        if (oplen == 1 && strchr("([{", c)) {
            if (L.depth == MAX_BRACKETS) return fail(&L, L.line, col, false, "too deeply nested: more than %d nested brackets", MAX_BRACKETS);
            L.brackets[L.depth] = c;
            L.bracket_line[L.depth] = L.line;
            L.bracket_col[L.depth] = col;
            L.depth++;
        } else if (oplen == 1 && strchr(")]}", c)) {
            if (close_bracket(&L, c, L.line, col)) return -1;
        }
        token *t = push(&L, TK_OP, L.line, col, L.pos);
        if (!t || set_text(&L, t, L.src + L.pos, oplen)) return fail(&L, L.line, col, false, "out of memory");
        L.pos += oplen;
    }
    if (L.depth > 0)
        return fail(&L, L.bracket_line[L.depth - 1], L.bracket_col[L.depth - 1], true,
                    "'%c' was never closed", L.brackets[L.depth - 1]);
    int endcol = col_of(&L, L.n);
    if (line_has_tokens && !push(&L, TK_NEWLINE, L.line, endcol, L.n)) return -1;
    while (L.n_indents > 1) {
        L.n_indents--;
        if (!push(&L, TK_DEDENT, L.line, endcol, L.n)) return -1;
    }
    if (!push(&L, TK_END, L.line, endcol, L.n)) return -1;
    return 0;
}

void lang_lex_free(token_list *tl)
{
    free(tl->toks);
    lang_arena_free(&tl->mem);
    memset(tl, 0, sizeof *tl);
}
