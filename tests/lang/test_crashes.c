/* tests/lang/test_crashes.c — one-line cells that used to crash the kernel or
 * corrupt memory, one test per class: unbounded C recursion over nested and
 * self-referencing containers, use after free, unchecked C library contracts
 * (bases, shifts, ranges, slices, format specs, float to int), reference
 * cycles that were never freed, long builtin loops that ignored interrupts,
 * and to_tokens(truncate=True). Expected values are CPython's where lens
 * follows Python, else lens's documented error. Run under ASan+UBSan by
 * `make test SANITIZE=1`: a crash or a sanitizer report fails the run. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "gc.h"
#include "lang_internal.h"
#include "lang_test_util.h"

typedef struct cell_case { const char *code, *want; } cell_case;

/* Runs each case in s (after setup, when given) and compares the whole result. */
static void run_cases(lang_session *s, const cell_case *cases, size_t n)
{
    lang_error err = {0};
    capture c;
    for (size_t i = 0; i < n; i++) {
        const char *got = cell(s, cases[i].code, &c, &err);
        CHECK(!strcmp(got, cases[i].want), "%s\n    got  %s\n    want %s", cases[i].code, got, cases[i].want);
    }
    lang_error_clear(&err);
}

static const char *const DEEP_LIST = "x = []\nfor i in range(300000):\n    x = [x]\n";

static void test_nested_and_cyclic_containers_never_overflow_the_c_stack(void)
{
    lang_session *s = lang_session_new();
    static const cell_case cases[] = {
        {"l = [1]\nl.append(l)\nm = [1]\nm.append(m)\nl == m", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"l != m", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"l < m", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"l in [m]", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"[m].count(l)", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"sorted([l, m])", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"max(l, m)", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"l == l, l in [l], [l].index(l)", "(True, True, 0)"},
        {"l", "[1, [...]]"},
        {"str(l) + '{}'.format(l) + f'{l}' + '%s' % (l,)", "'[1, [...]][1, [...]][1, [...]][1, [...]]'"},
        {"d = {}\nd['me'] = d\ne = {}\ne['me'] = e\nd", "{'me': {...}}"},
        {"d == e", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"t = ([],)\nt[0].append(t)\nt", "([(...)],)"},
        {"both = [l, l, d]\nboth", "[[1, [...]], [1, [...]], {'me': {...}}]"},
        /* deep nesting built in a loop: compare, repr, hash, free */
        {DEEP_LIST, ""},
        {"y = []\nfor i in range(300000):\n    y = [y]\n", ""},
        {"x == y", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"x <= y", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"x in [y]", "ERROR RecursionError: maximum recursion depth exceeded in comparison"},
        {"x == x", "True"},
        {"r = repr(x)\nlen(r), r[:3], r[997:1004], r[-3:]", "(2003, '[[[', '[[[...]', ']]]')"},
        {"t = ()\nfor i in range(300000):\n    t = (t,)\n", ""},
        {"{(1, [2]): 3}", "ERROR TypeError: unhashable type: 'list'"},
        {"{t: 1}", "ERROR RecursionError: maximum recursion depth exceeded while hashing a nested tuple"},
        {"t in {}", "ERROR RecursionError: maximum recursion depth exceeded while hashing a nested tuple"},
        {"{}.get(t)", "ERROR RecursionError: maximum recursion depth exceeded while hashing a nested tuple"},
        {"dd = {}\nfor i in range(300000):\n    dd = {'k': dd}\n", ""},
        {"mk = lambda f: lambda: f\nchain = None\nfor i in range(100000):\n    chain = mk(chain)\nchain()()() is not None", "True"},
        {"del x\ndel y\nt = 0\ndd = None\nchain = None\n1 + 1", "2"},
    };
    run_cases(s, cases, sizeof cases / sizeof *cases);
    lang_session_free(s);
}

