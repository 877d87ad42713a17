/* kernel/lang/parser_stmt.c — the statement half of the parser and its
 * entry points.
 * Owns: simple and compound statements (def, try, with, import, ...),
 * blocks and indentation, decorators, the tree-height check, parse_program
 * and parse_expression.
 * Does not own: expressions (parser.c), scopes (scope.c). */
#include "parser_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scope.h"

static int stmt(parser *P, node ***out, int *n);

/* ---- statements ----------------------------------------------------------- */

bool lang_parse_valid_target(parser *P, node *t, const char *what)
{
    switch (t->kind) {
    case N_NAME: case N_SUBSCRIPT: case N_ATTR: return true;
    case N_TUPLE: case N_LIST:
        if (!strcmp(what, "augmented assignment")) break;
        for (int i = 0; i < t->n_items; i++) if (!lang_parse_valid_target(P, t->items[i], what)) return false;
        return true;
    case N_STARRED:
        if (!strcmp(what, "assignment")) return lang_parse_valid_target(P, t->a, what);
        break;
    default: break;
    }
    const char *desc = t->kind == N_CALL ? "function call" : t->kind == N_CONST || t->kind == N_INT ||
                       t->kind == N_FLOAT || t->kind == N_STR ? "literal" : "expression";
    lang_parse_err_at(P, t->line, t->col, false, "cannot assign to %s here%s", desc,
            t->kind == N_COMPARE ? ". Maybe you meant '==' instead of '='?" : "");
    return false;
}

static int end_simple(parser *P)
{
    if (accept_op(P, ";")) return 0;
    if (cur(P)->kind == TK_NEWLINE) { P->pos++; return 0; }
    if (cur(P)->kind == TK_END || cur(P)->kind == TK_DEDENT) return 0;
    lang_parse_invalid(P);
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
    if (cur(P)->kind != TK_NAME || lang_is_keyword(cur(P)->text)) return lang_parse_err(P, "invalid syntax (expected a module name)");
    size_t cap = 64, n = 0;
    char *s = malloc(cap);
    if (!s) return lang_parse_err(P, "out of memory");
    for (;;) {
        size_t l = cur(P)->len;
        if (n + l + 2 > cap) {
            cap = (n + l + 2) * 2;
            char *x = realloc(s, cap);
            if (!x) { free(s); return lang_parse_err(P, "out of memory"); }
            s = x;
        }
        memcpy(s + n, cur(P)->text, l);
        n += l;
        s[n] = 0;
        P->pos++;
        if (!is_op(P, ".")) {
            char *r = lang_arena_strndup(P->mem, s, n);
            free(s);
            return r ? r : lang_parse_err(P, "out of memory");
        }
        P->pos++;
        if (cur(P)->kind != TK_NAME || lang_is_keyword(cur(P)->text)) { free(s); return lang_parse_err(P, "invalid syntax (expected a name after '.')"); }
        s[n++] = '.';
    }
}

/* `NAME [as NAME]` or `dotted [as NAME]` into an N_ALIAS appended to n's items. */
static int alias(parser *P, node *n, bool dotted)
{
    node *a = lang_parse_node(P, N_ALIAS, cur(P));
    if (!a) return -1;
    if (dotted) a->s = dotted_name(P);
    else if (cur(P)->kind == TK_NAME && !lang_is_keyword(cur(P)->text)) { a->s = lang_arena_strdup(P->mem, cur(P)->text); P->pos++; }
    else lang_parse_err(P, "invalid syntax (expected a name to import)");
    if (!a->s) return -1;
    if (accept_kw(P, "as")) {
        if (cur(P)->kind != TK_NAME || lang_is_keyword(cur(P)->text)) { lang_parse_err(P, "invalid syntax (expected a name after 'as')"); return -1; }
        a->b = lang_parse_node(P, N_NAME, cur(P));
        if (!a->b || !(a->b->s = lang_arena_strdup(P->mem, cur(P)->text))) { lang_parse_err(P, "out of memory"); return -1; }
        P->pos++;
    }
    if (lang_parse_push(P, &n->items, &n->n_items, a)) return -1;
    return 0;
}

