/* kernel/lang/exceptions.c — exception classes and instances (see exceptions.h).
 *
 * Owns: the class table and hierarchy, the class and instance value types,
 * matching, raising values, stashing pending errors.
 * Does not own: lang_raise and the interpreter's error fields (value.c).
 */
#include "exceptions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "parser.h"

typedef struct exc_class {
    const char *name;
    int parent;              /* index into CLASSES, -1 for BaseException */
    const char *doc;
} exc_class;

enum { EXC_BASE, EXC_EXCEPTION };

static const exc_class CLASSES[] = {
    {"BaseException", -1, "The base class of every exception."},
    {"Exception", EXC_BASE, "The base class of every error (not KeyboardInterrupt or SystemExit)."},
    {"KeyboardInterrupt", EXC_BASE, "The user interrupted the running cell."},
    {"SystemExit", EXC_BASE, "A request to exit."},
    {"ArithmeticError", EXC_EXCEPTION, "An arithmetic error."},
    {"ZeroDivisionError", 4, "Division or modulo by zero."},
    {"OverflowError", 4, "A result too large to represent."},
    {"FloatingPointError", 4, "A floating-point operation failed."},
    {"AssertionError", EXC_EXCEPTION, "An assert statement failed."},
    {"AttributeError", EXC_EXCEPTION, "An attribute is missing or read-only."},
    {"ImportError", EXC_EXCEPTION, "A module or a name in it cannot be imported."},
    {"ModuleNotFoundError", 10, "No module of that name is provided."},
    {"LookupError", EXC_EXCEPTION, "A key or index is not there."},
    {"IndexError", 12, "A sequence index is out of range."},
    {"KeyError", 12, "A mapping key is not there."},
    {"MemoryError", EXC_EXCEPTION, "Out of memory."},
    {"NameError", EXC_EXCEPTION, "A name is not defined."},
    {"UnboundLocalError", 16, "A local variable is read before it is assigned."},
    {"OSError", EXC_EXCEPTION, "An operating-system error (files)."},
    {"FileNotFoundError", 18, "A file does not exist."},
    {"RuntimeError", EXC_EXCEPTION, "An error that fits no other class."},
    {"NotImplementedError", 20, "A feature is not implemented."},
    {"RecursionError", 20, "Calls nested too deeply."},
    {"StopIteration", EXC_EXCEPTION, "An iterator has no more items."},
    {"SyntaxError", EXC_EXCEPTION, "The code is not valid syntax."},
    {"IndentationError", 24, "The code is not indented correctly."},
    {"TypeError", EXC_EXCEPTION, "An operation got a value of the wrong type."},
    {"ValueError", EXC_EXCEPTION, "A value of the right type but an unusable value."},
    {"UnicodeError", 27, "A text encoding or decoding error."},
    {"PermissionError", 18, "An operation the kernel does not permit (getenv of a variable outside its allow-list)."},
};
#define N_CLASSES ((int)(sizeof CLASSES / sizeof CLASSES[0]))

static int class_index(const char *name)
{
    for (int i = 0; i < N_CLASSES; i++) if (!strcmp(CLASSES[i].name, name)) return i;
    return -1;
}

/* An error named outside the table (a builtin's own name) counts as an Exception. */
static bool is_subclass(int k, int of)
{
    if (k < 0) return of == EXC_EXCEPTION || of == EXC_BASE;
    for (; k >= 0; k = CLASSES[k].parent) if (k == of) return true;
    return false;
}

/* ---- instances ---------------------------------------------------------------------- */

typedef struct exc_obj {
    int cls;                 /* index into CLASSES, -1: named */
    char *name;              /* the class name (also for names outside the table) */
    value *args;             /* tuple */
    char *text;              /* str() when made from a builtin's message, else NULL */
    value *cause;
} exc_obj;

static void exc_obj_free(void *data)
{
    exc_obj *x = data;
    if (!x) return;
    lang_decref(x->args);
    lang_decref(x->cause);
    free(x->name);
    free(x->text);
    free(x);
}

/* For the cycle collector (gc.c): an exception's arguments or cause may hold
 * it again (e.args[0] a list containing e). */
static void exc_visit(value *self, void (*on_value)(value *v, void *ctx), void (*on_env)(env *e, void *ctx), void *ctx)
{
    (void)on_env;
    exc_obj *x = self->u.obj.data;
    on_value(x->args, ctx);
    on_value(x->cause, ctx);
}

/* Drops the cause; the args tuple is a container the collector empties
 * itself, so the exception stays printable. */
static void exc_clear(value *self)
{
    exc_obj *x = self->u.obj.data;
    value *cause = x->cause;
    x->cause = NULL;
    lang_decref(cause);
}

