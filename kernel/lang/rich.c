/* kernel/lang/rich.c — Figure and AttentionDisplay values: showing them once
 * per cell, their text/plain, fig.show(), fig.update_layout(), fig.write_html(file). The rule for
 * when they are displayed is in rich.h. */
#include "rich.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "display.h"
#include "lens/file.h"

typedef struct rich_obj {
    cJSON *fig;             /* Figure: {data, layout} */
    cJSON *bundle;          /* AttentionDisplay: the mime bundle */
    unsigned long shown;    /* interp cell in which it was last displayed (0: never) */
} rich_obj;

static const lang_type figure_type, html_type;

static rich_obj *rich_of(value *v)
{
    if (!v || v->type != V_OBJECT) return NULL;
    if (v->u.obj.type != &figure_type && v->u.obj.type != &html_type) return NULL;
    return v->u.obj.data;
}

static void rich_free(void *d)
{
    rich_obj *r = d;
    cJSON_Delete(r->fig);
    cJSON_Delete(r->bundle);
    free(r);
}

static cJSON *rich_bundle(value *v)
{
    rich_obj *r = rich_of(v);
    if (!r) return NULL;
    return r->fig ? display_figure_bundle(r->fig) : cJSON_Duplicate(r->bundle, 1);
}

static char *rich_repr(value *v)
{
    rich_obj *r = rich_of(v);
    if (r->fig) {
        char *s = display_figure_describe(r->fig);
        return s ? s : strdup("Figure");
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(r->bundle, "text/plain");
    return strdup(cJSON_IsString(t) ? t->valuestring : "AttentionDisplay");
}

static value *rich_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    const lang_builtin *b = lang_method_find(self->u.obj.type->name, name);
    return b ? v_builtin(b, self) : NULL;
}

static value *new_rich(interp *I, const lang_type *type, cJSON *fig, cJSON *bundle)
{
    rich_obj *r = calloc(1, sizeof *r);
    if (!r) {
        cJSON_Delete(fig);
        cJSON_Delete(bundle);
        return lang_raise(I, "MemoryError", "out of memory");
    }
    r->fig = fig;
    r->bundle = bundle;
    value *v = v_object(type, r);
    return v ? v : lang_raise(I, "MemoryError", "out of memory");
}

value *lang_rich_figure(interp *I, cJSON *fig)
{
    if (!fig) return lang_raise(I, "ValueError", "%s", display_last_error());
    return new_rich(I, &figure_type, fig, NULL);
}

value *lang_rich_html_display(interp *I, cJSON *bundle)
{
    if (!bundle) return lang_raise(I, "ValueError", "%s", display_last_error());
    return new_rich(I, &html_type, NULL, bundle);
}

int lang_rich_show(interp *I, value *v)
{
    rich_obj *r = rich_of(v);
    if (!r) { lang_raise(I, "TypeError", "%s is not a figure", lang_type_name(v)); return -1; }
    r->shown = I->cell;
    if (!I->out || !I->out->display) return 0;
    cJSON *b = rich_bundle(v);
    if (!b) { lang_raise(I, "ValueError", "cannot display the figure: %s", display_last_error()); return -1; }
    I->out->display(I->out->ctx, b, NULL, false);
    cJSON_Delete(b);
    return 0;
}

bool lang_rich_shown_in_cell(interp *I, value *v)
{
    rich_obj *r = rich_of(v);
    return r && r->shown && r->shown == I->cell;
}

value *lang_rich_finish(interp *I, args *a, value *v)
{
    if (!v) return NULL;
    bool show = true;
    value *s = lang_arg(a, "show");
    if ((s && lang_arg_bool(I, s, &show)) || (show && lang_rich_show(I, v))) {
        lang_decref(v);
        return NULL;
    }
    return v;
}

