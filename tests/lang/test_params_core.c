/* tests/lang/test_params_core.c — the argument specs of Python's core builtins
 * (range, str, min, sorted, map, ...), of the str/list/tuple/dict methods and
 * of exit/quit: keyword calls as Python code writes them give Python's results
 * (each checked against CPython 3.11), bad calls get the binder's messages,
 * and the signatures are spelled as Python's help() spells them. */
#include <string.h>

#include "builtins.h"
#include "cell_cases.h"

static void test_core_builtins_take_pythons_arguments(void)
{
    static const cell_case cases[] = {
        {"list(range(5)), list(range(2, 8, 3)), list(range(5, 0, -2))", "([0, 1, 2, 3, 4], [2, 5], [5, 3, 1])"},
        {"str(), str(object=5), repr('a')", "('', '5', \"'a'\")"},
        {"float(), float('1.5'), bool(), bool([1])", "(0.0, 1.5, False, True)"},
        {"list(), list('ab'), tuple(), tuple([1, 2])", "([], ['a', 'b'], (), (1, 2))"},
        {"dict([(1, 2)], a=3), dict({'x': 1}), dict(iterable=4)", "({1: 2, 'a': 3}, {'x': 1}, {'iterable': 4})"},
        {"abs(-3), min(3, 1, 2), max([4, 7, 1]), min([], default=9), max(['a', 'bbb', 'cc'], key=len)", "(3, 1, 7, 9, 'bbb')"},
        {"min([3, 1], key=lambda x: -x), max(1, 5, key=lambda x: -x)", "(3, 1)"},
        {"sum([1, 2, 3]), sum([1, 2], 10), sum([1, 2], start=10)", "(6, 13, 13)"},
        {"sorted([3, 1, 2], reverse=True), sorted(['bb', 'a', 'ccc'], key=len), sorted([2, 1], key=None, reverse=False)",
         "([3, 2, 1], ['a', 'bb', 'ccc'], [1, 2])"},
        {"list(reversed([1, 2, 3])), type(1).__name__, isinstance(1, (str, int)), any([0, 1]), all([1, 0])",
         "([3, 2, 1], 'int', True, True, False)"},
        {"list(map(lambda x: x * 2, [1, 2])), list(map(lambda x, y: x + y, [1, 2, 3], [10, 20]))", "([2, 4], [11, 22])"},
        {"list(filter(None, [0, 1, 2])), list(filter(lambda x: x > 1, [1, 2, 3]))", "([1, 2], [2, 3])"},
        {"hasattr('a', 'upper'), hasattr('a', 'nope'), getattr('a', 'nope', 5), chr(65), ord('A')", "(True, False, 5, 'A', 65)"},
        {"divmod(7, 2), divmod(-7, 2), pow(2, 10), pow(base=2, exp=3)", "((3, 1), (-4, 1), 1024, 8)"},
        /* pow with mod: Python's results, also at the ends of 64 bits */
        {"pow(3, 4, 5), pow(2, -1, 5), pow(-3, 3, 7), pow(3, 3, -7), pow(2, 0, 1), pow(0, 0, 5), pow(2, 3, None), pow(2, 3, mod=5)",
         "(1, 3, 1, -1, 0, 1, 8, 3)"},
        {"pow(10**18, 10**18, 10**18 - 1), pow(5, -9223372036854775807 - 1, 9223372036854775807), pow(3, 5, -9223372036854775807 - 1)",
         "(1, 7322334274368016500, -9223372036854775565)"},
        {"pow(4, -1, 8)", "ERROR ValueError: base is not invertible for the given modulus"},
        {"pow(2, 3, 0)", "ERROR ValueError: pow() 3rd argument cannot be 0"},
        {"pow(2.0, 3, 5)", "ERROR TypeError: pow() 3rd argument not allowed unless all arguments are integers"},
        {"list(zip([1, 2], 'ab')), list(zip([1, 2], [3, 4], strict=True)), list(zip())", "([(1, 'a'), (2, 'b')], [(1, 3), (2, 4)], [])"},
        /* Python's own messages for what the builtin checks itself */
        {"range(1, 2, 0)", "ERROR ValueError: range() arg 3 must not be zero"},
        {"min()", "ERROR TypeError: min expected at least 1 argument, got 0"},
        {"min(1, 2, default=3)", "ERROR TypeError: Cannot specify a default for min() with multiple positional arguments"},
        {"map(len)", "ERROR TypeError: map() must have at least two arguments."},
        {"zip([1, 2], [1], strict=True)", "ERROR ValueError: zip() argument 2 is shorter than argument 1"},
        {"zip([1], [1, 2], [3], strict=True)", "ERROR ValueError: zip() argument 2 is longer than argument 1"},
        {"zip([1, 2], [1, 2], [1], strict=True)", "ERROR ValueError: zip() argument 3 is shorter than arguments 1-2"},
        {"zip([1, 2], [1, 2], [1, 2, 3], strict=True)", "ERROR ValueError: zip() argument 3 is longer than arguments 1-2"},
        /* the binder's messages: unknown keyword, too many, missing, positional-only by keyword */
        {"sorted([1], kee=len)", "ERROR TypeError: sorted() got an unexpected keyword argument 'kee'"},
        {"sorted([1], True)", "ERROR TypeError: sorted() takes at most 1 positional argument (2 given)"},
        {"range(1, 2, 3, 4)", "ERROR TypeError: range() takes at most 3 positional arguments (4 given)"},
        {"dict(1, 2)", "ERROR TypeError: dict() takes at most 1 positional argument (2 given)"},
        {"isinstance(1)", "ERROR TypeError: isinstance() missing required argument 'class_or_tuple'"},
        {"filter(None)", "ERROR TypeError: filter() missing required argument 'iterable'"},
        {"sum(iterable=[1])", "ERROR TypeError: sum() got some positional-only arguments passed as keyword arguments: 'iterable'"},
        {"abs(x=1)", "ERROR TypeError: abs() got some positional-only arguments passed as keyword arguments: 'x'"},
        {"str(obj=1)", "ERROR TypeError: str() got an unexpected keyword argument 'obj'"},
        {"pow(2, 3, mode=5)", "ERROR TypeError: pow() got an unexpected keyword argument 'mode'"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_methods_take_pythons_arguments(void)
{
    static const cell_case cases[] = {
        {"'{0} {x} {1}'.format(1, 5, x=2), '{a}-{b}'.format(a='p', b='q'), ','.join(['a', 'b']), '-'.join('xyz')",
         "('1 2 5', 'p-q', 'a,b', 'x-y-z')"},
        {"'a b  c'.split(), 'a,b,c'.split(','), 'a,b,c'.split(',', 1), 'a,b,c'.split(sep=',', maxsplit=1), 'a b c'.rsplit(maxsplit=1)",
         "(['a', 'b', 'c'], ['a', 'b', 'c'], ['a', 'b,c'], ['a', 'b,c'], ['a b', 'c'])"},
        {"'a\\nb\\n'.splitlines(), 'a\\nb\\n'.splitlines(keepends=True), 'a\\n\\nb'.splitlines(True)",
         "(['a', 'b'], ['a\\n', 'b\\n'], ['a\\n', '\\n', 'b'])"},
        {"'  x '.strip(), 'xxaxx'.strip('x'), 'xxa'.lstrip('x'), 'axx'.rstrip('x'), '  a'.lstrip(None)", "('x', 'a', 'a', 'a', 'a')"},
        {"'aaa'.replace('a', 'b'), 'aaa'.replace('a', 'b', 2), 'Ab'.upper(), 'ab cd'.title()", "('bbb', 'bba', 'AB', 'Ab Cd')"},
        {"'abc'.startswith(('x', 'a')), 'abc'.endswith('bc'), 'abcb'.find('b'), 'abcb'.rfind('b'), 'abab'.count('ab')",
         "(True, True, 1, 3, 2)"},
        {"'a'.ljust(3, '*'), 'a'.rjust(3), 'a'.center(5, '-'), '7'.zfill(3)", "('a**', '  a', '--a--', '007')"},
        {"l = [1, 2]\nl.append(3)\nl.extend([4, 5])\nl.insert(0, 0)\nl.insert(-1, 9)\nr = l.pop()\nr2 = l.pop(0)\nl.remove(9)\n"
         "l, r, r2, l.index(2), l.count(1), (1, 2, 1).count(1), (1, 2).index(2)",
         "([1, 2, 3, 4], 5, 0, 1, 1, 2, 1)"},
        {"d = {'a': 1}\nd.get('a'), d.get('b'), d.get('b', 7), d.setdefault('c', 3), d.setdefault('e'), d.pop('c'), d.pop('zz', 0)",
         "(1, None, 7, 3, None, 3, 0)"},
        {"d = {'a': 1}\nd.update({'x': 1}, y=2)\nd.update(other=5)\nd", "{'a': 1, 'x': 1, 'y': 2, 'other': 5}"},
        {"xs = [3, 1, 2]\nxs.sort(key=lambda x: -x)\nxs", "[3, 2, 1]"},
        /* start and end: code point indices, as slices count them */
        {"'abcb'.find('', 4), 'abcb'.find('', 5), 'abcb'.find('', 2, 1), 'abcb'.count('', 2, 1), 'abcb'.count('', 1, 3), 'abcb'.count('', 5)",
         "(4, -1, -1, 0, 3, 0)"},
        {"'abcb'.startswith('', 4), 'abcb'.startswith('', 5), 'abcb'.find('b', -2), 'abcb'.rfind('b', 0, 3), 'abcb'.endswith('c', 0, 3), 'abcb'.startswith(('x', 'c'), 2)",
         "(True, False, 3, 1, True, True)"},
        {"'h\u00e9llo w\u00f6rld'.find('o', 5), 'h\u00e9llo w\u00f6rld'.rfind('l', 0, 4), 'h\u00e9llo w\u00f6rld'.count('l', 3), "
         "'h\u00e9llo w\u00f6rld'.startswith('w\u00f6', 6), 'h\u00e9llo w\u00f6rld'.endswith('llo', 0, 5), 'h\u00e9llo'.find('l', -2)",
         "(-1, 3, 2, True, True, 3)"},
        {"'abcb'.index('b', 2), 'abcb'.count('b', None, -1), [1, 2, 1].index(1, 1), (1, 2, 1).index(1, -1), [1, 2, 3].index(3, -10, 100)",
         "(3, 1, 2, 2, 2)"},
        {"[1, 2, 1].index(1, 1, 2)", "ERROR ValueError: 1 is not in list"},
        {"'abc'.find('b', 'x')", "ERROR TypeError: slice indices must be integers or None or have an __index__ method"},
        {"[1].index(1, None)", "ERROR TypeError: slice indices must be integers or have an __index__ method"},
        {"'abc'.index('a', 1)", "ERROR ValueError: substring not found"},
        /* Python's messages for what the method checks itself */
        {"[1].remove(2)", "ERROR ValueError: 2 is not in list"},
        {"[].pop()", "ERROR IndexError: pop from empty list"},
        {"{}.pop('k')", "ERROR KeyError: 'k'"},
        /* the binder's */
        {"'a b'.split(sepp=' ')", "ERROR TypeError: split() got an unexpected keyword argument 'sepp'"},
        {"[].append(1, 2)", "ERROR TypeError: append() takes at most 1 positional argument (2 given)"},
        {"'a'.upper(1)", "ERROR TypeError: upper() takes at most 0 positional arguments (1 given)"},
        {"'-'.join()", "ERROR TypeError: join() missing required argument 'iterable'"},
        {"{}.get(key=1)", "ERROR TypeError: get() got some positional-only arguments passed as keyword arguments: 'key'"},
        {"'a'.replace('a', 'b', count=1)", "ERROR TypeError: replace() got some positional-only arguments passed as keyword arguments: 'count'"},
        {"[].sort(lambda x: x)", "ERROR TypeError: sort() takes at most 0 positional arguments (1 given)"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_exit_takes_a_code(void)
{
    static const cell_case cases[] = {
        {"exit(code=3)", ""},
        {"quit(0)", ""},
        {"exit(1, 2)", "ERROR TypeError: exit() takes at most 1 positional argument (2 given)"},
        {"quit(status=1)", "ERROR TypeError: quit() got an unexpected keyword argument 'status'"},
        {NULL, NULL}};
    run_cases(cases);
}

static void check_signature(const char *name, const char *want)
{
    char buf[256];
    const lang_builtin *b = lang_builtin_find(name);
    CHECK(b, "%s is a builtin", name);
    if (b) CHECK(!strcmp(lang_builtin_signature(b, buf, sizeof buf), want), "%s\n    want %s", buf, want);
}

/* inspect.signature of CPython 3.11, self left out of the methods' */
static void test_signatures_are_pythons(void)
{
    check_signature("sorted", "sorted(iterable, /, *, key=None, reverse=False)");
    check_signature("sum", "sum(iterable, /, start=0)");
    check_signature("isinstance", "isinstance(obj, class_or_tuple, /)");
    check_signature("abs", "abs(x, /)");
    check_signature("repr", "repr(obj, /)");
    check_signature("list", "list(iterable=(), /)");
    check_signature("float", "float(x=0, /)");
    check_signature("divmod", "divmod(x, y, /)");
    check_signature("hasattr", "hasattr(obj, name, /)");
    check_signature("any", "any(iterable, /)");
    check_signature("pow", "pow(base, exp, mod=None)");
    check_signature("exit", "exit(code=None)");
    check_signature("str.split", "str.split(sep=None, maxsplit=-1)");
    check_signature("str.join", "str.join(iterable, /)");
    check_signature("str.strip", "str.strip(chars=None, /)");
    check_signature("str.replace", "str.replace(old, new, count=-1, /)");
    check_signature("str.upper", "str.upper()");
    check_signature("list.append", "list.append(object, /)");
    check_signature("list.insert", "list.insert(index, object, /)");
    check_signature("list.pop", "list.pop(index=-1, /)");
    check_signature("list.index", "list.index(value, start=0, stop=9223372036854775807, /)");
    check_signature("list.sort", "list.sort(*, key=None, reverse=False)");
    check_signature("dict.get", "dict.get(key, default=None, /)");
    /* forms Python documents in words: what is optional without a default shows ... */
    check_signature("range", "range(start, stop=..., step=1, /)");
    check_signature("min", "min(*args, key=None, default=...)");
    check_signature("map", "map(func, /, *iterables)");
    check_signature("dict", "dict(iterable=(), /, **kwargs)");
}

int main(void)
{
    RUN(test_core_builtins_take_pythons_arguments);
    RUN(test_methods_take_pythons_arguments);
    RUN(test_exit_takes_a_code);
    RUN(test_signatures_are_pythons);
    return harness_summary();
}
