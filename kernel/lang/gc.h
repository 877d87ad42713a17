/* kernel/lang/gc.h — the cycle collector: frees groups of container values
 * (and closure scopes) that only reference each other.
 *
 * Reference counting frees everything else; the collector only finds what
 * counting cannot: cycles such as `l = []; l.append(l); del l`. It is CPython's
 * trial deletion over the tracked containers: a container whose references all
 * come from other tracked containers, and that no externally referenced
 * container reaches, is garbage.
 *
 * A value type that holds references joins with one case in each of the three
 * switches of gc.c (gc_value_is_container; visit_children: call fn on each
 * reference; clear_references: drop them, leaving a valid empty value) and one
 * lang_gc_track_value(v) call where it is made, once its type is set (values made
 * by alloc_value in value.c are tracked there); decref untracks it. A closure
 * scope it holds is passed to fn as KIND_ENV. An object type (V_OBJECT) joins
 * without touching gc.c: it sets lang_type.visit (held values to on_value,
 * held scopes such as a closure to on_env) and lang_type.clear (function.c,
 * functools.partial, exceptions). */
#ifndef LANG_GC_H
#define LANG_GC_H

#include <stdbool.h>
#include <stddef.h>

#include "value.h"

/* Whether values of v's type can hold references to other values. */
bool lang_gc_value_is_container(const value *v);

/* Registers a freshly made container value / closure scope (no-op for others). */
void lang_gc_track_value(value *v);
void lang_gc_untrack_value(value *v);
void lang_gc_track_env(env *e);
void lang_gc_untrack_env(env *e);

/* Frees every unreachable cycle now; returns how many containers it freed. */
size_t lang_gc_collect(void);
/* True when the tracked containers have doubled since the last collection. */
bool lang_gc_collection_due(void);
/* Collects when the tracked containers grew by more than a quarter (and by
 * any number while few survive) since the last collection, as at the end of a
 * cell: a cell that makes little keeps the cost of a full scan off the cell.
 * Returns how many containers it freed. */
size_t lang_gc_collect_if_grown(void);
/* How many containers (values and scopes) are tracked, live, right now. */
size_t lang_gc_tracked_count(void);

#endif