static void test_no_use_after_free_when_values_change_under_a_builtin(void)
{
    lang_session *s = lang_session_new();
    static const cell_case cases[] = {
        {"'-'.join(range(3))", "ERROR TypeError: sequence item 0: expected str instance, int found"},
        {"'-'.join(['a', 'b', 1])", "ERROR TypeError: sequence item 2: expected str instance, int found"},
        {"'-'.join([str(i) for i in range(3)])", "'0-1-2'"},
        /* a key function that changes the list being sorted */
        {"l = [3, 1, 2]\nl.sort(key=lambda x: (l.append(x), x)[1])", "ERROR ValueError: list modified during sort"},
        {"l", "[1, 2, 3]"},
        {"l = [3, 1, 2]\nl.sort(key=lambda x: l.clear())", "ERROR TypeError: '<' not supported between instances of 'NoneType' and 'NoneType'"},
        {"len(l), sorted(l)", "(3, [1, 2, 3])"},
        {"z = [[2], [1]]\nz.sort(key=lambda p: z.pop())", "ERROR IndexError: pop from empty list"},
        {"z", "[[2], [1]]"},
        {"z.sort(key=lambda p: p[0])\nz", "[[1], [2]]"},
        /* builtins iterate over a snapshot: the callback may change the original */
        {"m = [1, 2, 3]\nmax(m, key=lambda x: m.clear() or x), m", "(3, [])"},
        {"f = [1, 2, 3]\nlist(filter(lambda x: f.append(x) or True, f)), f", "([1, 2, 3], [1, 2, 3, 1, 2, 3])"},
        {"g = [1, 2]\nlist(map(lambda x: g.pop(), g)), g", "([2, 1], [])"},
        {"h = [5, 6]\nsorted(h, key=lambda x: h.clear() or x), h", "([5, 6], [])"},
        {"d = {'a': 1, 'b': 2}\nd.update(d)\nd", "{'a': 1, 'b': 2}"},
        {"nan = float('nan')\nd = {nan: 1}\nd.update(d)\nd[nan], len(d), nan in d, float('nan') in d", "(1, 1, True, False)"},
        {"d = {'a': [1]}\nd.pop('a'), d", "([1], {})"},
        {"d = {'a': 1}\nfor k in d:\n    d.clear()\nd", "{}"},
        {"xs = [1, 2, 3]\nfor v in xs:\n    xs.clear()\nxs, v", "([], 1)"},
        /* functions outlive the cell whose syntax tree they run */
        {"adder = (lambda n: lambda x: x + n)(41)", ""},
        {"double = lambda x, k=(lambda: 2): x * k()", ""},
        {"maker = lambda: lambda: 5", ""},
        {"made = maker()", ""},
        {"1 + 2 + 3", "6"},
        {"adder(1), double(2), made(), maker()()", "(42, 4, 5, 5)"},
        {"q = [[0]]\nq[0] = q\nq", "[[...]]"},
        {"q[0:1] = q\nq", "[[...]]"},
    };
    run_cases(s, cases, sizeof cases / sizeof *cases);
    lang_session_free(s);
}

