"""tests/python/test_browser.py — kernel/display output in a real browser.

Two notebooks, trusted, opened in JupyterLab in headless Chromium (Debian's
/usr/bin/chromium, installed by `make deps`):
- display.ipynb, pre-filled with bundles from the C display code (a line plot,
  a heatmap, two attention displays and an attention_heads grid);
- language.ipynb, pre-filled with what lens cells produce when the interpreter
  runs them on the fixture model (tests/lang/figures_driver.c): load's
  progress line, a line plot, a heatmap of attention, attention displays.
Checked: the line has its points, the heatmap its cells (first row at the top),
hovering a token recolours the others. The same notebooks converted by
nbconvert to HTML must draw their figures from the text/html fallback with
the network blocked: only the first figure of a session carries plotly.js,
the others draw with the page's copy, even when the carrying output comes
last in the page (cells run out of order). Screenshots go to tests/artifacts/.
"""
import os
import pathlib
import secrets
import signal
import socket
import re
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
from playwright.sync_api import sync_playwright

from lens_display import ROOT, language_cells, write_bundles

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
BIN = pathlib.Path(sys.executable).parent
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run `make deps` (apt-get install chromium)"
    base = tmp_path_factory.mktemp("browser")
    bundles = write_bundles(base / "bundles")
    root = base / "root"
    root.mkdir()
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]:
        env[var] = str(base / sub)
    # Render every cell, not only those in view, so all outputs are in the DOM.
    tracker = base / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for src, name in [("line(logit_lens)", "line"), ("imshow(per_head)", "heatmap"),
                      ("attention_patterns(late)", "attention"),
                      ("attention_patterns(early)", "attention_early"),
                      ("attention_heads(late)", "attention_heads")]:
        cell = nbformat.v4.new_code_cell(src)
        cell.outputs = [nbformat.v4.new_output("display_data", data=bundles[name], metadata={})]
        nb.cells.append(cell)
    path = root / "display.ipynb"
    nbformat.write(nb, path)
    # The same outputs with the one that carries plotly.js (the first figure
    # the session drew) in the last cell, as when cells ran out of order.
    assert "(function(define,module,exports)" in bundles["line"]["text/html"]
    assert "(function(define,module,exports)" not in bundles["heatmap"]["text/html"]
    reordered = nbformat.v4.new_notebook(metadata=nb.metadata)
    reordered.cells = nb.cells[1:] + nb.cells[:1]
    nbformat.write(reordered, root / "reordered.ipynb")

    # The same displays as the language makes them: real cells, real outputs.
    lang_nb = nbformat.v4.new_notebook()
    lang_nb.metadata["kernelspec"] = nb.metadata["kernelspec"]
    for n, c in enumerate(language_cells(base / "language"), start=1):
        cell = nbformat.v4.new_code_cell(c["source"], execution_count=n)
        for o in c["outputs"]:
            if o["output_type"] == "stream":
                cell.outputs.append(nbformat.v4.new_output("stream", name=o["name"], text=o["text"]))
            else:
                extra = {"execution_count": n} if o["output_type"] == "execute_result" else {}
                cell.outputs.append(nbformat.v4.new_output(o["output_type"], data=o["data"],
                                                           metadata={}, **extra))
        lang_nb.cells.append(cell)
    lang_path = root / "language.ipynb"
    nbformat.write(lang_nb, lang_path)
    for p in (path, lang_path, root / "reordered.ipynb"):
        subprocess.run([str(BIN / "jupyter"), "trust", str(p)], env=env, check=True,
                       capture_output=True, timeout=60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return {"base": base, "root": root, "path": path, "lang_path": lang_path, "env": env}


# name -> (points of the line plot, rows and cells of the heatmap)
NOTEBOOKS = {"display": (25, 12, 144), "language": (25, 4, 60)}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def stop(proc):
    """Stops the server and whatever it started (its process group)."""
    for sig, wait in [(signal.SIGTERM, 10), (signal.SIGKILL, 5)]:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.poll()


@pytest.fixture(scope="module")
def lab(setup):
    port, token = free_port(), secrets.token_hex(16)
    log = open(setup["base"] / "lab.log", "w")
    proc = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={setup['root']}",
         "--LabApp.news_url=", "--ServerApp.port_retries=0"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        env=setup["env"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("JupyterLab did not start:\n" + (setup["base"] / "lab.log").read_text())
            time.sleep(0.3)
        yield url, token
    finally:
        stop(proc)
        log.close()


PLOT_INFO = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
    type: gd.data && gd.data[0] && gd.data[0].type,
    points: gd.querySelectorAll('.scatterlayer .point').length,
    rows: gd.data && gd.data[0].z ? gd.data[0].z.length : 0,
    cells: gd.data && gd.data[0].z ? gd.data[0].z.reduce((n, r) => n + r.length, 0) : 0,
    hmImage: !!gd.querySelector('.hm image'),
    reversed: !!(gd._fullLayout && gd._fullLayout.yaxis.range[0] > gd._fullLayout.yaxis.range[1]),
}))"""

TOKEN_COLOURS = """(i) => Array.from(document.querySelectorAll('.lens-attn')[i]
    .querySelectorAll('.lens-attn-tok')).map(t => getComputedStyle(t).backgroundColor)"""


def check_figures(page, points=25, rows=12, cells=144):
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2",
                           timeout=30000)
    plots = page.evaluate(PLOT_INFO)
    line = [p for p in plots if p["type"] == "scatter"]
    heat = [p for p in plots if p["type"] == "heatmap"]
    assert line and line[0]["points"] == points, plots
    assert heat and heat[0]["rows"] == rows and heat[0]["cells"] == cells, plots
    assert heat[0]["hmImage"] and heat[0]["reversed"], plots  # row 0 at the top


def check_attention(page, shot):
    page.wait_for_selector(".lens-attn.lens-attn-js", timeout=20000)
    assert page.evaluate("document.querySelectorAll('.lens-attn.lens-attn-js').length") == 3
    assert page.evaluate("document.querySelectorAll('.lens-attn canvas').length") == 3 + 2 + 3
    before, other = page.evaluate(TOKEN_COLOURS, 0), page.evaluate(TOKEN_COLOURS, 1)
    first = page.locator(".lens-attn").nth(0)
    first.locator('.lens-attn-tok[data-i="4"]').hover()
    after = page.evaluate(TOKEN_COLOURS, 0)
    changed = [i for i in range(len(before)) if i != 4 and before[i] != after[i]]
    assert changed, "hovering a token did not recolour the others"
    # Token 10 comes after the hovered token 4, so it gets no attention from it.
    assert after[10] == "rgb(255, 255, 255)", after
    assert page.evaluate(TOKEN_COLOURS, 1) == other, "the second display changed too"
    first.screenshot(path=str(ARTIFACTS / f"{shot}-attention-hover.png"))
    # Reverse direction: which tokens attend to token 4.
    first.locator(".lens-attn-dir").check()
    first.locator('.lens-attn-tok[data-i="4"]').hover()
    rev = page.evaluate(TOKEN_COLOURS, 0)
    assert rev[0] == "rgb(255, 255, 255)" and rev != after
    first.locator(".lens-attn-dir").uncheck()
    page.mouse.move(0, 0)


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_jupyterlab_renders_figures_and_attention(setup, lab, browser, name):
    url, token = lab
    prefix = "lab" if name == "display" else f"lab-{name}"
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    # a workspace of its own, so the other notebook's tab is not restored beside it
    page.goto(f"{url}/lab/workspaces/{name}/tree/{name}.ipynb?reset&token={token}", timeout=60000)
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=45000)
    check_figures(page, *NOTEBOOKS[name])
    check_attention(page, prefix)
    page.screenshot(path=str(ARTIFACTS / f"{prefix}-notebook.png"), full_page=True)
    for i, fig in enumerate(["line", "heatmap"]):
        page.locator(".js-plotly-plot").nth(i).screenshot(path=str(ARTIFACTS / f"{prefix}-{fig}.png"))
    page.locator(".lens-attn").nth(2).screenshot(path=str(ARTIFACTS / f"{prefix}-attention-heads.png"))
    if name == "language":
        # load's progress bar was replaced by its summary, and the hover text
        # of the line plot came through from the cell
        assert page.get_by_text("loaded tiny-gpt2: 2 layers").count() == 1
        assert page.evaluate("document.querySelector('.js-plotly-plot').data[0].hovertext[3]") == "1_1"
    page.close()


def block_network(page):
    """Every http(s) request fails, as on a machine offline: the page's figures
    must draw from what the file itself holds."""
    page.route("**/*", lambda route: route.abort()
               if route.request.url.startswith(("http://", "https://")) else route.continue_())


@pytest.mark.parametrize("name", list(NOTEBOOKS) + ["reordered"])
def test_nbconvert_html_draws_from_the_html_fallback(setup, browser, name):
    out = setup["base"] / "html"
    subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--output-dir", str(out),
                    str(setup["root"] / f"{name}.ipynb")], env=setup["env"], check=True,
                   capture_output=True, timeout=120)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    block_network(page)
    html = (out / f"{name}.html").read_text(encoding="utf-8")
    assert html.count("(function(define,module,exports)") == 1  # one copy of plotly.js
    page.goto((out / f"{name}.html").as_uri(), timeout=60000)
    check_figures(page, *NOTEBOOKS.get(name, NOTEBOOKS["display"]))
    check_attention(page, "nbconvert" if name == "display" else f"nbconvert-{name}")
    assert page.locator(".lens-figure-note").count() == 0
    page.screenshot(path=str(ARTIFACTS / f"nbconvert-{name}-page.png"), full_page=True)
    assert not errors, errors
    page.close()


def test_demo_notebook_runs_in_jupyterlab_with_the_lens_kernel(setup, lab, browser):
    """The whole seed notebook, run cell by cell by a person: JupyterLab starts the
    lens kernel (the build-local kernelspec), Run All Cells, and every figure and
    attention display the notebook asks for renders, with no error output; hovering
    a token of the first attention display recolours the others."""
    url, token = lab
    nb = nbformat.read(ROOT / "notebooks" / "demo.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, setup["root"] / "demo.ipynb")
    figures = sum(len(re.findall(r"(?<![\w.])(?:line|imshow|scatter|bar)\(", c.source))
                  + 3 * len(re.findall(r"(?<![\w.])induction_scores\(", c.source))
                  for c in nb.cells if c.cell_type == "code")
    views = sum(len(re.findall(r"(?<![\w.])attention_(?:patterns|heads)\(", c.source))
                for c in nb.cells if c.cell_type == "code")
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(f"{url}/lab/workspaces/demo/tree/demo.ipynb?reset&token={token}", timeout=60000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=45000)
    page.wait_for_function("document.querySelector('.jp-Toolbar-kernelName') && "
                           "document.querySelector('.jp-Toolbar-kernelName').textContent.includes('lens')",
                           timeout=60000)
    page.locator(".jp-Notebook").click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures} && "
        f"document.querySelectorAll('.lens-attn.lens-attn-js').length >= {views} && "
        "!Array.from(document.querySelectorAll('.jp-InputPrompt')).some(e => e.textContent.includes('*'))",
        timeout=300000)
    assert page.evaluate("document.querySelectorAll('.jp-OutputArea-output[data-mime-type="
                         "\"application/vnd.jupyter.stderr\"]').length") == 0
    assert page.evaluate("document.querySelectorAll('.js-plotly-plot').length") == figures
    first = page.locator(".lens-attn").nth(0)
    first.scroll_into_view_if_needed()
    before = page.evaluate(TOKEN_COLOURS, 0)
    first.locator('.lens-attn-tok[data-i="2"]').hover()
    assert page.evaluate(TOKEN_COLOURS, 0) != before, "hovering a token did not recolour the others"
    page.screenshot(path=str(ARTIFACTS / "lab-demo-run-all.png"))
    page.close()