static node *import_stmt(parser *P)
{
    node *n = lang_parse_node(P, N_IMPORT, cur(P));
    if (!n) return NULL;
    P->pos++;
    do {
        if (alias(P, n, true)) return NULL;
    } while (accept_op(P, ","));
    return n;
}

static node *from_import(parser *P)
{
    node *n = lang_parse_node(P, N_FROMIMPORT, cur(P));
    if (!n) return NULL;
    P->pos++;
    if (is_op(P, ".") || is_op(P, "...")) return lang_parse_err(P, "relative imports are not supported in lens (cells are not in a package)");
    if (!(n->s = dotted_name(P))) return NULL;
    if (!accept_kw(P, "import")) return lang_parse_err(P, "invalid syntax (expected 'import')");
    if (accept_op(P, "*")) {
        if (P->fn_depth) return lang_parse_err(P, "import * only allowed at module level");
        n->op = 1;
        return n;
    }
    bool paren = accept_op(P, "(");
    do {
        if (paren && is_op(P, ")")) break;
        if (alias(P, n, false)) return NULL;
    } while (accept_op(P, ","));
    if (paren && !lang_parse_expect_op(P, ")")) return NULL;
    return n;
}

static node *simple_stmt(parser *P)
{
    token *t = cur(P);
    if (t->kind == TK_NAME) {
        const char *s = t->text;
        if (!strcmp(s, "pass") || !strcmp(s, "break") || !strcmp(s, "continue")) {
            P->pos++;
            return lang_parse_node(P, s[0] == 'p' ? N_PASS : s[0] == 'b' ? N_BREAK : N_CONTINUE, t);
        }
        if (!strcmp(s, "import")) return import_stmt(P);
        if (!strcmp(s, "from")) return from_import(P);
        if (!strcmp(s, "return")) {
            if (!P->fn_depth) return lang_parse_err(P, "'return' outside function");
            P->pos++;
            node *n = lang_parse_node(P, N_RETURN, t);
            if (!n) return NULL;
            if (!at_statement_end(P) && !(n->a = lang_parse_testlist(P, true))) return NULL;
            return n;
        }
        if (!strcmp(s, "raise")) {
            P->pos++;
            node *n = lang_parse_node(P, N_RAISE, t);
            if (!n) return NULL;
            if (!at_statement_end(P)) {
                if (!(n->a = lang_parse_test(P))) return NULL;
                if (accept_kw(P, "from") && !(n->b = lang_parse_test(P))) return NULL;
            }
            return n;
        }
        if (!strcmp(s, "global") || !strcmp(s, "nonlocal")) {
            if (s[0] == 'n' && !P->fn_depth) return lang_parse_err(P, "nonlocal declaration not allowed at module level");
            P->pos++;
            node *n = lang_parse_node(P, s[0] == 'g' ? N_GLOBAL : N_NONLOCAL, t);
            if (!n) return NULL;
            do {
                if (cur(P)->kind != TK_NAME || lang_is_keyword(cur(P)->text)) return lang_parse_err(P, "invalid syntax (expected a name)");
                node *x = lang_parse_node(P, N_NAME, cur(P));
                if (!x || !(x->s = lang_arena_strdup(P->mem, cur(P)->text)) || lang_parse_push(P, &n->items, &n->n_items, x)) {
                    return lang_parse_err(P, "out of memory");
                }
                P->pos++;
            } while (accept_op(P, ","));
            return n;
        }
        if (!strcmp(s, "del")) {
            P->pos++;
            node *n = lang_parse_node(P, N_DEL, t);
            if (!n) return NULL;
            node *x = lang_parse_testlist(P, false);
            if (!x) return NULL;
            if (x->kind == N_TUPLE) { n->items = x->items; n->n_items = x->n_items; x->items = NULL; x->n_items = 0; }
            else lang_parse_push(P, &n->items, &n->n_items, x);
            for (int i = 0; i < n->n_items; i++)
                if (n->items[i]->kind != N_NAME && n->items[i]->kind != N_SUBSCRIPT) {
                    lang_parse_err_at(P, n->items[i]->line, n->items[i]->col, false, "cannot delete this expression");
                    return NULL;
                }
            return n;
        }
        if (!strcmp(s, "assert")) {
            P->pos++;
            node *n = lang_parse_node(P, N_ASSERT, t);
            if (!n) return NULL;
            n->a = lang_parse_test(P);
            if (n->a && accept_op(P, ",")) n->b = lang_parse_test(P);
            if (!n->a || P->failed) return NULL;
            return n;
        }
        if (!strcmp(s, "class"))
            return lang_parse_err(P, "'class' is not supported in lens (functions, closures and the provided types are)");
        if (!strcmp(s, "async"))
            return lang_parse_err(P, "'async' is not supported in lens (generators and coroutines are not part of the language)");
        if (!strcmp(s, "def") || !strcmp(s, "try") || !strcmp(s, "with"))
            return lang_parse_err(P, "invalid syntax ('%s' starts a block on its own line)", s);
        if (!strcmp(s, "else") || !strcmp(s, "elif"))
            return lang_parse_err(P, "invalid syntax ('%s' without a matching 'if')", s);
    }
    node *x = lang_parse_testlist(P, true);
    if (!x) return NULL;
    if (is_op(P, ":")) {
        /* an annotated assignment `x: T = v` or declaration `x: T`: the annotation is ignored */
        token *colon = cur(P);
        if (x->kind != N_NAME && x->kind != N_ATTR && x->kind != N_SUBSCRIPT) {
            return lang_parse_err_at(P, colon->line, colon->col, false, "only single target (not tuple) can be annotated");
        }
        P->pos++;
        if (!lang_parse_test(P)) return NULL;   /* the annotation is parsed and ignored */
        if (!accept_op(P, "=")) return lang_parse_node(P, N_PASS, t);
        node *asg = lang_parse_node(P, N_ASSIGN, t);
        if (!asg || lang_parse_push(P, &asg->items, &asg->n_items, x)) return NULL;
        asg->aline = colon->line;
        asg->acol = colon->col;
        if (!(asg->a = lang_parse_testlist(P, true))) return NULL;
        return asg;
    }
    if (is_op(P, "=")) {
        node *asg = lang_parse_node(P, N_ASSIGN, t);
        if (!asg) return NULL;
        asg->aline = cur(P)->line;
        asg->acol = cur(P)->col;
        while (accept_op(P, "=")) {
            if (!lang_parse_valid_target(P, x, "assignment") || lang_parse_push(P, &asg->items, &asg->n_items, x)) {
                return NULL;
            }
            x = lang_parse_testlist(P, true);
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
        if (k < 0) return lang_parse_invalid(P);
        if (x->kind == N_TUPLE || x->kind == N_LIST) {
            return lang_parse_err_at(P, t->line, t->col, false, "'tuple' is an illegal expression for augmented assignment");
        }
        if (!lang_parse_valid_target(P, x, "augmented assignment")) return NULL;
        P->pos++;
        node *n = lang_parse_node(P, N_AUGASSIGN, o);
        if (!n) return NULL;
        set_start(n, x);
        n->op = codes[k];
        n->a = x;
        n->b = lang_parse_testlist(P, false);
        if (!n->b) return NULL;
        return n;
    }
    if (x->kind == N_STARRED) {
        lang_parse_err_at(P, x->line, x->col, false, "can't use starred expression here");
        return NULL;
    }
    node *e = lang_parse_node(P, N_EXPR, t);
    if (!e) return NULL;
    e->a = x;
    return e;
}

static node *compound(parser *P)
{
    token *t = cur(P);
    const char *s = t->text;
    if (!strcmp(s, "if") || !strcmp(s, "elif") || !strcmp(s, "while")) {
        P->pos++;
        node *n = lang_parse_node(P, s[0] == 'w' ? N_WHILE : N_IF, t);
        if (!n) return NULL;
        n->a = lang_parse_test(P);
        if (!n->a || lang_parse_block(P, &n->body, &n->n_body)) return NULL;
        if (n->kind == N_IF && is_kw(P, "elif")) {
            node *e = compound(P);
            if (!e || lang_parse_push(P, &n->orelse, &n->n_orelse, e)) return NULL;
        } else if (is_kw(P, "else")) {
            P->pos++;
            if (lang_parse_block(P, &n->orelse, &n->n_orelse)) return NULL;
        }
        return n;
    }
    /* for */
    P->pos++;
    node *n = lang_parse_node(P, N_FOR, t);
    if (!n) return NULL;
    token *tt = cur(P);
    node *tgt = lang_parse_expr(P);
    if (tgt && is_op(P, ",")) {
        node *tup = lang_parse_node(P, N_TUPLE, tt);
        if (!tup) return NULL;
        lang_parse_push(P, &tup->items, &tup->n_items, tgt);
        while (accept_op(P, ",") && !is_kw(P, "in")) {
            node *x = lang_parse_expr(P);
            if (!x || lang_parse_push(P, &tup->items, &tup->n_items, x)) break;
        }
        tgt = tup;
        if (P->failed) { tgt = NULL; }
    }
    n->a = tgt;
    if (!tgt || !lang_parse_valid_target(P, tgt, "assignment")) return NULL;
    if (!accept_kw(P, "in")) return lang_parse_err(P, "invalid syntax (expected 'in')");
    n->b = lang_parse_testlist(P, false);
    if (!n->b || lang_parse_block(P, &n->body, &n->n_body)) return NULL;
    if (is_kw(P, "else")) {
        P->pos++;
        if (lang_parse_block(P, &n->orelse, &n->n_orelse)) return NULL;
    }
    return n;
}

static node *def_stmt(parser *P)
{
    token *t = cur(P);
    P->pos++;
    if (cur(P)->kind != TK_NAME || lang_is_keyword(cur(P)->text)) return lang_parse_err(P, "invalid syntax (expected the function's name)");
    node *n = lang_parse_node(P, N_DEF, t);
    if (!n) return NULL;
    if (!(n->s = lang_arena_strdup(P->mem, cur(P)->text))) return lang_parse_err(P, "out of memory");
    P->pos++;
    if (!lang_parse_expect_op(P, "(") || lang_parse_params(P, n, true) || !lang_parse_expect_op(P, ")")) return NULL;
    if (accept_op(P, "->")) {
        if (!lang_parse_test(P)) return NULL;   /* the return annotation is parsed and ignored */
    }
    P->fn_depth++;
    int rc = lang_parse_block(P, &n->body, &n->n_body);
    P->fn_depth--;
    if (rc) return NULL;
    return n;
}

static node *try_stmt(parser *P)
{
    token *t = cur(P);
    P->pos++;
    node *n = lang_parse_node(P, N_TRY, t);
    if (!n) return NULL;
    if (lang_parse_block(P, &n->body, &n->n_body)) return NULL;
    bool bare_seen = false;
    while (is_kw(P, "except")) {
        node *h = lang_parse_node(P, N_EXCEPT, cur(P));
        if (!h || lang_parse_push(P, &n->items, &n->n_items, h)) return NULL;
        if (bare_seen) return lang_parse_err(P, "default 'except:' must be last");
        P->pos++;
        if (is_op(P, "*")) return lang_parse_err(P, "'except*' is not supported in lens");
        if (!is_op(P, ":")) {
            if (!(h->a = lang_parse_test(P))) return NULL;
            if (is_op(P, ",")) {
                return lang_parse_err(P, "multiple exception types must be parenthesized");
            }
            if (accept_kw(P, "as")) {
                if (cur(P)->kind != TK_NAME || lang_is_keyword(cur(P)->text)) return lang_parse_err(P, "invalid syntax (expected a name after 'as')");
                if (!(h->s = lang_arena_strdup(P->mem, cur(P)->text))) return lang_parse_err(P, "out of memory");
                P->pos++;
            }
        } else bare_seen = true;
        if (lang_parse_block(P, &h->body, &h->n_body)) return NULL;
    }
    if (is_kw(P, "else")) {
        if (!n->n_items) return lang_parse_err(P, "invalid syntax ('else' after 'try' needs an 'except')");
        P->pos++;
        if (lang_parse_block(P, &n->orelse, &n->n_orelse)) return NULL;
    }
    if (is_kw(P, "finally")) {
        n->a = lang_parse_node(P, N_FINALLY, cur(P));
        P->pos++;
        if (!n->a || lang_parse_block(P, &n->a->body, &n->a->n_body)) return NULL;
    }
    if (!n->n_items && !n->a) {
        return lang_parse_err_at(P, cur(P)->line, cur(P)->col, cur(P)->kind == TK_END, "expected 'except' or 'finally' block");
    }
    return n;
}

static node *with_stmt(parser *P)
{
    token *t = cur(P);
    P->pos++;
    node *n = lang_parse_node(P, N_WITH, t);
    if (!n) return NULL;
    do {
        node *it = lang_parse_node(P, N_WITHITEM, cur(P));
        if (!it || lang_parse_push(P, &n->items, &n->n_items, it)) return NULL;
        if (!(it->a = lang_parse_test(P))) return NULL;
        if (accept_kw(P, "as")) {
            if (!(it->b = lang_parse_expr(P))) return NULL;
            if (!lang_parse_valid_target(P, it->b, "assignment")) return NULL;
        }
    } while (accept_op(P, ","));
    if (lang_parse_block(P, &n->body, &n->n_body)) return NULL;
    return n;
}

int lang_parse_block(parser *P, node ***body, int *n)
{
    if (!accept_op(P, ":")) { lang_parse_err(P, "expected ':'"); return -1; }
    if (cur(P)->kind != TK_NEWLINE) {
        /* one-line body: simple statements */
        for (;;) {
            node *s = simple_stmt(P);
            if (!s || lang_parse_push(P, body, n, s)) return -1;
            if (cur(P)->kind == TK_NEWLINE) { P->pos++; return 0; }
            if (cur(P)->kind == TK_END || cur(P)->kind == TK_DEDENT) return 0;
            if (!accept_op(P, ";")) { lang_parse_invalid(P); return -1; }
            if (cur(P)->kind == TK_NEWLINE) { P->pos++; return 0; }
            if (cur(P)->kind == TK_END) return 0;
        }
    }
    P->pos++;
    if (cur(P)->kind != TK_INDENT) {
        strcpy(P->err->ename, "IndentationError");
        lang_parse_err_at(P, cur(P)->line, cur(P)->col, cur(P)->kind == TK_END, "expected an indented block");
        return -1;
    }
    P->pos++;
    if (!lang_parse_enter(P)) return -1;
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
    if (t->kind == TK_INDENT) { lang_parse_invalid(P); return -1; }
    if (t->kind == TK_NAME && (!strcmp(t->text, "if") || !strcmp(t->text, "for") || !strcmp(t->text, "while") ||
                               !strcmp(t->text, "def") || !strcmp(t->text, "try") || !strcmp(t->text, "with"))) {
        node *c = t->text[0] == 'd' ? def_stmt(P) : t->text[0] == 't' ? try_stmt(P) :
                  !strcmp(t->text, "with") ? with_stmt(P) : compound(P);
        if (!c || lang_parse_push(P, out, n, c)) return -1;
        return 0;
    }
    if (t->kind == TK_OP && !strcmp(t->text, "@")) {
        /* decorators: `@d` lines, then the def they apply to (bottom one first) */
        node **decorators = NULL;
        int n_dec = 0;
        while (accept_op(P, "@")) {
            node *d = lang_parse_test(P);
            if (!d || lang_parse_push(P, &decorators, &n_dec, d)) return -1;
            if (cur(P)->kind != TK_NEWLINE) { lang_parse_invalid(P); return -1; }
            P->pos++;
        }
        if (!is_kw(P, "def")) {
            lang_parse_err_at(P, cur(P)->line, cur(P)->col, cur(P)->kind == TK_END,
                    "invalid syntax (a decorator must be followed by a def; lens has no classes)");
            return -1;
        }
        node *c = def_stmt(P);
        if (!c) return -1;
        c->orelse = decorators;
        c->n_orelse = n_dec;
        return lang_parse_push(P, out, n, c);
    }
    if (t->kind == TK_NAME && (!strcmp(t->text, "except") || !strcmp(t->text, "finally"))) {
        lang_parse_err(P, "invalid syntax ('%s' without a matching 'try')", t->text);
        return -1;
    }
    for (;;) {
        node *s = simple_stmt(P);
        if (!s || lang_parse_push(P, out, n, s)) return -1;
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
    if (!lang_lex(src, 1, 0, tl, &le)) return 0;
    strcpy(err->ename, strstr(le.msg, "indent") ? "IndentationError" : "SyntaxError");
    snprintf(err->msg, sizeof err->msg, "%s", le.msg);
    err->line = le.line;
    err->col = le.col;
    err->incomplete = le.incomplete;
    lang_lex_free(tl);
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

int lang_parse_program(const char *src, program *prog, parse_error *err)
{
    if (program_start(prog, err)) return -1;
    token_list tl;
    if (lex_source(src, &tl, err)) { lang_program_free(prog); return -1; }
    parser P = {.t = tl.toks, .n = tl.n, .err = err, .mem = prog->mem};
    while (cur(&P)->kind != TK_END) {
        if (cur(&P)->kind == TK_NEWLINE) { P.pos++; continue; }
        if (stmt(&P, &prog->stmts, &prog->n)) break;
    }
    lang_lex_free(&tl);
    if (!P.failed && (check_height(prog->stmts, prog->n, err) || lang_scope_resolve(prog->stmts, prog->n, err, prog->mem)))
        P.failed = true;
    if (P.failed) {
        lang_program_free(prog);
        return -1;
    }
    return 0;
}

void lang_program_free(program *prog)
{
    if (prog->mem) lang_arena_free(prog->mem);
    free(prog->mem);
    memset(prog, 0, sizeof *prog);
}

int lang_parse_expression(const char *src, program *prog, parse_error *err)
{
    if (program_start(prog, err)) return -1;
    token_list tl;
    if (lex_source(src, &tl, err)) { strcpy(err->ename, "SyntaxError"); lang_program_free(prog); return -1; }
    parser P = {.t = tl.toks, .n = tl.n, .err = err, .mem = prog->mem};
    while (cur(&P)->kind == TK_NEWLINE || cur(&P)->kind == TK_INDENT) P.pos++;
    node *e = lang_parse_testlist(&P, false);
    if (e) {
        while (cur(&P)->kind == TK_NEWLINE || cur(&P)->kind == TK_DEDENT) P.pos++;
        if (cur(&P)->kind != TK_END) { lang_parse_invalid(&P); e = NULL; }
    }
    lang_lex_free(&tl);
    if (e && (check_height(&e, 1, err) || lang_scope_resolve(&e, 1, err, prog->mem))) e = NULL;
    if (!e || lang_parse_push(&P, &prog->stmts, &prog->n, e)) {
        lang_program_free(prog);
        return -1;
    }
    return 0;
}
