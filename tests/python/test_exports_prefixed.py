"""What the language library exports carries its module's prefix: every
function liblang.a defines is lang_* (kernel/lang), v_* (the value
constructors) or display_* (kernel/display), so no bare name such as
`contains`, `truthy` or `lex` can clash with another library's."""
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LENS_BUILD", "build"))
LIBLANG = (BUILD if BUILD.is_absolute() else ROOT / BUILD) / "liblang.a"


def exported_functions():
    out = subprocess.run(["nm", "--defined-only", str(LIBLANG)], capture_output=True, text=True, check=True).stdout
    return [line.split()[2] for line in out.splitlines() if re.match(r"^[0-9a-f]+ T ", line)]


def test_every_exported_function_is_prefixed():
    names = exported_functions()
    assert len(names) > 150, names   # the library was read
    assert {"lang_contains", "lang_truthy", "lang_lex", "v_int", "display_dbuf_append"} <= set(names)
    bare = [n for n in names if not re.match(r"^(lang_|v_|display_)", n)]
    assert bare == [], bare
