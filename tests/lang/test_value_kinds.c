/* tests/lang/test_value_kinds.c — the core reaches value kinds outside its own
 * (tensors) only through the lang_type registered for them: type lookup,
 * operators, comparison, indexing, truth, len, `in`, format, repr, str and
 * iteration all go through the registered hooks. */
#include <string.h>

#include "cell_cases.h"

static void test_the_tensor_kind_is_registered_with_the_core(void)
{
    lang_session *s = lang_session_new();   /* installs the builtins, which register the kind */
    value *t = v_tensor(lens_tensor_new(LENS_F32, 1, (int64_t[]){2}));
    CHECK(t && lang_type_of(t) == &lang_tensor_kind_type, "a tensor's type is the registered one");
    CHECK(!strcmp(lang_type_name(t), "Tensor"), "%s", lang_type_name(t));
    value *i = v_int(1);
    CHECK(lang_type_of(i) == NULL, "the core's own values have no lang_type");
    lang_decref(i);
    lang_decref(t);
    lang_session_free(s);
}

static void test_core_operations_on_tensors_go_through_the_hooks(void)
{
    static const cell_case cases[] = {
        {"t = tensor([1, 2, 3])\n(t + 1).tolist(), (1 + t).tolist(), (-t).tolist()", "([2, 3, 4], [2, 3, 4], [-1, -2, -3])"},
        {"t[t == 2].tolist(), t[2 < t].tolist(), t[t != 1].tolist()", "([2], [3], [2, 3])"},
        {"2 in t, 5 in t, 5 not in t", "(True, False, True)"},
        {"t[1].item(), len(t)", "(2, 3)"},
        {"t[0] = 7\nt.tolist()", "[7, 2, 3]"},
        {"bool(tensor([0])), bool(tensor(3))", "(False, True)"},
        {"bool(t)", "ERROR RuntimeError: Boolean value of Tensor with more than one value is ambiguous"},
        {"f'{tensor(2.5)}|{tensor([1.5]):.2f}|{tensor(7):>3}'", "'2.5|1.50|  7'"},
        {"[x.item() for x in t]", "[7, 2, 3]"},
        {"a, b, c = t\nb.item()", "2"},
        {"len(tensor(1.0))", "ERROR TypeError: object of type 'Tensor' has no len()"},
        {"repr(tensor([1, 2])) == str(tensor([1, 2]))", "True"},
        {"'shape' in dir(t)", "True"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_type_names_every_kind_as_python_does(void)
{
    static const cell_case cases[] = {
        {"def f():\n    pass\n[type(v).__name__ for v in [None, True, 1, 1.5, 'a', [], (), {}, range(2), ...]]",
         "['NoneType', 'bool', 'int', 'float', 'str', 'list', 'tuple', 'dict', 'range', 'ellipsis']"},
        {"[type(v).__name__ for v in [f, lambda: 0, print, [].append, tensor([1]), tensor([1]).shape]]",
         "['function', 'function', 'builtin_function_or_method', 'builtin_function_or_method', 'Tensor', 'Size']"},
        {"import torch\ntype(torch).__name__, type(ValueError('x')).__name__", "('module', 'ValueError')"},
        {"type(1), type(1) == type(2), type(1) == type(1.0), type(1)('41') + 1", "(<class 'int'>, True, False, 42)"},
        {"type(type(1)).__name__", "'type'"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_isinstance_knows_builtin_torch_and_transformerlens_classes(void)
{
    static const cell_case cases[] = {
        {"import torch\nfrom transformer_lens import ActivationCache, HookedTransformer\nt = torch.zeros(2, 3)\n"
         "isinstance(t, torch.Tensor), isinstance(t.shape, tuple), isinstance(True, int), isinstance(1, (str, float))",
         "(True, True, True, False)"},
        {"isinstance(t, ActivationCache), isinstance(t, HookedTransformer), isinstance(t, type(t)), isinstance(3, type(t))",
         "(False, False, True, False)"},
        {"model = HookedTransformer.from_pretrained('tests/fixtures/tiny-gpt2')\n_, cache = model.run_with_cache('hi there')\n"
         "isinstance(cache, ActivationCache), isinstance(model, HookedTransformer), isinstance(model, ActivationCache), "
         "type(cache).__name__, type(model).__name__",
         "(True, True, False, 'ActivationCache', 'HookedTransformer')"},
        {"isinstance(1, 5)", "ERROR TypeError: isinstance() arg 2 must be a type or tuple of types, not int"},
        {NULL, NULL}};
    run_cases(cases);
}

static void test_shapes_are_torch_sizes_that_act_as_tuples(void)
{
    static const cell_case cases[] = {
        {"s = zeros(2, 3).shape\ns", "torch.Size([2, 3])"},
        {"str(s), zeros(4).shape, tensor(1.0).shape, s[1:]", "('torch.Size([2, 3])', torch.Size([4]), torch.Size([]), torch.Size([3]))"},
        {"s[0], s[-1], len(s), list(s), tuple(s), s == (2, 3), s != (2, 4), (2, 3) == s", "(2, 3, 2, [2, 3], (2, 3), True, True, True)"},
        {"a, b = s\n[a, b], [d for d in s], s + (4,), zeros(*s).shape, zeros(s).shape",
         "([2, 3], [2, 3], (2, 3, 4), torch.Size([2, 3]), torch.Size([2, 3]))"},
        {"d = {s: 1}\nd[(2, 3)], s.index(3), s.count(2)", "(1, 1, 1)"},
        {"zeros(2, 3).size(), zeros(2, 3).size(1)", "(torch.Size([2, 3]), 3)"},
        {"topk(tensor([1.0, 5.0, 3.0]), 2).values.shape", "torch.Size([2])"},
        {NULL, NULL}};
    run_cases(cases);
}

int main(void)
{
    RUN(test_the_tensor_kind_is_registered_with_the_core);
    RUN(test_core_operations_on_tensors_go_through_the_hooks);
    RUN(test_type_names_every_kind_as_python_does);
    RUN(test_isinstance_knows_builtin_torch_and_transformerlens_classes);
    RUN(test_shapes_are_torch_sizes_that_act_as_tuples);
    return harness_summary();
}
