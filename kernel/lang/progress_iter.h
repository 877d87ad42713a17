/* kernel/lang/progress_iter.h — tqdm's progress-bar iterator (progress_iter.c). */
#ifndef LANG_PROGRESS_ITER_H
#define LANG_PROGRESS_ITER_H

#include "value.h"

/* tqdm(iterable, desc=, total=, leave=): any argument may be NULL (iterable
 * NULL or None: a bar moved by update()). Shows the bar at 0. */
value *lang_tqdm_new(interp *I, value *iterable, value *desc, value *total, value *leave);

/* The tqdm methods (update, set_description, close). */
extern const lang_builtin builtins_progress_iter[];

#endif
