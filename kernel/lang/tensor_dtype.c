/* kernel/lang/tensor_dtype.c — torch's dtypes as values: one immortal object per
 * engine dtype, shown as torch shows it (torch.float32, torch.int64, torch.bool),
 * equal only to itself, with torch's is_floating_point and itemsize; and the
 * reading of dtype= arguments.
 *
 * Owns: the dtype type, lang_dtype_value, lang_dtype_arg, the dtype names in the
 * builtins. Does not own: the engine's dtypes (lens/tensor.h) or the namespaces
 * that name them (modules_table.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor_dtype.h"

typedef struct {
    lens_dtype dt;
    const char *repr;   /* "torch.float32" */
} dtype_info;

static const dtype_info dtypes[] = {
    {LENS_F32, "torch.float32"}, {LENS_I64, "torch.int64"}, {LENS_BOOL, "torch.bool"},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

static char *dtype_repr(value *self)
{
    return strdup(((const dtype_info *)self->u.obj.data)->repr);
}

static value *dtype_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    const dtype_info *d = self->u.obj.data;
    if (!strcmp(name, "is_floating_point")) return v_bool(d->dt == LENS_F32);
    if (!strcmp(name, "itemsize")) return v_int((int64_t)lens_dtype_size(d->dt));
    return NULL;
}

static const char *const dtype_attrs[] = {"is_floating_point", "itemsize", NULL};

/* Equality is the core's for objects: the same data, so the same dtype. */
static const lang_type dtype_type = {
    .name = "dtype", .getattr = dtype_getattr, .repr = dtype_repr, .attrs = dtype_attrs,
    .doc = "A tensor's element type: torch.float32, torch.int64 or torch.bool (x.dtype)."};

value *lang_dtype_value(lens_dtype dt)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dt == dt) return v_object(&dtype_type, (void *)&dtypes[i]);
    return v_object(&dtype_type, (void *)&dtypes[0]);
}

int lang_dtype_from_name(const char *s)
{
    if (!strncmp(s, "torch.", 6)) s += 6;
    static const struct { const char *name; lens_dtype dt; } names[] = {
        {"float", LENS_F32}, {"float32", LENS_F32}, {"int", LENS_I64}, {"long", LENS_I64},
        {"int64", LENS_I64}, {"bool", LENS_BOOL},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) return (int)names[i].dt;
    return -1;
}

int lang_dtype_of(const value *v)
{
    if (v->type == V_OBJECT && v->u.obj.type == &dtype_type) return (int)((const dtype_info *)v->u.obj.data)->dt;
    if (v->type == V_STR) return lang_dtype_from_name(v->u.str.s);
    if (v->type == V_BUILTIN && !v->u.builtin.self) return lang_dtype_from_name(v->u.builtin.def->name);
    return -1;
}

int lang_dtype_arg(interp *I, const value *v, int *dt)
{
    *dt = -1;
    if (!v || v->type == V_NONE) return 0;
    if ((*dt = lang_dtype_of(v)) >= 0) return 0;
    lang_raise(I, "TypeError", "dtype must be torch.float32 (float), torch.int64 (long, int) or torch.bool (bool)");
    return -1;
}

int lang_dtypes_install(interp *I)
{
    /* tensor(x, dtype=long), zeros(3, dtype=float32); torch.bool and np.bool_ name "torch.bool" */
    static const struct { const char *name; lens_dtype dt; } names[] = {
        {"float32", LENS_F32}, {"int64", LENS_I64}, {"long", LENS_I64}, {"torch.bool", LENS_BOOL},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        value *d = lang_dtype_value(names[i].dt);
        if (!d || lang_dict_set_str(I->builtins, names[i].name, d)) return -1;
    }
    return 0;
}
