/* kernel/lang/builtins_lang.c — builtins of the language itself rather than
 * of the engine: nullcontext() (the generic context manager `with` accepts,
 * as contextlib's) and exit()/quit() (ask the frontend to end the session).
 * Owns: the nullcontext value type, the exit request flag's setter.
 * Does not own: the with statement (exec.c), how the kernel reports the exit
 * request (lang_exit_requested, session.c). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "lang_internal.h"

/* ---- nullcontext ---------------------------------------------------------------- */

static void nullcontext_free(void *data) { lang_decref(data); }

static value *nullcontext_enter(interp *I, value *self)
{
    (void)I;
    return lang_incref(self->u.obj.data);
}

static int nullcontext_exit(interp *I, value *self, bool raised)
{
    (void)I; (void)self; (void)raised;
    return 0;
}

static char *nullcontext_repr(value *self)
{
    (void)self;
    return strdup("<nullcontext>");
}

static const lang_type nullcontext_type = {
    .name = "nullcontext",
    .repr = nullcontext_repr,
    .free = nullcontext_free,
    .enter = nullcontext_enter,
    .exit = nullcontext_exit,
    .doc = "A context manager that does nothing: `with nullcontext(x) as y` binds y to x.",
};

static const lang_param b_nullcontext_params[] = {
    {"enter_result", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_nullcontext(interp *I, value *self, args *a)
{
    (void)self;
    value *r = lang_arg(a, "enter_result");
    value *v = v_object(&nullcontext_type, lang_incref(r ? r : V_NONE_VAL));
    return v ? v : lang_raise(I, "MemoryError", "out of memory");
}

/* ---- exit / quit ------------------------------------------------------------------ */

/* exit(code=None), quit(code=None): the code is accepted as Python's is; a
 * kernel has no exit status to give it to */
static const lang_param b_exit_params[] = {{"code", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_exit(interp *I, value *self, args *a)
{
    (void)self; (void)a;
    lang_session *s = (lang_session *)((char *)I - offsetof(lang_session, I));
    s->exit_requested = true;
    return V_NONE_VAL;
}

const lang_builtin builtins_lang[] = {
    {"nullcontext", b_nullcontext, "A context manager that does nothing: `with nullcontext(x) as y:` runs the block with y = x.", b_nullcontext_params},
    {"exit", b_exit,
     "Ends the session: in jupyter console, exit or exit() leaves the console and stops the kernel. "
     "The rest of the cell does not run. code is accepted, as in Python, and not used.", b_exit_params},
    {"quit", b_exit, "The same as exit().", b_exit_params},
    {NULL},
};
