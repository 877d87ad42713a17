/* tape_record.h — internal to the engine: the calls tensor operations make, after
 * their result exists, so that an active tape (lens/tape.h) records them. Each
 * returns at once when no tape is active on the thread or no input reads one of
 * its variables; a result over an input's own storage (a view) is not recorded.
 *
 * Owns: the recording interface. Does not own: the tape (tape.c) or the
 * derivatives (tape_rules.c). */
#ifndef LENS_TAPE_RECORD_H
#define LENS_TAPE_RECORD_H

#include <stdbool.h>

#include "lens/tensor_ops.h"

void lens_tape_binary(lens_binop op, const lens_tensor *a, const lens_tensor *b, const lens_tensor *out);
void lens_tape_unary(lens_unop op, const lens_tensor *t, const lens_tensor *out);
void lens_tape_where(const lens_tensor *cond, const lens_tensor *a, const lens_tensor *b, const lens_tensor *out);
void lens_tape_masked_fill(const lens_tensor *t, const lens_tensor *mask, const lens_tensor *out);
/* ndims == 0: every dim. */
void lens_tape_reduce(lens_reduce_op op, const lens_tensor *t, int ndims, const int *dims, bool keepdim,
                      const lens_tensor *out);
void lens_tape_softmax(const lens_tensor *t, int dim, bool log, const lens_tensor *out);
/* gather: torch.gather; else index_select (numpy take along dim). */
void lens_tape_index(const lens_tensor *t, int dim, const lens_tensor *idx, bool gather, const lens_tensor *out);
void lens_tape_masked_select(const lens_tensor *t, const lens_tensor *mask, const lens_tensor *out);
void lens_tape_matmul(const lens_tensor *a, const lens_tensor *b, const lens_tensor *out);
/* cat along an existing dim (stack is cat of unsqueezed views). */
void lens_tape_cat(int n, const lens_tensor *const *ts, int dim, const lens_tensor *out);
/* out holds t's elements in row-major order (clone, contiguous, reshape's copy, dtype copy). */
void lens_tape_copy(const lens_tensor *t, const lens_tensor *out);
void lens_tape_tri(const lens_tensor *t, int64_t k, bool lower, const lens_tensor *out);
/* An operation with no backward rule, named for the error a gradient reaching it gives. */
void lens_tape_no_rule(const char *name, const lens_tensor *t, const lens_tensor *out);
/* An in-place write into dst. */
void lens_tape_write(const lens_tensor *dst);

#endif
