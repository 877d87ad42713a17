/* kernel/lang/parser.c — recursive-descent parser with Python's precedence.
 * Owns: statements and blocks, expressions, f-string splitting, the nesting
 * limits. Does not own: meaning (eval.c). */
#include "parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "scope.h"

#define MAX_RECURSION 120   /* nested parentheses, blocks, unary operators */
#define MAX_CHAIN 400       /* a.b.c..., a+b+c..., f()()... */
#define MAX_HEIGHT 1000     /* levels of the whole tree: every recursive walk over it stays shallow */

typedef struct parser {
    token *t;
    int n, pos;
    parse_error *err;
    int depth;
    int fn_depth;         /* inside a def or lambda: return is allowed */
    bool failed;
    arena *mem;           /* the tree's nodes, strings and arrays */
} parser;

static const char *const KEYWORDS[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield", NULL};

bool is_keyword(const char *name)
{
    for (int i = 0; KEYWORDS[i]; i++) if (!strcmp(KEYWORDS[i], name)) return true;
    return false;
}

const char *binop_symbol(int op)
{
    static const char *const s[] = {"?", "+", "-", "*", "/", "//", "%", "**", "@", "&", "|", "^", "<<", ">>"};
    return op >= 0 && op <= OP_RSHIFT ? s[op] : "?";
}


static token *cur(parser *P) { return &P->t[P->pos]; }

static void *perr_at(parser *P, int line, int col, bool incomplete, const char *fmt, ...)
{
    if (P->failed) return NULL;
    P->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err->msg, sizeof P->err->msg, fmt, ap);
    va_end(ap);
    if (!P->err->ename[0]) strcpy(P->err->ename, "SyntaxError");
    P->err->line = line;
    P->err->col = col;
    P->err->incomplete = incomplete;
    return NULL;
}

static void *perr(parser *P, const char *fmt, ...)
{
    if (P->failed) return NULL;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return perr_at(P, cur(P)->line, cur(P)->col, false, "%s", buf);
}

static void *invalid(parser *P)
{
    token *t = cur(P);
    if (t->kind == TK_INDENT) { strcpy(P->err->ename, "IndentationError"); return perr(P, "unexpected indent"); }
    if (t->kind == TK_END || t->kind == TK_NEWLINE) return perr(P, "invalid syntax (the line ends too early)");
    if (t->kind == TK_NAME && !strcmp(t->text, "print") ) return perr(P, "invalid syntax");
    return perr(P, "invalid syntax");
}

static bool is_op(parser *P, const char *op)
{
    token *t = cur(P);
    return t->kind == TK_OP && !strcmp(t->text, op);
}

static bool is_kw(parser *P, const char *kw)
{
    token *t = cur(P);
    return t->kind == TK_NAME && !strcmp(t->text, kw);
}

static bool accept_op(parser *P, const char *op)
{
    if (is_op(P, op)) { P->pos++; return true; }
    return false;
}

static bool accept_kw(parser *P, const char *kw)
{
    if (is_kw(P, kw)) { P->pos++; return true; }
    return false;
}

static bool expect_op(parser *P, const char *op)
{
    if (accept_op(P, op)) return true;
    if (cur(P)->kind == TK_END || cur(P)->kind == TK_NEWLINE)
        perr(P, "expected '%s'", op);
    else
        perr(P, "invalid syntax (expected '%s')", op);
    return false;
}

static node *mk(parser *P, node_kind k, token *at)
{
    node *n = arena_alloc(P->mem, sizeof *n);
    if (!n) return perr(P, "out of memory");
    n->kind = k;
    n->line = n->aline = at->line;
    n->col = n->acol = at->col;
    return n;
}

static void set_start(node *n, const node *from)
{
    n->line = from->line;
    n->col = from->col;
}

static int push_node(parser *P, node ***arr, int *n, node *x)
{
    if ((*n & (*n - 1)) == 0) {
        int cap = *n ? *n * 2 : 1;
        node **a = arena_grow(P->mem, *arr, (size_t)*n, (size_t)cap, sizeof *a);
        if (!a) { perr(P, "out of memory"); return -1; }
        *arr = a;
    }
    (*arr)[(*n)++] = x;
    return 0;
}

/* chain length bookkeeping: stored in ival of chain nodes */
static bool chain_ok(parser *P, node *n, const node *child)
{
    int64_t d = (child && (child->kind == N_BINOP || child->kind == N_CALL || child->kind == N_ATTR ||
                           child->kind == N_SUBSCRIPT || child->kind == N_AND || child->kind == N_OR)) ? child->ival : 0;
    if (n->kind == N_BINOP || n->kind == N_CALL || n->kind == N_ATTR || n->kind == N_SUBSCRIPT ||
        n->kind == N_AND || n->kind == N_OR)
        n->ival = d + 1;
    if (d + 1 > MAX_CHAIN) {
        perr_at(P, n->line, n->col, false, "expression too long or too deeply nested (limit %d)", MAX_CHAIN);
        return false;
    }
    return true;
}

static bool enter(parser *P)
{
    if (++P->depth > MAX_RECURSION) {
        perr(P, "too deeply nested: more than %d nested parentheses, blocks or operators", MAX_RECURSION);
        return false;
    }
    return true;
}
#define LEAVE(P) ((P)->depth--)

static node *test(parser *P);
static node *expr(parser *P);
static node *or_test(parser *P);
static node *testlist(parser *P, bool allow_star);
static int block(parser *P, node ***body, int *n);

/* ---- f-strings ------------------------------------------------------------ */

static node *fstring_parse(parser *P, const char *body, size_t len, bool raw, int line, int col,
                           token *at, int nest);

static void pos_in_body(const char *body, size_t off, int line, int col, int *ol, int *oc)
{
    *ol = line;
    *oc = col;
    for (size_t i = 0; i < off; i++) {
        if (body[i] == '\n') { (*ol)++; *oc = 0; }
        else (*oc)++;
    }
}

static int add_literal(parser *P, node *fs, const char *s, size_t n, bool raw, token *at)
{
    if (n == 0) return 0;
    node *lit = mk(P, N_STR, at);
    if (!lit) return -1;
    if (raw) {
        lit->s = arena_strndup(P->mem, s, n);
        lit->slen = n;
    } else {
        char *text = lex_unescape(s, n, &lit->slen);
        lit->s = text ? arena_strndup(P->mem, text, lit->slen) : NULL;
        free(text);
    }
    if (!lit->s) { perr(P, "out of memory"); return -1; }
    return push_node(P, &fs->items, &fs->n_items, lit);
}

