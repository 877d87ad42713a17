/* kernel/lang/progress_iter.c — tqdm: an iterator over another iterable that
 * draws a progress bar (rich.h's lang_progress: one display, then
 * update_display_data as items go by, throttled) while a for loop runs.
 *
 * Owns: the tqdm type (iteration, update, set_description, close, `with`).
 * Does not own: the bar's look (kernel/display/progress.c), its throttling
 * and display ids (progress_lang.c), the walk of the wrapped iterable
 * (iterate.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "progress_iter.h"
#include "rich.h"

typedef struct tqdm_obj {
    lang_iter inner;       /* inner.src NULL: no iterable (tqdm(total=n) updated by hand) */
    lang_progress bar;
    long done, total;      /* total < 0: unknown */
    char *desc;
    bool leave, started, closed;
} tqdm_obj;

static void tqdm_draw(interp *I, tqdm_obj *q)
{
    char count[48] = "";
    if (q->total < 0) snprintf(count, sizeof count, "%ld it", q->done);
    lang_progress_update(I, &q->bar, q->desc ? q->desc : "", q->done, q->total, count);
}

/* The bar's end: it stays at its last state (leave=True) or is cleared. */
static void tqdm_finish(interp *I, tqdm_obj *q)
{
    if (q->closed) return;
    q->closed = true;
    if (q->leave) {
        q->bar.last = 0;   /* the final state goes out unthrottled */
        tqdm_draw(I, q);
    } else lang_progress_end(I, &q->bar, NULL);
}

static int tqdm_next(interp *I, value *self, value **item)
{
    tqdm_obj *q = self->u.obj.data;
    if (!q->inner.src) { lang_raise(I, "TypeError", "this tqdm has no iterable (tqdm(total=n) is updated with update())"); return -1; }
    /* the item handed out last has been processed when the next one is asked for */
    if (q->started) q->done++;
    q->started = true;
    int r = lang_iter_next(I, &q->inner, item);
    if (r == 1) tqdm_draw(I, q);
    else if (r == 0) tqdm_finish(I, q);
    return r;
}

static value *tqdm_iter(interp *I, value *self)
{
    (void)I;
    return lang_incref(self);
}

static int64_t tqdm_len(value *self)
{
    const tqdm_obj *q = self->u.obj.data;
    return q->total >= 0 ? q->total : -1;
}

static void tqdm_free(void *data)
{
    tqdm_obj *q = data;
    lang_iter_close(&q->inner);
    free(q->desc);
    free(q);
}

static void tqdm_visit(value *self, void (*on_value)(value *child, void *ctx), void (*on_env)(env *scope, void *ctx), void *ctx)
{
    (void)on_env;
    tqdm_obj *q = self->u.obj.data;
    if (q->inner.src) on_value(q->inner.src, ctx);
}

static void tqdm_clear(value *self) { lang_iter_close(&((tqdm_obj *)self->u.obj.data)->inner); }

static value *tqdm_enter(interp *I, value *self)
{
    (void)I;
    return lang_incref(self);
}

static int tqdm_exit(interp *I, value *self, bool raised)
{
    (void)raised;
    tqdm_finish(I, self->u.obj.data);
    return 0;
}

static value *tqdm_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    const tqdm_obj *q = self->u.obj.data;
    if (!strcmp(name, "n")) return v_int(q->done);
    if (!strcmp(name, "total")) return q->total >= 0 ? v_int(q->total) : v_none();
    if (!strcmp(name, "desc")) return v_str(q->desc ? q->desc : "");
    const lang_builtin *m = lang_method_find("tqdm", name);
    return m ? v_builtin(m, self) : NULL;
}

static char *tqdm_repr(value *self)
{
    const tqdm_obj *q = self->u.obj.data;
    char *s;
    int n = q->total >= 0 ? asprintf(&s, "%s%s%ld/%ld", q->desc ? q->desc : "", q->desc ? ": " : "", q->done, q->total)
                          : asprintf(&s, "%s%s%ld it", q->desc ? q->desc : "", q->desc ? ": " : "", q->done);
    return n < 0 ? NULL : s;
}

static const char *const tqdm_attrs[] = {"n", "total", "desc", NULL};

