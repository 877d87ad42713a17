/* kernel/lang/function.c — user functions (see function.h).
 *
 * Owns: function values, argument binding with Python's TypeError messages,
 * the call (locals env, recursion and stack limits, the return value,
 * traceback frames), signatures and docstrings.
 * Does not own: statements and expressions (exec.c, eval.c), the tree's
 * lifetime (code.c: a function holds a reference to the code it came from).
 */
#include "function.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "eval.h"

typedef struct lang_function {
    lang_code *code;
    node *def;               /* N_DEF or N_LAMBDA inside code */
    env *closure;            /* the scope the function was defined in (NULL: globals) */
    value **defaults;        /* one per parameter; NULL: none */
    char *name;
    char *doc;               /* NULL: no docstring */
} lang_function;

static void function_free(void *data)
{
    lang_function *f = data;
    if (!f) return;
    if (f->defaults)
        for (int i = 0; i < f->def->n_items; i++) lang_decref(f->defaults[i]);
    free(f->defaults);
    lang_env_release(f->closure);
    free(f->name);
    free(f->doc);
    lang_code_release(f->code);
    free(f);
}

static char *function_repr(value *self)
{
    const lang_function *f = self->u.obj.data;
    char *s;
    if (asprintf(&s, "<function %s>", f->name) < 0) return NULL;
    return s;
}

static value *function_getattr(interp *I, value *self, const char *name)
{
    (void)I;
    const lang_function *f = self->u.obj.data;
    if (!strcmp(name, "__name__")) return v_str(f->name);
    if (!strcmp(name, "__doc__")) return f->doc ? v_str(f->doc) : v_none();
    return NULL;
}

static value *function_call(interp *I, value *self, args *a);

static const char *const function_attrs[] = {"__name__", "__doc__", NULL};

static const lang_type function_type = {
    .name = "function",
    .getattr = function_getattr,
    .call = function_call,
    .repr = function_repr,
    .free = function_free,
    .attrs = function_attrs,
    .visit = lang_function_visit,   /* the cycle collector (gc.c): defaults and the closure */
    .clear = lang_function_clear,
    .doc = "A function defined with def or lambda.",
};

bool lang_is_function(const value *v) { return v && v->type == V_OBJECT && v->u.obj.type == &function_type; }

/* The docstring: a string literal as the body's first statement, its
 * indentation removed as inspect.cleandoc does. */
static char *docstring(const node *def)
{
    if (def->kind != N_DEF || !def->n_body || def->body[0]->kind != N_EXPR || def->body[0]->a->kind != N_STR) return NULL;
    const char *s = def->body[0]->a->s;
    size_t n = strlen(s);
    /* the common indentation of the lines after the first */
    size_t common = (size_t)-1;
    for (const char *p = strchr(s, '\n'); p; p = strchr(p + 1, '\n')) {
        const char *q = p + 1;
        size_t k = 0;
        while (q[k] == ' ' || q[k] == '\t') k++;
        if (q[k] && q[k] != '\n' && k < common) common = k;
    }
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    const char *line = s;
    bool first = true;
    while (line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        size_t skip = 0;
        if (first) { while (skip < len && (line[skip] == ' ' || line[skip] == '\t')) skip++; }
        else if (common != (size_t)-1) { skip = common < len ? common : len; }
        memcpy(out + o, line + skip, len - skip);
        o += len - skip;
        if (nl) out[o++] = '\n';
        first = false;
        line = nl ? nl + 1 : NULL;
    }
    /* no leading or trailing blank lines */
    while (o && (out[o - 1] == '\n' || out[o - 1] == ' ')) o--;
    out[o] = 0;
    size_t lead = 0;
    while (out[lead] == '\n') lead++;
    memmove(out, out + lead, o - lead + 1);
    return out;
}

value *lang_function_new(interp *I, env *e, node *def)
{
    lang_function *f = calloc(1, sizeof *f);
    if (!f) return lang_raise(I, "MemoryError", "out of memory");
    f->def = def;
    f->name = strdup(def->kind == N_DEF ? def->s : "<lambda>");
    f->doc = docstring(def);
    if (def->n_items) f->defaults = calloc((size_t)def->n_items, sizeof *f->defaults);
    if (!f->name || (def->n_items && !f->defaults)) { function_free(f); return lang_raise(I, "MemoryError", "out of memory"); }
    for (int i = 0; i < def->n_items; i++) {
        node *p = def->items[i];
        if (!p->b) continue;
        if (!(f->defaults[i] = lang_eval_expr(I, e, p->b))) { function_free(f); return NULL; }
    }
    f->code = lang_code_ref(I->code);
    f->closure = e;
    if (e) e->refcount++;
    value *v = v_object(&function_type, f);
    if (!v) { function_free(f); return lang_raise(I, "MemoryError", "out of memory"); }
    return v;
}

/* ---- binding arguments ------------------------------------------------------------ */

/* Parameters are the first locals of the scope, in order: parameter i is slot i. */
static void set_param(env *e, int i, value *v)
{
    lang_decref(e->slots[i]);
    e->slots[i] = v;
}