static node *fstring_parse(parser *P, const char *body, size_t len, bool raw, int line, int col,
                           token *at, int nest)
{
    node *fs = mk(P, N_FSTR, at);
    if (!fs) return NULL;
    char *lit = malloc(len + 1);
    size_t ln = 0;
    if (!lit) return perr(P, "out of memory");
    size_t i = 0;
    while (i < len) {
        char c = body[i];
        if (c == '{' && i + 1 < len && body[i + 1] == '{') { lit[ln++] = '{'; i += 2; continue; }
        if (c == '}' && i + 1 < len && body[i + 1] == '}') { lit[ln++] = '}'; i += 2; continue; }
        if (c == '}') {
            int l, cc;
            pos_in_body(body, i, line, col, &l, &cc);
            perr_at(P, l, cc, false, "f-string: single '}' is not allowed");
            goto fail;
        }
        if (c != '{') { lit[ln++] = c; i++; continue; }
        if (add_literal(P, fs, lit, ln, raw, at)) goto fail;
        ln = 0;
        /* a replacement field: find the end of the expression */
        size_t s = ++i;
        int depth = 0;
        char q = 0;
        while (i < len) {
            char d = body[i];
            if (q) { if (d == '\\') i++; else if (d == q) q = 0; }
            else if (d == '\'' || d == '"') q = d;
            else if (d == '(' || d == '[' || d == '{') depth++;
            else if ((d == ')' || d == ']' || d == '}') && depth > 0) depth--;
            else if (depth == 0 && (d == '}' || d == ':' || (d == '!' && i + 1 < len && body[i + 1] != '='))) break;
            i++;
        }
        int el, ec;
        pos_in_body(body, s, line, col, &el, &ec);
        if (i >= len) { perr_at(P, el, ec, false, "f-string: expecting '}'"); goto fail; }
        size_t elen = i - s;
        /* `{x=}` debugging form: keep the text */
        bool self_doc = elen > 0 && body[s + elen - 1] == '=' &&
                        !(elen > 1 && strchr("=!<>", body[s + elen - 2]));
        char *etext = malloc(elen + 1);
        if (!etext) { perr(P, "out of memory"); goto fail; }
        memcpy(etext, body + s, elen - (self_doc ? 1 : 0));
        etext[elen - (self_doc ? 1 : 0)] = 0;
        bool blank = true;
        for (char *e = etext; *e; e++) if (*e != ' ' && *e != '\t' && *e != '\n') blank = false;
        if (blank) { free(etext); perr_at(P, el, ec, false, "f-string: empty expression not allowed"); goto fail; }
        if (self_doc && add_literal(P, fs, body + s, elen, true, at)) { free(etext); goto fail; }
        /* parse the expression with positions shifted into the cell */
        token_list tl;
        lex_error le;
        node *e = NULL;
        if (lex(etext, el, ec, &tl, &le)) {
            perr_at(P, le.line, le.col, false, "f-string: %s", le.msg);
        } else {
            parser sub = {.t = tl.toks, .n = tl.n, .err = P->err, .depth = P->depth, .fn_depth = P->fn_depth, .mem = P->mem};
            while (sub.t[sub.pos].kind == TK_NEWLINE || sub.t[sub.pos].kind == TK_INDENT) sub.pos++;
            e = testlist(&sub, false);
            if (e && sub.t[sub.pos].kind != TK_NEWLINE && sub.t[sub.pos].kind != TK_END &&
                sub.t[sub.pos].kind != TK_DEDENT) {
                perr_at(&sub, sub.t[sub.pos].line, sub.t[sub.pos].col, false, "f-string: invalid syntax");
                e = NULL;
            }
            if (sub.failed) P->failed = true;
        }
        lex_free(&tl);
        free(etext);
        if (!e) { P->failed = true; goto fail; }
        node *f = mk(P, N_FMT, at);
        if (!f) goto fail;
        f->a = e;
        f->line = f->aline = e->line;
        f->col = f->acol = e->col;
        if (self_doc) f->op = 'r';
        if (push_node(P, &fs->items, &fs->n_items, f)) goto fail;
        if (body[i] == '!') {
            if (i + 1 >= len || !strchr("rsa", body[i + 1])) {
                int l, cc; pos_in_body(body, i, line, col, &l, &cc);
                perr_at(P, l, cc, false, "f-string: invalid conversion character: expected 's', 'r', or 'a'");
                goto fail;
            }
            f->op = body[i + 1];
            i += 2;
        }
        if (i < len && body[i] == ':') {
            size_t ss = ++i;
            int d2 = 0;
            while (i < len && !(body[i] == '}' && d2 == 0)) {
                if (body[i] == '{') d2++;
                else if (body[i] == '}') d2--;
                i++;
            }
            if (i >= len) { perr_at(P, el, ec, false, "f-string: expecting '}'"); goto fail; }
            if (memchr(body + ss, '{', i - ss)) {
                if (nest > 1) { perr_at(P, el, ec, false, "f-string: expressions nested too deeply"); goto fail; }
                int sl, sc; pos_in_body(body, ss, line, col, &sl, &sc);
                f->b = fstring_parse(P, body + ss, i - ss, raw, sl, sc, at, nest + 1);
                if (!f->b) goto fail;
            } else {
                f->s = arena_strndup(P->mem, body + ss, i - ss);
                if (!f->s) { perr(P, "out of memory"); goto fail; }
                f->slen = i - ss;
            }
        }
        if (i >= len || body[i] != '}') { perr_at(P, el, ec, false, "f-string: expecting '}'"); goto fail; }
        i++;
    }
    if (add_literal(P, fs, lit, ln, raw, at)) goto fail;
    free(lit);
    return fs;
fail:
    free(lit);
    return NULL;
}

/* ---- atoms ---------------------------------------------------------------- */

static node *strings(parser *P)
{
    token *first = cur(P);
    bool any_f = false;
    for (int i = P->pos; P->t[i].kind == TK_STRING || P->t[i].kind == TK_FSTRING; i++)
        if (P->t[i].kind == TK_FSTRING) any_f = true;
    if (!any_f) {
        node *n = mk(P, N_STR, first);
        if (!n) return NULL;
        size_t total = 0;
        for (int i = P->pos; P->t[i].kind == TK_STRING; i++) total += P->t[i].len;
        n->s = arena_alloc(P->mem, total + 1);
        if (!n->s) return perr(P, "out of memory");
        while (cur(P)->kind == TK_STRING) {
            memcpy(n->s + n->slen, cur(P)->text, cur(P)->len);
            n->slen += cur(P)->len;
            P->pos++;
        }
        n->s[n->slen] = 0;
        return n;
    }
    node *fs = mk(P, N_FSTR, first);
    if (!fs) return NULL;
    while (cur(P)->kind == TK_STRING || cur(P)->kind == TK_FSTRING) {
        token *t = cur(P);
        if (t->kind == TK_STRING) {
            node *lit = mk(P, N_STR, t);
            if (!lit) return NULL;
            lit->s = arena_strndup(P->mem, t->text, t->len);
            if (!lit->s) return perr(P, "out of memory");
            lit->slen = t->len;
            if (push_node(P, &fs->items, &fs->n_items, lit)) return NULL;
        } else {
            node *part = fstring_parse(P, t->text, t->len, t->raw, t->body_line, t->body_col, t, 0);
            if (!part) return NULL;
            for (int i = 0; i < part->n_items; i++)
                if (push_node(P, &fs->items, &fs->n_items, part->items[i])) return NULL;
        }
        P->pos++;
    }
    return fs;
}

static node *comp_tail(parser *P, node *comp)
{
    /* after the element: one or more `for target in iter` with `if cond`s */
    while (is_kw(P, "for")) {
        token *ft = cur(P);
        P->pos++;
        node *cf = mk(P, N_COMPFOR, ft);
        if (!cf) return NULL;
        if (push_node(P, &comp->items, &comp->n_items, cf)) return NULL;
        /* target: expr list (no `in` comparisons) */
        node *tgt = expr(P);
        if (!tgt) return NULL;
        if (is_op(P, ",")) {
            node *tup = mk(P, N_TUPLE, ft);
            if (!tup) return NULL;
            set_start(tup, tgt);
            if (push_node(P, &tup->items, &tup->n_items, tgt)) return NULL;
            while (accept_op(P, ",")) {
                if (is_kw(P, "in")) break;
                node *x = expr(P);
                if (!x || push_node(P, &tup->items, &tup->n_items, x)) return NULL;
            }
            tgt = tup;
        }
        cf->a = tgt;
        if (!accept_kw(P, "in")) return perr(P, "invalid syntax (expected 'in')");
        cf->b = or_test(P);
        if (!cf->b) return NULL;
        while (is_kw(P, "if")) {
            P->pos++;
            node *c = or_test(P);
            if (!c || push_node(P, &cf->body, &cf->n_body, c)) return NULL;
        }
    }
    return comp;
}