/* A standalone page around an HTML fragment. */
static int write_page(FILE *f, void *body, lens_error *err)
{
    (void)err;
    int bad = fputs("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>lens</title>\n</head>\n<body>\n", f) < 0;
    bad |= fputs(body, f) < 0;
    bad |= fputs("\n</body>\n</html>\n", f) < 0;
    return bad ? -1 : 0;
}

int lang_rich_save_html(interp *I, value *v, const char *path)
{
    rich_obj *r = rich_of(v);
    if (!r) { lang_raise(I, "TypeError", "save_html() takes a figure or an attention display, not %s", lang_type_name(v)); return -1; }
    if (r->fig) {
        if (display_figure_save_html(r->fig, path)) { lang_raise(I, "OSError", "%s", display_last_error()); return -1; }
        return 0;
    }
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(r->bundle, "text/html");
    lens_error err;
    if (lens_write_file(path, "HTML file", write_page, (void *)(cJSON_IsString(h) ? h->valuestring : ""), &err)) {
        lang_raise(I, "OSError", "save_html: %s", err.msg);
        return -1;
    }
    return 0;
}

/* ---- methods and save_html ---------------------------------------------------- */

/* plotly's fig.show(renderer) and pysvelte's .show(): the renderer is the notebook's */
static const lang_param m_figure_show_params[] = {{"renderer", LANG_OPTIONAL, "None"}, {NULL}};
static const lang_param no_params[] = {{NULL}};

static value *m_show(interp *I, value *self, args *a)
{
    (void)a;
    return lang_rich_show(I, self) ? NULL : v_none();
}

static cJSON *scalar_json(interp *I, value *v, const char *key)
{
    switch (v->type) {
    case V_NONE: return cJSON_CreateNull();
    case V_BOOL: return cJSON_CreateBool(v->u.b);
    case V_INT: return cJSON_CreateNumber((double)v->u.i);
    case V_FLOAT: return cJSON_CreateNumber(v->u.f);
    case V_STR: return cJSON_CreateString(v->u.str.s);
    default: lang_raise(I, "TypeError", "update_layout(): %s must be text, a number, a bool or None, not %s", key, lang_type_name(v)); return NULL;
    }
}

/* Sets one layout property: plotly's "magic underscores" name nested
 * properties (xaxis_title -> xaxis.title); a title given as text is the
 * title's text. */
static int set_layout_property(interp *I, cJSON *layout, const char *key, value *v)
{
    char path[128];
    snprintf(path, sizeof path, "%s", key);
    cJSON *val = scalar_json(I, v, key);
    if (!val) return -1;
    cJSON *obj = layout;
    char *part = path, *us;
    while ((us = strchr(part, '_')) && obj) {
        *us = '\0';
        static const char *const nested[] = {"xaxis", "yaxis", "coloraxis", "legend", "title", "font", "margin", NULL};
        bool known = false;
        for (int i = 0; nested[i]; i++) known |= !strcmp(part, nested[i]);
        if (!known) { *us = '_'; break; }
        cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, part);
        if (child && !cJSON_IsObject(child)) { cJSON_DeleteItemFromObjectCaseSensitive(obj, part); child = NULL; }
        if (!child) child = cJSON_AddObjectToObject(obj, part);
        obj = child;
        part = us + 1;
    }
    if (!obj) { cJSON_Delete(val); lang_raise(I, "MemoryError", "out of memory"); return -1; }
    if (!strcmp(part, "title") && cJSON_IsString(val)) {
        cJSON *t = cJSON_CreateObject();
        if (!t) { cJSON_Delete(val); lang_raise(I, "MemoryError", "out of memory"); return -1; }
        cJSON_AddItemToObject(t, "text", val);
        val = t;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, part)) cJSON_ReplaceItemInObjectCaseSensitive(obj, part, val);
    else cJSON_AddItemToObject(obj, part, val);
    return 0;
}

/* fig.update_layout(title="...", xaxis_title="...", height=400), or the same
 * properties in a dict first (plotly's dict1); the keywords after it. Returns the figure. */