/* "'a'", "'a' and 'b'", "'a', 'b' and 'c'" into buf. */
static void name_list(char *buf, size_t size, const char *const *names, int n)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o < size; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? (n > 2 ? ", and " : " and ") : ", ";
        o += (size_t)snprintf(buf + o, size - o, "%s'%s'", sep, names[i]);
    }
}

static int report_missing(interp *I, const lang_function *f, const char *const *missing, int n, bool kwonly)
{
    char list[512];
    name_list(list, sizeof list, missing, n);
    lang_raise(I, "TypeError", "%s() missing %d required %s argument%s: %s", f->name, n,
               kwonly ? "keyword-only" : "positional", n == 1 ? "" : "s", list);
    return -1;
}

static int bind_args(interp *I, const lang_function *f, env *e, args *a)
{
    const node *d = f->def;
    int np = d->n_items, n_pos = 0, star = -1, starstar = -1, n_pos_defaults = 0;
    for (int i = 0; i < np; i++) {
        int k = d->items[i]->op;
        if (k == PARAM_POS) { n_pos++; if (d->items[i]->b) n_pos_defaults++; }
        else if (k == PARAM_STAR) star = i;
        else if (k == PARAM_STARSTAR) starstar = i;
    }
    if (a->npos > n_pos && star < 0) {
        if (n_pos_defaults)
            lang_raise(I, "TypeError", "%s() takes from %d to %d positional arguments but %d were given",
                       f->name, n_pos - n_pos_defaults, n_pos, a->npos);
        else
            lang_raise(I, "TypeError", "%s() takes %d positional argument%s but %d %s given", f->name, n_pos,
                       n_pos == 1 ? "" : "s", a->npos, a->npos == 1 ? "was" : "were");
        return -1;
    }
    for (int i = 0; i < a->npos && i < n_pos; i++) set_param(e, i, lang_incref(a->pos[i]));
    if (star >= 0) {
        int extra = a->npos > n_pos ? a->npos - n_pos : 0;
        value *t = v_tuple((size_t)extra);
        if (!t) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
        for (int i = 0; i < extra; i++) lang_tuple_set(t, (size_t)i, lang_incref(a->pos[n_pos + i]));
        set_param(e, star, t);
    }
    value *kwargs = NULL;
    if (starstar >= 0) {
        if (!(kwargs = v_dict())) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
        set_param(e, starstar, kwargs);
    }
    for (int k = 0; k < a->nkw; k++) {
        const char *kn = a->kwnames[k];
        int found = -1;
        for (int i = 0; i < np; i++) {
            int kind = d->items[i]->op;
            if ((kind == PARAM_POS || kind == PARAM_KWONLY) && !strcmp(d->items[i]->s, kn)) { found = i; break; }
        }
        if (found < 0) {
            if (!kwargs) {
                lang_raise(I, "TypeError", "%s() got an unexpected keyword argument '%s'", f->name, kn);
                return -1;
            }
            if (lang_dict_set_str(kwargs->u.d, kn, lang_incref(a->kw[k]))) { lang_raise(I, "MemoryError", "out of memory"); return -1; }
            continue;
        }
        if (e->slots[found]) {
            lang_raise(I, "TypeError", "%s() got multiple values for argument '%s'", f->name, kn);
            return -1;
        }
        set_param(e, found, lang_incref(a->kw[k]));
    }
    const char *missing[64];
    int n_missing = 0;
    for (int pass = 0; pass < 2; pass++) {
        int want = pass == 0 ? PARAM_POS : PARAM_KWONLY;
        for (int i = 0; i < np; i++) {
            const node *p = d->items[i];
            if (p->op != want || e->slots[i]) continue;
            if (f->defaults[i]) set_param(e, i, lang_incref(f->defaults[i]));
            else if (n_missing < 64) missing[n_missing++] = p->s;
        }
        if (n_missing) return report_missing(I, f, missing, n_missing, pass == 1);
    }
    return 0;
}

/* ---- calling ------------------------------------------------------------------------- */

void lang_push_frame(interp *I, lang_code *code, const char *name, int line, int col)
{
    if (I->n_frames % 16 == 0) {
        lang_frame *fr = realloc(I->frames, (size_t)(I->n_frames + 16) * sizeof *fr);
        if (!fr) { lang_code_release(code); return; }
        I->frames = fr;
    }
    lang_frame *fr = &I->frames[I->n_frames];
    fr->code = code;
    fr->name = strdup(name);
    fr->line = line;
    fr->col = col;
    I->n_frames++;
}

/* A call's scope that closures keep after the return: only the names they can
 * read stay, so a nested function stored in a local does not keep the scope
 * (and itself) alive in a cycle. */
static void drop_uncaptured(interp *I, env *e)
{
    (void)I;
    const scope_info *s = e->scope;
    for (int i = 0; i < s->n_locals; i++)
        if (!s->captured[i] && e->slots[i]) {
            value *old = e->slots[i];
            e->slots[i] = NULL;
            lang_decref(old);
        }
}

