"""The peer suite every Jupyter kernel should pass (jupyter_kernel_test), for lens.

Every attribute is filled so that no test of the suite is skipped. The module is
imported (not the class) so pytest collects only the lens subclass.
"""
import unittest

import jupyter_kernel_test as jkt


class LensKernelTests(jkt.KernelTests):
    kernel_name = "lens"
    language_name = "lens"
    file_extension = ".lens"

    code_hello_world = 'print("hello, world")'
    code_stderr = 'print("to stderr", file="stderr")'

    completion_samples = [
        {"text": "pri", "matches": {"print"}},
        {"text": "zzz_no_such_na", "matches": set()},
    ]

    complete_code_samples = ["1", 'print("hello, world")', "x = [1, 2, 3]"]
    incomplete_code_samples = ["for i in range(3):", "x = [1,\n2,", 'print("a",']
    invalid_code_samples = ["x = = 1", "1 +* 2"]

    code_page_something = "help(len)"

    code_generate_error = "undefined_name_here"

    code_execute_result = [
        {"code": "1+2+3", "result": "6"},
        {"code": "2*3*4", "result": "24"},
        {"code": '"ab" + "cd"', "result": "'abcd'"},
    ]
    code_display_data = [{"code": 'display("shown")', "mime": "text/plain"}]

    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "1?2*"

    code_inspect_sample = "print"

    code_clear_output = "clear_output()"


if __name__ == "__main__":
    unittest.main()