static const lang_param m_update_layout_params[] = {{"dict1", LANG_OPTIONAL, "None"}, {"kwargs", LANG_VARKW}, {NULL}};

static value *m_update_layout(interp *I, value *self, args *a)
{
    rich_obj *r = rich_of(self);
    cJSON *layout = cJSON_GetObjectItemCaseSensitive(r->fig, "layout");
    if (!layout && !(layout = cJSON_AddObjectToObject(r->fig, "layout"))) return lang_raise(I, "MemoryError", "out of memory");
    value *d = lang_arg(a, "dict1");
    if (d && d->type != V_NONE) {
        if (d->type != V_DICT) return lang_raise(I, "TypeError", "update_layout(): dict1 must be a dict, not %s", lang_type_name(d));
        size_t k = 0;
        value *key, *val;
        while (lang_dict_next(d->u.d, &k, &key, &val)) {
            if (key->type != V_STR) return lang_raise(I, "TypeError", "update_layout(): property names must be str, not %s", lang_type_name(key));
            if (set_layout_property(I, layout, key->u.str.s, val)) return NULL;
        }
    }
    for (int k = 0; k < a->nkw; k++)
        if (strcmp(a->kwnames[k], "dict1") && set_layout_property(I, layout, a->kwnames[k], a->kw[k])) return NULL;
    return lang_incref(self);
}

/* plotly's write_html(file, ...): the page's file name */
static const lang_param m_write_html_params[] = {{"file", LANG_REQUIRED}, {NULL}};

static value *m_write_html(interp *I, value *self, args *a)
{
    const char *path = lang_arg_str(I, lang_arg(a, "file"), "file");
    if (!path) return NULL;
    return lang_rich_save_html(I, self, path) ? NULL : v_none();
}

static const lang_param b_save_html_params[] = {
    {"fig", LANG_REQUIRED}, {"path", LANG_REQUIRED}, {NULL}};

static value *b_save_html(interp *I, value *self, args *a)
{
    (void)self;
    value *fig = lang_arg(a, "fig"), *p = lang_arg(a, "path");
    const char *path = lang_arg_str(I, p, "path");
    if (!path) return NULL;
    return lang_rich_save_html(I, fig, path) ? NULL : v_none();
}

static const lang_type figure_type = {
    .name = "Figure", .getattr = rich_getattr, .repr = rich_repr, .to_bundle = rich_bundle, .free = rich_free,
    .doc = "A Plotly figure made by line, imshow, scatter or bar. It is displayed when made; `fig` in a later "
           "cell or fig.show() displays it again; save_html(fig, path) writes a standalone page."};
static const lang_type html_type = {
    .name = "AttentionDisplay", .getattr = rich_getattr, .repr = rich_repr, .to_bundle = rich_bundle, .free = rich_free,
    .doc = "An interactive attention display made by attention_patterns or attention_heads. It is displayed when "
           "made; `view` in a later cell or view.show() displays it again; save_html(view, path) writes a page."};

const lang_builtin builtins_rich[] = {
    {"save_html", b_save_html, "Writes a figure or an attention display as a standalone HTML page (plotly.js inlined when it is found).", b_save_html_params},
    {"Figure.show", m_show, "Displays the figure (again) below the cell (the renderer is the notebook's; the argument is accepted for plotly code).", m_figure_show_params},
    {"Figure.update_layout", m_update_layout,
     "Sets layout properties and returns the figure: title=\"...\", xaxis_title=\"...\", yaxis_title=\"...\", "
     "height=400 (plotly's underscores name nested properties), or the same in a dict.", m_update_layout_params},
    {"Figure.write_html", m_write_html, "Writes the figure as a standalone HTML page.", m_write_html_params},
    {"AttentionDisplay.show", m_show, "Displays the attention view (again) below the cell.", no_params},
    {"AttentionDisplay.write_html", m_write_html, "Writes the attention view as a standalone HTML page.", m_write_html_params},
    {NULL, NULL, NULL, NULL},
};
