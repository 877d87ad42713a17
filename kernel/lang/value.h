/* kernel/lang/value.h — the values of the command language and the interpreter
 * state every builtin sees.
 *
 * Values are reference counted: every function returning a value* returns a new
 * reference (the caller owns it) unless it says "borrowed"; NULL means an error
 * was raised on the interpreter (lang_raise). None, True and False are shared
 * immortal values.
 *
 * Other modules add types through lang_type (model, cache, figure, ...) and
 * functions through builtin tables (builtins.h).
 */
#ifndef LANG_VALUE_H
#define LANG_VALUE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "lang.h"
#include "lens/tensor.h"

typedef enum {
    V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_TUPLE, V_DICT, V_RANGE, V_SLICE,
    V_TENSOR, V_BUILTIN, V_OBJECT, V_ELLIPSIS
} vtype;

typedef struct value value;
typedef struct interp interp;
typedef struct dict dict;
typedef struct node node;
typedef struct env env;

/* A container's place in the cycle collector's list (gc.c); next == NULL: not tracked. */
typedef struct gc_link { struct gc_link *prev, *next; } gc_link;

/* One parameter of a builtin, as Python declares it. A builtin's parameters
 * (a table ended by {NULL}) are its one argument spec: the call is checked
 * against them (params.c) before the builtin runs, lang_arg reads them by name,
 * and help(), inspection, completion and docs/LANGUAGE.md show the signature
 * they spell. */
typedef enum {
    LANG_REQUIRED,      /* positional or keyword, no default: name */
    LANG_OPTIONAL,      /* positional or keyword with a default: name=default */
    LANG_KEYWORD,       /* keyword-only (after *): name=default, or required when default is NULL */
    LANG_VARARGS,       /* *name: any further positional arguments (lang_arg_rest) */
    LANG_VARKW,         /* **name: any further keyword arguments (read a->kwnames/kw) */
    LANG_POSONLY,       /* positional-only (before /): required when default_text is NULL; first in a spec */
} lang_param_kind;

typedef struct lang_param {
    const char *name;
    lang_param_kind kind;
    const char *default_text;   /* shown in the signature ("True", "\"cpu\""); NULL: none */
} lang_param;

/* Arguments of a builtin call: positional values then keyword (name, value) pairs. All borrowed. */
typedef struct args {
    value **pos;
    int npos;
    const char **kwnames;
    value **kw;
    int nkw;
    const lang_param *params;   /* the called builtin's spec once checked (lang_bind_args), else NULL */
} args;

typedef value *(*builtin_fn)(interp *I, value *self, args *a);

/* One builtin function or method, with its documentation (help, inspect, completion). */
typedef struct lang_builtin {
    const char *name;        /* "einsum", or "Tensor.sum" for a method */
    builtin_fn fn;
    const char *doc;         /* one paragraph */
    const lang_param *params;   /* the argument spec: keyword parsing, signature and help all come from it */
} lang_builtin;

/* A type defined outside the core (model, cache, figure, ..., and the tensor
 * kind, registered with lang_register_kind). The core reaches such a value
 * only through these hooks; any hook may be NULL. */
