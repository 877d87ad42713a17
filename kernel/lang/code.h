/* kernel/lang/code.h — parsed code that outlives the cell that ran it.
 *
 * Owns: a cell's (or a `lens run` file's) source text and syntax tree, kept
 * alive by reference counting: the cell being run holds one reference and
 * every function defined from it holds another, so a function defined in one
 * cell can be called in any later cell (and its tracebacks can still show
 * its source lines).
 * Does not own: parsing itself (parser.c), what runs the tree (eval.c).
 */
#ifndef LANG_CODE_H
#define LANG_CODE_H

#include "parser.h"

typedef struct lang_code {
    int refcount;
    char *source;
    unsigned long cell;   /* the interpreter's cell counter when this code ran */
    program prog;
} lang_code;

/* Parses src into a new code object (refcount 1), or NULL with err filled. */
lang_code *lang_code_parse(const char *src, unsigned long cell, parse_error *err);
lang_code *lang_code_ref(lang_code *c);
/* Drops one reference; the last one frees the source and the tree. NULL is ignored. */
void lang_code_release(lang_code *c);

#endif
