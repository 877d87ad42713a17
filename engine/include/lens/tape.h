/* lens/tape.h — a small reverse-mode tape over the engine's tensor operations:
 * the gradient of a scalar computed from a tensor (a user's metric of the logits)
 * with respect to that tensor.
 *
 *     lens_tape *tape = lens_tape_new();
 *     lens_tape_watch(tape, logits, &err);            // logits require grad
 *     lens_tape *prev = lens_tape_activate(tape);      // record on this thread
 *     lens_tensor *v = ...ops on views of logits...;   // a one-element float tensor
 *     lens_tape_activate(prev);
 *     lens_tape_backward(tape, v, &err);              // d v / d logits
 *     lens_tape_rows(tape, logits, &n, &rows, &g, &err);   // only the rows v read
 *     lens_tape_free(tape);
 *
 * Tracking follows storages: a watched tensor's storage is a variable, every view
 * over it (select, narrow, slice, permute, transpose, expand, diagonal, reshape
 * and squeeze that need no copy) reads that variable, and each recorded
 * operation whose input reads a variable makes its result's storage a new one.
 * Gradients are kept per row of a variable (its last dim, as the watched tensor
 * had it), allocated when a gradient first reaches the row, so a metric that
 * reads logits[:, -1] gets gradient rows for the last positions only.
 *
 * While a tape is active the tape keeps a reference to every input and result it
 * records (their storages cannot be freed and reused under it); freeing the tape
 * drops them. An operation with no backward rule is recorded too: the backward
 * pass fails, naming it, only when a gradient reaches it. Writing into a recorded
 * tensor in place (t[...] = x) makes the backward pass fail.
 */
#ifndef LENS_TAPE_H
#define LENS_TAPE_H

#include <stdint.h>

#include "lens/error.h"
#include "lens/tensor.h"

typedef struct lens_tape lens_tape;

/* NULL when out of memory. */
lens_tape *lens_tape_new(void);
void lens_tape_free(lens_tape *tape);

/* Marks t (float32) as requiring grad: its storage becomes a variable. */
int lens_tape_watch(lens_tape *tape, const lens_tensor *t, lens_error *err);

/* Makes tape this thread's recording tape (NULL: none) and returns the previous one. */
lens_tape *lens_tape_activate(lens_tape *tape);

/* Whether t reads a variable of the tape (a watched tensor or a recorded result). */
bool lens_tape_tracks(const lens_tape *tape, const lens_tensor *t);

/* Backpropagates from result, a one-element float32 tensor computed from a
 * watched tensor. Fails with a clear message for a result of several elements, a
 * result that does not depend on a watched tensor, an operation with no
 * gradient on the way, or an in-place write into a recorded tensor. */
int lens_tape_backward(lens_tape *tape, const lens_tensor *result, lens_error *err);

/* After lens_tape_backward: the gradient of the watched tensor t, as the rows
 * (of t's last dim, row r covering storage elements r*len .. r*len+len-1) that
 * received any: *n rows, their indices ascending in *rows (malloc'd, caller frees)
 * and their gradients in *grad [n, len] (caller frees). */
int lens_tape_rows(const lens_tape *tape, const lens_tensor *t, int64_t *n, int64_t **rows, lens_tensor **grad,
                   lens_error *err);

/* The operations the backward pass can differentiate, for error messages. */
extern const char lens_tape_supported[];

#endif
