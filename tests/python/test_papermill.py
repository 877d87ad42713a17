"""tests/python/test_papermill.py — papermill parameterises lens notebooks.

The translator (python/lens-papermill, installed into the venv by `make deps`
and `make install`) registers itself through papermill's engine entry point,
so the plain command line works: `papermill notebooks/demo.ipynb out.ipynb
-p n_prompts 20`. Checked: every kind of papermill value arrives in lens as
the same value (lens prints it as Python prints it), and the demo run with
n_prompts 20 analyses those 20 prompts (its average logit difference is
TransformerLens's over the same prompts of the reference).
"""
import math
import os
import pathlib
import re
import subprocess
import sys

import nbformat
import pytest
from safetensors.numpy import load_file

from conftest import LENS_BIN

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAPERMILL = pathlib.Path(sys.executable).parent / "papermill"
SEED_REFERENCE = ROOT / "models" / "lens-tinystories-16m" / "seed-reference.safetensors"


def test_values_arrive_as_lens_literals(tmp_path):
    import papermill.engines  # noqa: F401  (loads the entry points, as the CLI does)
    from papermill.translators import papermill_translators

    translator = papermill_translators.find_translator("lens", "lens")
    assert translator.__name__ == "LensTranslator"
    params = {"n": 20, "neg": -3, "x": 0.125, "big": 1e300, "yes": True, "no": False, "nothing": None,
              "s": 'say "hi"\n\tcafé \\ it\'s', "empty": "", "xs": [1, 2.5, "a", [True, None]],
              "d": {"layer": 3, "heads": [0, 1], "nested": {"k": "v"}}}
    code = translator.codify(params)
    assert code.startswith("# Parameters\n") and "n = 20\n" in code
    script = tmp_path / "params.lens"
    script.write_text(code + "[" + ", ".join(params) + "]\n", encoding="utf-8")
    out = subprocess.run([LENS_BIN, "run", str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == repr(list(params.values())) + "\n"


@pytest.mark.parametrize("first", ["papermill", "lens_papermill"])
def test_registration_works_whichever_is_imported_first(first):
    code = (f"import {first}\nimport papermill, lens_papermill\n"
            "from papermill.engines import papermill_engines, NBClientEngine\n"
            "from papermill.translators import papermill_translators\n"
            "print(papermill_translators.find_translator('lens', 'lens').__name__,\n"
            "      issubclass(papermill_engines.get_engine('lens'), NBClientEngine))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["LensTranslator", "True"]


def test_non_finite_floats(tmp_path):
    from papermill.translators import papermill_translators

    translator = papermill_translators.find_translator("lens", "lens")
    script = tmp_path / "f.lens"
    script.write_text(translator.codify({"a": math.nan, "b": math.inf, "c": -math.inf}) + "a\nb\nc\n")
    out = subprocess.run([LENS_BIN, "run", str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["nan", "inf", "-inf"]


def test_papermill_command_line_runs_the_demo_with_n_prompts(tmp_path):
    out = tmp_path / "out.ipynb"
    env = dict(os.environ)
    env.pop("LENS_DEMO_MODEL", None)
    run = subprocess.run([str(PAPERMILL), str(ROOT / "notebooks" / "demo.ipynb"), str(out),
                          "-p", "n_prompts", "20"], cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=900, env=env)
    assert run.returncode == 0, run.stderr[-4000:]
    nb = nbformat.read(out, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    injected = [i for i, c in enumerate(nb.cells) if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and injected == [tagged[0] + 1]
    assert nb.cells[injected[0]].source == "# Parameters\nn_prompts = 20\n"
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")
    m = re.search(r"Average logit difference: (-?[0-9.]+)", text)
    assert m, text[:2000]
    # the first 10 prompts with male names and the first 10 with female names
    per_prompt = load_file(str(SEED_REFERENCE))["logit_diff_per_prompt"]
    want = float(per_prompt[list(range(10)) + list(range(50, 60))].mean())
    assert abs(float(m.group(1)) - want) <= 1e-4 * max(1.0, abs(want)), (m.group(1), want)
    assert abs(want - float(per_prompt.mean())) > 1e-3  # the parameter made a difference
