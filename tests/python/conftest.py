"""Shared set-up for the Python suites: a kernelspec for the lens binary under test.

LENS_BUILD (default "build") names the build directory holding `lens`. A
temporary JUPYTER_PATH holds two kernelspecs for it: "lens" (interrupt_mode
signal, like the installed one) and "lens-message" (interrupt_mode message),
so the tests never use or touch an installed kernel.
"""
import atexit
import json
import os
import shutil
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LENS_BUILD", "build")
LENS_BIN = os.path.join(REPO, BUILD, "lens") if not os.path.isabs(BUILD) else os.path.join(BUILD, "lens")

_spec_root = tempfile.mkdtemp(prefix="lens-kernelspec-")
atexit.register(shutil.rmtree, _spec_root, ignore_errors=True)


def _write_spec(name, interrupt_mode):
    d = os.path.join(_spec_root, "kernels", name)
    os.makedirs(d, exist_ok=True)
    spec = {
        "argv": [LENS_BIN, "kernel", "-f", "{connection_file}"],
        "display_name": "lens (test)",
        "language": "lens",
        "interrupt_mode": interrupt_mode,
        "metadata": {"debugger": False},
    }
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump(spec, f)


_write_spec("lens", "signal")
_write_spec("lens-message", "message")
os.environ["JUPYTER_PATH"] = _spec_root + os.pathsep + os.environ.get("JUPYTER_PATH", "")
# jupyter_client would otherwise look for a data dir in the real home
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