/* One element of a tuple or list display: an expression or *starred. */
static node *element(parser *P)
{
    if (!is_op(P, "*")) return test(P);
    token *st = cur(P);
    P->pos++;
    node *x = mk(P, N_STARRED, st);
    if (x && !(x->a = expr(P))) { x = NULL; }
    return x;
}

static node *atom(parser *P)
{
    token *t = cur(P);
    switch (t->kind) {
    case TK_INT: { node *n = mk(P, N_INT, t); if (n) n->ival = t->ival; P->pos++; return n; }
    case TK_FLOAT: { node *n = mk(P, N_FLOAT, t); if (n) n->fval = t->fval; P->pos++; return n; }
    case TK_STRING: case TK_FSTRING: return strings(P);
    case TK_NAME: {
        const char *s = t->text;
        if (!strcmp(s, "None") || !strcmp(s, "True") || !strcmp(s, "False")) {
            node *n = mk(P, N_CONST, t);
            if (n) n->op = s[0] == 'N' ? 0 : s[0] == 'T' ? 1 : 2;
            P->pos++;
            return n;
        }
        if (!strcmp(s, "yield") || !strcmp(s, "await"))
            return perr(P, "'%s' is not supported in lens (generators and coroutines are not part of the language)", s);
        if (is_keyword(s)) return invalid(P);
        node *n = mk(P, N_NAME, t);
        if (!n) return NULL;
        n->s = arena_strdup(P->mem, s);
        n->slen = t->len;
        P->pos++;
        return n;
    }
    case TK_OP: break;
    default: return invalid(P);
    }
    if (is_op(P, "...")) { node *n = mk(P, N_CONST, t); if (n) n->op = 3; P->pos++; return n; }
    if (is_op(P, "(")) {
        P->pos++;
        if (accept_op(P, ")")) return mk(P, N_TUPLE, t);
        if (!enter(P)) return NULL;
        node *first = is_op(P, "*") ? NULL : test(P);
        if (!first && !is_op(P, "*")) { LEAVE(P); return NULL; }
        node *res;
        if (first && is_kw(P, "for")) {
            /* a generator expression: evaluated as a list */
            node *comp = mk(P, N_LISTCOMP, t);
            if (!comp) { LEAVE(P); return NULL; }
            comp->a = first;
            res = comp_tail(P, comp) ? comp : NULL;
        } else if (first && !is_op(P, ",")) {
            res = first;
        } else {
            node *tup = mk(P, N_TUPLE, t);
            res = tup;
            if (tup && first && push_node(P, &tup->items, &tup->n_items, first)) { res = NULL; }
            while (res && (first == NULL || accept_op(P, ","))) {
                first = (node *)1;
                if (is_op(P, ")")) break;
                node *x = element(P);
                if (!x || push_node(P, &tup->items, &tup->n_items, x)) { res = NULL; }
            }
        }
        LEAVE(P);
        if (res && !expect_op(P, ")")) return NULL;
        return res;
    }
    if (is_op(P, "[")) {
        P->pos++;
        if (!enter(P)) return NULL;
        node *lst = mk(P, N_LIST, t);
        if (!lst) { LEAVE(P); return NULL; }
        while (!is_op(P, "]")) {
            node *x = element(P);
            if (!x) { LEAVE(P); return NULL; }
            if (lst->n_items == 0 && is_kw(P, "for")) {
                lst->kind = N_LISTCOMP;
                lst->a = x;
                if (!comp_tail(P, lst)) { LEAVE(P); return NULL; }
                break;
            }
            if (push_node(P, &lst->items, &lst->n_items, x)) { LEAVE(P); return NULL; }
            if (!accept_op(P, ",")) break;
        }
        LEAVE(P);
        if (!expect_op(P, "]")) return NULL;
        return lst;
    }
    if (is_op(P, "{")) {
        P->pos++;
        if (!enter(P)) return NULL;
        node *d = mk(P, N_DICT, t);
        if (!d) { LEAVE(P); return NULL; }
        while (!is_op(P, "}")) {
            node *k = test(P);
            if (!k) { LEAVE(P); return NULL; }
            if (!is_op(P, ":")) {
                LEAVE(P);
                return perr(P, is_op(P, ",") || is_op(P, "}") ? "set literals are not supported in lens (use a list)"
                                                               : "invalid syntax (expected ':')");
            }
            P->pos++;
            node *v = test(P);
            if (!v) { LEAVE(P); return NULL; }
            if (d->n_items == 0 && is_kw(P, "for")) {
                d->kind = N_DICTCOMP;
                d->a = k;
                d->b = v;
                if (!comp_tail(P, d)) { LEAVE(P); return NULL; }
                break;
            }
            if (push_node(P, &d->items, &d->n_items, k)) { LEAVE(P); return NULL; }
            if (push_node(P, &d->items, &d->n_items, v)) { LEAVE(P); return NULL; }
            if (!accept_op(P, ",")) break;
        }
        LEAVE(P);
        if (!expect_op(P, "}")) return NULL;
        return d;
    }
    return invalid(P);
}

static node *subscript_item(parser *P)
{
    token *t = cur(P);
    node *start = NULL;
    if (!is_op(P, ":")) {
        start = test(P);
        if (!start) return NULL;
        if (!is_op(P, ":")) return start;
    }
    node *sl = mk(P, N_SLICE, t);
    if (!sl) return NULL;
    sl->a = start;
    P->pos++; /* ':' */
    if (!is_op(P, "]") && !is_op(P, ",") && !is_op(P, ":")) {
        sl->b = test(P);
        if (!sl->b) return NULL;
    }
    if (accept_op(P, ":") && !is_op(P, "]") && !is_op(P, ",")) {
        sl->c = test(P);
        if (!sl->c) return NULL;
    }
    return sl;
}

static node *trailers(parser *P, node *n)
{
    for (;;) {
        token *t = cur(P);
        if (is_op(P, "(")) {
            P->pos++;
            node *call = mk(P, N_CALL, t);
            if (!call) return NULL;
            set_start(call, n);
            call->a = n;
            if (!chain_ok(P, call, n)) return NULL;
            if (!enter(P)) return NULL;
            bool seen_kw = false;
            while (!is_op(P, ")")) {
                token *at = cur(P);
                node *arg = mk(P, N_ARG, at);
                if (!arg) break;
                if (push_node(P, &call->items, &call->n_items, arg)) break;
                if (accept_op(P, "**")) arg->op = 2;
                else if (accept_op(P, "*")) arg->op = 1;
                else if (cur(P)->kind == TK_NAME && P->t[P->pos + 1].kind == TK_OP &&
                         !strcmp(P->t[P->pos + 1].text, "=")) {
                    if (is_keyword(cur(P)->text)) { perr(P, "invalid syntax (keyword argument name)"); break; }
                    arg->s = arena_strdup(P->mem, cur(P)->text);
                    P->pos += 2;
                    seen_kw = true;
                } else if (seen_kw) {
                    perr(P, "positional argument follows keyword argument");
                    break;
                }
                arg->a = test(P);
                if (!arg->a) break;
                if (call->n_items == 1 && !arg->s && !arg->op && is_kw(P, "for")) {
                    node *comp = mk(P, N_LISTCOMP, at);
                    if (!comp) break;
                    comp->a = arg->a;
                    arg->a = comp;
                    if (!comp_tail(P, comp)) break;
                }
                if (!accept_op(P, ",")) break;
            }
            LEAVE(P);
            if (P->failed || !expect_op(P, ")")) return NULL;
            n = call;
        } else if (is_op(P, "[")) {
            P->pos++;
            node *sub = mk(P, N_SUBSCRIPT, t);
            if (!sub) return NULL;
            set_start(sub, n);
            sub->a = n;
            if (!chain_ok(P, sub, n)) return NULL;
            if (!enter(P)) return NULL;
            node *first = subscript_item(P);
            if (first && is_op(P, ",")) {
                node *tup = mk(P, N_TUPLE, t);
                if (tup) {
                    set_start(tup, first);
                    push_node(P, &tup->items, &tup->n_items, first);
                    while (accept_op(P, ",") && !is_op(P, "]")) {
                        node *x = subscript_item(P);
                        if (!x || push_node(P, &tup->items, &tup->n_items, x)) break;
                    }
                }
                first = tup;
            }
            LEAVE(P);
            sub->b = first;
            if (!first || P->failed || !expect_op(P, "]")) return NULL;
            n = sub;
        } else if (is_op(P, ".")) {
            P->pos++;
            if (cur(P)->kind != TK_NAME) return perr(P, "invalid syntax (expected a name after '.')");
            node *at = mk(P, N_ATTR, t);
            if (!at) return NULL;
            set_start(at, n);
            at->a = n;
            at->s = arena_strdup(P->mem, cur(P)->text);
            P->pos++;
            if (!chain_ok(P, at, n)) return NULL;
            n = at;
        } else {
            return n;
        }
    }
}

