/* kernel/lang/params.c — a builtin's argument spec (lang_param, value.h) at
 * work: checking a call against it, reading an argument by name, and spelling
 * the signature help(), inspection, completion and docs/LANGUAGE.md show.
 *
 * Owns: lang_bind_args, lang_arg, lang_builtin_signature and their messages
 * (Python's: "f() got an unexpected keyword argument 'x'", ...).
 * Does not own: the specs (each builtin table), converting argument values
 * (lang_arg_int, lang_arg_str, ... in builtins_core.c). */
#include <stdio.h>
#include <string.h>

#include "value.h"

static bool is_positional(const lang_param *p)
{
    return p->kind == LANG_REQUIRED || p->kind == LANG_OPTIONAL || p->kind == LANG_POSONLY;
}

static bool is_required(const lang_param *p)
{
    return p->kind == LANG_REQUIRED || ((p->kind == LANG_KEYWORD || p->kind == LANG_POSONLY) && !p->default_text);
}

/* The name a message gives a builtin: "to_tokens" for "HookedTransformer.to_tokens". */
static const char *short_name(const lang_builtin *b)
{
    const char *dot = strrchr(b->name, '.');
    return dot ? dot + 1 : b->name;
}

int lang_bind_args(interp *I, const lang_builtin *b, args *a)
{
    const lang_param *ps = b->params;
    const char *fn = short_name(b);
    int npositional = 0;
    bool varargs = false, varkw = false;
    for (const lang_param *p = ps; p->name; p++) {
        if (is_positional(p)) npositional++;
        varargs |= p->kind == LANG_VARARGS;
        varkw |= p->kind == LANG_VARKW;
    }
    if (a->npos > npositional && !varargs) {
        lang_raise(I, "TypeError", "%s() takes at most %d positional argument%s (%d given)", fn, npositional,
                   npositional == 1 ? "" : "s", a->npos);
        return -1;
    }
    for (int k = 0; k < a->nkw; k++) {
        int pos = 0;
        const lang_param *found = NULL;
        for (const lang_param *p = ps; p->name; p++) {
            if (p->kind != LANG_VARARGS && p->kind != LANG_VARKW && !strcmp(p->name, a->kwnames[k])) { found = p; break; }
            if (is_positional(p)) pos++;
        }
        if (found && found->kind == LANG_POSONLY) {
            if (varkw) continue;   /* Python gives it to **kwargs */
            lang_raise(I, "TypeError", "%s() got some positional-only arguments passed as keyword arguments: '%s'", fn,
                       a->kwnames[k]);
            return -1;
        }
        if (!found && !varkw) {
            lang_raise(I, "TypeError", "%s() got an unexpected keyword argument '%s'", fn, a->kwnames[k]);
            return -1;
        }
        if (found && is_positional(found) && pos < a->npos) {
            lang_raise(I, "TypeError", "%s() got multiple values for argument '%s'", fn, a->kwnames[k]);
            return -1;
        }
    }
    a->params = ps;
    for (const lang_param *p = ps; p->name; p++) {
        if (is_required(p) && !lang_arg(a, p->name)) {
            lang_raise(I, "TypeError", "%s() missing required argument '%s'", fn, p->name);
            a->params = NULL;
            return -1;
        }
    }
    return 0;
}

value *lang_arg(args *a, const char *name)
{
    int pos = 0;
    for (const lang_param *p = a->params; p && p->name; p++) {
        if (is_positional(p)) {
            if (!strcmp(p->name, name)) {
                if (pos < a->npos) return a->pos[pos];
                if (p->kind == LANG_POSONLY) return NULL;   /* never by keyword */
                break;
            }
            pos++;
        }
    }
    for (int k = 0; k < a->nkw; k++)
        if (!strcmp(a->kwnames[k], name)) return a->kw[k];
    return NULL;
}

value **lang_arg_rest(args *a, int *n)
{
    int npositional = 0;
    for (const lang_param *p = a->params; p && p->name; p++)
        if (is_positional(p)) npositional++;
    *n = a->npos > npositional ? a->npos - npositional : 0;
    return a->pos + (a->npos > npositional ? npositional : a->npos);
}

const char *lang_builtin_signature(const lang_builtin *b, char *buf, size_t n)
{
    if (!b->params) return b->name;
    size_t len = 0;
#define PUT(...) do { int w_ = snprintf(buf + len, len < n ? n - len : 0, __VA_ARGS__); if (w_ > 0) len += (size_t)w_; } while (0)
    PUT("%s(", b->name);
    bool first = true, star_shown = false;
    for (const lang_param *p = b->params; p->name; p++) {
        if (!first) PUT(", ");
        first = false;
        switch (p->kind) {
        case LANG_POSONLY:
            if (p->default_text) PUT("%s=%s", p->name, p->default_text);
            else PUT("%s", p->name);
            if (!p[1].name || p[1].kind != LANG_POSONLY) PUT(", /");
            break;
        case LANG_REQUIRED: PUT("%s", p->name); break;
        case LANG_OPTIONAL: PUT("%s=%s", p->name, p->default_text ? p->default_text : "None"); break;
        case LANG_KEYWORD:
            if (!star_shown) PUT("*, ");
            star_shown = true;
            if (p->default_text) PUT("%s=%s", p->name, p->default_text);
            else PUT("%s", p->name);
            break;
        case LANG_VARARGS: PUT("*%s", p->name); star_shown = true; break;
        case LANG_VARKW: PUT("**%s", p->name); break;
        }
    }
    PUT(")");
#undef PUT
    if (len >= n && n) buf[n - 1] = 0;
    return buf;
}
