/* tests/lang/test_functions.c — user functions: def and lambda values that
 * outlive the cell that defined them, Python's argument binding and scoping,
 * closures, recursion limits, docstrings and signatures, and tracebacks that
 * name the line inside the function and the call site. */
#include <string.h>

#include "../harness.h"
#include "eval.h"
#include "function.h"
#include "lang_internal.h"
#include "cell_cases.h"
#include "lang_test_util.h"

/* Runs each cell of cases in one session, checking its result text. */
static void test_functions_outlive_their_cell(void)
{
    static const cell_case cases[] = {
        {"sq = lambda x: x * x\ndef add(a, b=10):\n    return a + b", ""},
        {"t = 0\nfor i in range(3000):\n    t = add(t, sq(i) % 7)\nt", "5999"},
        {"fs = [sq, add, lambda: 'made in a list']\nd = {'f': add, 'g': lambda s: s.upper()}", ""},
        {"fs[0](12), fs[1](1), fs[2](), d['f'](1, b=2), d['g']('x')", "(144, 11, 'made in a list', 3, 'X')"},
        {"def add(a, b=10):\n    return a - b", ""},
        {"add(1), fs[1](1)", "(-9, 11)"},
        {"del sq\nfs[0](3)", "9"},
        {"del fs\nd['g']('later')", "'LATER'"},
        {"def make(k):\n    return lambda x: x + k\nplus = [make(k) for k in range(5)]", ""},
        {"[p(100) for p in plus]", "[100, 101, 102, 103, 104]"},
        {"del make\nplus[4](1)", "5"},
        {NULL, NULL}};
    run_cases(cases);
    /* thousands of calls, each from its own cell, of functions from earlier cells */
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    cell(s, "inc = lambda n: n + 1\ndef twice(f, x):\n    return f(f(x))\nn = 0", &c, &err);
    for (int i = 0; i < 2000; i++) cell(s, i % 2 ? "n = inc(n)" : "n = twice(inc, n) - 1", &c, &err);
    CHECK(!strcmp(cell(s, "n", &c, &err), "2000"), "%s", cell(s, "n", &c, &err));
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_def_binds_arguments_like_python(void)
{
    static const cell_case cases[] = {
        {"def f(a, b=2, *args, k=3, **kw):\n    return (a, b, args, k, kw)", ""},
        {"f(1)", "(1, 2, (), 3, {})"},
        {"f(1, 5, 6, 7, k=0, z=9)", "(1, 5, (6, 7), 0, {'z': 9})"},
        {"f(b=1, a=0)", "(0, 1, (), 3, {})"},
        {"f(*[1, 2, 3], **{'k': 4, 'q': 5})", "(1, 2, (3,), 4, {'q': 5})"},
        {"f()", "ERROR TypeError: f() missing 1 required positional argument: 'a'"},
        {"f(1, a=2)", "ERROR TypeError: f() got multiple values for argument 'a'"},
        {"def g(x, y, *, key):\n    return x, y, key", ""},
        {"g(1, 2, key=3)", "(1, 2, 3)"},
        {"g(1, 2, 3)", "ERROR TypeError: g() takes 2 positional arguments but 3 were given"},
        {"g(1, 2)", "ERROR TypeError: g() missing 1 required keyword-only argument: 'key'"},
        {"g()", "ERROR TypeError: g() missing 2 required positional arguments: 'x' and 'y'"},
        {"g(1, 2, key=3, other=4)", "ERROR TypeError: g() got an unexpected keyword argument 'other'"},
        {"def h(x, y=1):\n    pass\nh(1, 2, 3)", "ERROR TypeError: h() takes from 1 to 2 positional arguments but 3 were given"},
        {"h(0) is None", "True"},
        /* defaults are evaluated once, at definition */
        {"def app(x, acc=[]):\n    acc.append(x)\n    return acc\napp(1)\napp(2)", "[1, 2]"},
        {"n = 5\ndef dflt(v=n):\n    return v\nn = 6\ndflt()", "5"},
        {"(lambda *a, **k: (a, k))(1, 2, z=3)", "((1, 2), {'z': 3})"},
        {"(lambda x, y=3: x * y)(2)", "6"},
        {"(lambda: 7)()", "7"},
        /* annotations are parsed and ignored */
        {"def ann(x: int, y: 'list[int]' = None, *r: str, **kw: float) -> float:\n    z: int = x * 2\n    w: float\n    return z", ""},
        {"ann(4)", "8"},
        {"v: dict = {'a': 1}\nv", "{'a': 1}"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_scopes_follow_python(void)
{
    static const cell_case cases[] = {
        {"g = 1\ndef read():\n    return g\ng = 2\nread()", "2"},
        {"def shadow():\n    g = 'local'\n    return g\nshadow(), g", "('local', 2)"},
        {"def setg():\n    global g\n    g = 'set'\nsetg()\ng", "'set'"},
        {"def counter():\n    n = 0\n    def inc():\n        nonlocal n\n        n += 1\n        return n\n    return inc\nc = counter()\nc()\nc()\nc()", "3"},
        {"c2 = counter()\nc2(), c()", "(1, 4)"},
        {"def outer():\n    x = 'outer'\n    def mid():\n        def inner():\n            return x\n        return inner()\n    return mid()\nouter()", "'outer'"},
        {"def late():\n    fs = [lambda: i for i in range(3)]\n    return [f() for f in fs]\nlate()", "[2, 2, 2]"},
        {"def ub():\n    print(u)\n    u = 1\nub()", "ERROR UnboundLocalError: cannot access local variable 'u' where it is not associated with a value"},
        {"def comp():\n    k = 10\n    return [k + j for j in range(3)]\ncomp()", "[10, 11, 12]"},
        {"j = 'kept'\ncomp()\nj", "'kept'"},
        {"def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\nfact(20)", "2432902008176640000"},
        {"def with_helper(n):\n    def rec(k):\n        return 0 if k == 0 else k + rec(k - 1)\n    return rec(n)\nwith_helper(100)", "5050"},
        {"def pair():\n    def even(k):\n        return True if k == 0 else odd(k - 1)\n    def odd(k):\n        return False if k == 0 else even(k - 1)\n    return even(10), odd(7)\npair()", "(True, True)"},
        {"def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\nfib(15)", "610"},
        {"def loop_ret(xs):\n    for x in xs:\n        while True:\n            if x > 2:\n                return x\n            break\n    else:\n        return None\nloop_ret([1, 5, 9])", "5"},
        {"def no_ret():\n    x = 1\nno_ret() is None", "True"},
        {"def bare():\n    return\nbare() is None", "True"},
        {"def tup():\n    return 1, 2\ntup()", "(1, 2)"},
        {"def deep(n):\n    return deep(n + 1)\ndeep(0)", "ERROR RecursionError: maximum recursion depth exceeded"},
        {"def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\ndepth(900)", "900"},
        {"def usesbuiltin(xs):\n    return len(xs) + max(xs)\nusesbuiltin([3, 4])", "6"},
        /* names remember where they were found: shadowing, deleting and re-adding globals stays right */
        {"def g():\n    return len('abc')\nlen = lambda s: 99\nr1 = g()\ndel len\nr2 = g()\nr1, r2", "(99, 3)"},
        {"out = []\nfor k in range(6):\n    if k % 2:\n        del zz\n        a0 = k\n    zz = k * 10\n    out.append(zz)\nout, zz", "([0, 10, 20, 30, 40, 50], 50)"},
        {"names = {}\nfor k in range(4):\n    g1 = k\n    del g1\n    g2 = k\nnames, g2", "({}, 3)"},
        /* decorators: expressions evaluated top to bottom, applied bottom-up */
        {"order = []\ndef tag(t):\n    order.append(t)\n    def wrap(f):\n        order.append('apply ' + t)\n        return lambda *a: t + ':' + str(f(*a))\n    return wrap", ""},
        {"@tag('outer')\n@tag('inner')\ndef sq(x):\n    return x * x\nsq(3), order", "('outer:inner:9', ['outer', 'inner', 'apply inner', 'apply outer'])"},
        {"def deco_in_fn():\n    prefix = 'p'\n    @tag(prefix)\n    def one():\n        return 1\n    return one()\ndeco_in_fn()", "'p:1'"},
        {"@undefined_decorator\ndef g():\n    pass", "ERROR NameError: name 'undefined_decorator' is not defined"},
        {"@tag('x')\nx = 1", "ERROR SyntaxError: invalid syntax (a decorator must be followed by a def; lens has no classes)"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_scope_errors_are_syntax_errors(void)
{
    static const cell_case cases[] = {
        {"def f():\n    nonlocal q\n    q = 1", "ERROR SyntaxError: no binding for nonlocal 'q' found"},
        {"nonlocal q", "ERROR SyntaxError: nonlocal declaration not allowed at module level"},
        {"def f(x):\n    global x", "ERROR SyntaxError: name 'x' is parameter and global"},
        {"def f():\n    x = 1\n    global x", "ERROR SyntaxError: name 'x' is assigned to before global declaration"},
        {"return 1", "ERROR SyntaxError: 'return' outside function"},
        {"def f(a=1, b):\n    pass", "ERROR SyntaxError: parameter without a default follows parameter with a default"},
        {"def f(a, a):\n    pass", "ERROR SyntaxError: duplicate argument 'a' in function definition"},
        {"def f(*):\n    pass", "ERROR SyntaxError: named arguments must follow bare *"},
        {"def f(*, **kw):\n    pass", "ERROR SyntaxError: named arguments must follow bare *"},
        {"f = lambda *, k: k\nf(k=4)", "4"},
        {"def gen():\n    yield 1", "ERROR SyntaxError: 'yield' is not supported in lens (generators and coroutines are not part of the language)"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_docstrings_and_signatures_for_help(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    cell(s, "def scale(x, factor=2.0, *rest, clip: bool = False, **opts) -> float:\n"
            "    \"\"\"Multiplies x by factor.\n\n    Clips to [0, 1] when clip is set.\n    \"\"\"\n"
            "    return x * factor", &c, &err);
    cell(s, "help(scale)", &c, &err);
    CHECK(!strcmp(c.page, "scale(x, factor=2.0, *rest, clip=False, **opts)\n\nMultiplies x by factor.\n\nClips to [0, 1] when clip is set."),
          "help page: %s", c.page);
    cell(s, "scale?", &c, &err);
    CHECK(strstr(c.page, "scale(x, factor=2.0") != NULL, "x? page: %s", c.page);
    cJSON *b = lang_inspect(s, "scale(", 6, 0);
    const cJSON *t = b ? cJSON_GetObjectItem(b, "text/plain") : NULL;
    static const char sig[] = "scale(x, factor=2.0, *rest, clip=False, **opts)\n\nMultiplies";
    CHECK(cJSON_IsString(t) && !strncmp(t->valuestring, sig, strlen(sig)),
          "inspect: %s", cJSON_IsString(t) ? t->valuestring : "(none)");
    cJSON_Delete(b);
    CHECK(!strcmp(cell(s, "scale.__doc__.split('\\n')[0], scale.__name__, (lambda: 0).__name__", &c, &err),
                  "('Multiplies x by factor.', 'scale', '<lambda>')"), "%s", cell(s, "scale.__name__", &c, &err));
    cell(s, "def kwo(a, *, b=1):\n    pass\nhelp(kwo)", &c, &err);
    CHECK(!strcmp(c.page, "kwo(a, *, b=1)\n\n(no docstring)"), "%s", c.page);
    CHECK(!strcmp(cell(s, "scale", &c, &err), "<function scale>"), "%s", cell(s, "scale", &c, &err));
    lang_error_clear(&err);
    lang_session_free(s);
}

/* What a cycle collector sees of a function and its scope: a returned
 * recursive helper and the call scope holding it form a cycle; visiting
 * finds the scope and the helper in it, clearing breaks the cycle (the
 * sanitizer build checks nothing leaks). */
typedef struct seen { int values, envs; value *want; env *scope; bool found; } seen;
static void see_value(value *v, void *ctx) { seen *s = ctx; s->values++; if (v == s->want) s->found = true; }
static void see_env(env *e, void *ctx) { seen *s = ctx; s->envs++; s->scope = e; }

static void test_function_references_can_be_visited_and_cleared(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    cell(s, "def outer(base):\n    def rec(n):\n        return base if n == 0 else rec(n - 1) + 1\n    return rec\n"
            "r = outer(10)\nd = lambda x=[1, 2]: x", &c, &err);
    CHECK(!strcmp(cell(s, "r(5), d()", &c, &err), "(15, [1, 2])"), "%s", cell(s, "r(5)", &c, &err));
    value *r = lang_lookup_name(&s->I, NULL, "r");
    CHECK(r && lang_is_function(r));
    seen fs = {0};
    lang_function_visit(r, see_value, see_env, &fs);
    CHECK(fs.values == 0 && fs.envs == 1, "%d values, %d envs", fs.values, fs.envs);
    seen es = {.want = r};
    if (fs.scope) lang_env_visit(fs.scope, see_value, see_env, &es);
    CHECK(es.found && es.values == 2 && es.envs == 0, "scope: %d values (helper %d), %d envs", es.values, es.found, es.envs);
    seen ds = {0};
    lang_function_visit(lang_lookup_name(&s->I, NULL, "d"), see_value, see_env, &ds);
    CHECK(ds.values == 1 && ds.envs == 0, "lambda: %d values, %d envs", ds.values, ds.envs);
    lang_function_clear(r);
    CHECK(!strcmp(cell(s, "r(0)", &c, &err), "ERROR NameError: name 'base' is not defined"), "%s", cell(s, "r(0)", &c, &err));
    cell(s, "del r", &c, &err);
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_tracebacks_name_function_lines_and_call_sites(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    cell(s, "def inner(x):\n    return 1 / x\n", &c, &err);
    const char *got = cell(s, "y = 3\ndef outer(v):\n    return inner(v) + 1\nouter(0)", &c, &err);
    CHECK(!strcmp(got, "ERROR ZeroDivisionError: division by zero"), "%s", got);
    static const char *const want[] = {
        "  Cell line 4, column 6", "    outer(0)", "         ^",
        "  Cell line 3, column 17, in outer", "    return inner(v) + 1", "                ^",
        "  Line 2, column 14, in inner (defined in an earlier cell)", "    return 1 / x", "             ^",
        "ZeroDivisionError: division by zero"};
    int n = (int)(sizeof want / sizeof want[0]);
    CHECK(err.n_traceback == n, "%d traceback lines", err.n_traceback);
    for (int i = 0; i < n && i < err.n_traceback; i++)
        CHECK(!strcmp(err.traceback[i], want[i]), "line %d: '%s', want '%s'", i, err.traceback[i], want[i]);
    /* a recursion's repeated frames are folded */
    cell(s, "def down(n):\n    return down(n + 1)\ndown(0)", &c, &err);
    bool folded = false;
    for (int i = 0; i < err.n_traceback; i++)
        if (!strcmp(err.traceback[i], "  [Previous line repeated 997 more times]")) folded = true;
    CHECK(folded && err.n_traceback == 3 + 3 * 3 + 2, "%d lines, folded %d", err.n_traceback, folded);
    /* the error clears: the next cell's traceback has no stale frames */
    cell(s, "1 / 0", &c, &err);
    CHECK(err.n_traceback == 4, "%d lines", err.n_traceback);
    lang_error_clear(&err);
    lang_session_free(s);
}

int main(void)
{
    RUN(test_functions_outlive_their_cell);
    RUN(test_def_binds_arguments_like_python);
    RUN(test_scopes_follow_python);
    RUN(test_scope_errors_are_syntax_errors);
    RUN(test_docstrings_and_signatures_for_help);
    RUN(test_function_references_can_be_visited_and_cleared);
    RUN(test_tracebacks_name_function_lines_and_call_sites);
    return harness_summary();
}