static node *power(parser *P);

static node *factor(parser *P)
{
    token *t = cur(P);
    if (is_op(P, "-") || is_op(P, "+") || is_op(P, "~")) {
        P->pos++;
        if (!enter(P)) return NULL;
        node *x = factor(P);
        LEAVE(P);
        if (!x) return NULL;
        /* fold negative literals so -9223372036854775808 works and reprs stay simple */
        if (t->text[0] == '-' && x->kind == N_FLOAT) { x->fval = -x->fval; x->line = t->line; x->col = t->col; x->aline = t->line; x->acol = t->col; return x; }
        node *u = mk(P, N_UNARY, t);
        if (!u) return NULL;
        u->op = t->text[0];
        u->a = x;
        return u;
    }
    return power(P);
}

static node *power(parser *P)
{
    node *a = atom(P);
    if (!a) return NULL;
    a = trailers(P, a);
    if (!a) return NULL;
    if (is_op(P, "**")) {
        token *t = cur(P);
        P->pos++;
        if (!enter(P)) return NULL;
        node *b = factor(P);
        LEAVE(P);
        if (!b) return NULL;
        node *n = mk(P, N_BINOP, t);
        if (!n) return NULL;
        set_start(n, a);
        n->op = OP_POW;
        n->a = a;
        n->b = b;
        return n;
    }
    return a;
}

typedef node *(*level_fn)(parser *);

static node *binary_level(parser *P, level_fn next, const char *const *ops, const int *codes)
{
    node *a = next(P);
    while (a) {
        int k = -1;
        for (int i = 0; ops[i]; i++) if (is_op(P, ops[i])) { k = i; break; }
        if (k < 0) return a;
        token *t = cur(P);
        P->pos++;
        node *b = next(P);
        if (!b) return NULL;
        node *n = mk(P, N_BINOP, t);
        if (!n) return NULL;
        set_start(n, a);
        n->op = codes[k];
        n->a = a;
        n->b = b;
        if (!chain_ok(P, n, a)) return NULL;
        a = n;
    }
    return NULL;
}

static node *term(parser *P)
{
    static const char *const ops[] = {"*", "/", "//", "%", "@", NULL};
    static const int codes[] = {OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_MATMUL};
    return binary_level(P, factor, ops, codes);
}
static node *arith(parser *P)
{
    static const char *const ops[] = {"+", "-", NULL};
    static const int codes[] = {OP_ADD, OP_SUB};
    return binary_level(P, term, ops, codes);
}
static node *shift(parser *P)
{
    static const char *const ops[] = {"<<", ">>", NULL};
    static const int codes[] = {OP_LSHIFT, OP_RSHIFT};
    return binary_level(P, arith, ops, codes);
}
static node *and_expr(parser *P)
{
    static const char *const ops[] = {"&", NULL};
    static const int codes[] = {OP_AND};
    return binary_level(P, shift, ops, codes);
}
static node *xor_expr(parser *P)
{
    static const char *const ops[] = {"^", NULL};
    static const int codes[] = {OP_XOR};
    return binary_level(P, and_expr, ops, codes);
}
static node *expr(parser *P)
{
    static const char *const ops[] = {"|", NULL};
    static const int codes[] = {OP_OR};
    return binary_level(P, xor_expr, ops, codes);
}

static int comp_op(parser *P)
{
    token *t = cur(P);
    if (t->kind == TK_OP) {
        static const char *const ops[] = {"<", ">", "<=", ">=", "==", "!=", NULL};
        for (int i = 0; ops[i]; i++) if (!strcmp(t->text, ops[i])) { P->pos++; return i; }
        return -1;
    }
    if (is_kw(P, "in")) { P->pos++; return CMP_IN; }
    if (is_kw(P, "not") && P->t[P->pos + 1].kind == TK_NAME && !strcmp(P->t[P->pos + 1].text, "in")) {
        P->pos += 2;
        return CMP_NOT_IN;
    }
    if (is_kw(P, "is")) {
        P->pos++;
        if (accept_kw(P, "not")) return CMP_IS_NOT;
        return CMP_IS;
    }
    return -1;
}

static node *comparison(parser *P)
{
    node *a = expr(P);
    if (!a) return NULL;
    token *t = cur(P);
    int op = comp_op(P);
    if (op < 0) return a;
    node *c = mk(P, N_COMPARE, t);
    if (!c) return NULL;
    set_start(c, a);
    push_node(P, &c->items, &c->n_items, a);
    while (op >= 0) {
        int *ops = arena_grow(P->mem, c->ops, (size_t)(c->n_items - 1), (size_t)(c->n_items), sizeof *ops);
        if (!ops) return perr(P, "out of memory");
        c->ops = ops;
        c->ops[c->n_items - 1] = op;
        node *b = expr(P);
        if (!b || push_node(P, &c->items, &c->n_items, b)) return NULL;
        if (c->n_items > MAX_CHAIN) return perr(P, "comparison chain too long");
        op = comp_op(P);
    }
    return c;
}

static node *not_test(parser *P)
{
    token *t = cur(P);
    if (is_kw(P, "not")) {
        P->pos++;
        if (!enter(P)) return NULL;
        node *x = not_test(P);
        LEAVE(P);
        if (!x) return NULL;
        node *u = mk(P, N_UNARY, t);
        if (!u) return NULL;
        u->op = 'n';
        u->a = x;
        return u;
    }
    return comparison(P);
}

static node *bool_level(parser *P, level_fn next, const char *kw, node_kind k)
{
    node *a = next(P);
    while (a && is_kw(P, kw)) {
        token *t = cur(P);
        P->pos++;
        node *b = next(P);
        if (!b) return NULL;
        node *n = mk(P, k, t);
        if (!n) return NULL;
        set_start(n, a);
        n->a = a;
        n->b = b;
        if (!chain_ok(P, n, a)) return NULL;
        a = n;
    }
    return a;
}

static node *and_test(parser *P) { return bool_level(P, not_test, "and", N_AND); }
static node *or_test(parser *P) { return bool_level(P, and_test, "or", N_OR); }

/* Parameters of a def (up to ')') or a lambda (up to ':'): plain, defaults,
 * '*' or '*args' (what follows is keyword-only), '**kwargs', '/' (accepted,
 * its parameters are treated as ordinary ones), annotations in a def. */