typedef struct lang_type {
    const char *name;
    /* attribute lookup: NULL without raising means "no such attribute" */
    value *(*getattr)(interp *I, value *self, const char *name);
    value *(*getitem)(interp *I, value *self, value *key);
    value *(*call)(interp *I, value *self, args *a);
    int (*contains)(interp *I, value *self, value *item);   /* 1, 0, -1 error */
    int64_t (*len)(value *self);                              /* -1: no len */
    char *(*repr)(value *self);                               /* malloc'd */
    char *(*str)(value *self);                                /* malloc'd; NULL: repr */
    cJSON *(*to_bundle)(value *self);                         /* NULL: text/plain from repr */
    void (*free)(void *data);
    /* string keys for completion inside obj["...: malloc'd array of malloc'd names */
    int (*keys)(value *self, char ***names);
    /* attribute names for completion (NULL-terminated, static) */
    const char *const *attrs;
    const char *doc;
    /* the context-manager protocol of `with`: enter's result is bound by `as`;
     * exit gets whether the body raised and returns 1 to suppress that error,
     * 0 to let it through, -1 on its own error */
    value *(*enter)(interp *I, value *self);
    int (*exit)(interp *I, value *self, bool raised);
    /* An object that holds values sets both, so that the cycle collector (gc.c)
     * can free cycles through it: visit calls on_value on every value it holds
     * and on_env on every scope (a function's closure); clear drops those
     * references (the object stays valid, emptied). */
    void (*visit)(value *self, void (*on_value)(value *child, void *ctx), void (*on_env)(env *scope, void *ctx), void *ctx);
    void (*clear)(value *self);
    /* operators: binary when either operand has the type (the left one's hook
     * first); compare for <, >, <=, >=, ==, != (CMP_LT..CMP_NE), returning any
     * value (a tensor's is a bool tensor); unary for - + ~ */
    value *(*binary)(interp *I, int op, value *a, value *b);
    value *(*compare)(interp *I, int cmp, value *a, value *b);
    value *(*unary)(interp *I, int op, value *self);
    int (*setitem)(interp *I, value *self, value *key, value *val);   /* 0, -1 */
    int (*truth)(interp *I, value *self);                             /* 1, 0, -1; NULL: len, else true */
    /* format(self, spec); NULL without raising: format as its str */
    char *(*format)(interp *I, value *self, const char *spec);
    /* the iterator protocol (iterate.c): iter gives an iterator over self (a
     * new reference; an iterator may give itself); next, on an iterator, gives
     * its next item: 1 (*item a new reference), 0 when exhausted, -1 on error.
     * A type with neither but len and getitem iterates as a sequence. */
    value *(*iter)(interp *I, value *self);
    int (*next)(interp *I, value *self, value **item);
} lang_type;

/* The type of a value: a V_OBJECT's own, the one registered for its kind, or
 * NULL (the core's own values). */
const lang_type *lang_type_of(const value *v);
/* Gives a value kind outside the core's own (V_TENSOR) its behaviour. */
void lang_register_kind(vtype kind, const lang_type *type);

/* What a tuple may be besides a plain tuple (Python's tuple subclasses): a
 * named tuple such as topk's (values, indices), or torch.Size. It names the
 * type, frames the repr and may name the items. */
typedef struct lang_tuple_class {
    const char *name;                   /* type(x).__name__: "topk", "Size" */
    const char *repr_open, *repr_close; /* "topk(" ")", "torch.Size([" "])" */
    const char *const *field_names;     /* one name (or NULL) per item, or NULL */
    int n_fields;
} lang_tuple_class;

/* One function call the pending error passed through (function.c). */
typedef struct lang_frame {
    struct lang_code *code;  /* holds a reference */
    char *name;
    int line, col;
} lang_frame;

struct value {
    vtype type;
    int refcount;            /* < 0: immortal */
    union {
        bool b;
        int64_t i;
        double f;
        struct { char *s; size_t len; } str;
        struct { value **items; size_t n, cap; } list;   /* list and tuple */
        dict *d;
        struct { int64_t start, stop, step; } range;
        struct { value *start, *stop, *step; } slice;
        struct { lens_tensor *t; const char *const *field_names; } tensor;
        struct { const lang_builtin *def; value *self; } builtin;
        struct { const lang_type *type; void *data; } obj;
    } u;
    /* a tuple may be of a tuple class (named tuples, torch.Size) */
    const lang_tuple_class *tuple_class;
    gc_link gc;              /* containers only (gc.c) */
};

/* ---- interpreter state -------------------------------------------------- */

struct interp {
    dict *globals;
    dict *builtins;          /* name -> builtin value */
    dict *modules;           /* name -> module value (modules.c); NULL until one is registered */
    const lang_output *out;
    /* the pending error */
    bool error;
    char ename[64];
    char *emsg;
    int eline, ecol;         /* 0 = not placed yet */
    int call_depth;
    const char *stack_floor; /* calls below this stack address raise RecursionError; NULL: unchecked */
    struct lang_code *code;  /* the code being run (borrowed) */
    value *exc;              /* the raised exception object behind the pending error, or NULL */
    lang_frame *frames;      /* function frames the pending error left, innermost first */
    int n_frames;
    value *handling;         /* the exception the running except clause handles (bare raise), borrowed */
    void *model_state;       /* builtins_model.c */
    unsigned long cell;      /* counts executed cells; rich.c marks values shown in this one */
};

