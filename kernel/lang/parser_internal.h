/* kernel/lang/parser_internal.h — what the two halves of the parser share
 * (parser.c: expressions; parser_stmt.c: statements).
 * Owns: the parser state, its limits, the token helpers, and the functions
 * each half calls in the other. */
#ifndef LANG_PARSER_INTERNAL_H
#define LANG_PARSER_INTERNAL_H

#include <stdbool.h>
#include <string.h>

#include "lexer.h"
#include "parser.h"

#define MAX_RECURSION 120   /* nested parentheses, blocks, unary operators */
#define MAX_CHAIN 400       /* a.b.c..., a+b+c..., f()()... */
#define MAX_HEIGHT 1000     /* levels of the whole tree: every recursive walk over it stays shallow */

typedef struct parser {
    token *t;
    int n, pos;
    parse_error *err;
    int depth;
    int fn_depth;         /* inside a def or lambda: return is allowed */
    bool failed;
    arena *mem;           /* the tree's nodes, strings and arrays */
} parser;

static inline token *cur(parser *P) { return &P->t[P->pos]; }
static inline bool is_op(parser *P, const char *op) { return cur(P)->kind == TK_OP && !strcmp(cur(P)->text, op); }
static inline bool is_kw(parser *P, const char *kw) { return cur(P)->kind == TK_NAME && !strcmp(cur(P)->text, kw); }
static inline bool accept_op(parser *P, const char *op) { if (!is_op(P, op)) return false; P->pos++; return true; }
static inline bool accept_kw(parser *P, const char *kw) { if (!is_kw(P, kw)) return false; P->pos++; return true; }
static inline void set_start(node *n, const node *from) { n->line = from->line; n->col = from->col; }
#define LEAVE(P) ((P)->depth--)

/* Errors: the first one wins; they return NULL for `return lang_parse_err(...)`. */
void *lang_parse_err_at(parser *P, int line, int col, bool incomplete, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void *lang_parse_err(parser *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void *lang_parse_invalid(parser *P);
bool lang_parse_expect_op(parser *P, const char *op);

/* A node of kind k in the tree's arena, positioned at token at. */
node *lang_parse_node(parser *P, node_kind k, token *at);
/* Appends x to an arena array. 0 or -1. */
int lang_parse_push(parser *P, node ***arr, int *n, node *x);
/* One more level of nesting (false past MAX_RECURSION); LEAVE undoes it. */
bool lang_parse_enter(parser *P);

node *lang_parse_test(parser *P);
node *lang_parse_expr(parser *P);
node *lang_parse_testlist(parser *P, bool allow_star);
/* Parameters of a def (up to ')') or a lambda (up to ':'). 0 or -1. */
int lang_parse_params(parser *P, node *fn, bool is_def);

bool lang_parse_valid_target(parser *P, node *t, const char *what);
/* ':' and a block (indented or on the same line). 0 or -1. */
int lang_parse_block(parser *P, node ***body, int *n);

#endif
