/* tests/lang/test_parser.c — the parser accepts the language's syntax and puts
 * every syntax error at the right line and column; is_complete answers. */
#include <string.h>

#include "../harness.h"
#include "lang_test_util.h"
#include "parser.h"

static void test_parser_accepts_the_language(void)
{
    static const char *const ok[] = {
        "x = 1\n", "a, b = 1, 2\n", "a = b = 3\n", "x += 1\n", "x[0] = 1\n", "x[1:2, ::-1, None, ...]\n",
        "f(1, 2, k=3, *xs, **kw)\n", "[i for i in range(3) for j in range(i) if j]\n", "{k: v for k, v in d.items()}\n",
        "lambda x, y=2: x + y\n", "x if c else y\n", "not a and b or c\n", "1 < x <= 3 != y\n", "a not in b\n",
        "a is not None\n", "-x ** 2\n", "a @ b\n", "f'{x:.2f} {y!r} {{}}'\n", "'''multi\nline'''\n", "(1,)\n",
        "if x:\n    pass\nelif y:\n    pass\nelse:\n    pass\n", "for i in range(3):\n    if i: break\n    continue\n",
        "while False:\n    pass\n", "x = (1 +\n     2)\n", "x = 1 + \\\n    2\n", "del x[0], y\n", "import torch\n",
        "print(1); print(2)\n", "# only a comment\n", "", "x = [\n  1,\n  2,\n]\n", "assert x, 'msg'\n",
        "1_000 + 0x1f + 1e-3 + .5\n", "r'\\d+' + b\n", "f(x for x in y)\n", "x[:, -1, :]\n",
        "cache['resid_post', -1]\n", "a, *rest = xs\n", NULL};
    for (int i = 0; ok[i]; i++) {
        program p;
        parse_error e;
        int rc = lang_parse_program(ok[i], &p, &e);
        CHECK(rc == 0, "%s -> %s at %d:%d", ok[i], e.msg, e.line, e.col);
        if (!rc) lang_program_free(&p);
    }
}

static void test_parser_puts_syntax_errors_at_their_position(void)
{
    static const struct { const char *code; int line, col; const char *ename; } cases[] = {
        {"x = = 1\n", 1, 4, "SyntaxError"},
        {"x = 1\ny = (1 +\n", 2, 4, "SyntaxError"},
        {"x = 1\n  y = 2\n", 2, 2, "IndentationError"},
        {"if x:\nprint(1)\n", 2, 0, "IndentationError"},
        {"for i in range(3):\n    x = 1\n  y = 2\n", 3, 2, "IndentationError"},
        {"x = 'abc\n", 1, 4, "SyntaxError"},
        {"x = 1 +\n", 1, 7, "SyntaxError"},
        {"f(a=1, 2)\n", 1, 7, "SyntaxError"},
        {"1 = x\n", 1, 0, "SyntaxError"},
        {"f() = 3\n", 1, 0, "SyntaxError"},
        {"x = )\n", 1, 4, "SyntaxError"},
        {"x = [1, 2)\n", 1, 9, "SyntaxError"},
        {"class C:\n    pass\n", 1, 0, "SyntaxError"},
        {"x = 1 $ 2\n", 1, 6, "SyntaxError"},
        {"y = f'{}'\n", 1, 7, "SyntaxError"},
        {"y = f'{x!z}'\n", 1, 8, "SyntaxError"},
        {"a = 1\nb = f'{1 +}'\n", 2, 10, "SyntaxError"},
        {"x = {1, 2}\n", 1, 6, "SyntaxError"},
        {"else:\n    pass\n", 1, 0, "SyntaxError"},
        {"x = 5j\n", 1, 4, "SyntaxError"},
        {"x = 1 if y\n", 1, 10, "SyntaxError"},
        {NULL, 0, 0, NULL}};
    for (int i = 0; cases[i].code; i++) {
        program p;
        parse_error e;
        int rc = lang_parse_program(cases[i].code, &p, &e);
        CHECK(rc == -1, "accepted: %s", cases[i].code);
        if (rc == 0) { lang_program_free(&p); continue; }
        CHECK(e.line == cases[i].line && e.col == cases[i].col, "%s: at %d:%d (%s), expected %d:%d",
              cases[i].code, e.line, e.col, e.msg, cases[i].line, cases[i].col);
        CHECK(!strcmp(e.ename, cases[i].ename), "%s: %s, expected %s", cases[i].code, e.ename, cases[i].ename);
    }
}

