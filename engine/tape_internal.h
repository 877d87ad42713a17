/* tape_internal.h — internal to the engine: the tape's recorded nodes, shared by
 * the tape (tape.c) and the derivative rules (tape_rules.c).
 *
 * Owns: the node layout. Does not own: recording or the backward order (tape.c),
 * the derivatives (tape_rules.c). */
#ifndef LENS_TAPE_INTERNAL_H
#define LENS_TAPE_INTERNAL_H

#include <stdbool.h>

#include "lens/tape.h"
#include "lens/tensor_ops.h"

typedef enum {
    TAPE_LEAF,          /* a watched tensor */
    TAPE_NO_RULE,       /* recorded without a derivative: name says what */
    TAPE_BINARY, TAPE_UNARY, TAPE_WHERE, TAPE_MASKED_FILL, TAPE_REDUCE, TAPE_SOFTMAX,
    TAPE_INDEX_SELECT, TAPE_GATHER, TAPE_MASKED_SELECT, TAPE_MATMUL, TAPE_CAT,
    TAPE_COPY, TAPE_TRI
} tape_rule;

/* One variable: a storage and, unless a leaf, the operation that made it. */
typedef struct tape_node {
    lens_storage *storage;
    lens_tensor *out;       /* a reference to the result (leaf: the watched tensor) */
    tape_rule rule;
    const char *name;       /* TAPE_NO_RULE */
    int op;                 /* lens_binop, lens_unop or lens_reduce_op */
    int dim, ndims, dims[LENS_MAX_DIMS];
    bool flag;              /* keepdim, log (softmax), lower (tri) */
    int64_t k;              /* tri's diagonal */
    int n_in;
    lens_tensor **in;       /* references to the inputs (values the rule reads) */
    /* the gradient, by rows of rowlen storage elements, allocated when reached */
    int64_t rowlen, nrows;
    float **rows;
} tape_node;

/* Input gradients of node nd given g, the gradient of its result (contiguous, the
 * result's shape): gin[i] for each i with need[i] (a new tensor of in[i]'s shape),
 * NULL elsewhere. -1 + err on failure. */
int tape_rule_apply(const tape_node *nd, const lens_tensor *g, const bool *need, lens_tensor **gin, lens_error *err);

#endif
