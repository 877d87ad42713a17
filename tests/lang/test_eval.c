/* tests/lang/test_eval.c — evaluation: values and Python semantics, tensors,
 * errors with positions that keep earlier state, interrupts from another
 * thread, completion and inspection, and the seed notebook's first cells on
 * the tiny fixture model against TransformerLens's numbers. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "lang_test_util.h"
#include "lens/safetensors.h"

static void test_cells_give_python_values(void)
{
    static const struct { const char *code, *want; } cases[] = {
        {"1 + 2 * 3 ** 2", "19"}, {"-2 ** 2", "-4"}, {"7 // -2, 7 % -2, -7 // 2", "(-4, -1, -4)"},
        {"1 / 4", "0.25"}, {"0.1 + 0.2", "0.30000000000000004"}, {"1e20", "1e+20"}, {"2.0", "2.0"},
        {"1e-5", "1e-05"}, {"1_000_000", "1000000"}, {"0xff", "255"}, {"True + True", "2"},
        {"1 < 2 < 3, 1 < 3 < 2", "(True, False)"}, {"3 in [1, 2, 3], 'b' not in 'abc'", "(True, False)"},
        {"None is None", "True"}, {"not 0 or 5", "True"}, {"0 or 5", "5"}, {"0 and 5", "0"},
        {"'a' if 0 else 'b'", "'b'"}, {"[1, 2] + [3]", "[1, 2, 3]"}, {"'ab' * 3", "'ababab'"},
        {"[(1, 'x')] * 2", "[(1, 'x'), (1, 'x')]"}, {"(1,)", "(1,)"}, {"()", "()"},
        {"{'a': 1, 'b': [2]}", "{'a': 1, 'b': [2]}"}, {"\"it's\"", "\"it's\""}, {"'a\\nb'", "'a\\nb'"},
        {"[i * j for i in range(3) for j in range(i) if j]", "[2]"},
        {"{k: v for k, v in [('a', 1), ('b', 2)]}", "{'a': 1, 'b': 2}"},
        {"[1, 2, 3, 4, 5][::-2]", "[5, 3, 1]"}, {"'hello'[1:-1]", "'ell'"}, {"(1, 2, 3)[-1]", "3"},
        {"'héllo'[1]", "'é'"}, {"len('héllo')", "5"}, {"range(10)[2:8:3]", "range(2, 8, 3)"},
        {"list(range(5, 0, -2))", "[5, 3, 1]"}, {"sum([1, 2, 3], 10)", "16"}, {"max([3, 1, 2])", "3"},
        {"min(3, 1, 2)", "1"}, {"max(['a', 'bbb', 'cc'], key=len)", "'bbb'"},
        {"sorted([3, 1, 2], reverse=True)", "[3, 2, 1]"}, {"sorted(['b', 'a'], key=lambda s: s)", "['a', 'b']"},
        {"list(enumerate('ab', 1))", "[(1, 'a'), (2, 'b')]"}, {"list(zip([1, 2], 'ab'))", "[(1, 'a'), (2, 'b')]"},
        {"round(2.5), round(3.5), round(2.675, 2)", "(2, 4, 2.67)"}, {"abs(-3), abs(-2.5)", "(3, 2.5)"},
        {"int('42') + int(3.9) + int(-3.9)", "42"}, {"float('1.5')", "1.5"}, {"str(1.0) + str(None)", "'1.0None'"},
        {"'{} and {name}'.format(1, name='b')", "'1 and b'"}, {"'{0:>5}|{1:.3f}|{2:,}'.format('x', 3.14159, 1234567)", "'    x|3.142|1,234,567'"},
        {"'{:08.3f}'.format(-3.14159)", "'-003.142'"}, {"'{:+d} {:x} {:%}'.format(5, 255, 0.25)", "'+5 ff 25.000000%'"},
        {"x = 3.14159\nf'{x:.2f} {x!r} {\"a\":>3} {{}}'", "'3.14 3.14159   a {}'"},
        {"n = 5\nf'{n=}'", "'n=5'"}, {"w = 6\nf'{3.14159:.{w}f}'", "'3.141590'"},
        {"'%s is %d (%.2f)' % ('x', 3, 2.5)", "'x is 3 (2.50)'"},
        {"' a b  c '.split()", "['a', 'b', 'c']"}, {"'a,b,,c'.split(',')", "['a', 'b', '', 'c']"},
        {"'a b c'.rsplit(' ', 1)", "['a b', 'c']"}, {"'-'.join(['a', 'b'])", "'a-b'"},
        {"'  x '.strip() + '|' + 'xxhixx'.strip('x')", "'x|hi'"}, {"'aaa'.replace('a', 'b', 2)", "'bba'"},
        {"'Hi'.upper() + 'Hi'.lower()", "'HIhi'"}, {"'abc'.startswith('ab'), 'abc'.endswith(('x', 'c'))", "(True, True)"},
        {"xs = [1]\nxs.append(2)\nxs.extend([3, 4])\nxs.pop(0), xs", "(1, [2, 3, 4])"},
        {"[1, 2, 2].count(2), [1, 2].index(2)", "(2, 1)"},
        {"d = {'a': 1}\nd['b'] = 2\nd.get('c', 0), list(d.keys()), list(d.values()), d.items()", "(0, ['a', 'b'], [1, 2], [('a', 1), ('b', 2)])"},
        {"a, b = 1, 2\na, b = b, a\na, b", "(2, 1)"}, {"a, *rest = [1, 2, 3]\nrest", "[2, 3]"},
        {"x = [1, 2, 3]\nx[1] = 9\nx[0] += 1\nx", "[2, 9, 3]"}, {"x = [1, 2, 3, 4]\nx[1:3] = [7]\nx", "[1, 7, 4]"},
        {"x = [1, 2, 3]\ndel x[0]\nx", "[2, 3]"},
        {"t = 0\nfor i in range(10):\n    if i == 7:\n        break\n    if i % 2:\n        continue\n    t += i\nt", "12"},
        {"i = 0\nwhile i < 5:\n    i += 2\nelse:\n    i = -i\ni", "-6"},
        {"for i in []:\n    pass\nelse:\n    r = 'done'\nr", "'done'"},
        {"f = lambda x, y=10: x * y\nf(2), f(2, y=3)", "(20, 6)"},
        {"x = 1\nx", "1"}, {"x = 1", ""}, {"print('no result')", ""}, {"None", ""},
        {"type(1.5)", "<class 'float'>"}, {"isinstance(True, int)", "True"},
        {"[x for x in 'ab'], x if False else 1", "(['a', 'b'], 1)"},
        {"2 ** -1, 10 ** 18", "(0.5, 1000000000000000000)"}, {"divmod(-7, 2)", "(-4, 1)"},
        {NULL, NULL}};
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    for (int i = 0; cases[i].code; i++) {
        const char *got = cell(s, cases[i].code, &c, &err);
        CHECK(!strcmp(got, cases[i].want), "%s\n    got  %s\n    want %s", cases[i].code, got, cases[i].want);
    }
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_print_writes_to_stdout(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    cell(s, "print('a', 1, 2.5, [1], sep='-', end='!')\nprint()\nprint(None, True)", &c, &err);
    CHECK(!strcmp(c.out, "a-1-2.5-[1]!\nNone True\n"), "got %s", c.out);
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_tensors_follow_torch(void)
{
    static const struct { const char *code, *want; } cases[] = {
        {"t = arange(12).reshape(3, 4)\nt.shape", "torch.Size([3, 4])"},
        {"t[:, -1].tolist()", "[3, 7, 11]"}, {"t[1].tolist()", "[4, 5, 6, 7]"}, {"t[-1, -2].item()", "10"},
        {"t[::2, 1:3].tolist()", "[[1, 2], [9, 10]]"}, {"t[None, 0].shape", "torch.Size([1, 4])"}, {"t[..., 0].tolist()", "[0, 4, 8]"},
        {"t[[2, 0]].tolist()", "[[8, 9, 10, 11], [0, 1, 2, 3]]"}, {"t[:, tensor([1, 1])].tolist()", "[[1, 1], [5, 5], [9, 9]]"},
        {"(t + 1).tolist()[0]", "[1, 2, 3, 4]"}, {"(t * 2.5)[0, 1].item()", "2.5"}, {"(t / 2).dtype", "torch.float32"},
        {"(t - tensor([1, 0, 0, 0]))[0].tolist()", "[-1, 1, 2, 3]"}, {"(t[:, :1] + t[0]).shape", "torch.Size([3, 4])"},
        {"(-t)[1, 1].item(), (2 ** t)[0, 3].item()", "(-5, 8)"}, {"(t > 5).sum().item()", "6"},
        {"t.sum().item(), t.sum(dim=0).tolist(), t.sum(-1, keepdim=True).shape", "(66, [12, 15, 18, 21], torch.Size([3, 1]))"},
        {"t.float().mean().item()", "5.5"}, {"t.max().item(), t.argmax().item()", "(11, 11)"},
        {"t.max(dim=1).values.tolist(), t.max(dim=1).indices.tolist()", "([3, 7, 11], [3, 3, 3])"},
        {"t.T.shape, t.transpose(0, 1).shape, t.permute(1, 0).shape", "(torch.Size([4, 3]), torch.Size([4, 3]), torch.Size([4, 3]))"},
        {"t.flatten().shape, t.unsqueeze(0).shape, t.unsqueeze(0).squeeze().shape", "(torch.Size([12]), torch.Size([1, 3, 4]), torch.Size([3, 4]))"},
        {"t.view(-1, 6).shape, t.ndim, t.numel()", "(torch.Size([2, 6]), 2, 12)"},
        {"arange(9).reshape(3, 3).diagonal().tolist(), arange(9).reshape(3, 3).diagonal(-1).tolist()", "([0, 4, 8], [3, 7])"},
        {"r = topk(tensor([1.0, 5.0, 3.0]), 2)\nr.values.tolist(), r.indices.tolist()", "([5.0, 3.0], [1, 2])"},
        {"tensor([[1.0, 2.0]]).softmax(-1).sum().item()", "1.0"},
        {"(tensor([[1.0, 2.0], [3.0, 4.0]]) @ tensor([[1.0], [1.0]])).tolist()", "[[3.0], [7.0]]"},
        {"einsum('bd,bd->b', tensor([[1.0, 2.0], [3.0, 4.0]]), tensor([[1.0, 1.0], [2.0, 0.0]])).tolist()", "[3.0, 6.0]"},
        {"einsum('batch d_model, batch d_model -> ', tensor([[1.0, 2.0], [3.0, 4.0]]), tensor([[1.0, 1.0], [2.0, 0.0]])).item()", "9.0"},
        {"cat([arange(2), arange(3)]).tolist(), stack([arange(2), arange(2)]).shape", "([0, 1, 0, 1, 2], torch.Size([2, 2]))"},
        {"zeros(2, 3).shape, ones((2,)).tolist(), zeros(2, dtype=long).dtype", "(torch.Size([2, 3]), [1.0, 1.0], torch.int64)"},
        {"randint(0, 10, (3,), seed=1).shape", "torch.Size([3])"}, {"tensor(3.5).item()", "3.5"},
        {"u = zeros(2, 3)\nu[0, 1] = 5\nu[1] = tensor([1.0, 2.0, 3.0])\nu.tolist()", "[[0.0, 5.0, 0.0], [1.0, 2.0, 3.0]]"},
        {"f'{tensor(2.5):.2f}'", "'2.50'"}, {"float(tensor([1.5])) + int(tensor(2))", "3.5"},
        {"len(t), [row.tolist() for row in t][0]", "(3, [0, 1, 2, 3])"}, {"abs(tensor([-1, 2])).tolist()", "[1, 2]"},
        {"tensor([1, 2]).float().tolist()", "[1.0, 2.0]"}, {"t.cpu().detach().numpy().shape", "torch.Size([3, 4])"},
        /* masks are bool tensors, printed and typed as torch (values checked against torch 2) */
        {"(t > 5)[1], t[t % 5 == 0].tolist(), type(t), (t > 5).dtype",
         "(tensor([False, False,  True,  True]), [0, 5, 10], <class 'torch.Tensor'>, torch.bool)"},
        {"cat([t[0] > 1, t[1] < 6]).tolist(), t[:, [True, False, False, True]].tolist()",
         "([False, False, True, True, True, True, False, False], [[0, 3], [4, 7], [8, 11]])"},
        {"t[tensor([1, 0])].tolist()", "[[4, 5, 6, 7], [0, 1, 2, 3]]"},
        {"((t > 2) & (t < 9)).sum().item(), zeros(2, dtype=torch.bool)", "(6, tensor([False, False]))"},
        {NULL, NULL}};
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    for (int i = 0; cases[i].code; i++) {
        const char *got = cell(s, cases[i].code, &c, &err);
        CHECK(!strcmp(got, cases[i].want), "%s\n    got  %s\n    want %s", cases[i].code, got, cases[i].want);
    }
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_errors_name_position_and_keep_state(void)
{
    static const struct { const char *code, *ename; int line, col; } cases[] = {
        {"a = 1\nb = a + undefined_name\n", "NameError", 2, 9},
        {"x = 1 / 0\n", "ZeroDivisionError", 1, 7},
        {"x = [1, 2][5]\n", "IndexError", 1, 11},
        {"d = {}\nd['k']\n", "KeyError", 2, 2},
        {"'a' + 1\n", "TypeError", 1, 5},
        {"int('x')\n", "ValueError", 1, 4},
        {"(1).foo\n", "AttributeError", 1, 4},
        {"import pandas as pd\n", "ImportError", 1, 8},
        {"for i in range(3):\n    y = i\n    z = y / (i - 2)\n", "ZeroDivisionError", 3, 11},
        {"f = lambda n: f(n)\nf(1)\n", "RecursionError", 2, 2},
        {"tensor([1.0, 2.0]) + tensor([1.0, 2.0, 3.0])\n", "RuntimeError", 1, 20},
        {"zeros(2, 3)[5]\n", "IndexError", 1, 12},
        {"x = = 2\n", "SyntaxError", 1, 5},
        {NULL, NULL, 0, 0}};
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    for (int i = 0; cases[i].code; i++) {
        const char *got = cell(s, cases[i].code, &c, &err);
        CHECK(!strncmp(got, "ERROR", 5), "%s: no error (%s)", cases[i].code, got);
        CHECK(!strcmp(err.ename, cases[i].ename), "%s: %s, want %s", cases[i].code, err.ename, cases[i].ename);
        char where[64];
        snprintf(where, sizeof where, "  Cell line %d, column %d", cases[i].line, cases[i].col);
        CHECK(err.n_traceback >= 4 && !strcmp(err.traceback[0], where), "%s: traceback[0] '%s', want '%s'",
              cases[i].code, err.n_traceback ? err.traceback[0] : "", where);
        if (err.n_traceback >= 4) {
            const char *caret = err.traceback[2];
            CHECK(caret[strlen(caret) - 1] == '^', "caret line '%s'", caret);
            char last[4096];
            snprintf(last, sizeof last, "%s: %s", err.ename, err.evalue);
            CHECK(!strcmp(err.traceback[err.n_traceback - 1], last), "last line '%s'", err.traceback[err.n_traceback - 1]);
        }
    }
    /* state before the error survives */
    cell(s, "kept = 41\nkept = kept + 1\nboom = 1 / 0\nnever = 1", &c, &err);
    CHECK(!strcmp(cell(s, "kept", &c, &err), "42"), "kept lost");
    CHECK(!strcmp(cell(s, "never", &c, &err), "ERROR NameError: name 'never' is not defined"), "never assigned");
    CHECK(!strcmp(cell(s, "y", &c, &err), "2"), "loop variable before the error: %s", cell(s, "y", &c, &err));
    lang_error_clear(&err);
    lang_session_free(s);
}