static int params(parser *P, node *fn, bool is_def)
{
    const char *close = is_def ? ")" : ":";
    bool star = false, seen_default = false, starstar = false, bare_star = false;
    while (!is_op(P, close)) {
        if (starstar) { perr(P, "invalid syntax (arguments cannot follow **%s)", fn->items[fn->n_items - 1]->s); return -1; }
        if (accept_op(P, "/")) {
            if (star || fn->n_items == 0) { perr(P, "invalid syntax ('/' must follow the positional parameters)"); return -1; }
            if (!accept_op(P, ",")) break;
            continue;
        }
        token *at = cur(P);
        int kind = star ? PARAM_KWONLY : PARAM_POS;
        if (accept_op(P, "**")) kind = PARAM_STARSTAR;
        else if (accept_op(P, "*")) {
            if (star) { perr(P, "* argument may appear only once"); return -1; }
            star = true;
            if (is_op(P, ",") || is_op(P, close)) {
                bare_star = true;
                if (is_op(P, close)) { perr(P, "named arguments must follow bare *"); return -1; }
                P->pos++;
                continue;
            }
            kind = PARAM_STAR;
        }
        if (cur(P)->kind != TK_NAME || is_keyword(cur(P)->text)) {
            perr(P, "invalid syntax (parameters are names)");
            return -1;
        }
        for (int i = 0; i < fn->n_items; i++)
            if (!strcmp(fn->items[i]->s, cur(P)->text)) { perr(P, "duplicate argument '%s' in function definition", cur(P)->text); return -1; }
        node *p = mk(P, N_PARAM, at);
        if (!p) return -1;
        p->s = arena_strdup(P->mem, cur(P)->text);
        p->op = kind;
        P->pos++;
        if (!p->s || push_node(P, &fn->items, &fn->n_items, p)) { perr(P, "out of memory"); return -1; }
        if (is_def && accept_op(P, ":")) {
            node *ann = test(P);   /* annotations are parsed and ignored */
            if (!ann) return -1;
            }
        if (accept_op(P, "=")) {
            if (kind == PARAM_STAR || kind == PARAM_STARSTAR) { perr(P, "invalid syntax (var-positional and var-keyword parameters have no default)"); return -1; }
            p->b = test(P);
            if (!p->b) return -1;
            if (kind == PARAM_POS) seen_default = true;
        } else if (kind == PARAM_POS && seen_default) {
            perr_at(P, p->line, p->col, false, "parameter without a default follows parameter with a default");
            return -1;
        }
        if (kind == PARAM_STARSTAR) starstar = true;
        if (bare_star && kind == PARAM_STARSTAR && fn->n_items == 1) bare_star = false;
        if (!accept_op(P, ",")) break;
    }
    (void)bare_star;
    return 0;
}

static node *lambda(parser *P)
{
    token *t = cur(P);
    P->pos++;
    node *l = mk(P, N_LAMBDA, t);
    if (!l) return NULL;
    if (params(P, l, false) || !expect_op(P, ":")) return NULL;
    if (!enter(P)) return NULL;
    P->fn_depth++;
    l->a = test(P);
    P->fn_depth--;
    LEAVE(P);
    if (!l->a) return NULL;
    return l;
}

static node *test(parser *P)
{
    if (is_kw(P, "lambda")) return lambda(P);
    node *a = or_test(P);
    if (!a || !is_kw(P, "if")) return a;
    token *t = cur(P);
    P->pos++;
    node *n = mk(P, N_IFEXP, t);
    if (!n) return NULL;
    set_start(n, a);
    n->b = a;
    if (!enter(P)) return NULL;
    n->a = or_test(P);
    if (n->a && !is_kw(P, "else")) { LEAVE(P); return perr(P, "expected 'else' after 'if' expression"); }
    if (n->a) { P->pos++; n->c = test(P); }
    LEAVE(P);
    if (!n->a || !n->c) return NULL;
    return n;
}

static node *testlist(parser *P, bool allow_star)
{
    token *t = cur(P);
    node *first;
    if (allow_star && is_op(P, "*")) {
        P->pos++;
        first = mk(P, N_STARRED, t);
        if (first) { first->a = expr(P); if (!first->a) { first = NULL; } }
    } else first = test(P);
    if (!first || !is_op(P, ",")) return first;
    node *tup = mk(P, N_TUPLE, t);
    if (!tup) return NULL;
    push_node(P, &tup->items, &tup->n_items, first);
    while (accept_op(P, ",")) {
        token *k = cur(P);
        if (k->kind == TK_NEWLINE || k->kind == TK_END || is_op(P, "=") || is_op(P, ")") ||
            (k->kind == TK_OP && strlen(k->text) >= 2 && k->text[strlen(k->text) - 1] == '=' && strcmp(k->text, "==") && strcmp(k->text, "<=") && strcmp(k->text, ">=") && strcmp(k->text, "!=")) ||
            is_op(P, ":") || is_op(P, ";"))
            break;
        node *x;
        if (allow_star && is_op(P, "*")) {
            P->pos++;
            x = mk(P, N_STARRED, k);
            if (x) { x->a = expr(P); if (!x->a) { x = NULL; } }
        } else x = test(P);
        if (!x || push_node(P, &tup->items, &tup->n_items, x)) return NULL;
    }
    return tup;
}

/* ---- statements ----------------------------------------------------------- */

static bool valid_target(parser *P, node *t, const char *what)
{
    switch (t->kind) {
    case N_NAME: case N_SUBSCRIPT: case N_ATTR: return true;
    case N_TUPLE: case N_LIST:
        if (!strcmp(what, "augmented assignment")) break;
        for (int i = 0; i < t->n_items; i++) if (!valid_target(P, t->items[i], what)) return false;
        return true;
    case N_STARRED:
        if (!strcmp(what, "assignment")) return valid_target(P, t->a, what);
        break;
    default: break;
    }
    const char *desc = t->kind == N_CALL ? "function call" : t->kind == N_CONST || t->kind == N_INT ||
                       t->kind == N_FLOAT || t->kind == N_STR ? "literal" : "expression";
    perr_at(P, t->line, t->col, false, "cannot assign to %s here%s", desc,
            t->kind == N_COMPARE ? ". Maybe you meant '==' instead of '='?" : "");
    return false;
}

static int end_simple(parser *P)
{
    if (accept_op(P, ";")) return 0;
    if (cur(P)->kind == TK_NEWLINE) { P->pos++; return 0; }
    if (cur(P)->kind == TK_END || cur(P)->kind == TK_DEDENT) return 0;
    invalid(P);
    return -1;
}

static bool at_statement_end(parser *P)
{
    tok_kind k = cur(P)->kind;
    return k == TK_NEWLINE || k == TK_END || k == TK_DEDENT || is_op(P, ";");
}

/* A dotted name (a.b.c) as one string. */
static char *dotted_name(parser *P)
{
    if (cur(P)->kind != TK_NAME || is_keyword(cur(P)->text)) return perr(P, "invalid syntax (expected a module name)");
    size_t cap = 64, n = 0;
    char *s = malloc(cap);
    if (!s) return perr(P, "out of memory");
    for (;;) {
        size_t l = cur(P)->len;
        if (n + l + 2 > cap) {
            cap = (n + l + 2) * 2;
            char *x = realloc(s, cap);
            if (!x) { free(s); return perr(P, "out of memory"); }
            s = x;
        }
        memcpy(s + n, cur(P)->text, l);
        n += l;
        s[n] = 0;
        P->pos++;
        if (!is_op(P, ".")) {
            char *r = arena_strndup(P->mem, s, n);
            free(s);
            return r ? r : perr(P, "out of memory");
        }
        P->pos++;
        if (cur(P)->kind != TK_NAME || is_keyword(cur(P)->text)) { free(s); return perr(P, "invalid syntax (expected a name after '.')"); }
        s[n++] = '.';
    }
}

