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

int main(void)
{
    RUN(test_the_tensor_kind_is_registered_with_the_core);
    RUN(test_core_operations_on_tensors_go_through_the_hooks);
    return harness_summary();
}