static void test_c_library_contracts_are_checked(void)
{
    lang_session *s = lang_session_new();
    static const cell_case cases[] = {
        {"m = -2**62 * 2\nM = -(m + 1)", ""},
        /* strtol's base */
        {"int('1', -1)", "ERROR ValueError: int() base must be >= 2 and <= 36, or 0"},
        {"int('1', 1)", "ERROR ValueError: int() base must be >= 2 and <= 36, or 0"},
        {"int('1', 37)", "ERROR ValueError: int() base must be >= 2 and <= 36, or 0"},
        {"int(2.5, 10)", "ERROR TypeError: int() can't convert non-string with explicit base"},
        {"int('zz', 36), int('0x1f', 0), int(' 12 '), int('-7')", "(1295, 31, 12, -7)"},
        {"int('0b101', 0), int('0o17', 0), int('-0x10', 16), int('0x10', 0), int(' -12 '), int('010', 8), int('000', 0), int('-9223372036854775808')",
         "(5, 15, -16, 16, -12, 8, 0, -9223372036854775808)"},
        {"int('010', 0)", "ERROR ValueError: invalid literal for int() with base 0: '010'"},
        {"int('- 1')", "ERROR ValueError: invalid literal for int() with base 10: '- 1'"},
        {"int('9223372036854775808')", "ERROR OverflowError: int() result does not fit in 64 bits: '9223372036854775808'"},
        {"int('1' + ' ' * 200 + 'x') > 0", "ERROR ValueError: invalid literal for int() with base 10: '1                                                                                                   ...'"},
        /* float to int */
        {"int(float('nan'))", "ERROR ValueError: cannot convert float NaN to integer"},
        {"int(float('inf'))", "ERROR OverflowError: cannot convert float infinity to integer"},
        {"int(1e300)", "ERROR OverflowError: float too large for a 64-bit int"},
        {"round(1e300)", "ERROR OverflowError: float too large for a 64-bit int"},
        {"round(float('nan'))", "ERROR ValueError: cannot convert float NaN to integer"},
        {"'%d' % float('nan')", "ERROR ValueError: cannot convert float NaN to integer"},
        {"'%d' % float('-inf')", "ERROR OverflowError: cannot convert float infinity to integer"},
        {"'%x' % 1e300", "ERROR OverflowError: float too large for a 64-bit int"},
        {"round(5, -1), round(15, -1), round(25, -1), round(-25, -1), round(149, -2), round(150, -2), round(250, -2), round(-151, -2), round(True, 2), round(7, 3), round(123456, -19)",
         "(0, 20, 20, -20, 100, 200, 200, -200, 1, 7, 0)"},
        {"round(m, -1)", "ERROR OverflowError: integer result too large (lens integers are 64-bit; use a float)"},
        {"round(1.5, 10**18), round(1e300, -400), round(-1e300, -400), round(1234.5, -2), round(2.675, 2), round(float('inf'), 2)",
         "(1.5, 0.0, -0.0, 1200.0, 2.67, inf)"},
        /* shifts and 64-bit edges */
        {"1 << -1", "ERROR ValueError: negative shift count"},
        {"1 >> -1", "ERROR ValueError: negative shift count"},
        {"1 << 64", "ERROR OverflowError: integer result too large (lens integers are 64-bit; use a float)"},
        {"3 << 62", "ERROR OverflowError: integer result too large (lens integers are 64-bit; use a float)"},
        {"-1 << 63, (-2**62) << 1, 3 << 61, 1 >> 64, -1 >> 100, -8 >> 1, -3 << 2",
         "(-9223372036854775808, -9223372036854775808, 6917529027641081856, 0, -1, -4, -12)"},
        {"m // -1", "ERROR OverflowError: integer result too large (lens integers are 64-bit; use a float)"},
        {"divmod(m, -1)", "ERROR OverflowError: integer result too large (lens integers are 64-bit; use a float)"},
        {"m % -1, 7 % -1, (-2) ** 63, 2 ** -1", "(0, 0, -9223372036854775808, 0.5)"},
        {"-m", "ERROR OverflowError: integer result too large"},
        {"abs(m)", "ERROR OverflowError: integer result too large"},
        {"2 ** 63", "ERROR OverflowError: integer result too large (lens integers are 64-bit; use a float)"},
        {"0 ** -1", "ERROR ZeroDivisionError: 0.0 cannot be raised to a negative power"},
        /* code points */
        {"chr(-1)", "ERROR ValueError: chr() arg not in range(0x110000)"},
        {"chr(0x110000)", "ERROR ValueError: chr() arg not in range(0x110000)"},
        {"chr(0xD800)", "ERROR ValueError: chr() arg is a surrogate (lens strings are UTF-8)"},
        {"ord('')", "ERROR TypeError: ord() expected a character, but string of length 0 found"},
        {"ord('ab')", "ERROR TypeError: ord() expected a character, but string of length 2 found"},
        {"ord(1)", "ERROR TypeError: ord() expected string of length 1, but int found"},
        {"ord('é'), ord('€'), ord('😀'), chr(233), chr(128512)", "(233, 8364, 128512, 'é', '😀')"},
        {"'%c' % -5", "ERROR OverflowError: %c arg not in range(0x110000)"},
        {"'{:c}'.format(2**40)", "ERROR OverflowError: %c arg not in range(0x110000)"},
        /* format specs: widths and precisions that snprintf buffers cannot hold */
        {"'{:99999999999999999999}'.format(1)", "ERROR ValueError: Too many decimal digits in format string"},
        {"'{:.99999999999999999999f}'.format(1.0)", "ERROR ValueError: Too many decimal digits in format string"},
        {"'{99999999999999999999}'.format(1)", "ERROR ValueError: Too many decimal digits in format string"},
        {"'{5}'.format(1)", "ERROR IndexError: Replacement index 5 out of range for positional args tuple"},
        {"'{0!x}'.format(1)", "ERROR ValueError: Unknown conversion specifier x"},
        {"'{:.100000f}'.format(1.0)", "ERROR ValueError: precision too big"},
        {"'{:1000000000}'.format(1)", "ERROR MemoryError: format width 1000000000 is too large"},
        {"'x'.center(10**18)", "ERROR MemoryError: format width 1000000000000000000 is too large"},
        {"len('{:.1000f}'.format(1e300)), len('{:.500%}'.format(1e300)), '{:.3e}'.format(12345.678)", "(1302, 805, '1.235e+04')"},
        {"len('x'.center(20000)), 'ab'.center(6, '*'), 'x'.zfill(-5), 'x'.rjust(-3)", "(20000, '**ab**', 'x', 'x')"},
        {"'ab' * 2**62", "ERROR MemoryError: a string of 2 * 4611686018427387904 bytes is too large"},
        {"[0] * 2**62", "ERROR MemoryError: a list of 1 * 4611686018427387904 items is too large"},
        {"[] * M, '' * M, () * M, M * []", "([], '', (), [])"},
        /* ranges whose lengths and items need more than int64 arithmetic */
        {"len(range(m, M))", "ERROR OverflowError: range has more than 2**63 - 1 items"},
        {"len(range(m, M, 3)), range(m, M, 3)[-1], M in range(0, M, 3), M - 1 in range(0, M, 3), m in range(M, m, -7), m + 1 in range(M, m, -7), range(m, M, 2**62)[3]",
         "(6148914691236517205, 9223372036854775804, False, True, False, True, 4611686018427387904)"},
        {"len(range(M, m, -2**62)), list(range(M, m, -2**62))", "(4, [9223372036854775807, 4611686018427387903, -1, -4611686018427387905])"},
        {"range(0, M, 2**62)[5:]", "ERROR OverflowError: range slice bounds do not fit in 64 bits"},
        {"list(enumerate('ab', M))", "ERROR OverflowError: enumerate() index does not fit in 64 bits"},
        /* slices with extreme steps and bounds */
        {"[1, 2, 3][::m], 'abc'[::m], range(10)[::m], list(range(10)[::m])", "([3], 'c', range(9, -1, -9223372036854775808), [9])"},
        {"list(range(10))[::M], list(range(10))[M:], list(range(10))[:-M], list(range(10))[-M::-1], list(range(10))[::-M], 'abc'[M:m:-1], 'abc'[m:M:M]",
         "([0], [], [], [], [9], 'cba', 'a')"},
        {"range(5)[M:], range(5)[m:M:2], range(0, 10, 3)[::-1], range(0, -10, -3)[1:]", "(range(5, 5), range(0, 5, 2), range(9, -3, -3), range(-3, -12, -3))"},
        {"x = list(range(10))\ndel x[::m]\nx[::m] = [7]\nx", "[0, 1, 2, 3, 4, 5, 6, 7, 7]"},
        {"for i in range(m, M, 2**62):\n    pass\ni", "4611686018427387904"},
    };
    run_cases(s, cases, sizeof cases / sizeof *cases);
    lang_session_free(s);
}