/* `NAME [as NAME]` or `dotted [as NAME]` into an N_ALIAS appended to n's items. */
static int alias(parser *P, node *n, bool dotted)
{
    node *a = mk(P, N_ALIAS, cur(P));
    if (!a) return -1;
    if (dotted) a->s = dotted_name(P);
    else if (cur(P)->kind == TK_NAME && !is_keyword(cur(P)->text)) { a->s = arena_strdup(P->mem, cur(P)->text); P->pos++; }
    else perr(P, "invalid syntax (expected a name to import)");
    if (!a->s) return -1;
    if (accept_kw(P, "as")) {
        if (cur(P)->kind != TK_NAME || is_keyword(cur(P)->text)) { perr(P, "invalid syntax (expected a name after 'as')"); return -1; }
        a->b = mk(P, N_NAME, cur(P));
        if (!a->b || !(a->b->s = arena_strdup(P->mem, cur(P)->text))) { perr(P, "out of memory"); return -1; }
        P->pos++;
    }
    if (push_node(P, &n->items, &n->n_items, a)) return -1;
    return 0;
}

static node *import_stmt(parser *P)
{
    node *n = mk(P, N_IMPORT, cur(P));
    if (!n) return NULL;
    P->pos++;
    do {
        if (alias(P, n, true)) return NULL;
    } while (accept_op(P, ","));
    return n;
}

static node *from_import(parser *P)
{
    node *n = mk(P, N_FROMIMPORT, cur(P));
    if (!n) return NULL;
    P->pos++;
    if (is_op(P, ".") || is_op(P, "...")) return perr(P, "relative imports are not supported in lens (cells are not in a package)");
    if (!(n->s = dotted_name(P))) return NULL;
    if (!accept_kw(P, "import")) return perr(P, "invalid syntax (expected 'import')");
    if (accept_op(P, "*")) {
        if (P->fn_depth) return perr(P, "import * only allowed at module level");
        n->op = 1;
        return n;
    }
    bool paren = accept_op(P, "(");
    do {
        if (paren && is_op(P, ")")) break;
        if (alias(P, n, false)) return NULL;
    } while (accept_op(P, ","));
    if (paren && !expect_op(P, ")")) return NULL;
    return n;
}

static node *simple_stmt(parser *P)
{
    token *t = cur(P);
    if (t->kind == TK_NAME) {
        const char *s = t->text;
        if (!strcmp(s, "pass") || !strcmp(s, "break") || !strcmp(s, "continue")) {
            P->pos++;
            return mk(P, s[0] == 'p' ? N_PASS : s[0] == 'b' ? N_BREAK : N_CONTINUE, t);
        }
        if (!strcmp(s, "import")) return import_stmt(P);
        if (!strcmp(s, "from")) return from_import(P);
        if (!strcmp(s, "return")) {
            if (!P->fn_depth) return perr(P, "'return' outside function");
            P->pos++;
            node *n = mk(P, N_RETURN, t);
            if (!n) return NULL;
            if (!at_statement_end(P) && !(n->a = testlist(P, true))) return NULL;
            return n;
        }
        if (!strcmp(s, "raise")) {
            P->pos++;
            node *n = mk(P, N_RAISE, t);
            if (!n) return NULL;
            if (!at_statement_end(P)) {
                if (!(n->a = test(P))) return NULL;
                if (accept_kw(P, "from") && !(n->b = test(P))) return NULL;
            }
            return n;
        }
        if (!strcmp(s, "global") || !strcmp(s, "nonlocal")) {
            if (s[0] == 'n' && !P->fn_depth) return perr(P, "nonlocal declaration not allowed at module level");
            P->pos++;
            node *n = mk(P, s[0] == 'g' ? N_GLOBAL : N_NONLOCAL, t);
            if (!n) return NULL;
            do {
                if (cur(P)->kind != TK_NAME || is_keyword(cur(P)->text)) return perr(P, "invalid syntax (expected a name)");
                node *x = mk(P, N_NAME, cur(P));
                if (!x || !(x->s = arena_strdup(P->mem, cur(P)->text)) || push_node(P, &n->items, &n->n_items, x)) {
                    return perr(P, "out of memory");
                }
                P->pos++;
            } while (accept_op(P, ","));
            return n;
        }
        if (!strcmp(s, "del")) {
            P->pos++;
            node *n = mk(P, N_DEL, t);
            if (!n) return NULL;
            node *x = testlist(P, false);
            if (!x) return NULL;
            if (x->kind == N_TUPLE) { n->items = x->items; n->n_items = x->n_items; x->items = NULL; x->n_items = 0; }
            else push_node(P, &n->items, &n->n_items, x);
            for (int i = 0; i < n->n_items; i++)
                if (n->items[i]->kind != N_NAME && n->items[i]->kind != N_SUBSCRIPT) {
                    perr_at(P, n->items[i]->line, n->items[i]->col, false, "cannot delete this expression");
                    return NULL;
                }
            return n;
        }
        if (!strcmp(s, "assert")) {
            P->pos++;
            node *n = mk(P, N_ASSERT, t);
            if (!n) return NULL;
            n->a = test(P);
            if (n->a && accept_op(P, ",")) n->b = test(P);
            if (!n->a || P->failed) return NULL;
            return n;
        }
        if (!strcmp(s, "class"))
            return perr(P, "'class' is not supported in lens (functions, closures and the provided types are)");
        if (!strcmp(s, "async"))
            return perr(P, "'async' is not supported in lens (generators and coroutines are not part of the language)");
        if (!strcmp(s, "def") || !strcmp(s, "try") || !strcmp(s, "with"))
            return perr(P, "invalid syntax ('%s' starts a block on its own line)", s);
        if (!strcmp(s, "else") || !strcmp(s, "elif"))
            return perr(P, "invalid syntax ('%s' without a matching 'if')", s);
    }
    node *x = testlist(P, true);
    if (!x) return NULL;
    if (is_op(P, ":")) {
        /* an annotated assignment `x: T = v` or declaration `x: T`: the annotation is ignored */
        token *colon = cur(P);
        if (x->kind != N_NAME && x->kind != N_ATTR && x->kind != N_SUBSCRIPT) {
            return perr_at(P, colon->line, colon->col, false, "only single target (not tuple) can be annotated");
        }
        P->pos++;
        node *ann = test(P);
        if (!ann) return NULL;
        if (!accept_op(P, "=")) return mk(P, N_PASS, t);
        node *asg = mk(P, N_ASSIGN, t);
        if (!asg || push_node(P, &asg->items, &asg->n_items, x)) return NULL;
        asg->aline = colon->line;
        asg->acol = colon->col;
        if (!(asg->a = testlist(P, true))) return NULL;
        return asg;
    }
    if (is_op(P, "=")) {
        node *asg = mk(P, N_ASSIGN, t);
        if (!asg) return NULL;
        asg->aline = cur(P)->line;
        asg->acol = cur(P)->col;
        while (accept_op(P, "=")) {
            if (!valid_target(P, x, "assignment") || push_node(P, &asg->items, &asg->n_items, x)) {
                return NULL;
            }
            x = testlist(P, true);
            if (!x) return NULL;
        }
        asg->a = x;
        return asg;
    }
    token *o = cur(P);
    if (o->kind == TK_OP && o->len >= 2 && o->text[o->len - 1] == '=' && strcmp(o->text, "==") &&
        strcmp(o->text, "<=") && strcmp(o->text, ">=") && strcmp(o->text, "!=")) {
        static const char *const ops[] = {"+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", "<<=", ">>=", NULL};
        static const int codes[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_MATMUL, OP_AND, OP_OR, OP_XOR, OP_LSHIFT, OP_RSHIFT};
        int k = -1;
        for (int i = 0; ops[i]; i++) if (!strcmp(ops[i], o->text)) k = i;
        if (k < 0) return invalid(P);
        if (x->kind == N_TUPLE || x->kind == N_LIST) {
            return perr_at(P, t->line, t->col, false, "'tuple' is an illegal expression for augmented assignment");
        }
        if (!valid_target(P, x, "augmented assignment")) return NULL;
        P->pos++;
        node *n = mk(P, N_AUGASSIGN, o);
        if (!n) return NULL;
        set_start(n, x);
        n->op = codes[k];
        n->a = x;
        n->b = testlist(P, false);
        if (!n->b) return NULL;
        return n;
    }
    if (x->kind == N_STARRED) {
        perr_at(P, x->line, x->col, false, "can't use starred expression here");
        return NULL;
    }
    node *e = mk(P, N_EXPR, t);
    if (!e) return NULL;
    e->a = x;
    return e;
}