static void *interrupter(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    lang_interrupt();
    return NULL;
}

static void test_interrupt_stops_a_long_loop(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    pthread_t th;
    pthread_create(&th, NULL, interrupter, NULL);
    const char *got = cell(s, "n = 0\nwhile True:\n    n += 1\n", &c, &err);
    pthread_join(th, NULL);
    CHECK(!strcmp(err.ename, "KeyboardInterrupt"), "got %s", got);
    CHECK(strcmp(cell(s, "n > 0", &c, &err), "True") == 0, "n not kept");
    pthread_create(&th, NULL, interrupter, NULL);
    got = cell(s, "xs = [i for i in range(10**12)]", &c, &err);
    pthread_join(th, NULL);
    CHECK(!strcmp(err.ename, "KeyboardInterrupt") || !strcmp(err.ename, "MemoryError"), "comprehension: %s", got);
    CHECK(!strcmp(cell(s, "1 + 1", &c, &err), "2"), "next cell runs");
    lang_error_clear(&err);
    lang_session_free(s);
}

static int has(char **m, int n, const char *s)
{
    for (int i = 0; i < n; i++) if (!strcmp(m[i], s)) return 1;
    return 0;
}

static void free_matches(char **m, int n)
{
    for (int i = 0; i < n; i++) free(m[i]);
    free(m);
}