static char *exc_str(value *self)
{
    exc_obj *x = self->u.obj.data;
    if (x->text) return strdup(x->text);
    size_t n = x->args->u.list.n;
    if (n == 0) return strdup("");
    if (n == 1) {
        value *a = x->args->u.list.items[0];
        return x->cls == class_index("KeyError") ? lang_repr_of(a) : lang_str_of(a);
    }
    return lang_repr_of(x->args);
}

static char *exc_repr(value *self)
{
    exc_obj *x = self->u.obj.data;
    size_t n = x->args->u.list.n;
    char *a = n == 1 ? lang_repr_of(x->args->u.list.items[0]) : n ? lang_repr_of(x->args) : strdup("");
    if (!a) return NULL;
    char *s;
    if (asprintf(&s, n > 1 ? "%s%s" : "%s(%s)", x->name, a) < 0) s = NULL;
    free(a);
    return s;
}

static value *exc_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    exc_obj *x = self->u.obj.data;
    if (!strcmp(name, "args")) return lang_incref(x->args);
    if (!strcmp(name, "__cause__")) return x->cause ? lang_incref(x->cause) : v_none();
    return NULL;
}

static const char *const exc_attrs[] = {"args", "__cause__", NULL};

/* Instances of each class get their own lang_type (named after the class, so
 * type names and messages say "ValueError"); all share these hooks. */
static const lang_type exc_instance_template = {
    .name = "Exception",
    .getattr = exc_getattr,
    .repr = exc_repr,
    .str = exc_str,
    .free = exc_obj_free,
    .attrs = exc_attrs,
    .visit = exc_visit,
    .clear = exc_clear,
    .doc = "An exception: e.args holds what it was made with; str(e) is its message.",
};

static lang_type instance_types[N_CLASSES];

static void init_instance_types(void)
{
    if (instance_types[0].name) return;
    for (int i = 0; i < N_CLASSES; i++) {
        instance_types[i] = exc_instance_template;
        instance_types[i].name = CLASSES[i].name;
        instance_types[i].doc = CLASSES[i].doc;
    }
}

static bool is_instance(const value *v)
{
    return v && v->type == V_OBJECT && v->u.obj.type->getattr == exc_getattr;
}

const char *lang_exc_name(const value *v)
{
    if (!is_instance(v)) return NULL;
    return ((const exc_obj *)v->u.obj.data)->name;
}

static value *exc_new(int cls, const char *name, value *args, const char *text)
{
    exc_obj *x = calloc(1, sizeof *x);
    if (!x) { lang_decref(args); return NULL; }
    x->cls = cls;
    x->name = strdup(name);
    x->args = args;
    x->text = text ? strdup(text) : NULL;
    if (!x->name || !args || (text && !x->text)) { exc_obj_free(x); return NULL; }
    init_instance_types();
    value *v = v_object(cls >= 0 ? &instance_types[cls] : &exc_instance_template, x);
    if (!v) exc_obj_free(x);
    return v;
}

/* ---- classes ----------------------------------------------------------------------- */

static value *class_call(interp *I, value *self, args *a)
{
    const exc_class *c = self->u.obj.data;
    if (a->nkw) return lang_raise(I, "TypeError", "%s() takes no keyword arguments", c->name);
    value *t = v_tuple((size_t)a->npos);
    if (!t) return lang_raise(I, "MemoryError", "out of memory");
    for (int i = 0; i < a->npos; i++) lang_tuple_set(t, (size_t)i, lang_incref(a->pos[i]));
    value *v = exc_new((int)(c - CLASSES), c->name, t, NULL);
    return v ? v : lang_raise(I, "MemoryError", "out of memory");
}

static char *class_repr(value *self)
{
    const exc_class *c = self->u.obj.data;
    char *s;
    if (asprintf(&s, "<class '%s'>", c->name) < 0) return NULL;
    return s;
}

static value *class_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    const exc_class *c = self->u.obj.data;
    if (!strcmp(name, "__name__")) return v_str(c->name);
    if (!strcmp(name, "__doc__")) return v_str(c->doc);
    return NULL;
}

static const char *const class_attrs[] = {"__name__", "__doc__", NULL};

static const lang_type exc_class_type = {
    .name = "type",
    .getattr = class_getattr,
    .call = class_call,
    .repr = class_repr,
    .attrs = class_attrs,
    .doc = "An exception class: raise it, catch it with except, or call it to make an exception.",
};

int lang_exceptions_install(interp *I)
{
    init_instance_types();
    for (int i = 0; i < N_CLASSES; i++) {
        value *c = v_object(&exc_class_type, (void *)&CLASSES[i]);
        if (!c || lang_dict_set_str(I->builtins, CLASSES[i].name, c)) return -1;
    }
    return 0;
}

