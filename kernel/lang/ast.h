/* kernel/lang/ast.h — the syntax tree the parser builds and the evaluator walks.
 *
 * One node type for every construct; which fields a kind uses is listed by the
 * kind. A tree lives in its program's arena (parser.h): nodes, their strings
 * and arrays are freed together, never one by one. Every node carries the position where it starts (line 1-based, column
 * 0-based bytes) and an anchor position (the operator, '(' of a call, '[' of a
 * subscript, '.' of an attribute) that error carets point at.
 */
#ifndef LANG_AST_H
#define LANG_AST_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    /* expressions */
    N_INT,        /* ival */
    N_FLOAT,      /* fval */
    N_STR,        /* s, slen */
    N_FSTR,       /* items: N_STR parts and N_FMT fields */
    N_FMT,        /* a: expression, s: format spec (may be NULL), op: conversion 0/'r'/'s'/'a'; b: N_FSTR spec when it holds fields */
    N_NAME,       /* s */
    N_CONST,      /* op: 0 None, 1 True, 2 False, 3 Ellipsis */
    N_LIST,       /* items */
    N_TUPLE,      /* items */
    N_DICT,       /* items: key, value, key, value ... */
    N_BINOP,      /* op (token), a, b */
    N_UNARY,      /* op '-', '+', '~', 'n' (not); a */
    N_AND, N_OR,  /* a, b */
    N_COMPARE,    /* items: operands; ops: n_items - 1 comparison codes */
    N_IFEXP,      /* a: condition, b: value if true, c: value if false */
    N_CALL,       /* a: function; items: N_ARG */
    N_ARG,        /* s: keyword or NULL; op: 1 for *args, 2 for **kwargs; a: value */
    N_ATTR,       /* a: object, s: name */
    N_SUBSCRIPT,  /* a: object, b: index (expression, N_SLICE or N_TUPLE of them) */
    N_SLICE,      /* a, b, c: start, stop, step (each may be NULL) */
    N_LISTCOMP,   /* a: element; items: N_COMPFOR */
    N_DICTCOMP,   /* a: key, b: value; items: N_COMPFOR */
    N_COMPFOR,    /* a: target, b: iterable; body: conditions */
    N_LAMBDA,     /* items: N_PARAM; a: body; scope */
    N_PARAM,      /* s: name; b: default or NULL; op: PARAM_* */
    N_STARRED,    /* a (inside list/tuple displays) */
    /* statements */
    N_EXPR,       /* a */
    N_ASSIGN,     /* items: targets (a = b = value); a: value */
    N_AUGASSIGN,  /* op: binary operator; a: target; b: value */
    N_IF,         /* a: condition; body; orelse */
    N_FOR,        /* a: target; b: iterable; body; orelse */
    N_WHILE,      /* a: condition; body; orelse */
    N_BREAK, N_CONTINUE, N_PASS,
    N_DEL,        /* items: targets */
    N_IMPORT,     /* items: N_ALIAS (import a.b as c, d) */
    N_FROMIMPORT, /* s: module; items: N_ALIAS; op: 1 for `import *` */
    N_ALIAS,      /* s: dotted name; b: N_NAME of the `as` name or NULL */
    N_ASSERT,     /* a: condition; b: message or NULL */
    N_DEF,        /* s: name; items: N_PARAM; body; orelse: decorator expressions (top first); scope */
    N_RETURN,     /* a: value or NULL */
    N_GLOBAL, N_NONLOCAL, /* items: N_NAME */
    N_TRY,        /* body; items: N_EXCEPT; orelse: else body; a: N_FINALLY or NULL */
    N_EXCEPT,     /* a: exception type expression or NULL (bare); s: `as` name or NULL; body */
    N_FINALLY,    /* body */
    N_RAISE,      /* a: exception or NULL (re-raise); b: cause (`from`) or NULL */
    N_WITH,       /* items: N_WITHITEM; body */
    N_WITHITEM,   /* a: context manager expression; b: target or NULL */
} node_kind;

/* comparison codes in N_COMPARE ops */
enum { CMP_LT, CMP_GT, CMP_LE, CMP_GE, CMP_EQ, CMP_NE, CMP_IN, CMP_NOT_IN, CMP_IS, CMP_IS_NOT };

/* binary operator codes (op of N_BINOP and N_AUGASSIGN) */
enum { OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_MATMUL,
       OP_AND, OP_OR, OP_XOR, OP_LSHIFT, OP_RSHIFT };

/* parameter kinds (op of N_PARAM) */
enum { PARAM_POS, PARAM_STAR, PARAM_KWONLY, PARAM_STARSTAR };

/* The names of one function's scope (scope.c): locals (parameters first, in
 * order, then every name the body assigns), then names declared global, then
 * names declared nonlocal. */
typedef struct scope_info {
    char **names;
    int n_locals, n_globals, n_nonlocals;
    /* per local: whether a nested function may read it (what a returned
     * closure keeps of the call's scope; the rest is dropped at return) */
    unsigned char *captured;
} scope_info;

typedef struct node node;
struct node {
    node_kind kind;
    int op;
    int line, col;        /* start */
    int aline, acol;      /* anchor for error carets */
    union {
        int64_t ival;     /* N_INT; chain length on operator, call, attribute and subscript nodes (parser) */
        double fval;      /* N_FLOAT */
    };
    char *s;
    size_t slen;
    node *a, *b, *c;
    node **items, **body, **orelse;
    int n_items, n_body, n_orelse;
    int height;           /* 1 + the tallest child's (parser.c bounds it, so walks over the tree recurse boundedly) */
    int *ops;
    scope_info *scope;    /* N_DEF, N_LAMBDA */
};

const char *lang_binop_symbol(int op);

#endif
