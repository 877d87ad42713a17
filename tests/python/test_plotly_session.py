"""tests/python/test_plotly_session.py — plotly.js goes out once per kernel session.

Through jupyter_client, as a frontend sees it: the first figure's text/html
carries the inlined plotly.js, later figures draw with the page's copy; a
restarted kernel sends it again; rerunning the cell that carried it (the same
JupyterLab cellId in the execute_request metadata) sends it again, since the
frontend clears that cell's outputs.
"""
import pytest
from jupyter_client import KernelManager

PLOTLY = "application/vnd.plotly.v1+json"
LIBRARY = "(function(define,module,exports)"
TIMEOUT = 30


@pytest.fixture
def kernel():
    km = KernelManager(kernel_name="lens")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=TIMEOUT)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def figure_html(kc, code, cell_id=None):
    """Runs code (with metadata.cellId when given); returns the text/html of
    each figure it displayed."""
    metadata = {"cellId": cell_id} if cell_id else {}
    msg = kc.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False,
                                             "stop_on_error": True}, metadata=metadata)
    kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    html = []
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "error":
            raise AssertionError("\n".join(m["content"]["traceback"]))
        if m["msg_type"] in ("display_data", "execute_result") and PLOTLY in m["content"]["data"]:
            html.append(m["content"]["data"]["text/html"])
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["content"]["status"] == "ok", reply["content"]
    return html


def test_first_figure_carries_plotly_js_and_a_restart_sends_it_again(kernel):
    km, kc = kernel
    first = figure_html(kc, "line([1, 2, 3])\nimshow([[1, 2], [3, 4]])")
    second = figure_html(kc, "bar([1, 2])")
    assert [LIBRARY in h for h in first + second] == [True, False, False]
    assert len(first[0]) > 1_000_000 and all(len(h) < 100_000 for h in first[1:] + second)
    assert all("Plotly.newPlot" in h and "lens-plotly-ready" in h for h in first + second)
    km.restart_kernel(now=True)
    kc.wait_for_ready(timeout=TIMEOUT)
    again = figure_html(kc, "line([1, 2, 3])")
    assert LIBRARY in again[0]


def test_rerunning_the_cell_that_carried_it_sends_it_again(kernel):
    _, kc = kernel
    assert LIBRARY in figure_html(kc, "line([1, 2])", cell_id="cell-a")[0]
    assert LIBRARY not in figure_html(kc, "line([3, 4])", cell_id="cell-b")[0]
    assert LIBRARY not in figure_html(kc, "line([3, 4])", cell_id="cell-b")[0]
    assert LIBRARY in figure_html(kc, "line([5, 6])", cell_id="cell-a")[0]
    assert LIBRARY not in figure_html(kc, "line([7, 8])", cell_id="cell-c")[0]
