"""Functions and statements agree with CPython: one program, valid Python,
runs under `build/lens run` and under the python3 running this test, and both
print the same lines (the program has no bare expression statements, whose
values `lens run` prints). A failing call prints a traceback that names the line
inside each function and the call site."""
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LENS_BUILD", "build")
LENS = os.path.join(REPO, BUILD, "lens") if not os.path.isabs(BUILD) else os.path.join(BUILD, "lens")

PROGRAM = '''
def f(a, b=2, *args, k=3, **kw):
    """Returns its arguments."""
    return a, b, args, k, sorted(kw.items())

print(f(1), f(1, 5, 6, 7, k=0, z=9, y=8), f(b=1, a=0))

def counter():
    n = 0
    def inc(step=1):
        nonlocal n
        n += step
        return n
    return inc

c = counter()
_ = c()
_ = c(5)
print(c(), counter()())

total = 0
def add_to_total(x):
    global total
    total += x
for i in range(10):
    add_to_total(i)
print(total)

adders = [lambda x, i=i: x + i for i in range(4)]
late = [lambda: i for i in range(4)]
print([a(10) for a in adders], [l() for l in late])

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
print([fib(n) for n in range(15)])

def classify(x):
    try:
        if x == 0:
            raise ValueError("zero")
        r = 10 // x
    except ZeroDivisionError:
        return "never"
    except (ValueError, TypeError) as e:
        return "bad: " + str(e)
    else:
        return r
    finally:
        log.append(x)

log = []
print([classify(x) for x in [1, 0, 3, "s"]], log)

def deep(n):
    return deep(n + 1)
try:
    deep(0)
except RecursionError as e:
    print("RecursionError", str(e))

try:
    {}["missing"]
except LookupError as e:
    print("caught", repr(e))

try:
    raise KeyboardInterrupt
except Exception:
    print("wrong handler")
except BaseException as e:
    print("BaseException catches", repr(e))

def outer():
    x = "outer"
    def mid():
        def inner():
            return x
        return inner()
    return mid()
print(outer())

def ann(x: int, y: "list[int]" = None) -> float:
    z: int = x * 2
    return z
print(ann(4))

i = 0
while i < 3:
    i += 1
else:
    print("while else", i)
for j in []:
    pass
else:
    print("for else")
'''

CRASH = '''def inner(x):
    return 1 / x

def outer(v):
    return inner(v) + 1

outer(0)
'''


def run_lens(source, tmp_path):
    path = tmp_path / "prog.py"
    path.write_text(source)
    return subprocess.run([LENS, "run", str(path)], capture_output=True, text=True, timeout=120)


def test_program_prints_what_cpython_prints(tmp_path):
    lens = run_lens(PROGRAM, tmp_path)
    assert lens.returncode == 0, lens.stderr
    py = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120)
    assert py.returncode == 0, py.stderr
    assert lens.stdout.splitlines() == py.stdout.splitlines()


def test_traceback_names_function_lines_and_call_sites(tmp_path):
    r = run_lens(CRASH, tmp_path)
    assert r.returncode == 1
    f = f'  File "{tmp_path / "prog.py"}"'
    assert r.stderr.splitlines() == [
        f"{f}, line 7, column 6", "    outer(0)", "         ^",
        f"{f}, line 5, column 17, in outer", "    return inner(v) + 1", "                ^",
        f"{f}, line 2, column 14, in inner", "    return 1 / x", "             ^",
        "ZeroDivisionError: division by zero",
    ]