static void test_parser_limits_nesting(void)
{
    /* 10^5 levels of each kind of nesting: a SyntaxError, never a deep C recursion */
    static const struct { const char *open, *middle, *close, *msg; } kinds[] = {
        {"(", "1", ")", "too deeply nested: more than "},
        {"[", "", "]", "too deeply nested: more than "},
        {"-", "x", "", "too deeply nested: more than 120 nested parentheses, blocks or operators"},
        {"not ", "x", "", "too deeply nested: more than 120 nested parentheses, blocks or operators"},
        {"lambda: ", "1", "", "too deeply nested: more than 120 nested parentheses, blocks or operators"},
        {"x if y else ", "1", "", "too deeply nested: more than 120 nested parentheses, blocks or operators"},
        {"2 ** ", "2", "", "too deeply nested: more than 120 nested parentheses, blocks or operators"},
        {"x + ", "1", "", "expression too long or too deeply nested (limit 400)"},
        {"f", "", "()", "expression too long or too deeply nested (limit 400)"},
        {NULL, NULL, NULL, NULL}};
    for (int k = 0; kinds[k].open; k++) {
        size_t lo = strlen(kinds[k].open), lc = strlen(kinds[k].close), lm = strlen(kinds[k].middle);
        char *src = malloc(100000 * (lo + lc) + lm + 1);
        size_t n = 0;
        for (int i = 0; i < 100000; i++) { memcpy(src + n, kinds[k].open, lo); n += lo; }
        memcpy(src + n, kinds[k].middle, lm);
        n += lm;
        for (int i = 0; i < 100000; i++) { memcpy(src + n, kinds[k].close, lc); n += lc; }
        src[n] = 0;
        program p;
        parse_error e;
        int rc = lang_parse_program(src, &p, &e);
        CHECK(rc == -1, "%s...: accepted", kinds[k].open);
        if (rc == 0) lang_program_free(&p);
        else {
            CHECK(!strcmp(e.ename, "SyntaxError"), "%s...: %s", kinds[k].open, e.ename);
            CHECK(!strncmp(e.msg, kinds[k].msg, strlen(kinds[k].msg)), "%s...: %s", kinds[k].open, e.msg);
        }
        free(src);
    }
    /* chains inside parentheses inside chains: each within its limit, the tree
     * 55 x 390 levels tall, which no walk over it may recurse through */
    size_t cap = 55 * (8 + 4 * 390) + 16, n = 0;
    char *src = malloc(cap);
    for (int level = 0; level < 55; level++) { memcpy(src + n, "(1 + (", 6); n += 6; }
    src[n++] = '1';
    for (int level = 0; level < 55; level++) {
        memcpy(src + n, "))", 2);
        n += 2;
        for (int i = 0; i < 390; i++) { memcpy(src + n, " + 1", 4); n += 4; }
    }
    src[n] = 0;
    program p;
    parse_error e;
    int rc = lang_parse_program(src, &p, &e);
    CHECK(rc == -1 && !strcmp(e.msg, "too deeply nested: the code is more than 1000 levels deep"), "%s", rc ? e.msg : "accepted");
    if (rc == 0) lang_program_free(&p);
    free(src);
}

static void test_is_complete(void)
{
    static const struct { const char *code, *status, *indent; } cases[] = {
        {"x = 1", "complete", ""},
        {"", "complete", ""},
        {"for i in range(3):", "incomplete", "    "},
        {"for i in range(3):\n    print(i)", "incomplete", "    "},
        {"for i in range(3):\n    print(i)\n\n", "complete", ""},
        /* IPython's answers: one ended line closes the block (jupyter console sends the
         * text with the auto-indent of the next line when Enter is pressed on it) */
        {"for i in range(3):\n    print(i)\n", "complete", ""},
        {"for i in range(3):\n    print(i)\n    ", "complete", ""},
        {"def f(x):\n    return x", "incomplete", "    "},
        {"def f(x):\n    if x:\n        return 1\n    ", "complete", ""},
        {"try:\n    x = 1\nexcept KeyError:", "incomplete", "    "},
        {"if x:\n    a\nelse:", "incomplete", "    "},
        {"with nullcontext():\n    pass\n", "complete", ""},
        {"@decorator", "incomplete", ""},
        {"@decorator\ndef f():", "incomplete", "    "},
        {"if x:\n    if y:", "incomplete", "        "},
        {"x = (1,\n", "incomplete", ""},
        {"s = '''abc", "incomplete", ""},
        {"x = 1 +\\", "incomplete", ""},
        {"x = = 2", "invalid", ""},
        {"x = )", "invalid", ""},
        {NULL, NULL, NULL}};
    for (int i = 0; cases[i].code; i++) {
        char indent[32] = "?";
        const char *st = lang_is_complete(cases[i].code, indent, sizeof indent);
        CHECK(!strcmp(st, cases[i].status), "%s: %s, expected %s", cases[i].code, st, cases[i].status);
        if (!strcmp(st, "incomplete")) CHECK(!strcmp(indent, cases[i].indent), "%s: indent '%s', expected '%s'", cases[i].code, indent, cases[i].indent);
    }
}

int main(void)
{
    RUN(test_parser_accepts_the_language);
    RUN(test_parser_puts_syntax_errors_at_their_position);
    RUN(test_parser_limits_nesting);
    RUN(test_is_complete);
    return harness_summary();
}