/* A returning call's scope kept alive only by functions stored in it (a
 * recursive helper defined inside a function) is garbage: clearing its
 * slots frees those functions, and with them the scope. */
static void drop_if_only_self_held(env *e)
{
    int self_held = 0;
    for (int i = 0; i < e->n_slots; i++) {
        value *v = e->slots[i];
        if (lang_is_function(v) && v->refcount == 1 && ((lang_function *)v->u.obj.data)->closure == e) self_held++;
    }
    if (self_held == 0 || e->refcount - 1 != self_held) return;
    for (int i = 0; i < e->n_slots; i++) {
        value *old = e->slots[i];
        e->slots[i] = NULL;
        lang_decref(old);
    }
}

static value *function_call(interp *I, value *self, args *a)
{
    lang_function *f = self->u.obj.data;
    char here;
    if (I->call_depth >= LANG_RECURSION_LIMIT || (I->stack_floor && &here < I->stack_floor))
        return lang_raise(I, "RecursionError", "maximum recursion depth exceeded");
    env *e = lang_env_new_function(f->closure, f->def->scope);
    if (!e) return lang_raise(I, "MemoryError", "out of memory");
    value *r = NULL;
    if (bind_args(I, f, e, a) == 0) {
        lang_code *saved = I->code;
        I->code = f->code;
        I->call_depth++;
        if (f->def->kind == N_LAMBDA) {
            r = lang_eval_expr(I, e, f->def->a);
        } else {
            int flow = lang_exec_body(I, e, f->def->body, f->def->n_body);
            if (flow == FLOW_RETURN) { r = e->retval ? e->retval : v_none(); e->retval = NULL; }
            else if (flow == FLOW_OK) r = v_none();
            else if (flow != FLOW_ERR && !I->error) lang_raise(I, "SyntaxError", "'%s' outside loop", flow == FLOW_BREAK ? "break" : "continue");
        }
        I->call_depth--;
        I->code = saved;
        if (!r && I->error) {
            lang_push_frame(I, lang_code_ref(f->code), f->name, I->eline, I->ecol);
            I->eline = I->ecol = 0;
        }
    }
    if (e->refcount > 1) drop_uncaptured(I, e);
    if (e->refcount > 1) drop_if_only_self_held(e);
    lang_env_release(e);
    return r;
}

/* ---- references, for a cycle collector ------------------------------------------------ */

void lang_function_visit(value *fv, void (*on_value)(value *v, void *ctx), void (*on_env)(env *e, void *ctx), void *ctx)
{
    lang_function *f = fv->u.obj.data;
    for (int i = 0; f->defaults && i < f->def->n_items; i++)
        if (f->defaults[i]) on_value(f->defaults[i], ctx);
    if (f->closure) on_env(f->closure, ctx);
}

void lang_function_clear(value *fv)
{
    lang_function *f = fv->u.obj.data;
    for (int i = 0; f->defaults && i < f->def->n_items; i++) {
        value *d = f->defaults[i];
        f->defaults[i] = NULL;
        lang_decref(d);
    }
    env *c = f->closure;
    f->closure = NULL;
    lang_env_release(c);
}

/* ---- signature and help -------------------------------------------------------------- */

char *lang_function_signature(const value *fv)
{
    const lang_function *f = fv->u.obj.data;
    size_t cap = 256, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    n += (size_t)snprintf(s, cap, "%s(", f->name);
    bool kwonly_marked = false;
    for (int i = 0; i < f->def->n_items; i++) {
        const node *p = f->def->items[i];
        char *dr = f->defaults[i] ? lang_repr_of(f->defaults[i]) : NULL;
        const char *pre = p->op == PARAM_STAR ? "*" : p->op == PARAM_STARSTAR ? "**" : "";
        bool bare = p->op == PARAM_KWONLY && !kwonly_marked;
        if (p->op == PARAM_STAR || p->op == PARAM_KWONLY) kwonly_marked = true;
        size_t need = strlen(p->s) + (dr ? strlen(dr) : 0) + 16;
        if (n + need >= cap) {
            cap = (n + need) * 2;
            char *x = realloc(s, cap);
            if (!x) { free(dr); free(s); return NULL; }
            s = x;
        }
        n += (size_t)snprintf(s + n, cap - n, "%s%s%s%s%s%s", i ? ", " : "", bare ? "*, " : "", pre, p->s,
                              dr ? "=" : "", dr ? dr : "");
        free(dr);
    }
    if (n + 2 >= cap) {
        char *x = realloc(s, n + 2);
        if (!x) { free(s); return NULL; }
        s = x;
    }
    s[n++] = ')';
    s[n] = 0;
    return s;
}

char *lang_function_help(const value *fv)
{
    const lang_function *f = fv->u.obj.data;
    char *sig = lang_function_signature(fv);
    if (!sig) return NULL;
    char *s;
    if (asprintf(&s, "%s\n\n%s", sig, f->doc ? f->doc : "(no docstring)") < 0) s = NULL;
    free(sig);
    return s;
}
