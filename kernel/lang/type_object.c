/* kernel/lang/type_object.c — classes as values: what type(x) returns
 * (<class 'int'>, <class 'torch.Tensor'>, with __name__ as Python names the
 * kind: 'int', 'list', 'Tensor', 'Size', 'function', 'HookedTransformer',
 * 'ActivationCache', ...),
 * and the class test behind isinstance.
 *
 * Owns: the class type, lang_class_of, lang_is_instance.
 * Does not own: the names themselves (lang_type_name, each lang_type's name),
 * the placeholders and modules that stand for TransformerLens's classes
 * (modules_builtins.c, modules.c; they answer __name__). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "type_object.h"

/* data: the class's name, a static string (lang_type_name's), so that two
 * type() results of one kind are equal (values_equal compares data) */
static value *class_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    if (!strcmp(name, "__name__") || !strcmp(name, "__qualname__")) return v_str(self->u.obj.data);
    return NULL;
}

/* The module a class is shown in, as Python qualifies it: <class 'torch.Tensor'>
 * while its __name__ stays 'Tensor'; "" for the builtins (<class 'int'>). */
static const char *class_module(const char *name)
{
    static const char *const torch_classes[] = {"Tensor", "Size", "dtype", NULL};
    for (int i = 0; torch_classes[i]; i++)
        if (!strcmp(name, torch_classes[i])) return "torch.";
    return "";
}

static char *class_repr(value *self)
{
    char *s;
    const char *name = self->u.obj.data;
    if (asprintf(&s, "<class '%s%s'>", class_module(name), name) < 0) return NULL;
    return s;
}

/* type(x)(...) builds a value of that class when a builtin of its name does (int, str, list, ...) */
static value *class_call(interp *I, value *self, args *a)
{
    value *ctor = lang_dict_get_str(I->builtins, self->u.obj.data);
    if (!ctor || ctor->type != V_BUILTIN)
        return lang_raise(I, "TypeError", "cannot create '%s' instances", (const char *)self->u.obj.data);
    return lang_call_value(I, ctor, a);
}

static const char *const class_attrs[] = {"__name__", "__qualname__", NULL};

static const lang_type class_type = {
    .name = "type", .getattr = class_getattr, .repr = class_repr, .call = class_call, .attrs = class_attrs,
    .doc = "A class: what type(x) returns. __name__ is the class's name; isinstance(x, cls) tests it."};

value *lang_class_of(const value *v)
{
    return v_object(&class_type, (void *)lang_type_name(v));
}

/* The class name a value stands for as isinstance's second argument, or NULL:
 * a class, a builtin (int, str; torch.Tensor is the builtin tensor), or a
 * value with a __name__ (TransformerLens's classes, provided as placeholders
 * and modules: the part after the last dot). *owned receives what to free. */
static const char *class_name(interp *I, value *t, char **owned)
{
    *owned = NULL;
    if (t->type == V_OBJECT && t->u.obj.type == &class_type) return t->u.obj.data;
    if (t->type == V_BUILTIN && !t->u.builtin.self)
        return !strcmp(t->u.builtin.def->name, "tensor") ? "Tensor" : t->u.builtin.def->name;
    if (t->type == V_STR) return t->u.str.s;
    if (t->type != V_OBJECT || !t->u.obj.type->getattr) return NULL;
    value *n = t->u.obj.type->getattr(I, t, "__name__");
    if (!n) return NULL;
    if (n->type == V_STR) {
        const char *dot = strrchr(n->u.str.s, '.');
        *owned = strdup(dot ? dot + 1 : n->u.str.s);
    }
    lang_decref(n);
    return *owned;
}

int lang_is_instance(interp *I, value *x, value *cls)
{
    value **ts = &cls;
    size_t nt = 1;
    if (cls->type == V_TUPLE) { ts = cls->u.list.items; nt = cls->u.list.n; }
    const char *own = lang_type_name(x);
    for (size_t i = 0; i < nt; i++) {
        char *owned;
        const char *name = class_name(I, ts[i], &owned);
        if (!name) {
            if (I->error) return -1;
            lang_raise(I, "TypeError", "isinstance() arg 2 must be a type or tuple of types, not %s", lang_type_name(ts[i]));
            return -1;
        }
        /* a kind's own class, and the classes it derives from as in Python */
        bool match = !strcmp(name, own) ||
                     (!strcmp(name, "int") && x->type == V_BOOL) ||
                     (!strcmp(name, "tuple") && x->type == V_TUPLE);
        free(owned);
        if (match) return 1;
    }
    return 0;
}
