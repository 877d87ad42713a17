/* kernel/lang/scope.c — scope analysis of functions (see scope.h).
 *
 * Owns: collecting, for each def and lambda, the names its body binds
 * (assignment and for targets, del, def, import, except ... as, with ... as)
 * and its global/nonlocal declarations; the compile-time scope errors.
 * Does not own: the tree (parser.c), run-time lookup (eval.c).
 * The walk recurses along the tree, whose depth the parser bounds.
 */
#include "scope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct names {
    char **v;
    int n, cap;
} names;

/* The chain of enclosing function scopes during the walk. */
typedef struct chain {
    const scope_info *scope;
    const struct chain *up;
} chain;

static bool names_has(const names *ns, const char *s)
{
    for (int i = 0; i < ns->n; i++) if (!strcmp(ns->v[i], s)) return true;
    return false;
}

static int names_add(names *ns, const char *s)
{
    if (names_has(ns, s)) return 0;
    if (ns->n == ns->cap) {
        int cap = ns->cap ? ns->cap * 2 : 8;
        char **v = realloc(ns->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        ns->v = v;
        ns->cap = cap;
    }
    if (!(ns->v[ns->n] = strdup(s))) return -1;
    ns->n++;
    return 0;
}

static void names_free(names *ns)
{
    for (int i = 0; i < ns->n; i++) free(ns->v[i]);
    free(ns->v);
}


int lang_scope_local_index(const scope_info *s, const char *name)
{
    for (int i = 0; i < s->n_locals; i++) if (!strcmp(s->names[i], name)) return i;
    return -1;
}

bool lang_scope_is_global(const scope_info *s, const char *name)
{
    for (int i = s->n_locals; i < s->n_locals + s->n_globals; i++) if (!strcmp(s->names[i], name)) return true;
    return false;
}

bool lang_scope_is_nonlocal(const scope_info *s, const char *name)
{
    int from = s->n_locals + s->n_globals;
    for (int i = from; i < from + s->n_nonlocals; i++) if (!strcmp(s->names[i], name)) return true;
    return false;
}

static int fail(parse_error *err, const node *at, const char *fmt, const char *name)
{
    if (!err->ename[0]) snprintf(err->ename, sizeof err->ename, "SyntaxError");
    snprintf(err->msg, sizeof err->msg, fmt, name);
    err->line = at->line;
    err->col = at->col;
    return -1;
}

/* ---- names a function body binds ----------------------------------------------- */

typedef struct binds {
    names assigned, globals, nonlocals;
    parse_error *err;
} binds;

static int bind_target(binds *b, const node *t)
{
    if (!t) return 0;
    switch (t->kind) {
    case N_NAME: return names_add(&b->assigned, t->s);
    case N_TUPLE: case N_LIST:
        for (int i = 0; i < t->n_items; i++) if (bind_target(b, t->items[i])) return -1;
        return 0;
    case N_STARRED: return bind_target(b, t->a);
    default: return 0;   /* subscripts and attributes bind no name */
    }
}

static int collect(binds *b, node **stmts, int n);

static int collect_stmt(binds *b, const node *s)
{
    switch (s->kind) {
    case N_ASSIGN:
        for (int i = 0; i < s->n_items; i++) if (bind_target(b, s->items[i])) return -1;
        return 0;
    case N_AUGASSIGN: return bind_target(b, s->a);
    case N_DEL:
        for (int i = 0; i < s->n_items; i++) if (bind_target(b, s->items[i])) return -1;
        return 0;
    case N_FOR:
        if (bind_target(b, s->a)) return -1;
        /* fall through */
    case N_IF: case N_WHILE:
        return collect(b, s->body, s->n_body) || collect(b, s->orelse, s->n_orelse) ? -1 : 0;
    case N_DEF: return names_add(&b->assigned, s->s);
    case N_IMPORT:
        for (int i = 0; i < s->n_items; i++) {
            const node *a = s->items[i];
            if (a->b) { if (names_add(&b->assigned, a->b->s)) return -1; continue; }
            char *top = strdup(a->s);
            if (!top) return -1;
            char *dot = strchr(top, '.');
            if (dot) *dot = 0;
            int rc = names_add(&b->assigned, top);
            free(top);
            if (rc) return -1;
        }
        return 0;
    case N_FROMIMPORT:
        for (int i = 0; i < s->n_items; i++)
            if (names_add(&b->assigned, s->items[i]->b ? s->items[i]->b->s : s->items[i]->s)) return -1;
        return 0;
    case N_TRY:
        if (collect(b, s->body, s->n_body) || collect(b, s->orelse, s->n_orelse)) return -1;
        for (int i = 0; i < s->n_items; i++) {
            const node *h = s->items[i];
            if (h->s && names_add(&b->assigned, h->s)) return -1;
            if (collect(b, h->body, h->n_body)) return -1;
        }
        return s->a ? collect(b, s->a->body, s->a->n_body) : 0;
    case N_WITH:
        for (int i = 0; i < s->n_items; i++) if (bind_target(b, s->items[i]->b)) return -1;
        return collect(b, s->body, s->n_body);
    case N_GLOBAL: case N_NONLOCAL:
        for (int i = 0; i < s->n_items; i++) {
            const char *nm = s->items[i]->s;
            names *other = s->kind == N_GLOBAL ? &b->nonlocals : &b->globals;
            if (names_has(other, nm)) return fail(b->err, s->items[i], "name '%s' is nonlocal and global", nm);
            if (names_has(&b->assigned, nm))
                return fail(b->err, s->items[i], s->kind == N_GLOBAL ? "name '%s' is assigned to before global declaration"
                                                                     : "name '%s' is assigned to before nonlocal declaration", nm);
            if (names_add(s->kind == N_GLOBAL ? &b->globals : &b->nonlocals, nm)) return -1;
        }
        return 0;
    default: return 0;
    }
}

static int collect(binds *b, node **stmts, int n)
{
    for (int i = 0; i < n; i++) if (collect_stmt(b, stmts[i])) return -1;
    return 0;
}

/* ---- what nested functions read ------------------------------------------------- */

/* Marks the locals of s that a name inside a nested function (any depth) could read. */
static void mark_reads(scope_info *s, const node *n, bool nested)
{
    if (!n) return;
    if (nested && n->kind == N_NAME) {
        int i = lang_scope_local_index(s, n->s);
        if (i >= 0) s->captured[i] = 1;
    }
    if (nested && (n->kind == N_NONLOCAL || n->kind == N_GLOBAL))
        for (int i = 0; i < n->n_items; i++) mark_reads(s, n->items[i], true);
    bool inner = nested || n->kind == N_DEF || n->kind == N_LAMBDA;
    if (n->kind == N_DEF || n->kind == N_LAMBDA) {
        /* defaults and decorators run in the enclosing scope, at definition */
        for (int i = 0; i < n->n_items; i++) mark_reads(s, n->items[i]->b, nested);
        for (int i = 0; i < n->n_orelse; i++) mark_reads(s, n->orelse[i], nested);
        mark_reads(s, n->a, true);
        for (int i = 0; i < n->n_body; i++) mark_reads(s, n->body[i], true);
        return;
    }
    mark_reads(s, n->a, inner);
    mark_reads(s, n->b, inner);
    mark_reads(s, n->c, inner);
    for (int i = 0; i < n->n_items; i++) mark_reads(s, n->items[i], inner);
    for (int i = 0; i < n->n_body; i++) mark_reads(s, n->body[i], inner);
    for (int i = 0; i < n->n_orelse; i++) mark_reads(s, n->orelse[i], inner);
}

/* ---- slot annotations -------------------------------------------------------------- */

/* Gives each name node of a function's own code (not nested functions' bodies)
 * its slot: op = index + 2 for a local, 1 for any other name. */
static void annotate(const scope_info *s, node *n)
{
    if (!n) return;
    if (n->kind == N_NAME) {
        int i = lang_scope_local_index(s, n->s);
        n->op = i >= 0 ? i + 2 : 1;
    }
    if (n->kind == N_DEF || n->kind == N_LAMBDA) {
        for (int i = 0; i < n->n_items; i++) annotate(s, n->items[i]->b);
        for (int i = 0; i < n->n_orelse; i++) annotate(s, n->orelse[i]);
        return;
    }
    annotate(s, n->a);
    annotate(s, n->b);
    annotate(s, n->c);
    for (int i = 0; i < n->n_items; i++) annotate(s, n->items[i]);
    for (int i = 0; i < n->n_body; i++) annotate(s, n->body[i]);
    for (int i = 0; i < n->n_orelse; i++) annotate(s, n->orelse[i]);
}

/* ---- the walk over every function ----------------------------------------------- */

static int walk(node *n, const chain *up, parse_error *err, arena *mem);

static bool bound_in_enclosing(const chain *c, const char *name)
{
    for (; c; c = c->up) {
        if (lang_scope_is_global(c->scope, name)) return false;
        if (lang_scope_local_index(c->scope, name) >= 0 || lang_scope_is_nonlocal(c->scope, name)) return true;
    }
    return false;
}

static int analyse_function(node *fn, const chain *up, parse_error *err, arena *mem)
{
    binds b = {.err = err};
    names locals = {0};
    int rc = -1;
    for (int i = 0; i < fn->n_items; i++) if (names_add(&locals, fn->items[i]->s)) goto done;
    if (fn->kind == N_DEF && collect(&b, fn->body, fn->n_body)) goto done;
    for (int i = 0; i < fn->n_items; i++) {
        const char *p = fn->items[i]->s;
        if (names_has(&b.globals, p)) { fail(err, fn->items[i], "name '%s' is parameter and global", p); goto done; }
        if (names_has(&b.nonlocals, p)) { fail(err, fn->items[i], "name '%s' is parameter and nonlocal", p); goto done; }
    }
    for (int i = 0; i < b.assigned.n; i++)
        if (!names_has(&b.globals, b.assigned.v[i]) && !names_has(&b.nonlocals, b.assigned.v[i]) &&
            names_add(&locals, b.assigned.v[i])) goto done;
    for (int i = 0; i < b.nonlocals.n; i++)
        if (!bound_in_enclosing(up, b.nonlocals.v[i])) {
            fail(err, fn, "no binding for nonlocal '%s' found", b.nonlocals.v[i]);
            goto done;
        }
    scope_info *s = lang_arena_alloc(mem, sizeof *s);
    int total = locals.n + b.globals.n + b.nonlocals.n;
    if (!s || !(s->names = lang_arena_alloc(mem, (size_t)(total ? total : 1) * sizeof *s->names)) ||
        !(s->captured = lang_arena_alloc(mem, (size_t)(locals.n ? locals.n : 1)))) goto done;
    int k = 0;
    for (int i = 0; i < locals.n; i++) if (!(s->names[k++] = lang_arena_strdup(mem, locals.v[i]))) goto done;
    for (int i = 0; i < b.globals.n; i++) if (!(s->names[k++] = lang_arena_strdup(mem, b.globals.v[i]))) goto done;
    for (int i = 0; i < b.nonlocals.n; i++) if (!(s->names[k++] = lang_arena_strdup(mem, b.nonlocals.v[i]))) goto done;
    s->n_locals = locals.n;
    s->n_globals = b.globals.n;
    s->n_nonlocals = b.nonlocals.n;
    fn->scope = s;
    if (fn->kind == N_LAMBDA) { mark_reads(s, fn->a, false); annotate(s, fn->a); }
    for (int i = 0; i < fn->n_body; i++) { mark_reads(s, fn->body[i], false); annotate(s, fn->body[i]); }
    chain here = {s, up};
    rc = 0;
    if (fn->kind == N_LAMBDA) rc = walk(fn->a, &here, err, mem);
    for (int i = 0; rc == 0 && i < fn->n_body; i++) rc = walk(fn->body[i], &here, err, mem);
done:
    names_free(&locals);
    names_free(&b.assigned);
    names_free(&b.globals);
    names_free(&b.nonlocals);
    if (rc && !err->msg[0]) fail(err, fn, "%s", "out of memory");
    return rc;
}

/* Visits every node; a def or lambda gets its scope, its parameters' defaults
 * belong to the enclosing scope. */
static int walk(node *n, const chain *up, parse_error *err, arena *mem)
{
    if (!n) return 0;
    if (n->kind == N_DEF || n->kind == N_LAMBDA) {
        for (int i = 0; i < n->n_items; i++) if (walk(n->items[i]->b, up, err, mem)) return -1;
        for (int i = 0; i < n->n_orelse; i++) if (walk(n->orelse[i], up, err, mem)) return -1;
        return analyse_function(n, up, err, mem);
    }
    if (walk(n->a, up, err, mem) || walk(n->b, up, err, mem) || walk(n->c, up, err, mem)) return -1;
    for (int i = 0; i < n->n_items; i++) if (walk(n->items[i], up, err, mem)) return -1;
    for (int i = 0; i < n->n_body; i++) if (walk(n->body[i], up, err, mem)) return -1;
    for (int i = 0; i < n->n_orelse; i++) if (walk(n->orelse[i], up, err, mem)) return -1;
    return 0;
}

int lang_scope_resolve(node **stmts, int n, parse_error *err, arena *mem)
{
    for (int i = 0; i < n; i++) if (walk(stmts[i], NULL, err, mem)) return -1;
    return 0;
}