extern volatile sig_atomic_t lang_interrupted;

/* Raises an error (keeps the first one). Returns NULL for `return lang_raise(...)`. */
value *lang_raise(interp *I, const char *ename, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Raises KeyboardInterrupt and returns true when an interrupt is pending. */
bool lang_check_interrupt(interp *I);
void lang_clear_error(interp *I);

/* ---- constructors --------------------------------------------------------- */

extern value v_none_s, v_true_s, v_false_s, v_ellipsis_s;
#define V_NONE_VAL (&v_none_s)
value *v_none(void);
value *v_bool(bool b);
value *v_int(int64_t i);
value *v_float(double f);
value *v_str(const char *s);
value *v_strn(const char *s, size_t n);
value *v_str_take(char *s, size_t n);     /* takes ownership of malloc'd s */
value *v_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
value *v_list(size_t cap);
value *v_tuple(size_t n);                 /* n None-filled slots, set with tuple_set */
value *v_tuple_of(int n, ...);            /* takes ownership of the n values */
value *v_dict(void);
value *v_range(int64_t start, int64_t stop, int64_t step);
value *v_tensor(lens_tensor *t);          /* takes ownership */
value *v_builtin(const lang_builtin *def, value *self);   /* self: new reference taken inside */
value *v_object(const lang_type *type, void *data);

/* Frees a value whose count reached zero (and what only it held). */
void lang_value_release(value *v);
/* Reference counting, inline: these run on every value the evaluator touches. */
static inline value *lang_incref(value *v)
{
    if (v && v->refcount >= 0) v->refcount++;
    return v;
}
static inline void lang_decref(value *v)
{
    if (v && v->refcount >= 0 && --v->refcount == 0) lang_value_release(v);
}

/* lists and tuples (the list functions take ownership of item) */
int lang_list_append(value *list, value *item);
void lang_tuple_set(value *tup, size_t i, value *item);

/* dicts: keys hashable (None, bool, int, float, str, tuple of those) */
dict *lang_dict_new(void);
void lang_dict_free(dict *d);
void lang_dict_clear(dict *d);                             /* drops every entry */
value *lang_dict_get(dict *d, value *key);                 /* borrowed or NULL */
value *lang_dict_get_str(dict *d, const char *key);        /* borrowed or NULL */
int lang_dict_set(interp *I, dict *d, value *key, value *val);   /* copies references */
int lang_dict_set_str(dict *d, const char *key, value *val);    /* takes ownership of val */
int lang_dict_del(dict *d, value *key);                    /* 0 ok, -1 missing */
/* The value slot of string key (len bytes) for reading or replacing in place,
 * or NULL when absent. *hint remembers where the key was: a lookup that
 * finds it there again skips hashing (names in code keep their own hint). */
value **lang_dict_slot_str(dict *d, const char *key, size_t len, size_t *hint);
size_t lang_dict_len(const dict *d);
/* iteration: i from 0 while dict_next returns true */
bool lang_dict_next(const dict *d, size_t *i, value **key, value **val);

/* ---- generic operations ------------------------------------------------- */

const char *lang_type_name(const value *v);
bool lang_is_number(const value *v);         /* bool, int, float */
double lang_num_as_double(const value *v);
int lang_truthy(interp *I, value *v);        /* 1, 0, -1 */
char *lang_repr_of(value *v);                /* malloc'd */
char *lang_str_of(value *v);                 /* malloc'd */
int lang_values_equal(interp *I, value *a, value *b);   /* 1, 0, -1 */
int lang_values_compare(interp *I, value *a, value *b, int cmp);   /* CMP_LT..CMP_GE: 1, 0, -1 */
bool lang_hashable(const value *v);
/* 0 when key can be a dict key, else -1 with TypeError (unhashable) or
 * RecursionError (nested deeper than LANG_MAX_NESTING) raised. */
int lang_check_hashable(interp *I, value *key);
uint64_t lang_value_hash(const value *v);
/* How deep comparison, hashing and repr follow nested containers. */
#define LANG_MAX_NESTING 1000
value *lang_binary_op(interp *I, int op, value *a, value *b);
value *lang_unary_op(interp *I, int op, value *a);
int lang_contains(interp *I, value *container, value *item);
value *lang_get_item(interp *I, value *obj, value *key);
int lang_set_item(interp *I, value *obj, value *key, value *val);
int lang_del_item(interp *I, value *obj, value *key);
value *lang_get_attr(interp *I, value *obj, const char *name);
value *lang_call_value(interp *I, value *fn, args *a);
int64_t lang_length_of(interp *I, value *v);             /* -1 error */
/* Items of range(start, stop, step) (step != 0), and item i (0 <= i < count). */
uint64_t lang_range_count(int64_t start, int64_t stop, int64_t step);
int64_t lang_range_item(const value *range, int64_t i);
/* Walking an iterable item by item, without materialising it: ranges count,
 * lists are read live by index (as Python's list iterator), iterators (a
 * lang_type with iter/next: tqdm, ...) are asked for each item, and anything
 * else iterable is walked over a snapshot list. */
typedef struct lang_iter {
    value *src;     /* held */
    int64_t i, n;   /* position; n: a range's length */
    enum { LANG_WALK_RANGE, LANG_WALK_INDEX, LANG_WALK_ITERATOR } how;
} lang_iter;
/* 0, or -1 with TypeError (not iterable) raised; close it either way. */
int lang_iter_open(interp *I, value *v, lang_iter *it);
/* 1 with the next item (a new reference), 0 when exhausted, -1 on error. */
int lang_iter_next_item(interp *I, lang_iter *it, value **item);
/* The same, with a loop's common walks (a range, a list) inline. */
static inline int lang_iter_next(interp *I, lang_iter *it, value **item)
{
    if (it->how == LANG_WALK_RANGE && it->i < it->n) {
        /* exact for 0 <= i < len (lang_range_item) */
        int64_t x = (int64_t)((uint64_t)it->src->u.range.start + (uint64_t)it->i++ * (uint64_t)it->src->u.range.step);
        if ((*item = v_int(x))) return 1;
    }
    return lang_iter_next_item(I, it, item);
}
void lang_iter_close(lang_iter *it);
/* Iteration into a fresh list of items (tensor: along dim 0; dict: keys). */
value *lang_to_list(interp *I, value *v);
/* Formats v with a format spec ("", ".2f", ">10", ...). */
char *lang_format_value(interp *I, value *v, const char *spec);
char *lang_float_repr(double d);

/* tensors (builtins_tensor.c; the core reaches them through tensor_kind_type's hooks) */
extern const lang_type lang_tensor_kind_type;
value *lang_tensor_getattr(interp *I, value *t, const char *name);
/* A tensor from a value: tensors (new ref), numbers, nested lists. dtype -1: infer. */
lens_tensor *lang_tensor_from_value(interp *I, value *v, int dtype);
/* The single element of a 1-element tensor as a number value. */
value *lang_tensor_item(interp *I, const lens_tensor *t);

/* ---- argument helpers for builtins --------------------------------------- */

/* Checks a call against a builtin's params (too many positionals, unknown or
 * repeated keywords, missing required ones) and records them in a->params.
 * 0, or -1 with TypeError raised. Builtins with params are checked before they
 * run (lang_call_value); nothing else needs to call this. */
int lang_bind_args(interp *I, const lang_builtin *b, args *a);
/* The argument bound to parameter name (by position or keyword); borrowed,
 * NULL when not given. */
value *lang_arg(args *a, const char *name);
/* The positional arguments past the spec's positional parameters (what *name
 * collects): a pointer into a->pos and their number in *n (0: none). */
value **lang_arg_rest(args *a, int *n);
/* The signature its params spell ("getenv(name, default=None)"), written into buf. */
const char *lang_builtin_signature(const lang_builtin *b, char *buf, size_t n);

int lang_arg_int(interp *I, value *v, const char *what, int64_t *out);
int lang_arg_double(interp *I, value *v, const char *what, double *out);
int lang_arg_bool(interp *I, value *v, bool *out);
const char *lang_arg_str(interp *I, value *v, const char *what);

/* mime bundle of a value for execute_result / display */
cJSON *lang_value_bundle(value *v);

#endif
