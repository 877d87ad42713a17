/* kernel/lang/parser.h — source text to syntax tree (ast.h), Python's grammar
 * for the subset the command language has. Nesting is limited (a clear
 * SyntaxError instead of a deep recursion). */
#ifndef LANG_PARSER_H
#define LANG_PARSER_H

#include <stdbool.h>

#include "ast.h"

typedef struct parse_error {
    char ename[32];       /* "SyntaxError" or "IndentationError" */
    char msg[256];
    int line, col;
    bool incomplete;      /* more input could make it valid (is_complete) */
} parse_error;

typedef struct program {
    node **stmts;
    int n;
} program;

/* Parses a whole cell. Returns 0 or -1 with err filled (prog is then empty). */
int parse_program(const char *src, program *prog, parse_error *err);
void program_free(program *prog);

/* Parses one expression (the whole text). NULL on error. */
node *parse_expression(const char *src, parse_error *err);

bool is_keyword(const char *name);

#endif
