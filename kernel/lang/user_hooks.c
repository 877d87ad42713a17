/* kernel/lang/user_hooks.c — language hook functions inside the forward pass
 * (see user_hooks.h). */
#include "user_hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "namespaces.h"

/* ---- HookPoint: what a hook function gets as `hook` ------------------------------ */

typedef struct hook_point { char name[128]; int layer; } hook_point;

static value *hook_point_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    hook_point *hp = self->u.obj.data;
    if (!strcmp(name, "name")) return v_str(hp->name);
    const lang_builtin *b = lang_method_find("HookPoint", name);
    return b ? v_builtin(b, self) : NULL;
}

static char *hook_point_repr(value *self)
{
    char *s;
    if (asprintf(&s, "HookPoint('%s')", ((hook_point *)self->u.obj.data)->name) < 0) return NULL;
    return s;
}

static const char *const hook_point_attrs[] = {"name", "layer", NULL};
static const lang_type hook_point_type = {
    .name = "HookPoint", .getattr = hook_point_getattr, .repr = hook_point_repr, .free = free,
    .attrs = hook_point_attrs,
    .doc = "The hook point a hook function is called at: hook.name (\"blocks.3.hook_resid_pre\"), hook.layer()."};

static const lang_param m_hook_layer_params[] = {{NULL}};

static value *m_hook_layer(interp *I, value *self, args *a)
{
    (void)a;
    int l = ((hook_point *)self->u.obj.data)->layer;
    if (l < 0) return lang_raise(I, "ValueError", "%s is not in a block: it has no layer", ((hook_point *)self->u.obj.data)->name);
    return v_int(l);
}

const lang_builtin builtins_user_hooks[] = {
    {"HookPoint.layer", m_hook_layer, "The block the hook point is in (blocks.L....: L).", m_hook_layer_params},
    {NULL, NULL, NULL, NULL},
};

/* ---- resolving hooks --------------------------------------------------------------- */

static int push(user_hooks *h, const char *name, value *fn)
{
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 8;
        user_hook *p = realloc(h->items, (size_t)cap * sizeof *p);
        if (!p) { lang_raise(h->I, "MemoryError", "out of memory"); return -1; }
        h->items = p;
        h->cap = cap;
    }
    snprintf(h->items[h->n].name, sizeof h->items[h->n].name, "%s", name);
    h->items[h->n++].fn = lang_incref(fn);
    return 0;
}

int lang_user_hooks_add(user_hooks *h, value *target, value *fn)
{
    interp *I = h->I;
    if (!lang_is_callable(fn)) { lang_raise(I, "TypeError", "a hook function must be callable as fn(activation, hook), not %s", lang_type_name(fn)); return -1; }
    if (target->type == V_STR) {
        char **names = lens_hook_names(h->cfg);
        if (!names) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
        bool known = false;
        for (int i = 0; names[i]; i++) { known |= !strcmp(names[i], target->u.str.s); free(names[i]); }
        free(names);
        if (!known) {
            lang_raise(I, "ValueError", "no hook point named '%s' in this model (model.hook_names() lists them)", target->u.str.s);
            return -1;
        }
        return push(h, target->u.str.s, fn);
    }
    if (!lang_is_callable(target)) {
        lang_raise(I, "TypeError", "a hook is (hook name or name filter, function), not (%s, ...)", lang_type_name(target));
        return -1;
    }
    char **names = lens_hook_names(h->cfg);
    if (!names) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
    int rc = 0;
    for (int i = 0; names[i] && !rc; i++) {
        value *s = v_str(names[i]);
        args ca = {&s, 1, NULL, NULL, 0};
        value *r = s ? lang_call_value(I, target, &ca) : NULL;
        lang_decref(s);
        int t = r ? lang_truthy(I, r) : -1;
        lang_decref(r);
        if (t < 0) rc = -1;
        else if (t) rc = push(h, names[i], fn);
    }
    for (int i = 0; names[i]; i++) free(names[i]);
    free(names);
    return rc;
}

int lang_user_hooks_add_list(user_hooks *h, value *pairs, const char *what)
{
    if (pairs->type != V_LIST && pairs->type != V_TUPLE) {
        lang_raise(h->I, "TypeError", "%s must be a list of (hook name or name filter, function) pairs, not %s", what, lang_type_name(pairs));
        return -1;
    }
    for (size_t i = 0; i < pairs->u.list.n; i++) {
        value *p = pairs->u.list.items[i];
        if ((p->type != V_TUPLE && p->type != V_LIST) || p->u.list.n != 2) {
            lang_raise(h->I, "TypeError", "%s[%zu] must be a (hook name or name filter, function) pair, not %s", what, i, lang_type_name(p));
            return -1;
        }
        if (lang_user_hooks_add(h, p->u.list.items[0], p->u.list.items[1])) return -1;
    }
    return 0;
}

