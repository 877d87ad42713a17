"""tests/python/test_notebooks.py — every notebook in notebooks/ runs headless.

Each notebook is executed by nbclient with the `lens` kernel (the build-local
kernelspec of conftest.py, whose argv is $LENS_BUILD/lens kernel -f ...), from
the notebook's own directory. Checked: no cell raised an error, every call of
a figure builtin (line, imshow, scatter, bar) produced exactly one Plotly
output, and every attention_patterns / attention_heads call an attention
display; the executed notebook, saved, is at most 6 MB and holds exactly one
copy of plotly.js (the first figure's), and so does its nbconvert HTML; the
demo's average logit difference equals TransformerLens's number
for the trained model (models/lens-tinystories-16m/seed-reference.safetensors).
"""
import os
import pathlib
import re
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from safetensors.numpy import load_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LENS_BUILD", "build"))
LENS_BIN = str((BUILD if BUILD.is_absolute() else ROOT / BUILD) / "lens")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PLOTLY = "application/vnd.plotly.v1+json"
FIGURE_CALL = re.compile(r"(?<![\w.])(line|imshow|scatter|bar)\(")
# induction_scores draws three heatmaps (previous-token, duplicate-token, induction)
INDUCTION_CALL = re.compile(r"(?<![\w.])induction_scores\(")
# the banner at the top of plotly.min.js: one per copy of the library
PLOTLY_JS_COPY = re.compile(r"\* plotly\.js v[0-9]")
MAX_SAVED_BYTES = 6 * 1000 * 1000
ATTENTION_CALL = re.compile(r"(?<![\w.])(attention_patterns|attention_heads)\(")

SEED_REFERENCE = ROOT / "models" / "lens-tinystories-16m" / "seed-reference.safetensors"


def code_without_comments(source):
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_draws(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="lens", timeout=600, allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert not [o for o in cell.outputs if o.output_type == "error"], f"cell {i} errored"
        code = code_without_comments(cell.source)
        data = [o.get("data", {}) for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
        figures = len(FIGURE_CALL.findall(code)) + 3 * len(INDUCTION_CALL.findall(code))
        plotly = sum(1 for d in data if PLOTLY in d)
        assert plotly == figures, f"cell {i}: {figures} figure calls gave {plotly} Plotly outputs:\n{cell.source}"
        attention = len(ATTENTION_CALL.findall(code))
        views = sum(1 for d in data if "lens-attn" in d.get("text/html", ""))
        assert views == attention, f"cell {i}: {attention} attention calls gave {views} displays:\n{cell.source}"
    saved = tmp_path / path.name
    nbformat.write(nb, saved)
    text = saved.read_text(encoding="utf-8")
    assert saved.stat().st_size <= MAX_SAVED_BYTES, f"{path.name}: {saved.stat().st_size} bytes saved"
    assert len(PLOTLY_JS_COPY.findall(text)) == 1, f"{path.name}: not one copy of plotly.js"
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert len(PLOTLY_JS_COPY.findall(html)) == 1 and len(html) <= MAX_SAVED_BYTES


def test_demo_reproduces_transformerlens_numbers():
    """The demo (without LENS_DEMO_MODEL: the trained tinystories model) prints the
    average logit difference that TransformerLens computes for the same prompts."""
    nb = nbformat.read(ROOT / "notebooks" / "demo.ipynb", as_version=4)
    env_model = os.environ.pop("LENS_DEMO_MODEL", None)
    try:
        NotebookClient(nb, kernel_name="lens", timeout=600,
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    finally:
        if env_model is not None:
            os.environ["LENS_DEMO_MODEL"] = env_model
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")
    m = re.search(r"Average logit difference: (-?[0-9.]+)", text)
    assert m, text[:2000]
    want = float(load_file(str(SEED_REFERENCE))["logit_diff_per_prompt"].mean())
    assert abs(float(m.group(1)) - want) <= 1e-4 * max(1.0, abs(want)), (m.group(1), want)
