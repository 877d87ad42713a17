"""tests/python/lens_display.py — runs the display driver (built by `make`)
and loads the mime bundles it writes, for the figure and browser tests."""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def driver_path():
    build = os.environ.get("LENS_BUILD", "build")
    path = pathlib.Path(build)
    if not path.is_absolute():
        path = ROOT / path
    return path / "tests" / "display_driver"


def write_bundles(outdir):
    """Runs display_driver into outdir; returns {name: bundle} for each .json."""
    exe = driver_path()
    assert exe.exists(), f"{exe} is missing: run `make` first"
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, VIRTUAL_ENV=sys.prefix)  # where plotly.min.js is
    subprocess.run([str(exe), str(outdir)], check=True, timeout=60, env=env)
    return {p.stem: json.loads(p.read_text()) for p in sorted(outdir.glob("*.json"))}


def language_cells(outdir):
    """Runs figures_driver (lens cells through the interpreter, on the fixture
    model) into outdir; returns its cells: [{"source", "outputs"}]."""
    exe = driver_path().parent / "figures_driver"
    assert exe.exists(), f"{exe} is missing: run `make` first"
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, VIRTUAL_ENV=sys.prefix)
    subprocess.run([str(exe), str(outdir), str(ROOT / "tests" / "fixtures" / "tiny-gpt2")],
                   check=True, timeout=120, env=env)
    return json.loads((outdir / "cells.json").read_text())


PLOTLY_MIME = "application/vnd.plotly.v1+json"
