/* kernel/lang/builtins_kernel.c — builtins that talk to the notebook frontend:
 * display(...) and clear_output(...). They reach the frontend only through the
 * session's lang_output callbacks, so `lens run` simply drops what it cannot show. */
#include <stdlib.h>
#include <string.h>

#include "builtins.h"

static value *b_display(interp *I, value *self, args *a)
{
    (void)self;
    static const char *const kw[] = {"display_id", "update", NULL};
    if (lang_arg_check(I, a, "display", -1, kw)) return NULL;
    const char *display_id = NULL;
    bool update = false;
    value *v;
    if ((v = lang_arg_get(a, -1, "display_id")) && v->type != V_NONE &&
        !(display_id = lang_arg_str(I, v, "display_id")))
        return NULL;
    if ((v = lang_arg_get(a, -1, "update")) && lang_arg_bool(I, v, &update)) return NULL;
    if (update && !display_id) return lang_raise(I, "ValueError", "display(update=True) needs a display_id");
    for (int i = 0; i < a->npos; i++) {
        cJSON *bundle = lang_value_bundle(a->pos[i]);
        if (!bundle) return lang_raise(I, "MemoryError", "out of memory while displaying a value");
        if (I->out && I->out->display) I->out->display(I->out->ctx, bundle, display_id, update);
        cJSON_Delete(bundle);
    }
    return V_NONE_VAL;
}

static value *b_clear_output(interp *I, value *self, args *a)
{
    (void)self;
    static const char *const kw[] = {"wait", NULL};
    if (lang_arg_check(I, a, "clear_output", 1, kw)) return NULL;
    bool wait = false;
    value *v = lang_arg_get(a, 0, "wait");
    if (v && lang_arg_bool(I, v, &wait)) return NULL;
    if (I->out && I->out->clear_output) I->out->clear_output(I->out->ctx, wait);
    return V_NONE_VAL;
}

const lang_builtin builtins_kernel[] = {
    {"display", b_display, "display(*objs, display_id=None, update=False)",
     "Shows each value as a rich output below the cell. With display_id, update=True replaces "
     "the output shown earlier with that id."},
    {"clear_output", b_clear_output, "clear_output(wait=False)",
     "Clears the cell's output; with wait=True, only when the next output arrives."},
    {NULL},
};
