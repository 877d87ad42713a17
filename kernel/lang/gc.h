/* kernel/lang/gc.h — the cycle collector: frees groups of container values
 * (and closure scopes) that only reference each other.
 *
 * Reference counting frees everything else; the collector only finds what
 * counting cannot: cycles such as `l = []; l.append(l); del l`. It is CPython's
 * trial deletion over the tracked containers: a container whose references all
 * come from other tracked containers, and that no externally referenced
 * container reaches, is garbage.
 *
 * A value type joins by one case in gc_value_is_container and one case in each
 * of the two switches of gc.c (visit its children, clear its references), and
 * by calling gc_track_value when it is created; decref untracks it. */
#ifndef LANG_GC_H
#define LANG_GC_H

#include <stdbool.h>
#include <stddef.h>

#include "value.h"

/* Whether values of v's type can hold references to other values. */
bool gc_value_is_container(const value *v);

/* Registers a freshly made container value / closure scope (no-op for others). */
void gc_track_value(value *v);
void gc_untrack_value(value *v);
void gc_track_env(env *e);
void gc_untrack_env(env *e);

/* Frees every unreachable cycle now; returns how many containers it freed. */
size_t gc_collect(void);
/* True when the tracked containers have doubled since the last collection. */
bool gc_collection_due(void);
/* How many containers (values and scopes) are tracked, live, right now. */
size_t gc_tracked_count(void);

#endif
