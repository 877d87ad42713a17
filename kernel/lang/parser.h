/* kernel/lang/parser.h — source text to syntax tree (ast.h), Python's grammar
 * for the subset the command language has (parser.c: expressions,
 * parser_stmt.c: statements). Nesting is limited (a clear SyntaxError instead
 * of a deep recursion); a tree lives in one arena, freed with program_free. */
#ifndef LANG_PARSER_H
#define LANG_PARSER_H

#include <stdbool.h>

#include "arena.h"
#include "ast.h"

typedef struct parse_error {
    char ename[32];       /* "SyntaxError" or "IndentationError" */
    char msg[256];
    int line, col;
    bool incomplete;      /* more input could make it valid (is_complete) */
} parse_error;

/* A parsed cell: its statements, and the arena that holds the whole tree. */
typedef struct program {
    node **stmts;
    int n;
    arena *mem;
} program;

/* Parses a whole cell. Returns 0 or -1 with err filled (prog is then empty). */
int lang_parse_program(const char *src, program *prog, parse_error *err);
/* Frees the tree (every node of it at once). */
void lang_program_free(program *prog);

/* Parses one expression (the whole text) into prog->stmts[0] (n = 1).
 * Returns 0 or -1 with err filled. */
int lang_parse_expression(const char *src, program *prog, parse_error *err);

bool lang_is_keyword(const char *name);

#endif
