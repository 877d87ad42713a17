"""tests/python/test_figures_plotly.py — the figures kernel/display builds are
valid Plotly figures (plotly.graph_objects validates on construction), with
the right values, orientation and colours (compared with plotly.express)."""
import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import pytest

from lens_display import PLOTLY_MIME, write_bundles


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    return write_bundles(tmp_path_factory.mktemp("bundles"))


FIGURES = ["line", "lines", "heatmap", "scatter", "bar"]


@pytest.mark.parametrize("name", FIGURES)
def test_bundle_is_a_valid_plotly_figure(bundles, name):
    b = bundles[name]
    assert set(b) >= {PLOTLY_MIME, "text/html", "text/plain"}
    spec = b[PLOTLY_MIME]
    assert set(spec) == {"data", "layout", "config"}
    fig = go.Figure(spec)  # raises on any invalid property
    assert len(fig.data) >= 1
    assert b["text/plain"].startswith("Figure: ")
    assert "Plotly.newPlot" in b["text/html"]


def test_line_values_x_and_hover(bundles):
    fig = go.Figure(bundles["line"][PLOTLY_MIME])
    tr = fig.data[0]
    assert tr.type == "scatter" and "lines" in tr.mode
    assert list(tr.x) == [i / 2 for i in range(25)]
    assert np.allclose(tr.y, [i * i / 100 - 1 for i in range(25)], atol=1e-6)
    assert tr.hovertext[3] == "1_mid"
    assert fig.layout.title.text == "Logit Difference From Accumulate Residual Stream"
    assert bundles["line"]["text/plain"] == (
        "Figure: line, 25 points 'Logit Difference From Accumulate Residual Stream'")


def test_several_lines_are_traces_with_names(bundles):
    fig = go.Figure(bundles["lines"][PLOTLY_MIME])
    assert [t.name for t in fig.data] == ["clean", "corrupted", "patched"]
    assert list(fig.data[0].x) == list(range(10))


def test_heatmap_orientation_range_and_colours_match_px(bundles):
    spec = bundles["heatmap"][PLOTLY_MIME]
    fig = go.Figure(spec)
    z = spec["data"][0]["z"]
    assert len(z) == 12 and all(len(row) == 12 for row in z)
    # Row r, column c holds r - c/12 - 5: row 0 of the input is row 0 of z.
    assert z[0][0] == -5 and z[11][0] == 6
    assert z[3][4] is None  # the NaN
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.xaxis.title.text == "Head" and fig.layout.yaxis.title.text == "Layer"
    ca = fig.layout.coloraxis
    assert ca.cmin == -6 and ca.cmax == 6 and ca.cmid == 0
    arr = np.array([[r - c / 12 - 5 for c in range(12)] for r in range(12)])
    ref = px.imshow(arr, color_continuous_midpoint=0.0, color_continuous_scale="RdBu")
    assert [tuple(s) for s in ca.colorscale] == [tuple(s) for s in ref.layout.coloraxis.colorscale]
    assert ref.layout.yaxis.autorange == fig.layout.yaxis.autorange
    assert ref.data[0].type == fig.data[0].type


def test_scatter_and_bar(bundles):
    sc = go.Figure(bundles["scatter"][PLOTLY_MIME])
    assert sc.data[0].mode == "markers"
    assert list(sc.data[0].marker.color) == [0, 1, 2, 0, 1, 2, 0, 1]
    assert sc.layout.xaxis.title.text == "clean"
    bar = go.Figure(bundles["bar"][PLOTLY_MIME])
    assert bar.data[0].type == "bar"
    assert list(bar.data[0].x) == ["embed", "L0", "L1", "<b>L2</b>"]


def test_html_inlines_plotly_js_once_guarded_for_require(bundles):
    """The driver's first figure (the line) carries plotly.js; the later ones
    draw with the page's copy and wait for it."""
    first, later = bundles["line"]["text/html"], bundles["heatmap"]["text/html"]
    assert "if(!window.Plotly){(function(define,module,exports){" in first
    assert len(first) > 1_000_000  # the library itself is inlined
    assert "(function(define,module,exports)" not in later and len(later) < 100_000
    assert "addEventListener('lens-plotly-ready'" in later
    for html in (first, later):
        assert html.count("</script>") == html.count("<script")


def test_other_bundles_have_html_and_plain(bundles):
    assert bundles["progress"]["text/plain"] == "loading 3/12 h.3.attn"
    assert "&lt;|endoftext|&gt;" in bundles["table"]["text/html"]
    assert bundles["attention"]["text/plain"].startswith("Attention patterns: 3 heads × 18 tokens")
