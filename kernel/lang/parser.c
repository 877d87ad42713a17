/* kernel/lang/parser.c — the expression half of the recursive-descent
 * parser, with Python's precedence.
 * Owns: the parser's shared helpers (errors, nodes in the tree's arena,
 * nesting limits), expressions, f-string splitting, parameter lists.
 * Does not own: statements, blocks and the entry points (parser_stmt.c),
 * meaning (eval.c). */
#include "parser_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const KEYWORDS[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield", NULL};

bool lang_is_keyword(const char *name)
{
    for (int i = 0; KEYWORDS[i]; i++) if (!strcmp(KEYWORDS[i], name)) return true;
    return false;
}

const char *lang_binop_symbol(int op)
{
    static const char *const s[] = {"?", "+", "-", "*", "/", "//", "%", "**", "@", "&", "|", "^", "<<", ">>"};
    return op >= 0 && op <= OP_RSHIFT ? s[op] : "?";
}


void *lang_parse_err_at(parser *P, int line, int col, bool incomplete, const char *fmt, ...)
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

void *lang_parse_err(parser *P, const char *fmt, ...)
{
    if (P->failed) return NULL;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return lang_parse_err_at(P, cur(P)->line, cur(P)->col, false, "%s", buf);
}

void *lang_parse_invalid(parser *P)
{
    token *t = cur(P);
    if (t->kind == TK_INDENT) { strcpy(P->err->ename, "IndentationError"); return lang_parse_err(P, "unexpected indent"); }
    if (t->kind == TK_END || t->kind == TK_NEWLINE) return lang_parse_err(P, "invalid syntax (the line ends too early)");
    if (t->kind == TK_NAME && !strcmp(t->text, "print") ) return lang_parse_err(P, "invalid syntax");
    return lang_parse_err(P, "invalid syntax");
}

bool lang_parse_expect_op(parser *P, const char *op)
{
    if (accept_op(P, op)) return true;
    if (cur(P)->kind == TK_END || cur(P)->kind == TK_NEWLINE)
        lang_parse_err(P, "expected '%s'", op);
    else
        lang_parse_err(P, "invalid syntax (expected '%s')", op);
    return false;
}

node *lang_parse_node(parser *P, node_kind k, token *at)
{
    node *n = lang_arena_alloc(P->mem, sizeof *n);
    if (!n) return lang_parse_err(P, "out of memory");
    n->kind = k;
    n->line = n->aline = at->line;
    n->col = n->acol = at->col;
    return n;
}

int lang_parse_push(parser *P, node ***arr, int *n, node *x)
{
    if ((*n & (*n - 1)) == 0) {
        int cap = *n ? *n * 2 : 1;
        node **a = lang_arena_grow(P->mem, *arr, (size_t)*n, (size_t)cap, sizeof *a);
        if (!a) { lang_parse_err(P, "out of memory"); return -1; }
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
        lang_parse_err_at(P, n->line, n->col, false, "expression too long or too deeply nested (limit %d)", MAX_CHAIN);
        return false;
    }
    return true;
}

bool lang_parse_enter(parser *P)
{
    if (++P->depth > MAX_RECURSION) {
        lang_parse_err(P, "too deeply nested: more than %d nested parentheses, blocks or operators", MAX_RECURSION);
        return false;
    }
    return true;
}

static node *or_test(parser *P);

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
    node *lit = lang_parse_node(P, N_STR, at);
    if (!lit) return -1;
    if (raw) {
        lit->s = lang_arena_strndup(P->mem, s, n);
        lit->slen = n;
    } else {
        char *text = lang_lex_unescape(s, n, &lit->slen);
        lit->s = text ? lang_arena_strndup(P->mem, text, lit->slen) : NULL;
        free(text);
    }
    if (!lit->s) { lang_parse_err(P, "out of memory"); return -1; }
    return lang_parse_push(P, &fs->items, &fs->n_items, lit);
}

