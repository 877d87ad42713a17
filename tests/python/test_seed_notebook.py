"""tests/python/test_seed_notebook.py — the seed notebook runs verbatim.

The seed notebook's code cells (tests/fixtures/seed_notebook/cells.json) are
sent to the lens kernel in order, as written, with only the model name
"gpt2-small" replaced (the three environment cells are skipped): on the trained
demo model (models/lens-tinystories-16m) every cell but the last runs (the last
names GPT-2 small's heads 9.7, 10.9, 11.8, which a 4-layer model lacks) and the
printed logit differences equal those notebooks/demo.ipynb prints and
TransformerLens's; on a GPT-2-small-shaped random model from `lens random-model`
every cell runs. Every figure helper call gives one Plotly output and every
visualize_attention_patterns call one attention display.

The notebook defines functions (`def`, with annotations and **kwargs) and
imports modules; while the language lacks them these two tests skip with that
reason. test_seed_pieces_run_now runs the same code with the function bodies
written as lambdas and inline loops, so everything else the notebook needs
(torch., np., utils., einops, from_pretrained, .cuda(), gather, einsum with
"...", px figures) is checked today.
"""
import json
import os
import pathlib
import re
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient
from safetensors.numpy import load_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LENS_BUILD", "build"))
LENS = str((BUILD if BUILD.is_absolute() else ROOT / BUILD) / "lens")
CELLS = json.loads((ROOT / "tests" / "fixtures" / "seed_notebook" / "cells.json").read_text())
TRAINED = ROOT / "models" / "lens-tinystories-16m"
PLOTLY = "application/vnd.plotly.v1+json"
NUMBERS = ["Per prompt logit difference", "Average logit difference", "Calculated average logit diff",
           "Original logit difference"]


def lens_run(code, cwd=ROOT):
    return subprocess.run([LENS, "run", "-"], input=code, capture_output=True, text=True, cwd=cwd)


def missing_language():
    """What the seed needs that the language cannot parse or run yet."""
    probes = {
        "def": "def f():\n    pass\n",
        "import": "import torch\nimport torch.nn.functional as F\nfrom typing import List, Union\n",
        "annotations and **kwargs in def": "def f(x: int, *args, **kwargs) -> float:\n    return x\n",
    }
    return [name for name, code in probes.items() if lens_run(code).returncode != 0]


@pytest.fixture(scope="module")
def language():
    missing = missing_language()
    if missing:
        pytest.skip("the language lacks " + ", ".join(missing) + " (the seed notebook defines functions and imports modules)")


def seed_sources(model):
    """The seed's code cells as written, the model name replaced; environment cells left out."""
    out = []
    for c in CELLS:
        if c["skip"]:
            continue
        out.append(c["source"].replace('"gpt2-small"', json.dumps(str(model))))
    return out


def printed(lines, label):
    """The value printed after `label:` (the rest of that line), or None."""
    for line in lines:
        if line.startswith(label + ":"):
            return line[len(label) + 1:].strip()
    return None


def printed_lines(text):
    return [line for line in text.splitlines() if line]


@pytest.fixture(scope="module")
def demo_numbers():
    """What notebooks/demo.ipynb prints for the trained model, up to the logit differences."""
    nb = nbformat.read(ROOT / "notebooks" / "demo.ipynb", as_version=4)
    code = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code.append(cell.source)
        if "Original logit difference" in cell.source:
            break
    env = {k: v for k, v in os.environ.items() if k != "LENS_DEMO_MODEL"}
    r = subprocess.run([LENS, "run", "-"], input="\n".join(code) + "\n", capture_output=True, text=True,
                       cwd=ROOT / "notebooks", env=env)
    assert r.returncode == 0, r.stderr
    lines = printed_lines(r.stdout)
    numbers = {label: printed(lines, label) for label in NUMBERS}
    assert all(numbers.values()), r.stdout[-3000:]
    return numbers


def transformerlens_average():
    return float(load_file(str(TRAINED / "seed-reference.safetensors"))["logit_diff_per_prompt"].mean())


def check_numbers(lines, demo_numbers):
    for label in NUMBERS:
        assert printed(lines, label) == demo_numbers[label], (label, printed(lines, label), demo_numbers[label])
    want = transformerlens_average()
    for label in NUMBERS[1:]:
        assert abs(float(printed(lines, label)) - want) <= 1e-4 * max(1.0, abs(want)), (label, want)


def run_in_kernel(sources, cwd):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, kernel_name="lens", timeout=900, allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def errors_of(cell):
    return [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]


