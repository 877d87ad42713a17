"""scripts/install.sh: the binary, a valid kernelspec and the shipped models land
where Jupyter and the installed kernel look; the installed kernel finds the
shipped model by name from any working folder, and its not-found error lists
the models present and how to get GPT-2 small."""
import json
import os
import subprocess
import tempfile

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from conftest import LENS_BIN, REPO

SHIPPED = "lens-tinystories-16m"


PLOTLY_MARK = "/* plotly.js stand-in for the install test */"


@pytest.fixture(scope="module")
def installed():
    home = tempfile.mkdtemp(prefix="lens-home-")
    prefix = os.path.join(home, "pre fix")
    # a venv with a plotly package (and no python, so nothing is pip-installed)
    venv = os.path.join(home, "venv")
    js_dir = os.path.join(venv, "lib", "python3.11", "site-packages", "plotly", "package_data")
    os.makedirs(js_dir)
    with open(os.path.join(js_dir, "plotly.min.js"), "w") as f:
        f.write("window.Plotly = {newPlot: function () {}};" + PLOTLY_MARK)
    env = {"HOME": home, "PATH": "/usr/bin:/bin", "VENV": venv}
    subprocess.run([os.path.join(REPO, "scripts", "install.sh"), LENS_BIN, prefix],
                   env=env, check=True, capture_output=True)
    return home, prefix


def test_install_without_jupyter_on_path(installed):
    home, prefix = installed
    spec_dir = os.path.join(home, ".local", "share", "jupyter", "kernels", "lens")
    with open(os.path.join(spec_dir, "kernel.json")) as f:
        spec = json.load(f)
    assert spec["argv"] == [os.path.join(prefix, "bin", "lens"), "kernel", "-f", "{connection_file}"]
    assert os.access(spec["argv"][0], os.X_OK)
    assert spec["language"] == "lens" and spec["interrupt_mode"] == "signal"
    for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        assert os.path.getsize(os.path.join(spec_dir, logo)) > 0
    with open(os.path.join(prefix, "share", "lens", "plotly.min.js")) as f:
        assert f.read().endswith(PLOTLY_MARK)
    model = os.path.join(prefix, "share", "lens", "models", SHIPPED)
    for f in ("config.json", "model.safetensors", "vocab.json", "merges.txt"):
        assert os.path.getsize(os.path.join(model, f)) == os.path.getsize(os.path.join(REPO, "models", SHIPPED, f))


def test_installed_binary_resolves_the_shipped_model_from_any_folder(installed):
    home, prefix = installed
    elsewhere = tempfile.mkdtemp(prefix="lens-cwd-")
    env = {"HOME": home, "PATH": "/usr/bin:/bin"}
    lens = os.path.join(prefix, "bin", "lens")
    out = subprocess.run([lens, "resolve", SHIPPED], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == os.path.join(prefix, "share", "lens", "models", SHIPPED)
    # $LENS_MODELS_DIR comes first
    mine = os.path.join(elsewhere, "mine")
    os.makedirs(os.path.join(mine, SHIPPED))
    with open(os.path.join(mine, SHIPPED, "config.json"), "w") as f:
        f.write("{}")
    out = subprocess.run([lens, "resolve", SHIPPED], cwd=elsewhere, env=dict(env, LENS_MODELS_DIR=mine),
                         capture_output=True, text=True)
    assert out.stdout.strip() == os.path.join(mine, SHIPPED)


def test_installed_kernel_loads_by_name_and_explains_a_missing_model(installed):
    home, prefix = installed
    elsewhere = tempfile.mkdtemp(prefix="lens-cwd-")
    ksm = KernelSpecManager(kernel_dirs=[os.path.join(home, ".local", "share", "jupyter", "kernels")])
    km = KernelManager(kernel_name="lens", kernel_spec_manager=ksm)
    km.start_kernel(cwd=elsewhere, env={"HOME": home, "PATH": "/usr/bin:/bin"})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        reply = kc.execute_interactive(f'm = load("{SHIPPED}")\nm.cfg.n_layers', timeout=120,
                                       output_hook=lambda msg: outputs.append(msg))
        assert reply["content"]["status"] == "ok", reply["content"]
        results = [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"]
        assert results == ["4"]
        outputs.clear()
        # figures inline the plotly.js that make install put beside the binary
        reply = kc.execute_interactive("line([1, 2, 3])", timeout=60, output_hook=lambda msg: outputs.append(msg))
        html = [m["content"]["data"]["text/html"] for m in outputs if m["msg_type"] == "display_data"]
        assert len(html) == 1 and PLOTLY_MARK in html[0]
        outputs.clear()
        reply = kc.execute_interactive('load("gpt2-small")', timeout=60,
                                       output_hook=lambda msg: outputs.append(msg))
        assert reply["content"]["status"] == "error"
        errors = [m["content"]["evalue"] for m in outputs if m["msg_type"] == "error"]
        assert len(errors) == 1
        assert f"Models present: {SHIPPED}." in errors[0]
        assert os.path.join(prefix, "share", "lens", "models") in errors[0]
        assert "lens download gpt2-small" in errors[0]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


outputs = []
