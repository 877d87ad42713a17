"""scripts/install.sh: the binary and a valid kernelspec land where Jupyter looks."""
import json
import os
import subprocess
import tempfile

from conftest import LENS_BIN, REPO


def test_install_without_jupyter_on_path():
    home = tempfile.mkdtemp(prefix="lens-home-")
    prefix = os.path.join(home, "pre fix")
    env = {"HOME": home, "PATH": "/usr/bin:/bin"}
    subprocess.run([os.path.join(REPO, "scripts", "install.sh"), LENS_BIN, prefix],
                   env=env, check=True, capture_output=True)
    spec_dir = os.path.join(home, ".local", "share", "jupyter", "kernels", "lens")
    with open(os.path.join(spec_dir, "kernel.json")) as f:
        spec = json.load(f)
    assert spec["argv"] == [os.path.join(prefix, "bin", "lens"), "kernel", "-f", "{connection_file}"]
    assert os.access(spec["argv"][0], os.X_OK)
    assert spec["language"] == "lens" and spec["interrupt_mode"] == "signal"
    for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        assert os.path.getsize(os.path.join(spec_dir, logo)) > 0
