/* tests/lang/test_statements.c — Python statements beyond expressions:
 * try/except/else/finally and raise with Python's exception classes, with and
 * the context-manager protocol, import through the module registry, del,
 * assert, shell and magic lines, and exit/quit. */
#include <string.h>

#include "../harness.h"
#include "cell_cases.h"
#include "lang_test_util.h"
#include "lang_internal.h"
#include "modules.h"

static void test_try_except_else_finally(void)
{
    static const cell_case cases[] = {
        {"log = []\ntry:\n    1 / 0\nexcept ZeroDivisionError as e:\n    log.append(str(e))\nelse:\n    log.append('else')\nfinally:\n    log.append('finally')\nlog",
         "['division by zero', 'finally']"},
        {"log = []\ntry:\n    x = 1\nexcept ValueError:\n    log.append('no')\nelse:\n    log.append('else')\nfinally:\n    log.append('finally')\nlog",
         "['else', 'finally']"},
        {"try:\n    [][3]\nexcept (KeyError, IndexError) as e:\n    r = type(e), e.args\nr", "(<class 'IndexError'>, ('list index out of range',))"},
        {"try:\n    {}['k']\nexcept LookupError:\n    r = 'lookup catches KeyError'\nr", "'lookup catches KeyError'"},
        {"try:\n    int('x')\nexcept Exception as e:\n    r = repr(e)\nr", "'ValueError(\"invalid literal for int() with base 10: \\'x\\'\")'"},
        {"try:\n    undefined_thing\nexcept NameError as e:\n    r = str(e)\nr", "\"name 'undefined_thing' is not defined\""},
        {"try:\n    raise ValueError('bad', 3)\nexcept ValueError as e:\n    r = (str(e), e.args, repr(e))\nr", "(\"('bad', 3)\", ('bad', 3), \"ValueError('bad', 3)\")"},
        {"try:\n    raise KeyError('k')\nexcept KeyError as e:\n    r = str(e), repr(e)\nr", "(\"'k'\", \"KeyError('k')\")"},
        {"try:\n    {'a': 1}['k']\nexcept KeyError as e:\n    r = e.args, str(e), repr(e)\nr", "(('k',), \"'k'\", \"KeyError('k')\")"},
        {"try:\n    raise TypeError\nexcept TypeError as e:\n    r = repr(e), str(e), e.args\nr", "('TypeError()', '', ())"},
        {"raise RuntimeError('stop here')", "ERROR RuntimeError: stop here"},
        {"raise NotImplementedError", "ERROR NotImplementedError: "},
        {"try:\n    raise KeyboardInterrupt\nexcept Exception:\n    r = 'wrong'\nexcept BaseException as e:\n    r = 'base: ' + repr(e)\nr", "'base: KeyboardInterrupt()'"},
        {"try:\n    1 / 0\nexcept ArithmeticError:\n    r = 'arith'\nr", "'arith'"},
        {"try:\n    1 / 0\nexcept ValueError:\n    r = 'no'", "ERROR ZeroDivisionError: division by zero"},
        {"try:\n    1 / 0\nexcept:\n    r = 'bare'\nr", "'bare'"},
        {"try:\n    try:\n        int('q')\n    except ValueError:\n        raise\nexcept ValueError as e:\n    r = 're-raised: ' + str(e)\nr", "\"re-raised: invalid literal for int() with base 10: 'q'\""},
        {"raise", "ERROR RuntimeError: No active exception to reraise"},
        {"try:\n    raise RuntimeError('a') from ValueError('b')\nexcept RuntimeError as e:\n    r = repr(e.__cause__)\nr", "\"ValueError('b')\""},
        {"try:\n    raise 5\nexcept TypeError as e:\n    r = str(e)\nr", "'exceptions must derive from BaseException'"},
        {"try:\n    1 / 0\nexcept 'x':\n    pass", "ERROR TypeError: catching classes that do not inherit from BaseException is not allowed"},
        {"try:\n    1 / 0\nexcept ZeroDivisionError as err:\n    pass\nerr", "ERROR NameError: name 'err' is not defined"},
        {"try:\n    1 / 0\nexcept ZeroDivisionError:\n    int('x')", "ERROR ValueError: invalid literal for int() with base 10: 'x'"},
        {"try:\n    1 / 0\nfinally:\n    fin = 'ran'", "ERROR ZeroDivisionError: division by zero"},
        {"fin", "'ran'"},
        {"def f():\n    try:\n        return 'try'\n    finally:\n        log.append('cleanup')\nlog = []\nf(), log", "('try', ['cleanup'])"},
        {"def g():\n    try:\n        1 / 0\n    finally:\n        return 'finally wins'\ng()", "'finally wins'"},
        {"def h():\n    for i in range(5):\n        try:\n            if i == 2:\n                break\n        finally:\n            log.append(i)\nlog = []\nh()\nlog", "[0, 1, 2]"},
        {"def deep(n):\n    return deep(n + 1)\ntry:\n    deep(0)\nexcept RecursionError as e:\n    r = str(e)\nr", "'maximum recursion depth exceeded'"},
        {"ValueError, Exception", "(<class 'ValueError'>, <class 'Exception'>)"},
        {"e = ValueError('made')\ne.args, str(e)", "(('made',), 'made')"},
        {"assert 1 + 1 == 2\nassert [], 'empty list'", "ERROR AssertionError: empty list"},
        {"try:\n    assert False\nexcept AssertionError as e:\n    r = e.args\nr", "()"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_with_uses_the_context_manager_protocol(void)
{
    static const cell_case cases[] = {
        {"with nullcontext(5) as v:\n    w = v * 2\nw", "10"},
        {"with nullcontext() as v:\n    r = v\nr is None", "True"},
        {"with nullcontext(1) as a, nullcontext(2) as b:\n    r = a + b\nr", "3"},
        {"with nullcontext([0, 0]) as xs:\n    xs[1] = 7\nxs", "[0, 7]"},
        {"try:\n    with nullcontext():\n        1 / 0\nexcept ZeroDivisionError:\n    r = 'not suppressed'\nr", "'not suppressed'"},
        {"with 3:\n    pass", "ERROR TypeError: 'int' object does not support the context manager protocol"},
        {"def f():\n    with nullcontext('in'):\n        return 'returned'\nf()", "'returned'"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_import_binds_provided_modules(void)
{
    lang_session *s = lang_session_new();
    value *pkg = lang_module_new("pkg");
    value *sub = lang_module_new("pkg.sub");
    CHECK(lang_module_set(pkg, "answer", v_int(42)) == 0 && lang_module_set(pkg, "_hidden", v_int(0)) == 0);
    CHECK(lang_module_set(sub, "name", v_str("sub")) == 0);
    CHECK(lang_module_set(pkg, "sub", lang_incref(sub)) == 0);
    CHECK(lang_module_register(&s->I, pkg) == 0 && lang_module_register(&s->I, sub) == 0);
    static const cell_case cases[] = {
        {"import pkg\npkg.answer", "42"},
        {"import pkg as p, pkg.sub as q\np.answer, q.name", "(42, 'sub')"},
        {"del pkg\nimport pkg.sub\npkg.sub.name", "'sub'"},
        {"from pkg import answer, sub as s2\nanswer, s2.name", "(42, 'sub')"},
        {"from pkg import (answer as a2,\n    sub)\na2", "42"},
        {"from pkg.sub import name\nname", "'sub'"},
        {"from pkg import missing", "ERROR ImportError: cannot import name 'missing' from 'pkg' (dir(pkg) lists what lens provides)"},
        {"from pkg import *\n[answer, sub.name]", "[42, 'sub']"},
        {"_hidden", "ERROR NameError: name '_hidden' is not defined"},
        {"def f():\n    import pkg as local_pkg\n    return local_pkg.answer\nf()", "42"},
        {"local_pkg", "ERROR NameError: name 'local_pkg' is not defined"},
        {"from . import x", "ERROR SyntaxError: relative imports are not supported in lens (cells are not in a package)"},
        {"def f():\n    from pkg import *", "ERROR SyntaxError: import * only allowed at module level"},
        {NULL, NULL}};
    run_cases_in(s, cases);
    {
        /* an unknown module: the error lists every provided module, the test's and the namespaces' */
        lang_error err = {0};
        capture c;
        const char *got = cell(s, "import pandas", &c, &err);
        CHECK(!strncmp(got, "ERROR ImportError: No module named 'pandas' in lens (lens provides: ", 68), "%s", got);
        CHECK(strstr(got, " pkg, pkg.sub, ") && strstr(got, " torch, ") && strstr(got, "; it runs no Python packages)"), "%s", got);
        lang_error_clear(&err);
    }
    /* submodules become attributes of their parents; a parent not provided is a namespace */
    value *lone = lang_module_new("space.inner");
    value *top = lang_module_new("top");
    value *unlinked = lang_module_new("top.unlinked");
    CHECK(lang_module_set(lone, "v", v_int(1)) == 0 && lang_module_set(unlinked, "w", v_int(2)) == 0);
    CHECK(lang_module_register(&s->I, lone) == 0 && lang_module_register(&s->I, top) == 0 &&
          lang_module_register(&s->I, unlinked) == 0);
    static const cell_case more[] = {
        {"import space.inner\nspace.inner.v, space", "(1, <module 'space' (lens)>)"},
        {"import top.unlinked\ntop.unlinked.w", "2"},
        {"import space\nspace.inner.v", "1"},
        {NULL, NULL}};
    run_cases_in(s, more);
    lang_session_free(s);
}

static void test_shell_and_magic_lines_are_explained(void)
{
    lang_session *s = lang_session_new();
    CHECK(lang_module_register(&s->I, lang_module_new("torch")) == 0);
    lang_error err = {0};
    capture c;
    static const char *const lines[] = {"%pip install transformer_lens", "!pip install einops", "%%time\nx = 1",
                                        "x = 1\n  !ls", NULL};
    for (int i = 0; lines[i]; i++) {
        const char *got = cell(s, lines[i], &c, &err);
        CHECK(!strncmp(got, "ERROR SyntaxError: lens runs no shell commands or IPython magics", 63), "%s: %s", lines[i], got);
        CHECK(strstr(got, "nothing needs installing: the modules lens provides (torch, ") != NULL, "%s: %s", lines[i], got);
    }
    CHECK(!strcmp(cell(s, "x = 10 % 3\nx", &c, &err), "1"), "modulo still parses");
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_exit_and_quit_ask_the_frontend_to_exit(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    cell(s, "x = 1", &c, &err);
    CHECK(!lang_exit_requested(s));
    CHECK(!strcmp(cell(s, "exit", &c, &err), ""), "bare exit shows nothing");
    CHECK(lang_exit_requested(s));
    cell(s, "y = 2", &c, &err);
    CHECK(!lang_exit_requested(s), "the request is per cell");
    cell(s, "quit()\nafter = 1", &c, &err);
    CHECK(lang_exit_requested(s));
    CHECK(!strcmp(cell(s, "after", &c, &err), "ERROR NameError: name 'after' is not defined"), "the rest of the cell does not run");
    cell(s, "e = exit", &c, &err);
    CHECK(!lang_exit_requested(s), "naming exit without showing it does not exit");
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_del_global_and_pass(void)
{
    static const cell_case cases[] = {
        {"a = 1\nb = [1, 2, 3]\ndel a, b[0]\nb", "[2, 3]"},
        {"a", "ERROR NameError: name 'a' is not defined"},
        {"def f():\n    global counter\n    counter = counter + 1\ncounter = 0\nf()\nf()\ncounter", "2"},
        {"def g():\n    v = 1\n    del v\n    return v\ng()", "ERROR UnboundLocalError: cannot access local variable 'v' where it is not associated with a value"},
        {"def nothing():\n    pass\nnothing() is None", "True"},
        {"i = 0\nwhile i < 3:\n    i += 1\nelse:\n    done = i\ndone", "3"},
        {"x = 'y' if 1 > 2 else 'z'\nx", "'z'"},
        {NULL, NULL}};
    run_cases(cases);
}

int main(void)
{
    RUN(test_try_except_else_finally);
    RUN(test_with_uses_the_context_manager_protocol);
    RUN(test_import_binds_provided_modules);
    RUN(test_shell_and_magic_lines_are_explained);
    RUN(test_exit_and_quit_ask_the_frontend_to_exit);
    RUN(test_del_global_and_pass);
    return harness_summary();
}
