/* kernel/lang/builtins_io.c — save(path, **values) and load_tensors(path):
 * safetensors files whose tensors are the tensor values and whose
 * __metadata__ holds every other value JSON-encoded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "getenv_policy.h"
#include "lens/safetensors.h"

static cJSON *to_json(interp *I, value *v, int depth)
{
    if (depth > 50) { lang_raise(I, "ValueError", "value nested too deeply to save"); return NULL; }
    switch (v->type) {
    case V_NONE: return cJSON_CreateNull();
    case V_BOOL: return cJSON_CreateBool(v->u.b);
    case V_INT: return cJSON_CreateNumber((double)v->u.i);
    case V_FLOAT: return cJSON_CreateNumber(v->u.f);
    case V_STR: return cJSON_CreateString(v->u.str.s);
    case V_LIST: case V_TUPLE: {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; a && i < v->u.list.n; i++) {
            cJSON *x = to_json(I, v->u.list.items[i], depth + 1);
            if (!x) { cJSON_Delete(a); return NULL; }
            cJSON_AddItemToArray(a, x);
        }
        return a;
    }
    case V_DICT: {
        cJSON *o = cJSON_CreateObject();
        size_t i = 0;
        value *k, *x;
        while (o && lang_dict_next(v->u.d, &i, &k, &x)) {
            if (k->type != V_STR) { cJSON_Delete(o); lang_raise(I, "TypeError", "only dicts with str keys can be saved"); return NULL; }
            cJSON *j = to_json(I, x, depth + 1);
            if (!j) { cJSON_Delete(o); return NULL; }
            cJSON_AddItemToObject(o, k->u.str.s, j);
        }
        return o;
    }
    default: break;
    }
    lang_raise(I, "TypeError", "cannot save a value of type '%s' (tensors, numbers, strings, lists and dicts can be saved)", lang_type_name(v));
    return NULL;
}

static value *from_json(const cJSON *j)
{
    if (cJSON_IsNull(j)) return v_none();
    if (cJSON_IsBool(j)) return v_bool(cJSON_IsTrue(j));
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == (double)(int64_t)d && d > -9.0e15 && d < 9.0e15) return v_int((int64_t)d);
        return v_float(d);
    }
    if (cJSON_IsString(j)) return v_str(j->valuestring);
    if (cJSON_IsArray(j)) {
        value *l = v_list(0);
        for (const cJSON *x = j->child; l && x; x = x->next) lang_list_append(l, from_json(x));
        return l;
    }
    if (cJSON_IsObject(j)) {
        value *d = v_dict();
        for (const cJSON *x = j->child; d && x; x = x->next) lang_dict_set_str(d->u.d, x->string, from_json(x));
        return d;
    }
    return v_none();
}

/* path is positional-only, so that every keyword (path= too) is a value to save */
static const lang_param b_save_params[] = {{"path", LANG_POSONLY}, {"values", LANG_VARKW}, {NULL}};

static value *b_save(interp *I, value *self, args *a)
{
    (void)self;
    const char *path = lang_arg_str(I, lang_arg(a, "path"), "path");
    if (!path) return NULL;
    int nt = 0;
    const char **names = calloc((size_t)a->nkw + 1, sizeof *names);
    const lens_tensor **ts = calloc((size_t)a->nkw + 1, sizeof *ts);
    cJSON *meta = cJSON_CreateObject();
    value *r = NULL;
    if (!names || !ts || !meta) { lang_raise(I, "MemoryError", "out of memory"); goto done; }
    for (int i = 0; i < a->nkw; i++) {
        if (a->kw[i]->type == V_TENSOR) {
            names[nt] = a->kwnames[i];
            ts[nt++] = a->kw[i]->u.tensor.t;
        } else {
            cJSON *j = to_json(I, a->kw[i], 0);
            if (!j) goto done;
            char *text = cJSON_PrintUnformatted(j);
            cJSON_Delete(j);
            if (!text) { lang_raise(I, "MemoryError", "out of memory"); goto done; }
            cJSON_AddStringToObject(meta, a->kwnames[i], text);
            free(text);
        }
    }
    char *mtext = cJSON_PrintUnformatted(meta);
    lens_error err;
    int rc = lens_safetensors_write(path, nt, names, ts, mtext, &err);
    free(mtext);
    if (rc) { lang_raise(I, "OSError", "%s", err.msg); goto done; }
    r = v_none();
done:
    free(names);
    free(ts);
    cJSON_Delete(meta);
    return r;
}

static const lang_param b_load_tensors_params[] = {{"path", LANG_REQUIRED}, {NULL}};

static value *b_load_tensors(interp *I, value *self, args *a)
{
    (void)self;
    const char *path = lang_arg_str(I, lang_arg(a, "path"), "path");
    if (!path) return NULL;
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(path, &err);
    if (!st) return lang_raise(I, "OSError", "%s", err.msg);
    value *d = v_dict();
    int n = lens_safetensors_count(st);
    for (int i = 0; d && i < n; i++) {
        const lens_st_entry *e = lens_safetensors_entry(st, i);
        lens_tensor *t = lens_st_entry_tensor(e, &err);
        if (!t) { lang_decref(d); d = NULL; lang_raise(I, "OSError", "%s", err.msg); break; }
        lang_dict_set_str(d->u.d, e->name, v_tensor(t));
    }
    if (d) {
        cJSON *meta = cJSON_Parse(lens_safetensors_metadata(st));
        for (const cJSON *x = meta ? meta->child : NULL; x; x = x->next) {
            if (!cJSON_IsString(x)) continue;
            cJSON *j = cJSON_Parse(x->valuestring);
            lang_dict_set_str(d->u.d, x->string, j ? from_json(j) : v_str(x->valuestring));
            cJSON_Delete(j);
        }
        cJSON_Delete(meta);
    }
    lens_safetensors_close(st);
    return d;
}

static const lang_param b_getenv_params[] = {
    {"name", LANG_REQUIRED}, {"default", LANG_OPTIONAL, "None"}, {NULL}};

static value *b_getenv(interp *I, value *self, args *a)
{
    (void)self;
    value *name = lang_arg(a, "name"), *dflt = lang_arg(a, "default");
    if (!name) return lang_raise(I, "TypeError", "getenv(name, default=None) needs a name");
    const char *n = lang_arg_str(I, name, "name");
    if (!n) return NULL;
    if (!lang_getenv_allowed(n)) {
        char msg[1024];
        lang_getenv_refusal(msg, sizeof msg, n);
        return lang_raise(I, "PermissionError", "%s", msg);
    }
    const char *v = getenv(n);
    if (v) return v_str(v);
    if (dflt) { lang_incref(dflt); return dflt; }
    return v_none();
}

const lang_builtin builtins_io[] = {
    {"getenv", b_getenv, "The value of an environment variable of the kernel process, or default when it is not set "
     "(lets a notebook pick a model or a path without editing the cell). Only the variables of the allow-list "
     LANG_GETENV_DEFAULT_ALLOW " ('*' ends a prefix) may be read, and those the kernel's "
     "LENS_GETENV_ALLOW=NAME,PREFIX* adds; others raise PermissionError.", b_getenv_params},
    {"save", b_save,
     "Writes a safetensors file: tensor values as entries, every other value (numbers, strings, lists, dicts) "
     "JSON-encoded into __metadata__. load_tensors(path) reads it back as a dict.", b_save_params},
    {"load_tensors", b_load_tensors,
     "Reads a safetensors file into a dict: name -> tensor, plus the __metadata__ entries (JSON values decoded).",
     b_load_tensors_params},
    {NULL, NULL, NULL, NULL},
};
