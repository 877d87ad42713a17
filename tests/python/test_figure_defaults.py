"""tests/python/test_figure_defaults.py — figures read as plotly express draws them.

Cells run in the lens kernel (jupyter_client) on the test model; the Plotly
JSON of each displayed figure is checked, and validated by plotly itself:
integer ticks for layer/head/position axes, axis titles from labels (or the
seed helper's xaxis/yaxis), token labels from x=, a sequential 0..1 scale
for attention patterns unless a midpoint or range is given, RdBu around 0
for signed data, and induction_scores drawn as three heatmaps that hold the
scores it returns.
"""
import ast

import plotly.graph_objects as go
import pytest
from jupyter_client import KernelManager

PLOTLY = "application/vnd.plotly.v1+json"
PLASMA_FIRST, RDBU_FIRST = "#0d0887", "rgb(103,0,31)"
TIMEOUT = 60
SETUP = """model = load("tests/fixtures/tiny-gpt2")
tokens = model.to_tokens("When John and Mary went to the store")
logits, cache = model.run_with_cache(tokens)"""


@pytest.fixture(scope="module")
def kc():
    import pathlib
    km = KernelManager(kernel_name="lens")
    km.start_kernel(cwd=str(pathlib.Path(__file__).resolve().parents[2]))
    client = km.client()
    client.start_channels()
    client.wait_for_ready(timeout=TIMEOUT)
    run(client, SETUP)
    yield client
    client.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code):
    """(figures displayed, text results) of a cell; fails on an error."""
    figures, texts = [], []

    def hook(msg):
        t, c = msg["msg_type"], msg["content"]
        if t == "error":
            raise AssertionError("\n".join(c["traceback"]))
        if t in ("display_data", "execute_result"):
            if PLOTLY in c["data"]:
                figures.append(c["data"][PLOTLY])
            elif t == "execute_result":
                texts.append(c["data"]["text/plain"])

    reply = kc.execute_interactive(code, timeout=TIMEOUT, output_hook=hook)
    assert reply["content"]["status"] == "ok", reply["content"]
    for f in figures:
        go.Figure(data=f["data"], layout=f["layout"])  # plotly accepts it
    return figures, texts


def integer_ticks(axis, dtick=1):
    return axis["tickmode"] == "linear" and axis["tick0"] == 0 and axis["dtick"] == dtick


def test_attention_pattern_is_sequential_0_to_1_with_token_labels(kc):
    (fig,), _ = run(kc, 'str_tokens = model.to_str_tokens(tokens[0])\n'
                        'imshow(cache["pattern", 0][0, 0], x=str_tokens, y=str_tokens, '
                        'labels={"x": "Key", "y": "Query"}, title="L0H0")')
    layout, trace = fig["layout"], fig["data"][0]
    ca = layout["coloraxis"]
    assert ca["colorscale"][0] == [0, PLASMA_FIRST] and ca["cmin"] == 0 and ca["cmax"] == 1 and "cmid" not in ca
    assert layout["xaxis"]["title"]["text"] == "Key" and layout["yaxis"]["title"]["text"] == "Query"
    _, (tok,) = run(kc, "str_tokens")
    assert trace["x"] == ast.literal_eval(tok) and trace["y"] == ast.literal_eval(tok)


def test_signed_heatmap_is_rdbu_around_0_with_integer_layer_and_head_ticks(kc):
    (fig,), _ = run(kc, 'imshow([[1, -2, 0.5, 0], [0, 0, 0, 3]], labels={"x": "Head", "y": "Layer"})')
    layout = fig["layout"]
    ca = layout["coloraxis"]
    assert ca["colorscale"][0] == [0, RDBU_FIRST] and ca["cmid"] == 0 and ca["cmin"] == -3 and ca["cmax"] == 3
    assert integer_ticks(layout["xaxis"]) and integer_ticks(layout["yaxis"])
    assert layout["xaxis"]["title"]["text"] == "Head" and layout["yaxis"]["title"]["text"] == "Layer"
    # many positions: a tick every 5, still on integers
    (fig,), _ = run(kc, "imshow(ones((3, 50)))")
    assert integer_ticks(fig["layout"]["xaxis"], 5) and integer_ticks(fig["layout"]["yaxis"], 1)


def test_a_midpoint_or_range_keeps_the_diverging_scale(kc):
    (fig,), _ = run(kc, "imshow([[0.25, 1.0], [0.5, 0.75]], color_continuous_midpoint=0.5)")
    ca = fig["layout"]["coloraxis"]
    assert ca["colorscale"][0] == [0, RDBU_FIRST] and ca["cmid"] == 0.5
    assert ca["cmin"] == 0 and ca["cmax"] == 1
    (fig,), _ = run(kc, "imshow([[0.25, 1.0]], zmin=0, zmax=2)")
    ca = fig["layout"]["coloraxis"]
    assert ca["colorscale"][0] == [0, RDBU_FIRST] and (ca["cmin"], ca["cmax"]) == (0, 2)


def test_line_axes_titles_and_ticks(kc):
    (fig,), _ = run(kc, 'line([0.5, 1.5, 2.5], labels={"x": "Layer", "y": "Logit difference"})')
    layout = fig["layout"]
    assert (layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]) == ("Layer", "Logit difference")
    assert integer_ticks(layout["xaxis"])
    (fig,), _ = run(kc, 'line([1, 2], xaxis="Position", yaxis="Attention")')
    assert fig["layout"]["xaxis"]["title"]["text"] == "Position"
    assert fig["layout"]["yaxis"]["title"]["text"] == "Attention"
    (fig,), _ = run(kc, "line([3, 1, 2, 4], x=arange(4) * 10)")   # whole numbers: integer ticks
    assert integer_ticks(fig["layout"]["xaxis"], 5)
    (fig,), _ = run(kc, "line([3, 1, 2], x=arange(3) / 2)")       # half steps: plotly's own ticks
    assert "dtick" not in fig["layout"]["xaxis"]
    (fig,), _ = run(kc, 'line([3, 1, 2], x=["a", " b", "c"])')
    assert fig["data"][0]["x"] == ["a", " b", "c"] and fig["layout"]["xaxis"]["type"] == "category"


def test_induction_scores_draws_three_heatmaps_of_the_scores_it_returns(kc):
    figs, _ = run(kc, "scores = induction_scores(model, seq_len=6, batch=2)")
    assert [f["layout"]["title"]["text"] for f in figs] == [
        "Previous Token Scores", "Duplicate Token Scores", "Induction Scores"]
    for f, key in zip(figs, ["prev_token", "duplicate", "induction"]):
        _, (text,) = run(kc, f'scores["{key}"].tolist()')
        want = ast.literal_eval(text)
        got = f["data"][0]["z"]
        assert len(got) == 2 and all(len(r) == len(want[0]) for r in got)
        assert all(abs(a - b) < 1e-6 for ra, rb in zip(got, want) for a, b in zip(ra, rb))
        layout = f["layout"]
        assert (layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]) == ("Head", "Layer")
        assert integer_ticks(layout["xaxis"]) and integer_ticks(layout["yaxis"])
        assert layout["coloraxis"]["cmin"] == 0 and layout["coloraxis"]["cmax"] == 1
    figs, _ = run(kc, "s2 = induction_scores(model, seq_len=6, batch=2, show=False)")
    assert figs == []