/* ---- raising, catching --------------------------------------------------------------- */

/* A KeyError raised by a builtin carries the key's repr as its message; when
 * that is a literal (a string or number key), the exception gets the key
 * itself as its argument, as Python's does. NULL otherwise. */
static value *key_of_message(const char *msg)
{
    parse_error pe;
    program prog;
    if (lang_parse_expression(msg, &prog, &pe)) return NULL;
    node *n = prog.stmts[0];
    value *v = NULL;
    if (n->kind == N_STR) v = v_strn(n->s, n->slen);
    else if (n->kind == N_INT) v = v_int(n->ival);
    else if (n->kind == N_FLOAT) v = v_float(n->fval);
    lang_program_free(&prog);
    return v;
}

static value *exc_of(const char *ename, const char *emsg, value *exc)
{
    if (exc) return lang_incref(exc);
    const char *msg = emsg ? emsg : "";
    value *key = !strcmp(ename, "KeyError") && *msg ? key_of_message(msg) : NULL;
    if (key) {
        value *v = exc_new(class_index(ename), ename, v_tuple_of(1, key), NULL);
        return v ? v : v_none();
    }
    value *args = *msg ? v_tuple_of(1, v_str(msg)) : v_tuple(0);
    value *v = exc_new(class_index(ename), ename[0] ? ename : "Exception", args, msg);
    return v ? v : v_none();
}

value *lang_exc_current(interp *I) { return exc_of(I->ename, I->emsg, I->exc); }

value *lang_exc_from_stash(const exc_stash *st) { return exc_of(st->ename, st->emsg, st->exc); }

int lang_exc_raise(interp *I, value *v, value *cause)
{
    value *inst = NULL;
    if (v->type == V_OBJECT && v->u.obj.type == &exc_class_type) {
        args none = {0};
        if (!(inst = class_call(I, v, &none))) return -1;
    } else if (is_instance(v)) {
        inst = lang_incref(v);
    } else {
        lang_raise(I, "TypeError", "exceptions must derive from BaseException");
        return -1;
    }
    exc_obj *x = inst->u.obj.data;
    if (cause && cause->type != V_NONE) {
        if (!lang_exc_name(cause) && !(cause->type == V_OBJECT && cause->u.obj.type == &exc_class_type)) {
            lang_decref(inst);
            lang_raise(I, "TypeError", "exception causes must derive from BaseException");
            return -1;
        }
        lang_decref(x->cause);
        x->cause = lang_incref(cause);
    }
    char *msg = exc_str(inst);
    lang_raise(I, x->name, "%s", msg ? msg : "");
    free(msg);
    lang_decref(I->exc);
    I->exc = inst;
    return -1;
}

static int match_one(interp *I, int k, value *type)
{
    if (type->type == V_OBJECT && type->u.obj.type == &exc_class_type)
        return is_subclass(k, (int)((const exc_class *)type->u.obj.data - CLASSES));
    lang_raise(I, "TypeError", "catching classes that do not inherit from BaseException is not allowed");
    return -1;
}

int lang_exc_matches(interp *I, const char *ename, value *type)
{
    int k = class_index(ename);
    if (type->type != V_TUPLE) return match_one(I, k, type);
    for (size_t i = 0; i < type->u.list.n; i++) {
        int r = match_one(I, k, type->u.list.items[i]);
        if (r) return r;
    }
    return 0;
}

void lang_exc_stash_take(interp *I, exc_stash *st)
{
    st->error = I->error;
    memcpy(st->ename, I->ename, sizeof st->ename);
    st->emsg = I->emsg;
    st->eline = I->eline;
    st->ecol = I->ecol;
    st->exc = I->exc;
    st->frames = I->frames;
    st->n_frames = I->n_frames;
    I->emsg = NULL;
    I->exc = NULL;
    I->frames = NULL;
    I->n_frames = 0;
    lang_clear_error(I);
}

void lang_exc_stash_restore(interp *I, exc_stash *st)
{
    lang_clear_error(I);
    I->error = st->error;
    memcpy(I->ename, st->ename, sizeof I->ename);
    I->emsg = st->emsg;
    I->eline = st->eline;
    I->ecol = st->ecol;
    I->exc = st->exc;
    I->frames = st->frames;
    I->n_frames = st->n_frames;
    memset(st, 0, sizeof *st);
}

void lang_exc_stash_drop(exc_stash *st)
{
    free(st->emsg);
    lang_decref(st->exc);
    for (int i = 0; i < st->n_frames; i++) {
        lang_code_release(st->frames[i].code);
        free(st->frames[i].name);
    }
    free(st->frames);
    memset(st, 0, sizeof *st);
}