static const lang_type tqdm_type = {
    .name = "tqdm", .getattr = tqdm_getattr, .len = tqdm_len, .repr = tqdm_repr, .free = tqdm_free,
    .attrs = tqdm_attrs, .enter = tqdm_enter, .exit = tqdm_exit, .visit = tqdm_visit, .clear = tqdm_clear,
    .iter = tqdm_iter, .next = tqdm_next,
    .doc = "A progress bar over an iterable: `for x in tqdm(xs, desc=...)` draws it and moves it as the loop runs "
           "(update_display_data in the notebook). update(n), set_description(desc), close(); n, total, desc."};

static tqdm_obj *self_tqdm(interp *I, value *self)
{
    if (self->type != V_OBJECT || self->u.obj.type != &tqdm_type) { lang_raise(I, "TypeError", "not a tqdm"); return NULL; }
    return self->u.obj.data;
}

value *lang_tqdm_new(interp *I, value *iterable, value *desc, value *total, value *leave)
{
    tqdm_obj *q = calloc(1, sizeof *q);
    if (!q) return lang_raise(I, "MemoryError", "out of memory");
    q->leave = true;
    q->total = -1;
    value *v = v_object(&tqdm_type, q);   /* frees q when it fails */
    if (!v) return lang_raise(I, "MemoryError", "out of memory");
    if (desc && desc->type != V_NONE) {
        const char *d = lang_arg_str(I, desc, "desc");
        if (!d || !(q->desc = strdup(d))) { lang_decref(v); return I->error ? NULL : lang_raise(I, "MemoryError", "out of memory"); }
    }
    if (leave && lang_arg_bool(I, leave, &q->leave)) { lang_decref(v); return NULL; }
    int64_t t = -1;
    if (total && total->type != V_NONE) {
        if (lang_arg_int(I, total, "total", &t)) { lang_decref(v); return NULL; }
    } else if (iterable && iterable->type != V_NONE) {
        const lang_type *it = lang_type_of(iterable);
        bool sized = iterable->type == V_LIST || iterable->type == V_TUPLE || iterable->type == V_RANGE ||
                     iterable->type == V_STR || iterable->type == V_DICT || (it && it->len);
        if (sized && (t = lang_length_of(I, iterable)) < 0) lang_clear_error(I), t = -1;
    }
    q->total = t > (int64_t)0x7fffffff ? -1 : (long)t;
    if (iterable && iterable->type != V_NONE && lang_iter_open(I, iterable, &q->inner)) { lang_decref(v); return NULL; }
    tqdm_draw(I, q);   /* as tqdm: the bar appears at 0 when made */
    return v;
}

/* ---- methods ------------------------------------------------------------------- */

static const lang_param m_update_params[] = {{"n", LANG_OPTIONAL, "1"}, {NULL}};

static value *m_update(interp *I, value *self, args *a)
{
    tqdm_obj *q = self_tqdm(I, self);
    if (!q) return NULL;
    int64_t n = 1;
    value *nv = lang_arg(a, "n");
    if (nv && lang_arg_int(I, nv, "n", &n)) return NULL;
    q->done += (long)n;
    tqdm_draw(I, q);
    return v_none();
}

static const lang_param m_set_description_params[] = {{"desc", LANG_OPTIONAL, "None"}, {NULL}};

static value *m_set_description(interp *I, value *self, args *a)
{
    tqdm_obj *q = self_tqdm(I, self);
    if (!q) return NULL;
    value *d = lang_arg(a, "desc");
    char *s = NULL;
    if (d && d->type != V_NONE) {
        const char *t = lang_arg_str(I, d, "desc");
        if (!t) return NULL;
        if (!(s = strdup(t))) return lang_raise(I, "MemoryError", "out of memory");
    }
    free(q->desc);
    q->desc = s;
    tqdm_draw(I, q);
    return v_none();
}

static const lang_param m_close_params[] = {{NULL}};

static value *m_close(interp *I, value *self, args *a)
{
    (void)a;
    tqdm_obj *q = self_tqdm(I, self);
    if (!q) return NULL;
    tqdm_finish(I, q);
    return v_none();
}

const lang_builtin builtins_progress_iter[] = {
    {"tqdm.update", m_update, "Moves the bar n steps on.", m_update_params},
    {"tqdm.set_description", m_set_description, "Changes the bar's label.", m_set_description_params},
    {"tqdm.close", m_close, "Ends the bar (it stays with leave=True, else it is cleared).", m_close_params},
    {NULL, NULL, NULL, NULL},
};
