/* kernel/lang/tensor_dtype.h — torch's dtypes as values (tensor_dtype.c):
 * torch.float32, torch.int64, torch.bool, what x.dtype gives. */
#ifndef LANG_TENSOR_DTYPE_H
#define LANG_TENSOR_DTYPE_H

#include "value.h"

/* The dtype value for dt (torch.float32, ...): a new reference, NULL when out of memory. */
value *lang_dtype_value(lens_dtype dt);
/* Reads a dtype argument: a dtype value, a Python type standing for one (float,
 * int, bool) or a name ("float32", "torch.int64", "long", "bool"). 0 with *dt
 * set; *dt -1 for None or an absent argument; -1 with TypeError raised otherwise. */
int lang_dtype_arg(interp *I, const value *v, int *dt);
/* The dtype v stands for (as lang_dtype_arg reads it), or -1: no dtype. */
int lang_dtype_of(const value *v);
/* The dtype a name stands for ("float32", "torch.int64", "long", "bool", ...), or -1. */
int lang_dtype_from_name(const char *s);
/* Installs the dtype names that builtins may refer to (torch.bool is "torch.bool",
 * as bool is Python's type). */
int lang_dtypes_install(interp *I);

#endif