static void test_completion_and_inspection(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    cell(s, "my_var = 1\nmy_list = [1]\nt = zeros(2)\nname = 'abc'", &c, &err);
    char **m;
    int st, en;
    int n = lang_complete(s, "my_", 3, &m, &st, &en);
    CHECK(n == 2 && has(m, n, "my_var") && has(m, n, "my_list") && st == 0 && en == 3, "names: %d", n);
    free_matches(m, n);
    n = lang_complete(s, "x = my_list.ap", 14, &m, &st, &en);
    CHECK(n == 1 && has(m, n, "append") && st == 12, "list attrs: %d", n);
    free_matches(m, n);
    n = lang_complete(s, "t.su", 4, &m, &st, &en);
    CHECK(has(m, n, "sum") && !has(m, n, "shape"), "tensor attrs");
    free_matches(m, n);
    n = lang_complete(s, "t.", 2, &m, &st, &en);
    CHECK(has(m, n, "shape") && has(m, n, "topk") && has(m, n, "diagonal"), "tensor attrs all: %d", n);
    free_matches(m, n);
    n = lang_complete(s, "name.up", 7, &m, &st, &en);
    CHECK(n == 1 && has(m, n, "upper"), "str attrs");
    free_matches(m, n);
    n = lang_complete(s, "sorted(my_list, rev", 19, &m, &st, &en);
    CHECK(has(m, n, "reverse="), "keyword args: %d", n);
    free_matches(m, n);
    /* positional-only parameters are not offered as keywords (len(obj, /)) */
    n = lang_complete(s, "len(o", 5, &m, &st, &en);
    CHECK(!has(m, n, "obj="), "positional-only: %d", n);
    free_matches(m, n);
    n = lang_complete(s, "t.sum(ke", 8, &m, &st, &en);
    CHECK(has(m, n, "keepdim="), "keyword-only and optional: %d", n);
    free_matches(m, n);
    n = lang_complete(s, "ein", 3, &m, &st, &en);
    CHECK(has(m, n, "einsum"), "builtins");
    free_matches(m, n);
    /* cursor counts code points */
    n = lang_complete(s, "s = 'é'; my_v", 13, &m, &st, &en);
    CHECK(n == 1 && has(m, n, "my_var") && st == 9 && en == 13, "unicode cursor: n=%d st=%d", n, st);
    free_matches(m, n);
    /* never runs calls */
    n = lang_complete(s, "print('side effect').x", 22, &m, &st, &en);
    CHECK(n == 0 && c.n == 0, "completion ran a call");
    free_matches(m, n);

    cJSON *b = lang_inspect(s, "einsum(", 7, 0);
    const cJSON *tp = b ? cJSON_GetObjectItem(b, "text/plain") : NULL;
    CHECK(tp && strstr(tp->valuestring, "einsum(equation, *operands)"), "inspect einsum");
    cJSON_Delete(b);
    b = lang_inspect(s, "t.topk", 4, 0);
    tp = b ? cJSON_GetObjectItem(b, "text/plain") : NULL;
    CHECK(tp && strstr(tp->valuestring, "Tensor.topk(k"), "inspect method");
    cJSON_Delete(b);
    b = lang_inspect(s, "my_var", 2, 0);
    tp = b ? cJSON_GetObjectItem(b, "text/plain") : NULL;
    CHECK(tp && strstr(tp->valuestring, "int"), "inspect variable");
    cJSON_Delete(b);
    CHECK(lang_inspect(s, "nothing_here", 3, 0) == NULL, "unknown name");

    cell(s, "len?", &c, &err);
    CHECK(strstr(c.page, "len(obj, /)") != NULL, "x? pages help: '%s'", c.page);
    cell(s, "help(sorted)", &c, &err);
    CHECK(strstr(c.page, "sorted(iterable") != NULL, "help() pages");
    lang_error_clear(&err);
    lang_session_free(s);
}

