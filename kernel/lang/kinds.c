/* kernel/lang/kinds.c — what kind of value a value is: its Python type name,
 * whether it is a number, and its truth value.
 *
 * Owns: type_name, is_number, num_as_double, truthy, and the table of types
 * registered for value kinds outside the core (lang_register_kind).
 * Does not own: types defined elsewhere (they answer through their lang_type). */
#include "value.h"

#include "value_internal.h"

/* The types registered for value kinds outside the core's own (V_TENSOR). */
static const lang_type *kind_types[V_ELLIPSIS + 1];

void lang_register_kind(vtype kind, const lang_type *type) { kind_types[kind] = type; }

const lang_type *lang_type_of(const value *v)
{
    return v->type == V_OBJECT ? v->u.obj.type : kind_types[v->type];
}

const char *lang_type_name(const value *v)
{
    switch (v->type) {
    case V_NONE: return "NoneType";
    case V_BOOL: return "bool";
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_STR: return "str";
    case V_LIST: return "list";
    case V_TUPLE: return v->tuple_class ? v->tuple_class->name : "tuple";
    case V_DICT: return "dict";
    case V_RANGE: return "range";
    case V_SLICE: return "slice";
    case V_TENSOR: return lang_type_of(v) ? lang_type_of(v)->name : "Tensor";
    case V_BUILTIN: return "builtin_function_or_method";
    case V_OBJECT: return v->u.obj.type->name;
    case V_ELLIPSIS: return "ellipsis";
    }
    return "?";
}

bool lang_is_number(const value *v) { return v->type == V_BOOL || v->type == V_INT || v->type == V_FLOAT; }

double lang_num_as_double(const value *v)
{
    return v->type == V_FLOAT ? v->u.f : v->type == V_INT ? (double)v->u.i : v->u.b ? 1.0 : 0.0;
}

int lang_truthy(interp *I, value *v)
{
    switch (v->type) {
    case V_NONE: return 0;
    case V_BOOL: return v->u.b;
    case V_INT: return v->u.i != 0;
    case V_FLOAT: return v->u.f != 0;
    case V_STR: return v->u.str.len != 0;
    case V_LIST: case V_TUPLE: return v->u.list.n != 0;
    case V_DICT: return lang_dict_len(v->u.d) != 0;
    case V_RANGE: { int64_t n = lang_length_of(I, v); return n < 0 ? -1 : n > 0; }
    default: {
        const lang_type *t = lang_type_of(v);
        if (t && t->truth) return t->truth(I, v);
        if (t && t->len) return t->len(v) != 0;
        return 1;
    }
    }
}