/* The collector's count of live containers, after a cell and a full collection. */
static size_t live_after(lang_session *s, const char *code)
{
    lang_error err = {0};
    capture c;
    const char *got = cell(s, code, &c, &err);
    CHECK(strncmp(got, "ERROR", 5) != 0, "%s: %s", code, got);
    lang_error_clear(&err);
    lang_gc_collect();
    return lang_gc_tracked_count();
}

/* A cell ends with a collection only when it grew the tracked containers by
 * more than a quarter: a cell that makes a few leaves them for a later one. */
static void test_cells_collect_when_the_tracked_count_grew(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    CHECK(!strcmp(cell(s, "keep = [[i] for i in range(4000)]\nlen(keep)", &c, &err), "4000"), "setup");
    lang_gc_collect();
    size_t base = lang_gc_tracked_count();
    CHECK(base >= 4001, "the kept lists are tracked (%zu)", base);
    /* a few dropped cycles: fewer than a quarter of what survives */
    CHECK(!strcmp(cell(s, "for i in range(100):\n    a = [i]\n    a.append(a)\na = None", &c, &err), ""), "small");
    CHECK(lang_gc_tracked_count() == base + 100, "a small cell's cycles wait (%zu, base %zu)", lang_gc_tracked_count(), base);
    CHECK(lang_gc_collect() == 100, "and a collection frees exactly them");
    CHECK(lang_gc_tracked_count() == base, "back to %zu (%zu)", base, lang_gc_tracked_count());
    /* many dropped cycles: the cell's end collects them */
    CHECK(!strcmp(cell(s, "for i in range(2000):\n    a = [i]\n    a.append(a)\na = None", &c, &err), ""), "large");
    CHECK(lang_gc_tracked_count() == base, "a large cell's cycles are freed at its end (%zu, base %zu)", lang_gc_tracked_count(), base);
    /* freeing by reference counting lowers the mark growth counts from */
    CHECK(!strcmp(cell(s, "keep = None", &c, &err), ""), "drop");
    size_t low = lang_gc_tracked_count();
    CHECK(low + 4000 <= base, "the kept lists went with their count (%zu, %zu)", low, base);
    CHECK(!strcmp(cell(s, "for i in range(1000):\n    a = [i]\n    a.append(a)\na = None", &c, &err), ""), "after drop");
    CHECK(lang_gc_tracked_count() == low, "growth counted from the low point: collected (%zu, %zu)", lang_gc_tracked_count(), low);
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_cycle_collector_frees_dropped_cycles_and_keeps_live_ones(void)
{
    lang_session *s = lang_session_new();
    size_t base = live_after(s, "warm = [1, 2]");
    /* twenty self-referencing lists of 10**4 items each, dropped */
    size_t after = live_after(s, "for i in range(20):\n    big = list(range(10000))\n    big.append(big)\nbig = None");
    CHECK(after == base, "self-referencing lists: %zu containers live, %zu before", after, base);
    /* cycles through dicts, tuples, bound methods and closure scopes */
    after = live_after(s,
        "for i in range(50):\n"
        "    a = {}\n    a['a'] = a\n"
        "    b = [[]]\n    b[0].append((b, {'b': b}))\n"
        "    c = []\n    c.append(c.append)\n"
        "    keep_inside = lambda l: l.append(lambda: l)\n"
        "    d = []\n    keep_inside(d)\n"
        "a = b = c = d = keep_inside = None");
    CHECK(after == base, "mixed cycles: %zu containers live, %zu before", after, base);
    /* live cycles and closures survive every collection with their contents */
    live_after(s,
        "k = [1]\nk.append(k)\nkd = {'n': 7}\nkd['self'] = kd\n"
        "adder = (lambda n: lambda x: x + n)(41)\n"
        "box = []\nhold = lambda: box\nbox.append(hold)");
    after = live_after(s, "junk = []\njunk.append(junk)\njunk = None");
    lang_error err = {0};
    capture c;
    const char *got = cell(s, "k[0], k[1][1][0], kd['self']['self']['n'], adder(1), box[0]() is box, len(box)", &c, &err);
    CHECK(!strcmp(got, "(1, 1, 7, 42, True, 1)"), "live values after collections: %s", got);
    CHECK(after > base, "the live cycles are still tracked (%zu, %zu)", after, base);
    /* a collection that starts in the middle of a cell (the count doubled)
     * frees the dropped cycles and none of the values the loop still uses */
    got = cell(s, "total = 0\nfor i in range(40000):\n    a = [i]\n    a.append(a)\n    total += a[1][1][0]\ntotal", &c, &err);
    CHECK(!strcmp(got, "799980000"), "loop over cycles: %s", got);
    got = cell(s, "k[1][1][0], kd['self']['n'], adder(0)", &c, &err);
    CHECK(!strcmp(got, "(1, 7, 41)"), "after the loop: %s", got);
    after = live_after(s, "k = kd = adder = box = hold = a = _ = None");
    CHECK(after == base, "everything dropped: %zu containers live, %zu before", after, base);
    lang_error_clear(&err);
    lang_session_free(s);
    CHECK(lang_gc_tracked_count() < base, "the session's own containers are freed with it (%zu)", lang_gc_tracked_count());
}

/* def functions (their closure scopes and defaults), functools.partial and
 * exceptions sit in cycles too; each cycle, once dropped, is freed whole. */
static void test_cycle_collector_frees_functions_partials_and_exceptions(void)
{
    lang_session *s = lang_session_new();
    /* a recursive inner function returned: inner's closure scope holds inner */
    size_t base = live_after(s, "from functools import partial\n"
                                "def outer():\n    def inner(n): return inner(n-1) if n else 0\n    return inner");
    static const cell_case cases[] = {
        {"f = outer()\nf(5), f.__name__", "(0, 'inner')"},
        {"d = []\ndef h(x=d): return x\nd.append(h)\nh() is d, len(d)", "(True, 1)"},
        {"l = []\np = partial(l.append)\nl.append(p)\np", "functools.partial(<method list.append>)"},
        {"e = ValueError([])\ne.args[0].append(e)\ne", "ValueError([ValueError([...])])"},
        {"str(e)", "'[ValueError([...])]'"},
    };
    run_cases(s, cases, sizeof cases / sizeof *cases);
    size_t held = live_after(s, "1");
    CHECK(held > base, "the live cycles are tracked (%zu, %zu)", held, base);
    size_t after = live_after(s, "del f");
    CHECK(after < held, "dropping the recursive function frees its cycle (%zu, then %zu)", held, after);
    after = live_after(s, "d = h = l = p = e = None");
    CHECK(after == base, "every dropped cycle freed: %zu containers live, %zu before", after, base);
    /* many made in one cell, a collection due in the middle of it */
    after = live_after(s, "for i in range(3000):\n    f = outer()\n    f(3)\nf = None");
    CHECK(after == base, "functions made in a loop: %zu containers live, %zu before", after, base);
    lang_session_free(s);
}

/* An object type that holds a value joins the collector with visit and clear. */
typedef struct box { value *held; } box;
static int boxes_freed;
static void box_free(void *data) { box *b = data; lang_decref(b->held); free(b); boxes_freed++; }
static void box_visit(value *self, void (*on_value)(value *child, void *ctx), void (*on_env)(env *e, void *ctx), void *ctx)
{
    (void)on_env;
    box *b = self->u.obj.data;
    if (b->held) on_value(b->held, ctx);
}
static void box_clear(value *self)
{
    box *b = self->u.obj.data;
    value *h = b->held;
    b->held = NULL;
    lang_decref(h);
}
static const lang_type box_type = {.name = "Box", .free = box_free, .visit = box_visit, .clear = box_clear};

/* a list holding a Box that holds the list, bound to name */
static void bind_box_cycle(lang_session *s, const char *name)
{
    value *l = v_list(0);
    box *b = calloc(1, sizeof *b);
    b->held = lang_incref(l);
    lang_list_append(l, v_object(&box_type, b));
    lang_dict_set_str(s->I.globals, name, l);
}

static void test_cycle_collector_follows_objects_that_hold_values(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    bind_box_cycle(s, "kept");
    bind_box_cycle(s, "dropped");
    boxes_freed = 0;
    CHECK(!strcmp(cell(s, "kept, len(dropped)", &c, &err), "([<Box>], 1)"), "%s", cell(s, "kept", &c, &err));
    CHECK(boxes_freed == 0, "nothing freed while referenced (%d)", boxes_freed);
    CHECK(!strcmp(cell(s, "dropped = None", &c, &err), ""), "drop");
    lang_gc_collect();
    CHECK(boxes_freed == 1, "the dropped cycle through a Box is freed (%d)", boxes_freed);
    CHECK(!strcmp(cell(s, "kept[0], len(kept)", &c, &err), "(<Box>, 1)"), "the kept one is intact");
    lang_error_clear(&err);
    lang_session_free(s);
    CHECK(boxes_freed == 2, "the kept cycle goes with the session (%d)", boxes_freed);
}

/* Interrupts: the first output of the cell starts a timer that interrupts it
 * while the builtin loop that follows is running. */
static void *interrupt_later(void *arg)
{
    (void)arg;
    usleep(30 * 1000);
    lang_interrupt();
    return NULL;
}

static pthread_t interrupter;
static bool interrupter_started;

static void start_interrupter(void *ctx, const char *name, const char *text)
{
    (void)ctx; (void)name; (void)text;
    if (!interrupter_started && !pthread_create(&interrupter, NULL, interrupt_later, NULL)) interrupter_started = true;
}

static void test_long_builtin_loops_stop_on_interrupt(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    CHECK(!strcmp(cell(s, "xs = list(range(2 * 10**6))\nws = ['w'] * 10**6\nlen(xs)", &c, &err), "2000000"), "setup");
    static const char *const loops[] = {
        "sorted(xs, reverse=True)", "sum(xs * 10)", "''.join(ws * 20)", "list(range(10**7))",
        "xs * 20", "max(xs * 10)", "any([0] * 10**7)", "list(enumerate(xs * 10))",
        "dict(zip(xs, xs))",
    };
    for (size_t i = 0; i < sizeof loops / sizeof *loops; i++) {
        char code[256];
        snprintf(code, sizeof code, "print('go')\nr = %s", loops[i]);
        lang_output out = {NULL, start_interrupter, NULL, NULL, NULL, NULL};
        cJSON *result = NULL;
        lang_error_clear(&err);
        interrupter_started = false;
        int rc = lang_execute(s, code, &out, &result, &err);
        if (interrupter_started) pthread_join(interrupter, NULL);
        cJSON_Delete(result);
        CHECK(rc != 0 && err.ename && !strcmp(err.ename, "KeyboardInterrupt"), "%s: rc %d, %s", loops[i], rc, err.ename ? err.ename : "no error");
        CHECK(!strcmp(cell(s, "len(xs), xs[-1]", &c, &err), "(2000000, 1999999)"), "state kept after %s", loops[i]);
    }
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_to_tokens_truncates_to_n_ctx(void)
{
    lang_session *s = lang_session_new();
    static const cell_case cases[] = {
        {"model = load('tests/fixtures/tiny-gpt2')\nmodel.cfg.n_ctx", "128"},
        {"long = 'a b ' * 200\nfull = model.to_tokens(long, truncate=False)\nfull.shape[1] > 128", "True"},
        {"model.to_tokens(long).shape, model.to_tokens(long, truncate=True).shape", "(torch.Size([1, 128]), torch.Size([1, 128]))"},
        {"bool((model.to_tokens(long)[0] == full[0, :128]).all())", "True"},
        {"int(model.to_tokens(long)[0, 0]) == int(full[0, 0]) == 50256", "True"},
        {"model.to_tokens([long, 'hi']).shape, model.to_tokens(['hi', 'a b']).shape", "(torch.Size([2, 128]), torch.Size([2, 3]))"},
        {"model.to_tokens(long, prepend_bos=False).shape", "torch.Size([1, 128])"},
        {"model.to_tokens(long, truncate='yes').shape", "torch.Size([1, 128])"},
    };
    run_cases(s, cases, sizeof cases / sizeof *cases);
    lang_session_free(s);
}

int main(void)
{
    RUN(test_nested_and_cyclic_containers_never_overflow_the_c_stack);
    RUN(test_no_use_after_free_when_values_change_under_a_builtin);
    RUN(test_c_library_contracts_are_checked);
    RUN(test_cycle_collector_frees_dropped_cycles_and_keeps_live_ones);
    RUN(test_cycle_collector_frees_functions_partials_and_exceptions);
    RUN(test_cells_collect_when_the_tracked_count_grew);
    RUN(test_cycle_collector_follows_objects_that_hold_values);
    RUN(test_long_builtin_loops_stop_on_interrupt);
    RUN(test_to_tokens_truncates_to_n_ctx);
    return harness_summary();
}
