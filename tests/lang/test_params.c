/* tests/lang/test_params.c — one argument spec per builtin (lang_param): the
 * call is checked against it with Python's messages, lang_arg reads arguments
 * by name whether given by position or keyword, and the signature help() and
 * docs/LANGUAGE.md show is spelled from the same spec. */
#include <string.h>

#include "builtins.h"
#include "cell_cases.h"

static void test_calls_are_checked_against_the_spec(void)
{
    static const cell_case cases[] = {
        {"getenv('LENS_NO_SUCH_VARIABLE', 'fallback')", "'fallback'"},
        {"getenv(name='LENS_NO_SUCH_VARIABLE', default=3)", "3"},
        {"getenv('LENS_NO_SUCH_VARIABLE', default=None) is None", "True"},
        {"getenv()", "ERROR TypeError: getenv() missing required argument 'name'"},
        {"getenv('A', 'b', 'c')", "ERROR TypeError: getenv() takes at most 2 positional arguments (3 given)"},
        {"getenv('A', nmae='x')", "ERROR TypeError: getenv() got an unexpected keyword argument 'nmae'"},
        {"getenv('A', name='x')", "ERROR TypeError: getenv() got multiple values for argument 'name'"},
        {"int('ff', base=16), int(x='12'), int('11', 2)", "(255, 12, 3)"},
        {"print('a', 'b', sep='-')", ""},
        {"print('a', sepp='-')", "ERROR TypeError: print() got an unexpected keyword argument 'sepp'"},
        {"input('x', True)", "ERROR TypeError: input() takes at most 1 positional argument (2 given)"},
        {"xs = [3, 1, 2]\nxs.sort(reverse=True)\nxs", "[3, 2, 1]"},
        {"[1].sort(True)", "ERROR TypeError: sort() takes at most 0 positional arguments (1 given)"},
        /* positional-only parameters (Python's len(obj, /)) */
        {"len([1, 2])", "2"},
        {"len(obj=[1])", "ERROR TypeError: len() got some positional-only arguments passed as keyword arguments: 'obj'"},
        {"len()", "ERROR TypeError: len() missing required argument 'obj'"},
        {"len([1], [2])", "ERROR TypeError: len() takes at most 1 positional argument (2 given)"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_signature_is_spelled_from_the_spec(void)
{
    char buf[256];
    const lang_builtin *b = lang_builtin_find("getenv");
    CHECK(b && b->params, "getenv has a spec");
    CHECK(b && !strcmp(lang_builtin_signature(b, buf, sizeof buf), "getenv(name, default=None)"), "%s", buf);
    b = lang_builtin_find("print");
    CHECK(b && !strcmp(lang_builtin_signature(b, buf, sizeof buf), "print(*values, sep=' ', end='\\n', file=None, flush=False)"), "%s", buf);
    b = lang_builtin_find("len");
    CHECK(b && !strcmp(lang_builtin_signature(b, buf, sizeof buf), "len(obj, /)"), "%s", buf);
    b = lang_builtin_find("input");
    CHECK(b && !strcmp(lang_builtin_signature(b, buf, sizeof buf), "input(prompt='', *, password=False)"), "%s", buf);
    /* a buffer too small still ends in a terminated prefix */
    char tiny[8];
    b = lang_builtin_find("getenv");
    CHECK(b && !strcmp(lang_builtin_signature(b, tiny, sizeof tiny), "getenv("), "%s", tiny);
    /* help() shows the same text */
    lang_session *s = lang_session_new();
    capture c;
    lang_error err = {0};
    cell(s, "help(getenv)", &c, &err);
    CHECK(strstr(c.out, "getenv(name, default=None)") || strstr(c.page, "getenv(name, default=None)"), "%s|%s", c.out, c.page);
    lang_error_clear(&err);
    lang_session_free(s);
}

/* Every builtin, in every table, states its arguments once: a spec. */
static void test_every_builtin_has_a_spec(void)
{
    int n = 0, missing = 0;
    for (const lang_builtin *const *t = builtin_tables; *t; t++)
        for (const lang_builtin *b = *t; b->name; b++, n++)
            if (!b->params) {
                missing++;
                CHECK(b->params, "%s has no argument spec", b->name);
            }
    CHECK(n > 200, "%d builtins seen", n);
    CHECK(!missing, "%d of %d without a spec", missing, n);
}

int main(void)
{
    RUN(test_calls_are_checked_against_the_spec);
    RUN(test_signature_is_spelled_from_the_spec);
    RUN(test_every_builtin_has_a_spec);
    return harness_summary();
}