def check_displays(nb):
    """One Plotly output per figure-helper call, one attention display per visualize call."""
    for cell in nb.cells:
        if errors_of(cell):
            continue
        code = "\n".join(line.split("#", 1)[0] for line in cell.source.splitlines())
        if code.lstrip().startswith("def "):
            continue
        data = [o.get("data", {}) for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
        figures = len(re.findall(r"(?<![\w.])(line|imshow|scatter)\(", code))
        assert sum(1 for d in data if PLOTLY in d) == figures, cell.source
        views = len(re.findall(r"(?<![\w.])visualize_attention_patterns\(", code))
        assert sum(1 for d in data if "lens-attn" in d.get("text/html", "")) == views, cell.source


def stream_lines(nb):
    return printed_lines("".join(o.get("text", "") for c in nb.cells for o in c.outputs if o.output_type == "stream"))


def test_seed_runs_verbatim_on_the_trained_model(language, demo_numbers):
    nb = run_in_kernel(seed_sources(TRAINED), ROOT)
    for i, cell in enumerate(nb.cells[:-1]):
        assert not errors_of(cell), (i, cell.source, errors_of(cell))
    check_displays(nb)
    check_numbers(stream_lines(nb), demo_numbers)


def test_seed_runs_verbatim_on_a_gpt2_small_shaped_model(language, tmp_path):
    model = tmp_path / "gpt2-small-random"
    subprocess.run([LENS, "random-model", "--like", "gpt2-small", str(model)], check=True, capture_output=True)
    nb = run_in_kernel(seed_sources(model), ROOT)
    for i, cell in enumerate(nb.cells):
        assert not errors_of(cell), (i, cell.source, errors_of(cell))
    check_displays(nb)


# The seed's cells that need neither `def` nor `import`, as written; the names their
# imports bind are bound by hand; the seed's functions as lambdas and inline loops.
PRELUDE = """\
HookedTransformer = transformer_lens.HookedTransformer
line = lambda tensor, renderer=None, x=None, hover_name=None, title=None: px.line(
    y=utils.to_numpy(tensor), x=x, hover_name=hover_name, title=title).show(renderer)
imshow = lambda tensor, renderer=None, labels=None, title=None: px.imshow(
    utils.to_numpy(tensor), color_continuous_midpoint=0.0, color_continuous_scale="RdBu", labels=labels,
    title=title).show(renderer)
"""
LOGIT_DIFF = """\
final_logits = original_logits[:, -1, :]
answer_logits = final_logits.gather(dim=-1, index=answer_tokens)
answer_logit_diff = answer_logits[:, 0] - answer_logits[:, 1]
print("Per prompt logit difference:", answer_logit_diff)
original_average_logit_diff = answer_logit_diff.mean()
print("Average logit difference:", answer_logit_diff.mean().item())
"""
RESIDUAL_STACK = """\
residual_stack_to_logit_diff = lambda residual_stack, cache: einsum(
    "... batch d_model, batch d_model -> ...", cache.apply_ln_to_stack(residual_stack, layer = -1, pos_slice=-1),
    logit_diff_directions)/len(prompts)
"""
VISUALIZE = """\
top_positive_logit_attr_heads = torch.topk(per_head_logit_diffs.flatten(), k=3).indices
heads = top_positive_logit_attr_heads
assert not isinstance(heads, int) and (isinstance(heads, list) or isinstance(heads, torch.Tensor))
heads = utils.to_numpy(heads)
labels = []
patterns = []
for head in heads:
    layer = head // model.cfg.n_heads
    head_index = head % model.cfg.n_heads
    patterns.append(cache["attn", layer][0, head_index])
    labels.append(f"L{layer}H{head_index}")
str_tokens = model.to_str_tokens(tokens[0])
patterns = torch.stack(patterns, dim=-1)
print("Heads:", labels, tuple(patterns.shape), len(str_tokens))
"""


def test_seed_pieces_run_now(demo_numbers):
    """Through the kernel, as one cell (a lambda lives as long as its cell until
    functions outlive cells): the numbers, and one Plotly output per figure."""
    cells = {c["cell"]: c["source"] for c in CELLS}
    parts = [PRELUDE, cells[5], cells[7], cells[8].replace('"gpt2-small"', json.dumps(str(TRAINED))), cells[9],
             cells[10], cells[11], LOGIT_DIFF, cells[13], cells[14], RESIDUAL_STACK, cells[16], cells[17], cells[18],
             VISUALIZE, cells[21]]
    nb = run_in_kernel(["\n".join(parts)], ROOT)
    assert not errors_of(nb.cells[0]), errors_of(nb.cells[0])
    check_displays(nb)
    lines = stream_lines(nb)
    check_numbers(lines, demo_numbers)
    heads = printed(lines, "Heads")
    assert re.fullmatch(r"\['L\dH\d+', 'L\dH\d+', 'L\dH\d+'\] \(\d+, \d+, 3\) \d+", heads), heads
    # the trained model has 4 layers of 8 heads: 2 * 4 + 1 accumulated and 2 * 4 + 2 decomposed components
    figures = [o["data"][PLOTLY] for o in nb.cells[0].outputs if PLOTLY in o.get("data", {})]
    assert [(f["data"][0]["type"], len(f["data"][0].get("y", f["data"][0].get("z", [])))) for f in figures] == \
        [("scatter", 5), ("scatter", 9), ("scatter", 10), ("heatmap", 4)], figures
