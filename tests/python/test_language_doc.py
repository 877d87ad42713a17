"""docs/LANGUAGE.md is current: `lens docs` (which writes it from the builtin
and module tables the interpreter uses) prints exactly the committed file, and
the names the document lists resolve in the language as documented."""
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LENS_BUILD", "build"))
LENS = str((BUILD if BUILD.is_absolute() else ROOT / BUILD) / "lens")
DOC = ROOT / "docs" / "LANGUAGE.md"


def generated():
    r = subprocess.run([LENS, "docs"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_committed_language_doc_is_current():
    assert DOC.read_text() == generated(), "docs/LANGUAGE.md is out of date: run `make docs`"


def test_documented_globals_and_aliases_exist():
    text = generated()
    builtins = re.findall(r"^- `([a-z_]+)\(", text.split("## Builtin functions", 1)[1].split("## Module functions", 1)[0], re.M)
    assert {"print", "load", "einsum", "patch", "imshow"} <= set(builtins), builtins
    aliases = re.findall(r"`(\w+)`", text.split("Bound before any", 1)[1].split(".\n", 1)[0])
    assert {"torch", "np", "einops", "px", "utils"} <= set(aliases), aliases
    names = builtins + aliases
    r = subprocess.run([LENS, "run", "-"], input="".join(f"print(type({n}))\n" for n in names),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    kinds = r.stdout.splitlines()
    assert kinds == ["<class 'builtin_function_or_method'>"] * len(builtins) + ["<class 'module'>"] * len(aliases), list(zip(names, kinds))