static int stmt(parser *P, node ***out, int *n);

static node *compound(parser *P)
{
    token *t = cur(P);
    const char *s = t->text;
    if (!strcmp(s, "if") || !strcmp(s, "elif") || !strcmp(s, "while")) {
        P->pos++;
        node *n = mk(P, s[0] == 'w' ? N_WHILE : N_IF, t);
        if (!n) return NULL;
        n->a = test(P);
        if (!n->a || block(P, &n->body, &n->n_body)) return NULL;
        if (n->kind == N_IF && is_kw(P, "elif")) {
            node *e = compound(P);
            if (!e || push_node(P, &n->orelse, &n->n_orelse, e)) return NULL;
        } else if (is_kw(P, "else")) {
            P->pos++;
            if (block(P, &n->orelse, &n->n_orelse)) return NULL;
        }
        return n;
    }
    /* for */
    P->pos++;
    node *n = mk(P, N_FOR, t);
    if (!n) return NULL;
    token *tt = cur(P);
    node *tgt = expr(P);
    if (tgt && is_op(P, ",")) {
        node *tup = mk(P, N_TUPLE, tt);
        if (!tup) return NULL;
        push_node(P, &tup->items, &tup->n_items, tgt);
        while (accept_op(P, ",") && !is_kw(P, "in")) {
            node *x = expr(P);
            if (!x || push_node(P, &tup->items, &tup->n_items, x)) break;
        }
        tgt = tup;
        if (P->failed) { tgt = NULL; }
    }
    n->a = tgt;
    if (!tgt || !valid_target(P, tgt, "assignment")) return NULL;
    if (!accept_kw(P, "in")) return perr(P, "invalid syntax (expected 'in')");
    n->b = testlist(P, false);
    if (!n->b || block(P, &n->body, &n->n_body)) return NULL;
    if (is_kw(P, "else")) {
        P->pos++;
        if (block(P, &n->orelse, &n->n_orelse)) return NULL;
    }
    return n;
}

static node *def_stmt(parser *P)
{
    token *t = cur(P);
    P->pos++;
    if (cur(P)->kind != TK_NAME || is_keyword(cur(P)->text)) return perr(P, "invalid syntax (expected the function's name)");
    node *n = mk(P, N_DEF, t);
    if (!n) return NULL;
    if (!(n->s = arena_strdup(P->mem, cur(P)->text))) return perr(P, "out of memory");
    P->pos++;
    if (!expect_op(P, "(") || params(P, n, true) || !expect_op(P, ")")) return NULL;
    if (accept_op(P, "->")) {
        node *ann = test(P);   /* the return annotation is parsed and ignored */
        if (!ann) return NULL;
        }
    P->fn_depth++;
    int rc = block(P, &n->body, &n->n_body);
    P->fn_depth--;
    if (rc) return NULL;
    return n;
}

static node *try_stmt(parser *P)
{
    token *t = cur(P);
    P->pos++;
    node *n = mk(P, N_TRY, t);
    if (!n) return NULL;
    if (block(P, &n->body, &n->n_body)) return NULL;
    bool bare_seen = false;
    while (is_kw(P, "except")) {
        node *h = mk(P, N_EXCEPT, cur(P));
        if (!h || push_node(P, &n->items, &n->n_items, h)) return NULL;
        if (bare_seen) return perr(P, "default 'except:' must be last");
        P->pos++;
        if (is_op(P, "*")) return perr(P, "'except*' is not supported in lens");
        if (!is_op(P, ":")) {
            if (!(h->a = test(P))) return NULL;
            if (is_op(P, ",")) {
                return perr(P, "multiple exception types must be parenthesized");
            }
            if (accept_kw(P, "as")) {
                if (cur(P)->kind != TK_NAME || is_keyword(cur(P)->text)) return perr(P, "invalid syntax (expected a name after 'as')");
                if (!(h->s = arena_strdup(P->mem, cur(P)->text))) return perr(P, "out of memory");
                P->pos++;
            }
        } else bare_seen = true;
        if (block(P, &h->body, &h->n_body)) return NULL;
    }
    if (is_kw(P, "else")) {
        if (!n->n_items) return perr(P, "invalid syntax ('else' after 'try' needs an 'except')");
        P->pos++;
        if (block(P, &n->orelse, &n->n_orelse)) return NULL;
    }
    if (is_kw(P, "finally")) {
        n->a = mk(P, N_FINALLY, cur(P));
        P->pos++;
        if (!n->a || block(P, &n->a->body, &n->a->n_body)) return NULL;
    }
    if (!n->n_items && !n->a) {
        return perr_at(P, cur(P)->line, cur(P)->col, cur(P)->kind == TK_END, "expected 'except' or 'finally' block");
    }
    return n;
}

static node *with_stmt(parser *P)
{
    token *t = cur(P);
    P->pos++;
    node *n = mk(P, N_WITH, t);
    if (!n) return NULL;
    do {
        node *it = mk(P, N_WITHITEM, cur(P));
        if (!it || push_node(P, &n->items, &n->n_items, it)) return NULL;
        if (!(it->a = test(P))) return NULL;
        if (accept_kw(P, "as")) {
            if (!(it->b = expr(P))) return NULL;
            if (!valid_target(P, it->b, "assignment")) return NULL;
        }
    } while (accept_op(P, ","));
    if (block(P, &n->body, &n->n_body)) return NULL;
    return n;
}

static int block(parser *P, node ***body, int *n)
{
    if (!accept_op(P, ":")) { perr(P, "expected ':'"); return -1; }
    if (cur(P)->kind != TK_NEWLINE) {
        /* one-line body: simple statements */
        for (;;) {
            node *s = simple_stmt(P);
            if (!s || push_node(P, body, n, s)) return -1;
            if (cur(P)->kind == TK_NEWLINE) { P->pos++; return 0; }
            if (cur(P)->kind == TK_END || cur(P)->kind == TK_DEDENT) return 0;
            if (!accept_op(P, ";")) { invalid(P); return -1; }
            if (cur(P)->kind == TK_NEWLINE) { P->pos++; return 0; }
            if (cur(P)->kind == TK_END) return 0;
        }
    }
    P->pos++;
    if (cur(P)->kind != TK_INDENT) {
        strcpy(P->err->ename, "IndentationError");
        perr_at(P, cur(P)->line, cur(P)->col, cur(P)->kind == TK_END, "expected an indented block");
        return -1;
    }
    P->pos++;
    if (!enter(P)) return -1;
    while (cur(P)->kind != TK_DEDENT && cur(P)->kind != TK_END) {
        if (stmt(P, body, n)) { LEAVE(P); return -1; }
    }
    LEAVE(P);
    if (cur(P)->kind == TK_DEDENT) P->pos++;
    return 0;
}