void lang_user_hooks_free(user_hooks *h)
{
    for (int i = 0; i < h->n; i++) lang_decref(h->items[i].fn);
    free(h->items);
    h->items = NULL;
    h->n = h->cap = 0;
}

/* ---- calling them ------------------------------------------------------------------ */

static int fail_in_hook(user_hooks *h, const char *hook_name, lens_error *err)
{
    snprintf(h->failed_at, sizeof h->failed_at, "%s", hook_name);
    return lens_fail(err, "error in the hook function at %s", hook_name);
}

static int call_one(user_hooks *h, const user_hook *uh, const char *hook_name, lens_tensor *act, lens_error *err)
{
    interp *I = h->I;
    hook_point *hp = calloc(1, sizeof *hp);
    lens_tensor *view = lens_tensor_ref(act);
    value *tv = view ? v_tensor(view) : NULL;
    value *hv = hp ? v_object(&hook_point_type, hp) : NULL;
    if (!tv || !hv) {
        if (!tv) lens_tensor_free(view);
        if (!hv) free(hp);
        lang_decref(tv);
        lang_decref(hv);
        return lens_fail_oom(err);
    }
    snprintf(hp->name, sizeof hp->name, "%s", hook_name);
    hp->layer = !strncmp(hook_name, "blocks.", 7) ? atoi(hook_name + 7) : -1;
    value *argv[2] = {tv, hv};
    args ca = {argv, 2, NULL, NULL, 0};
    value *r = lang_call_value(I, uh->fn, &ca);
    int rc = 0;
    if (!r) rc = fail_in_hook(h, hook_name, err);
    else if (r->type == V_TENSOR) {
        const lens_tensor *rt = r->u.tensor.t;
        if (!lens_tensor_same_shape(rt, act)) {
            char a[128], b[128];
            lang_raise(I, "ValueError", "the hook function returned a tensor of shape %s for an activation of shape %s",
                       lens_shape_str(rt->ndim, rt->shape, a, sizeof a), lens_shape_str(act->ndim, act->shape, b, sizeof b));
            rc = fail_in_hook(h, hook_name, err);
        } else if (!(rt->storage == act->storage && rt->offset == act->offset &&
                     !memcmp(rt->strides, act->strides, sizeof(int64_t) * (size_t)act->ndim))) {
            lens_tensor *f = rt->dtype == LENS_F32 ? lens_tensor_ref(rt) : lens_tensor_to_f32(rt);
            if (!f || lens_tensor_copy_into(act, f, err)) rc = f ? -1 : lens_fail_oom(err);
            lens_tensor_free(f);
        }
    } else if (r->type != V_NONE) {
        lang_raise(I, "TypeError", "a hook function must return None or a tensor, not %s", lang_type_name(r));
        rc = fail_in_hook(h, hook_name, err);
    }
    lang_decref(r);
    lang_decref(hv);
    lang_decref(tv);
    /* views the function kept (saved.append(act), act[:, 0]) hold a copy from now on */
    if (lens_hook_keep_views(act, err)) rc = -1;
    return rc;
}

int lang_user_hooks_run(void *ctx, const char *hook_name, lens_tensor *activation, lens_error *err)
{
    user_hooks *h = ctx;
    if (h->interventions && h->interventions->n &&
        lens_interventions_hook((void *)h->interventions, hook_name, activation, err))
        return -1;
    for (int i = 0; i < h->n; i++)
        if (!strcmp(h->items[i].name, hook_name) && call_one(h, &h->items[i], hook_name, activation, err)) return -1;
    return 0;
}

value *lang_user_hooks_raise(user_hooks *h)
{
    interp *I = h->I;
    if (!I->error) return lang_raise(I, "RuntimeError", "a hook function failed at %s", h->failed_at);
    char *msg = NULL;
    if (asprintf(&msg, "%s (in the hook function at %s)", I->emsg ? I->emsg : "", h->failed_at) >= 0) {
        free(I->emsg);
        I->emsg = msg;
    }
    return NULL;
}
