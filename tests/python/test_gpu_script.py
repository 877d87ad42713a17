"""tests/gpu/run.sh and its helpers on a machine without a GPU.

The GPU verification script cannot run its device steps here; its --dry-run runs
the same pipeline on the cpu with the tiny model shape (build, the loader test,
every hook of the seed-shaped batch dumped and diffed), which must pass. The
diff itself must fail on two different models, and pass with error 0 on one
dump against itself. lens-bench's rows name the backend that ran them, in the
form run.sh and bench/compare_transformerlens.py read.
"""
import importlib.util
import os
import re
import subprocess
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(REPO, os.environ.get("LENS_BUILD", "build"))
COMPARE = os.path.join(BUILD, "gpu", "compare_devices")
RANDOM_MODEL = os.path.join(BUILD, "gpu", "random_model")


def run(args, **kw):
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, **kw)


def test_script_parses():
    for script in ("tests/gpu/run.sh", "tests/gpu/fetch-deps.sh"):
        r = run(["bash", "-n", script])
        assert r.returncode == 0, r.stderr


def test_dry_run_passes_every_step_it_can_run_here():
    with tempfile.TemporaryDirectory() as out:
        sanitize = "1" if os.path.basename(os.path.normpath(BUILD)) == "san" else "0"
        r = run(["tests/gpu/run.sh", "--dry-run", "--out", out], env={**os.environ, "SANITIZE": sanitize})
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
        lines = r.stdout.splitlines()
        assert "build: ok" in " ".join(lines)
        assert any(line.startswith("test_cuda_loader: ok (") and "0 failed" in line for line in lines), lines
        hooks = [line for line in lines if line.startswith("hooks cpu-float32 against cpu: ok (")]
        assert hooks and "worst relative error 0 " in hooks[0], lines
        # the tiny model: 2 layers, every hook of the cache and the logits
        assert "42 entries compared" in hooks[0], hooks
        assert lines[-1].startswith("tests/gpu/run.sh: 0 failed, "), lines[-1]


@pytest.fixture(scope="module")
def two_models():
    for prog in (COMPARE, RANDOM_MODEL):
        assert os.access(prog, os.X_OK), f"{prog} is not built (make)"
    with tempfile.TemporaryDirectory() as d:
        dumps = []
        for seed in ("1", "2"):
            model = os.path.join(d, "model" + seed)
            r = run([RANDOM_MODEL, "--like", "tiny", "--seed", seed, model])
            assert r.returncode == 0, r.stderr
            dump = os.path.join(d, f"hooks{seed}.safetensors")
            r = run([COMPARE, "dump", model, dump], env={**os.environ, "LENS_DEVICE": "cpu", "LENS_CACHE_DIR": "none"})
            assert r.returncode == 0, r.stderr
            assert "41 hooks and the logits of a 100x11 batch" in r.stdout
            dumps.append(dump)
        yield dumps


def test_diff_of_a_dump_with_itself_is_exact(two_models):
    r = run([COMPARE, "diff", two_models[0], two_models[0], "0"])
    assert r.returncode == 0, r.stdout
    assert r.stdout.splitlines()[-1].startswith("42 entries compared, worst relative error 0 (")


def test_diff_of_two_models_fails_hook_by_hook(two_models):
    r = run([COMPARE, "diff", two_models[0], two_models[1], "1e-4"])
    assert r.returncode == 1, r.stdout
    failing = [line for line in r.stdout.splitlines() if line.endswith("  FAIL")]
    names = {line.split()[0] for line in failing}
    assert "blocks.0.hook_resid_pre" in names and "logits" in names, failing
    assert r.stdout.splitlines()[-1].endswith("tolerance 0.0001: FAILED")


def test_usage_errors():
    r = run([COMPARE, "diff", "only-one"])
    assert r.returncode == 2 and "usage: compare_devices dump MODEL_DIR OUT.safetensors" in r.stderr



@pytest.mark.parametrize("device", ["cpu", "sim"])
def test_bench_rows_name_the_backend_that_ran_them(device):
    """lens-bench labels each row with the model's backend (run.sh runs it with
    LENS_DEVICE=cuda), and the rows stay what run.sh's grep and
    compare_transformerlens.py read: the workload, the backend, then the median."""
    bench = os.path.join(BUILD, "lens-bench")
    assert os.access(bench, os.X_OK), f"{bench} is not built (make)"
    env = {**os.environ, "LENS_DEVICE": device, "LENS_CACHE_DIR": "none", "LENS_BENCH_ONLY": "seed run_with_cache"}
    r = run([bench, "tests/fixtures/tiny-gpt2", "1"], env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in r.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| workload") and not line.startswith("| ---")]
    names = [row[0] for row in rows]
    seed = [n for n in names if n.startswith("seed")]
    assert seed == ["seed run_with_cache", "seed run_with_cache, all logits", "seed run_with_cache, every row"], names
    assert {row[1] for row in rows} == {device}, rows
    picked = [line for line in r.stdout.splitlines() if re.match(r"^\| (seed|long|patch)", line)]
    assert len(picked) == 3, picked   # run.sh's grep: the three seed rows
    spec = importlib.util.spec_from_file_location("compare_transformerlens",
                                                  os.path.join(REPO, "bench", "compare_transformerlens.py"))
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    with tempfile.NamedTemporaryFile("w", suffix=".md") as f:
        f.write(r.stdout)
        f.flush()
        medians = compare.values(f.name)
    seed = next(row for row in rows if row[0] == "seed run_with_cache")
    assert medians["seed run_with_cache"] == float(seed[2]) > 0, (medians, seed)