static void test_save_and_load_tensors(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    const char *got = cell(s, "save('build/lang_test_save.safetensors', x=arange(3), y=ones(2), meta={'a': [1, 2]}, n=5)\n"
                              "d = load_tensors('build/lang_test_save.safetensors')\n"
                              "d['x'].tolist(), d['y'].tolist(), d['meta'], d['n']", &c, &err);
    CHECK(!strcmp(got, "([0, 1, 2], [1.0, 1.0], {'a': [1, 2]}, 5)"), "got %s", got);
    got = cell(s, "load_tensors('build/does-not-exist.safetensors')", &c, &err);
    CHECK(!strcmp(err.ename, "OSError"), "missing file: %s", got);
    lang_error_clear(&err);
    lang_session_free(s);
}

/* The seed notebook's first cells on the fixture model, up to the logit difference. */
static void test_seed_notebook_logit_difference_matches_transformerlens(void)
{
    lang_session *s = lang_session_new();
    lang_error err = {0};
    capture c;
    const char *got = cell(s,
        "model = load('tests/fixtures/tiny-gpt2', center_unembed=True, center_writing_weights=True, fold_ln=True)\n"
        "ref = load_tensors('tests/fixtures/tiny-gpt2/reference.safetensors')\n"
        "prompts = [t.format(name=n) for n in ['John', 'Mary'] for t in\n"
        "           ['So {name} is a really great friend, isn\\'t', 'So {name} is such a good cook, isn\\'t']]\n"
        "answers = [(' he', ' she')] * 2 + [(' she', ' he')] * 2\n"
        "answer_tokens = model.to_single_token(answers)\n"
        "tokens = model.to_tokens(prompts, prepend_bos=True)\n"
        "original_logits, cache = model.run_with_cache(tokens)\n"
        "final = original_logits[:, -1, :]\n"
        "answer_logits = final.gather(-1, answer_tokens)\n"
        "per_prompt = answer_logits[:, 0] - answer_logits[:, 1]\n"
        "dirs = model.tokens_to_residual_directions(answer_tokens)\n"
        "logit_diff_directions = dirs[:, 0] - dirs[:, 1]\n"
        "(tokens == ref['tokens']).all().item(), answer_tokens.shape, cache['resid_post', -1].shape", &c, &err);
    CHECK(!strcmp(got, "(True, torch.Size([4, 2]), torch.Size([4, 11, 64]))"), "got %s", got);
    lang_error_clear(&err);
    got = cell(s, "allclose(per_prompt, ref['default.logit_diff_per_prompt'], rtol=1e-4, atol=1e-5), "
                  "allclose(logit_diff_directions, ref['default.logit_diff_directions'], rtol=1e-4, atol=1e-5), "
                  "allclose(original_logits[:, -1], ref['default.logits_last'], rtol=1e-4, atol=1e-4)", &c, &err);
    CHECK(!strcmp(got, "(True, True, True)"), "got %s", got);
    /* the same numbers read directly, 1e-4 relative */
    got = cell(s, "[round(float(x), 6) for x in per_prompt]", &c, &err);
    lens_error le;
    lens_safetensors *st = lens_safetensors_open("tests/fixtures/tiny-gpt2/reference.safetensors", &le);
    CHECK(st != NULL, "%s", le.msg);
    if (st) {
        const lens_st_entry *e = lens_safetensors_find(st, "default.logit_diff_per_prompt");
        float want[4];
        lens_st_entry_read_f32(e, want, 4, &le);
        float have[4];
        CHECK(sscanf(got, "[%f, %f, %f, %f]", &have[0], &have[1], &have[2], &have[3]) == 4, "got %s", got);
        CHECK_CLOSE(have, want, 4, 1e-4, "logit_diff_per_prompt");
        lens_safetensors_close(st);
    }
    got = cell(s, "einsum('batch d_model, batch d_model -> batch', cache['resid_post', -1][:, -1, :], logit_diff_directions).shape", &c, &err);
    CHECK(!strcmp(got, "torch.Size([4])"), "got %s", got);
    got = cell(s, "model.to_str_tokens(prompts[0])[:3], model.cfg.n_heads, 'blocks.0.hook_resid_pre' in cache", &c, &err);
    CHECK(!strcmp(got, "(['<|endoftext|>', 'So', ' John'], 4, True)"), "got %s", got);
    got = cell(s, "model.to_single_token(' John is')", &c, &err);
    CHECK(!strcmp(err.ename, "ValueError"), "multi-token string: %s", got);
    lang_error_clear(&err);
    lang_session_free(s);
}

int main(void)
{
    RUN(test_cells_give_python_values);
    RUN(test_print_writes_to_stdout);
    RUN(test_tensors_follow_torch);
    RUN(test_errors_name_position_and_keep_state);
    RUN(test_interrupt_stops_a_long_loop);
    RUN(test_completion_and_inspection);
    RUN(test_save_and_load_tensors);
    RUN(test_seed_notebook_logit_difference_matches_transformerlens);
    return harness_summary();
}
