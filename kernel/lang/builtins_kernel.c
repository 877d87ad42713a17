/* kernel/lang/builtins_kernel.c — builtins that talk to the notebook frontend:
 * display(...) and clear_output(...). They reach the frontend only through the
 * session's lang_output callbacks, so `lens run` simply drops what it cannot show. */
#include <stdlib.h>
#include <string.h>

#include "builtins.h"

static const lang_param b_display_params[] = {
    {"objs", LANG_VARARGS}, {"display_id", LANG_KEYWORD, "None"}, {"update", LANG_KEYWORD, "False"}, {NULL}};

static value *b_display(interp *I, value *self, args *a)
{
    (void)self;
    const char *display_id = NULL;
    bool update = false;
    value *v;
    if ((v = lang_arg(a, "display_id")) && v->type != V_NONE &&
        !(display_id = lang_arg_str(I, v, "display_id")))
        return NULL;
    if ((v = lang_arg(a, "update")) && lang_arg_bool(I, v, &update)) return NULL;
    if (update && !display_id) return lang_raise(I, "ValueError", "display(update=True) needs a display_id");
    int nobjs;
    value **objs = lang_arg_rest(a, &nobjs);
    for (int i = 0; i < nobjs; i++) {
        cJSON *bundle = lang_value_bundle(objs[i]);
        if (!bundle) return lang_raise(I, "MemoryError", "out of memory while displaying a value");
        if (I->out && I->out->display) I->out->display(I->out->ctx, bundle, display_id, update);
        cJSON_Delete(bundle);
    }
    return V_NONE_VAL;
}

static const lang_param b_clear_output_params[] = {
    {"wait", LANG_OPTIONAL, "False"}, {NULL}};

static value *b_clear_output(interp *I, value *self, args *a)
{
    (void)self;
    bool wait = false;
    value *v = lang_arg(a, "wait");
    if (v && lang_arg_bool(I, v, &wait)) return NULL;
    if (I->out && I->out->clear_output) I->out->clear_output(I->out->ctx, wait);
    return V_NONE_VAL;
}

const lang_builtin builtins_kernel[] = {
    {"display", b_display, "Shows each value as a rich output below the cell. With display_id, update=True replaces "
     "the output shown earlier with that id.", b_display_params},
    {"clear_output", b_clear_output, "Clears the cell's output; with wait=True, only when the next output arrives.", b_clear_output_params},
    {NULL},
};