static node *fstring_parse(parser *P, const char *body, size_t len, bool raw, int line, int col,
                           token *at, int nest)
{
    node *fs = lang_parse_node(P, N_FSTR, at);
    if (!fs) return NULL;
    char *lit = malloc(len + 1);
    size_t ln = 0;
    if (!lit) return lang_parse_err(P, "out of memory");
    size_t i = 0;
    while (i < len) {
        char c = body[i];
        if (c == '{' && i + 1 < len && body[i + 1] == '{') { lit[ln++] = '{'; i += 2; continue; }
        if (c == '}' && i + 1 < len && body[i + 1] == '}') { lit[ln++] = '}'; i += 2; continue; }
        if (c == '}') {
            int l, cc;
            pos_in_body(body, i, line, col, &l, &cc);
            lang_parse_err_at(P, l, cc, false, "f-string: single '}' is not allowed");
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
        if (i >= len) { lang_parse_err_at(P, el, ec, false, "f-string: expecting '}'"); goto fail; }
        size_t elen = i - s;
        /* `{x=}` debugging form: keep the text */
        bool self_doc = elen > 0 && body[s + elen - 1] == '=' &&
                        !(elen > 1 && strchr("=!<>", body[s + elen - 2]));
        char *etext = malloc(elen + 1);
        if (!etext) { lang_parse_err(P, "out of memory"); goto fail; }
        memcpy(etext, body + s, elen - (self_doc ? 1 : 0));
        etext[elen - (self_doc ? 1 : 0)] = 0;
        bool blank = true;
        for (char *e = etext; *e; e++) if (*e != ' ' && *e != '\t' && *e != '\n') blank = false;
        if (blank) { free(etext); lang_parse_err_at(P, el, ec, false, "f-string: empty expression not allowed"); goto fail; }
        if (self_doc && add_literal(P, fs, body + s, elen, true, at)) { free(etext); goto fail; }
        /* parse the expression with positions shifted into the cell */
        token_list tl;
        lex_error le;
        node *e = NULL;
        if (lang_lex(etext, el, ec, &tl, &le)) {
            lang_parse_err_at(P, le.line, le.col, false, "f-string: %s", le.msg);
        } else {
            parser sub = {.t = tl.toks, .n = tl.n, .err = P->err, .depth = P->depth, .fn_depth = P->fn_depth, .mem = P->mem};
            while (sub.t[sub.pos].kind == TK_NEWLINE || sub.t[sub.pos].kind == TK_INDENT) sub.pos++;
            e = lang_parse_testlist(&sub, false);
            if (e && sub.t[sub.pos].kind != TK_NEWLINE && sub.t[sub.pos].kind != TK_END &&
                sub.t[sub.pos].kind != TK_DEDENT) {
                lang_parse_err_at(&sub, sub.t[sub.pos].line, sub.t[sub.pos].col, false, "f-string: invalid syntax");
                e = NULL;
            }
            if (sub.failed) P->failed = true;
        }
        lang_lex_free(&tl);
        free(etext);
        if (!e) { P->failed = true; goto fail; }
        node *f = lang_parse_node(P, N_FMT, at);
        if (!f) goto fail;
        f->a = e;
        f->line = f->aline = e->line;
        f->col = f->acol = e->col;
        if (self_doc) f->op = 'r';
        if (lang_parse_push(P, &fs->items, &fs->n_items, f)) goto fail;
        if (body[i] == '!') {
            if (i + 1 >= len || !strchr("rsa", body[i + 1])) {
                int l, cc; pos_in_body(body, i, line, col, &l, &cc);
                lang_parse_err_at(P, l, cc, false, "f-string: invalid conversion character: expected 's', 'r', or 'a'");
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
            if (i >= len) { lang_parse_err_at(P, el, ec, false, "f-string: expecting '}'"); goto fail; }
            if (memchr(body + ss, '{', i - ss)) {
                if (nest > 1) { lang_parse_err_at(P, el, ec, false, "f-string: expressions nested too deeply"); goto fail; }
                int sl, sc; pos_in_body(body, ss, line, col, &sl, &sc);
                f->b = fstring_parse(P, body + ss, i - ss, raw, sl, sc, at, nest + 1);
                if (!f->b) goto fail;
            } else {
                f->s = lang_arena_strndup(P->mem, body + ss, i - ss);
                if (!f->s) { lang_parse_err(P, "out of memory"); goto fail; }
                f->slen = i - ss;
            }
        }
        if (i >= len || body[i] != '}') { lang_parse_err_at(P, el, ec, false, "f-string: expecting '}'"); goto fail; }
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
        node *n = lang_parse_node(P, N_STR, first);
        if (!n) return NULL;
        size_t total = 0;
        for (int i = P->pos; P->t[i].kind == TK_STRING; i++) total += P->t[i].len;
        n->s = lang_arena_alloc(P->mem, total + 1);
        if (!n->s) return lang_parse_err(P, "out of memory");
        while (cur(P)->kind == TK_STRING) {
            memcpy(n->s + n->slen, cur(P)->text, cur(P)->len);
            n->slen += cur(P)->len;
            P->pos++;
        }
        n->s[n->slen] = 0;
        return n;
    }
    node *fs = lang_parse_node(P, N_FSTR, first);
    if (!fs) return NULL;
    while (cur(P)->kind == TK_STRING || cur(P)->kind == TK_FSTRING) {
        token *t = cur(P);
        if (t->kind == TK_STRING) {
            node *lit = lang_parse_node(P, N_STR, t);
            if (!lit) return NULL;
            lit->s = lang_arena_strndup(P->mem, t->text, t->len);
            if (!lit->s) return lang_parse_err(P, "out of memory");
            lit->slen = t->len;
            if (lang_parse_push(P, &fs->items, &fs->n_items, lit)) return NULL;
        } else {
            node *part = fstring_parse(P, t->text, t->len, t->raw, t->body_line, t->body_col, t, 0);
            if (!part) return NULL;
            for (int i = 0; i < part->n_items; i++)
                if (lang_parse_push(P, &fs->items, &fs->n_items, part->items[i])) return NULL;
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
        node *cf = lang_parse_node(P, N_COMPFOR, ft);
        if (!cf) return NULL;
        if (lang_parse_push(P, &comp->items, &comp->n_items, cf)) return NULL;
        /* target: expr list (no `in` comparisons) */
        node *tgt = lang_parse_expr(P);
        if (!tgt) return NULL;
        if (is_op(P, ",")) {
            node *tup = lang_parse_node(P, N_TUPLE, ft);
            if (!tup) return NULL;
            set_start(tup, tgt);
            if (lang_parse_push(P, &tup->items, &tup->n_items, tgt)) return NULL;
            while (accept_op(P, ",")) {
                if (is_kw(P, "in")) break;
                node *x = lang_parse_expr(P);
                if (!x || lang_parse_push(P, &tup->items, &tup->n_items, x)) return NULL;
            }
            tgt = tup;
        }
        cf->a = tgt;
        if (!accept_kw(P, "in")) return lang_parse_err(P, "invalid syntax (expected 'in')");
        cf->b = or_test(P);
        if (!cf->b) return NULL;
        while (is_kw(P, "if")) {
            P->pos++;
            node *c = or_test(P);
            if (!c || lang_parse_push(P, &cf->body, &cf->n_body, c)) return NULL;
        }
    }
    return comp;
}

/* One element of a tuple or list display: an expression or *starred. */
static node *element(parser *P)
{
    if (!is_op(P, "*")) return lang_parse_test(P);
    token *st = cur(P);
    P->pos++;
    node *x = lang_parse_node(P, N_STARRED, st);
    if (x && !(x->a = lang_parse_expr(P))) { x = NULL; }
    return x;
}

static node *atom(parser *P)
{
    token *t = cur(P);
    switch (t->kind) {
    case TK_INT: { node *n = lang_parse_node(P, N_INT, t); if (n) n->ival = t->ival; P->pos++; return n; }
    case TK_FLOAT: { node *n = lang_parse_node(P, N_FLOAT, t); if (n) n->fval = t->fval; P->pos++; return n; }
    case TK_STRING: case TK_FSTRING: return strings(P);
    case TK_NAME: {
        const char *s = t->text;
        if (!strcmp(s, "None") || !strcmp(s, "True") || !strcmp(s, "False")) {
            node *n = lang_parse_node(P, N_CONST, t);
            if (n) n->op = s[0] == 'N' ? 0 : s[0] == 'T' ? 1 : 2;
            P->pos++;
            return n;
        }
        if (!strcmp(s, "yield") || !strcmp(s, "await"))
            return lang_parse_err(P, "'%s' is not supported in lens (generators and coroutines are not part of the language)", s);
        if (lang_is_keyword(s)) return lang_parse_invalid(P);
        node *n = lang_parse_node(P, N_NAME, t);
        if (!n) return NULL;
        n->s = lang_arena_strdup(P->mem, s);
        n->slen = t->len;
        P->pos++;
        return n;
    }
    case TK_OP: break;
    default: return lang_parse_invalid(P);
    }
    if (is_op(P, "...")) { node *n = lang_parse_node(P, N_CONST, t); if (n) n->op = 3; P->pos++; return n; }
    if (is_op(P, "(")) {
        P->pos++;
        if (accept_op(P, ")")) return lang_parse_node(P, N_TUPLE, t);
        if (!lang_parse_enter(P)) return NULL;
        node *first = is_op(P, "*") ? NULL : lang_parse_test(P);
        if (!first && !is_op(P, "*")) { LEAVE(P); return NULL; }
        node *res;
        if (first && is_kw(P, "for")) {
            /* a generator expression: evaluated as a list */
            node *comp = lang_parse_node(P, N_LISTCOMP, t);
            if (!comp) { LEAVE(P); return NULL; }
            comp->a = first;
            res = comp_tail(P, comp) ? comp : NULL;
        } else if (first && !is_op(P, ",")) {
            res = first;
        } else {
            node *tup = lang_parse_node(P, N_TUPLE, t);
            res = tup;
            if (tup && first && lang_parse_push(P, &tup->items, &tup->n_items, first)) { res = NULL; }
            while (res && (first == NULL || accept_op(P, ","))) {
                first = (node *)1;
                if (is_op(P, ")")) break;
                node *x = element(P);
                if (!x || lang_parse_push(P, &tup->items, &tup->n_items, x)) { res = NULL; }
            }
        }
        LEAVE(P);
        if (res && !lang_parse_expect_op(P, ")")) return NULL;
        return res;
    }
    if (is_op(P, "[")) {
        P->pos++;
        if (!lang_parse_enter(P)) return NULL;
        node *lst = lang_parse_node(P, N_LIST, t);
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
            if (lang_parse_push(P, &lst->items, &lst->n_items, x)) { LEAVE(P); return NULL; }
            if (!accept_op(P, ",")) break;
        }
        LEAVE(P);
        if (!lang_parse_expect_op(P, "]")) return NULL;
        return lst;
    }
    if (is_op(P, "{")) {
        P->pos++;
        if (!lang_parse_enter(P)) return NULL;
        node *d = lang_parse_node(P, N_DICT, t);
        if (!d) { LEAVE(P); return NULL; }
        while (!is_op(P, "}")) {
            node *k = lang_parse_test(P);
            if (!k) { LEAVE(P); return NULL; }
            if (!is_op(P, ":")) {
                LEAVE(P);
                return lang_parse_err(P, is_op(P, ",") || is_op(P, "}") ? "set literals are not supported in lens (use a list)"
                                                               : "invalid syntax (expected ':')");
            }
            P->pos++;
            node *v = lang_parse_test(P);
            if (!v) { LEAVE(P); return NULL; }
            if (d->n_items == 0 && is_kw(P, "for")) {
                d->kind = N_DICTCOMP;
                d->a = k;
                d->b = v;
                if (!comp_tail(P, d)) { LEAVE(P); return NULL; }
                break;
            }
            if (lang_parse_push(P, &d->items, &d->n_items, k)) { LEAVE(P); return NULL; }
            if (lang_parse_push(P, &d->items, &d->n_items, v)) { LEAVE(P); return NULL; }
            if (!accept_op(P, ",")) break;
        }
        LEAVE(P);
        if (!lang_parse_expect_op(P, "}")) return NULL;
        return d;
    }
    return lang_parse_invalid(P);
}

static node *subscript_item(parser *P)
{
    token *t = cur(P);
    node *start = NULL;
    if (!is_op(P, ":")) {
        start = lang_parse_test(P);
        if (!start) return NULL;
        if (!is_op(P, ":")) return start;
    }
    node *sl = lang_parse_node(P, N_SLICE, t);
    if (!sl) return NULL;
    sl->a = start;
    P->pos++; /* ':' */
    if (!is_op(P, "]") && !is_op(P, ",") && !is_op(P, ":")) {
        sl->b = lang_parse_test(P);
        if (!sl->b) return NULL;
    }
    if (accept_op(P, ":") && !is_op(P, "]") && !is_op(P, ",")) {
        sl->c = lang_parse_test(P);
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
            node *call = lang_parse_node(P, N_CALL, t);
            if (!call) return NULL;
            set_start(call, n);
            call->a = n;
            if (!chain_ok(P, call, n)) return NULL;
            if (!lang_parse_enter(P)) return NULL;
            bool seen_kw = false;
            while (!is_op(P, ")")) {
                token *at = cur(P);
                node *arg = lang_parse_node(P, N_ARG, at);
                if (!arg) break;
                if (lang_parse_push(P, &call->items, &call->n_items, arg)) break;
                if (accept_op(P, "**")) arg->op = 2;
                else if (accept_op(P, "*")) arg->op = 1;
                else if (cur(P)->kind == TK_NAME && P->t[P->pos + 1].kind == TK_OP &&
                         !strcmp(P->t[P->pos + 1].text, "=")) {
                    if (lang_is_keyword(cur(P)->text)) { lang_parse_err(P, "invalid syntax (keyword argument name)"); break; }
                    arg->s = lang_arena_strdup(P->mem, cur(P)->text);
                    P->pos += 2;
                    seen_kw = true;
                } else if (seen_kw) {
                    lang_parse_err(P, "positional argument follows keyword argument");
                    break;
                }
                arg->a = lang_parse_test(P);
                if (!arg->a) break;
                if (call->n_items == 1 && !arg->s && !arg->op && is_kw(P, "for")) {
                    node *comp = lang_parse_node(P, N_LISTCOMP, at);
                    if (!comp) break;
                    comp->a = arg->a;
                    arg->a = comp;
                    if (!comp_tail(P, comp)) break;
                }
                if (!accept_op(P, ",")) break;
            }
            LEAVE(P);
            if (P->failed || !lang_parse_expect_op(P, ")")) return NULL;
            n = call;
        } else if (is_op(P, "[")) {
            P->pos++;
            node *sub = lang_parse_node(P, N_SUBSCRIPT, t);
            if (!sub) return NULL;
            set_start(sub, n);
            sub->a = n;
            if (!chain_ok(P, sub, n)) return NULL;
            if (!lang_parse_enter(P)) return NULL;
            node *first = subscript_item(P);
            if (first && is_op(P, ",")) {
                node *tup = lang_parse_node(P, N_TUPLE, t);
                if (tup) {
                    set_start(tup, first);
                    lang_parse_push(P, &tup->items, &tup->n_items, first);
                    while (accept_op(P, ",") && !is_op(P, "]")) {
                        node *x = subscript_item(P);
                        if (!x || lang_parse_push(P, &tup->items, &tup->n_items, x)) break;
                    }
                }
                first = tup;
            }
            LEAVE(P);
            sub->b = first;
            if (!first || P->failed || !lang_parse_expect_op(P, "]")) return NULL;
            n = sub;
        } else if (is_op(P, ".")) {
            P->pos++;
            if (cur(P)->kind != TK_NAME) return lang_parse_err(P, "invalid syntax (expected a name after '.')");
            node *at = lang_parse_node(P, N_ATTR, t);
            if (!at) return NULL;
            set_start(at, n);
            at->a = n;
            at->s = lang_arena_strdup(P->mem, cur(P)->text);
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
        if (!lang_parse_enter(P)) return NULL;
        node *x = factor(P);
        LEAVE(P);
        if (!x) return NULL;
        /* fold negative literals so -9223372036854775808 works and reprs stay simple */
        if (t->text[0] == '-' && x->kind == N_FLOAT) { x->fval = -x->fval; x->line = t->line; x->col = t->col; x->aline = t->line; x->acol = t->col; return x; }
        node *u = lang_parse_node(P, N_UNARY, t);
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
        if (!lang_parse_enter(P)) return NULL;
        node *b = factor(P);
        LEAVE(P);
        if (!b) return NULL;
        node *n = lang_parse_node(P, N_BINOP, t);
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
        node *n = lang_parse_node(P, N_BINOP, t);
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
node *lang_parse_expr(parser *P)
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
    node *a = lang_parse_expr(P);
    if (!a) return NULL;
    token *t = cur(P);
    int op = comp_op(P);
    if (op < 0) return a;
    node *c = lang_parse_node(P, N_COMPARE, t);
    if (!c) return NULL;
    set_start(c, a);
    lang_parse_push(P, &c->items, &c->n_items, a);
    while (op >= 0) {
        int *ops = lang_arena_grow(P->mem, c->ops, (size_t)(c->n_items - 1), (size_t)(c->n_items), sizeof *ops);
        if (!ops) return lang_parse_err(P, "out of memory");
        c->ops = ops;
        c->ops[c->n_items - 1] = op;
        node *b = lang_parse_expr(P);
        if (!b || lang_parse_push(P, &c->items, &c->n_items, b)) return NULL;
        if (c->n_items > MAX_CHAIN) return lang_parse_err(P, "comparison chain too long");
        op = comp_op(P);
    }
    return c;
}

static node *not_test(parser *P)
{
    token *t = cur(P);
    if (is_kw(P, "not")) {
        P->pos++;
        if (!lang_parse_enter(P)) return NULL;
        node *x = not_test(P);
        LEAVE(P);
        if (!x) return NULL;
        node *u = lang_parse_node(P, N_UNARY, t);
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
        node *n = lang_parse_node(P, k, t);
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
int lang_parse_params(parser *P, node *fn, bool is_def)
{
    const char *close = is_def ? ")" : ":";
    bool star = false, seen_default = false, starstar = false, bare_star = false;
    while (!is_op(P, close)) {
        if (starstar) { lang_parse_err(P, "invalid syntax (arguments cannot follow **%s)", fn->items[fn->n_items - 1]->s); return -1; }
        if (accept_op(P, "/")) {
            if (star || fn->n_items == 0) { lang_parse_err(P, "invalid syntax ('/' must follow the positional parameters)"); return -1; }
            if (!accept_op(P, ",")) break;
            continue;
        }
        token *at = cur(P);
        int kind = star ? PARAM_KWONLY : PARAM_POS;
        if (accept_op(P, "**")) kind = PARAM_STARSTAR;
        else if (accept_op(P, "*")) {
            if (star) { lang_parse_err(P, "* argument may appear only once"); return -1; }
            star = true;
            if (is_op(P, ",") || is_op(P, close)) {
                bare_star = true;
                if (is_op(P, close)) { lang_parse_err(P, "named arguments must follow bare *"); return -1; }
                P->pos++;
                continue;
            }
            kind = PARAM_STAR;
        }
        if (cur(P)->kind != TK_NAME || lang_is_keyword(cur(P)->text)) {
            lang_parse_err(P, "invalid syntax (parameters are names)");
            return -1;
        }
        for (int i = 0; i < fn->n_items; i++)
            if (!strcmp(fn->items[i]->s, cur(P)->text)) { lang_parse_err(P, "duplicate argument '%s' in function definition", cur(P)->text); return -1; }
        node *p = lang_parse_node(P, N_PARAM, at);
        if (!p) return -1;
        p->s = lang_arena_strdup(P->mem, cur(P)->text);
        p->op = kind;
        P->pos++;
        if (!p->s || lang_parse_push(P, &fn->items, &fn->n_items, p)) { lang_parse_err(P, "out of memory"); return -1; }
        if (is_def && accept_op(P, ":")) {
            if (!lang_parse_test(P)) return -1;   /* annotations are parsed and ignored */
        }
        if (accept_op(P, "=")) {
            if (kind == PARAM_STAR || kind == PARAM_STARSTAR) { lang_parse_err(P, "invalid syntax (var-positional and var-keyword parameters have no default)"); return -1; }
            p->b = lang_parse_test(P);
            if (!p->b) return -1;
            if (kind == PARAM_POS) seen_default = true;
        } else if (kind == PARAM_POS && seen_default) {
            lang_parse_err_at(P, p->line, p->col, false, "parameter without a default follows parameter with a default");
            return -1;
        }
        if (kind == PARAM_STARSTAR) starstar = true;
        if (!accept_op(P, ",")) break;
    }
    if (bare_star) {
        bool kwonly = false;
        for (int i = 0; i < fn->n_items; i++) if (fn->items[i]->op == PARAM_KWONLY) kwonly = true;
        if (!kwonly) { lang_parse_err(P, "named arguments must follow bare *"); return -1; }
    }
    return 0;
}

static node *lambda(parser *P)
{
    token *t = cur(P);
    P->pos++;
    node *l = lang_parse_node(P, N_LAMBDA, t);
    if (!l) return NULL;
    if (lang_parse_params(P, l, false) || !lang_parse_expect_op(P, ":")) return NULL;
    if (!lang_parse_enter(P)) return NULL;
    P->fn_depth++;
    l->a = lang_parse_test(P);
    P->fn_depth--;
    LEAVE(P);
    if (!l->a) return NULL;
    return l;
}

node *lang_parse_test(parser *P)
{
    if (is_kw(P, "lambda")) return lambda(P);
    node *a = or_test(P);
    if (!a || !is_kw(P, "if")) return a;
    token *t = cur(P);
    P->pos++;
    node *n = lang_parse_node(P, N_IFEXP, t);
    if (!n) return NULL;
    set_start(n, a);
    n->b = a;
    if (!lang_parse_enter(P)) return NULL;
    n->a = or_test(P);
    if (n->a && !is_kw(P, "else")) { LEAVE(P); return lang_parse_err(P, "expected 'else' after 'if' expression"); }
    if (n->a) { P->pos++; n->c = lang_parse_test(P); }
    LEAVE(P);
    if (!n->a || !n->c) return NULL;
    return n;
}

node *lang_parse_testlist(parser *P, bool allow_star)
{
    token *t = cur(P);
    node *first;
    if (allow_star && is_op(P, "*")) {
        P->pos++;
        first = lang_parse_node(P, N_STARRED, t);
        if (first) { first->a = lang_parse_expr(P); if (!first->a) { first = NULL; } }
    } else first = lang_parse_test(P);
    if (!first || !is_op(P, ",")) return first;
    node *tup = lang_parse_node(P, N_TUPLE, t);
    if (!tup) return NULL;
    lang_parse_push(P, &tup->items, &tup->n_items, first);
    while (accept_op(P, ",")) {
        token *k = cur(P);
        if (k->kind == TK_NEWLINE || k->kind == TK_END || is_op(P, "=") || is_op(P, ")") ||
            (k->kind == TK_OP && strlen(k->text) >= 2 && k->text[strlen(k->text) - 1] == '=' && strcmp(k->text, "==") && strcmp(k->text, "<=") && strcmp(k->text, ">=") && strcmp(k->text, "!=")) ||
            is_op(P, ":") || is_op(P, ";"))
            break;
        node *x;
        if (allow_star && is_op(P, "*")) {
            P->pos++;
            x = lang_parse_node(P, N_STARRED, k);
            if (x) { x->a = lang_parse_expr(P); if (!x->a) { x = NULL; } }
        } else x = lang_parse_test(P);
        if (!x || lang_parse_push(P, &tup->items, &tup->n_items, x)) return NULL;
    }
    return tup;
}

