/* compute_turn.h — turns for the heavy passes of the lens processes of one user
 * on one machine (compute_turn.c).
 *
 * A pass (a forward, a backward, a patching pass, a block of logits) on the
 * cpu takes a turn first and gives it back after: with at most
 * max(1, CPUs / threads) turns out at once, kernels sharing few cores run their
 * passes one after another, each at the speed of its whole thread pool, instead
 * of all their threads competing for the cores. Taking a turn inside a turn
 * (a backward's forward) is free. */
#ifndef LENS_COMPUTE_TURN_H
#define LENS_COMPUTE_TURN_H

#include <stdbool.h>

#include "backend.h"

/* Waits for a turn when be runs on the cpu and turns are on: at most
 * LENS_TURN_WAIT_MS once next in line (longer in the line behind), or until
 * *interrupt is set, then goes on without one. Returns whether this call took
 * one (or nests in one this thread holds); pass that to lens_turn_give. */
bool lens_turn_take(const lens_backend *be, const volatile int *interrupt);
void lens_turn_give(bool taken);

/* Turns held by this process (0 or 1) and how many passes waited for one,
 * for tests. */
int lens_turns_held(void);
long lens_turn_waits(void);

#endif