static int stmt(parser *P, node ***out, int *n)
{
    token *t = cur(P);
    if (t->kind == TK_INDENT) { invalid(P); return -1; }
    if (t->kind == TK_NAME && (!strcmp(t->text, "if") || !strcmp(t->text, "for") || !strcmp(t->text, "while") ||
                               !strcmp(t->text, "def") || !strcmp(t->text, "try") || !strcmp(t->text, "with"))) {
        node *c = t->text[0] == 'd' ? def_stmt(P) : t->text[0] == 't' ? try_stmt(P) :
                  !strcmp(t->text, "with") ? with_stmt(P) : compound(P);
        if (!c || push_node(P, out, n, c)) return -1;
        return 0;
    }
    if (t->kind == TK_OP && !strcmp(t->text, "@")) {
        /* decorators: `@d` lines, then the def they apply to (bottom one first) */
        node **decorators = NULL;
        int n_dec = 0;
        while (accept_op(P, "@")) {
            node *d = test(P);
            if (!d || push_node(P, &decorators, &n_dec, d)) return -1;
            if (cur(P)->kind != TK_NEWLINE) { invalid(P); return -1; }
            P->pos++;
        }
        if (!is_kw(P, "def")) {
            perr_at(P, cur(P)->line, cur(P)->col, cur(P)->kind == TK_END,
                    "invalid syntax (a decorator must be followed by a def; lens has no classes)");
            return -1;
        }
        node *c = def_stmt(P);
        if (!c) return -1;
        c->orelse = decorators;
        c->n_orelse = n_dec;
        return push_node(P, out, n, c);
    }
    if (t->kind == TK_NAME && (!strcmp(t->text, "except") || !strcmp(t->text, "finally"))) {
        perr(P, "invalid syntax ('%s' without a matching 'try')", t->text);
        return -1;
    }
    for (;;) {
        node *s = simple_stmt(P);
        if (!s || push_node(P, out, n, s)) return -1;
        if (end_simple(P)) return -1;
        if (P->t[P->pos - 1].kind == TK_NEWLINE || cur(P)->kind == TK_END || cur(P)->kind == TK_DEDENT) return 0;
        if (cur(P)->kind == TK_NEWLINE) { P->pos++; return 0; }
    }
}

/* ---- the tree's height, without recursion ------------------------------------- */

/* The i-th child of n (a, b, c, items, body, orelse in order), or NULL past the end. */
static node *child_at(node *n, int i, bool *end)
{
    *end = false;
    if (i < 3) return i == 0 ? n->a : i == 1 ? n->b : n->c;
    i -= 3;
    if (i < n->n_items) return n->items[i];
    i -= n->n_items;
    if (i < n->n_body) return n->body[i];
    i -= n->n_body;
    if (i < n->n_orelse) return n->orelse[i];
    *end = true;
    return NULL;
}

/* Sets every node's height with an explicit stack and fails past MAX_HEIGHT,
 * so that evaluation, scope analysis and the other walks never recurse deeper. */
static int check_height(node **stmts, int n, parse_error *err)
{
    typedef struct { node *n; int next; } frame;
    frame *st = malloc(64 * sizeof *st);
    int cap = 64, rc = 0;
    if (!st) goto oom;
    for (int s = 0; s < n && rc == 0; s++) {
        int sp = 0;
        st[sp++] = (frame){stmts[s], 0};
        while (sp > 0) {
            frame *f = &st[sp - 1];
            bool end;
            node *c = child_at(f->n, f->next++, &end);
            if (end) {
                node *done = f->n;
                if (!done->height) done->height = 1;
                if (done->height > MAX_HEIGHT) {
                    snprintf(err->ename, sizeof err->ename, "SyntaxError");
                    snprintf(err->msg, sizeof err->msg, "too deeply nested: the code is more than %d levels deep", MAX_HEIGHT);
                    err->line = done->line;
                    err->col = done->col;
                    rc = -1;
                    break;
                }
                sp--;
                if (sp > 0 && st[sp - 1].n->height < done->height + 1) st[sp - 1].n->height = done->height + 1;
                continue;
            }
            if (!c) continue;
            if (sp == cap) {
                frame *x = realloc(st, (size_t)cap * 2 * sizeof *x);
                if (!x) goto oom;
                st = x;
                cap *= 2;
            }
            c->height = 0;
            st[sp++] = (frame){c, 0};
        }
    }
    free(st);
    return rc;
oom:
    free(st);
    snprintf(err->ename, sizeof err->ename, "MemoryError");
    snprintf(err->msg, sizeof err->msg, "out of memory");
    return -1;
}

/* Lexes src into tl, or fills err. */
static int lex_source(const char *src, token_list *tl, parse_error *err)
{
    lex_error le;
    if (!lex(src, 1, 0, tl, &le)) return 0;
    strcpy(err->ename, strstr(le.msg, "indent") ? "IndentationError" : "SyntaxError");
    snprintf(err->msg, sizeof err->msg, "%s", le.msg);
    err->line = le.line;
    err->col = le.col;
    err->incomplete = le.incomplete;
    lex_free(tl);
    return -1;
}

static int program_start(program *prog, parse_error *err)
{
    memset(prog, 0, sizeof *prog);
    memset(err, 0, sizeof *err);
    if ((prog->mem = calloc(1, sizeof *prog->mem))) return 0;
    strcpy(err->ename, "MemoryError");
    strcpy(err->msg, "out of memory");
    return -1;
}

int parse_program(const char *src, program *prog, parse_error *err)
{
    if (program_start(prog, err)) return -1;
    token_list tl;
    if (lex_source(src, &tl, err)) { program_free(prog); return -1; }
    parser P = {.t = tl.toks, .n = tl.n, .err = err, .mem = prog->mem};
    while (cur(&P)->kind != TK_END) {
        if (cur(&P)->kind == TK_NEWLINE) { P.pos++; continue; }
        if (stmt(&P, &prog->stmts, &prog->n)) break;
    }
    lex_free(&tl);
    if (!P.failed && (check_height(prog->stmts, prog->n, err) || scope_resolve(prog->stmts, prog->n, err, prog->mem)))
        P.failed = true;
    if (P.failed) {
        program_free(prog);
        return -1;
    }
    return 0;
}

void program_free(program *prog)
{
    if (prog->mem) arena_free(prog->mem);
    free(prog->mem);
    memset(prog, 0, sizeof *prog);
}

int parse_expression(const char *src, program *prog, parse_error *err)
{
    if (program_start(prog, err)) return -1;
    token_list tl;
    if (lex_source(src, &tl, err)) { strcpy(err->ename, "SyntaxError"); program_free(prog); return -1; }
    parser P = {.t = tl.toks, .n = tl.n, .err = err, .mem = prog->mem};
    while (cur(&P)->kind == TK_NEWLINE || cur(&P)->kind == TK_INDENT) P.pos++;
    node *e = testlist(&P, false);
    if (e) {
        while (cur(&P)->kind == TK_NEWLINE || cur(&P)->kind == TK_DEDENT) P.pos++;
        if (cur(&P)->kind != TK_END) { invalid(&P); e = NULL; }
    }
    lex_free(&tl);
    if (e && (check_height(&e, 1, err) || scope_resolve(&e, 1, err, prog->mem))) e = NULL;
    if (!e || push_node(&P, &prog->stmts, &prog->n, e)) {
        program_free(prog);
        return -1;
    }
    return 0;
}
