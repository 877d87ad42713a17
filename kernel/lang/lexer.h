/* kernel/lang/lexer.h — turns a cell's source into tokens, with Python's rules.
 *
 * Owns: comments, numbers (1_000, 1e-3, 0x1f), strings (quotes, triple quotes,
 * escapes, r/f prefixes), implicit line joining inside brackets, backslash
 * continuation, INDENT/DEDENT. f-string bodies are kept raw: the parser splits
 * them. Positions are 1-based lines and 0-based byte columns.
 * Does not own: what the tokens mean (parser.c).
 */
#ifndef LANG_LEXER_H
#define LANG_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef enum {
    TK_END, TK_NEWLINE, TK_INDENT, TK_DEDENT,
    TK_NAME, TK_INT, TK_FLOAT, TK_STRING, TK_FSTRING, TK_OP
} tok_kind;

typedef struct token {
    char *text;           /* NAME / OP text; STRING: decoded bytes; FSTRING: raw body (in the list's arena) */
    size_t len;           /* length of text */
    size_t offset;        /* byte offset of the start in the source */
    union {
        int64_t ival;     /* INT */
        double fval;      /* FLOAT */
        struct { int body_line, body_col; };   /* FSTRING: where the body starts */
    };
    int line, col;        /* where the token starts */
    tok_kind kind;
    bool raw;             /* FSTRING: r prefix */
} token;

typedef struct lex_error {
    char msg[256];
    int line, col;
    bool incomplete;      /* the input stopped early: more lines would help */
    bool set;
} lex_error;

typedef struct token_list {
    token *toks;
    int n, cap;
    arena mem;            /* the tokens' texts */
} token_list;

/* Tokenizes src. Returns 0, or -1 with err filled. tl is freed with lex_free
 * in both cases. line_base/col_base shift positions (for f-string expressions:
 * col_base applies to the first line only). */
int lang_lex(const char *src, int line_base, int col_base, token_list *tl, lex_error *err);
void lang_lex_free(token_list *tl);

/* Decodes the escapes of a Python string body (not raw) into a malloc'd buffer. */
char *lang_lex_unescape(const char *s, size_t n, size_t *out_len);

#endif
