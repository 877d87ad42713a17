"""The engine's command-line access: `lens cache` writes TransformerLens-named
activations that other tools read (checked against the reference fixture with
numpy), `lens random-model` writes a loadable Hugging Face directory, and bad
models give a clear error and exit 1."""
import json
import os
import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LENS_BUILD", "build")
LENS = os.path.join(REPO, BUILD, "lens") if not os.path.isabs(BUILD) else os.path.join(BUILD, "lens")
TINY = os.path.join(REPO, "tests", "fixtures", "tiny-gpt2")
REF = os.path.join(TINY, "reference.safetensors")


def ref_meta():
    with open(REF, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    return json.loads(header["__metadata__"]["meta"])


def rel_err(a, b):
    finite = np.isfinite(b)
    assert np.array_equal(np.isfinite(a), finite)
    assert np.array_equal(a[~finite], b[~finite])
    return np.max(np.abs(a[finite] - b[finite])) / max(np.max(np.abs(b[finite])), 1e-6)


@pytest.mark.parametrize("processing", ["raw", "default", "refactor"])
def test_cache_command_writes_reference_activations(tmp_path, processing):
    out = tmp_path / "cache.safetensors"
    args = [LENS, "cache", TINY, "--processing", processing, "--out", str(out)]
    for p in ref_meta()["prompts"]:
        args += ["--prompt", p]
    subprocess.run(args, check=True, capture_output=True)
    got = load_file(str(out))
    ref = load_file(REF)
    assert np.array_equal(got["tokens"], ref["tokens"])
    assert rel_err(got["logits"][:, -1], ref[f"{processing}.logits_last"]) <= 1e-4
    prefix = f"{processing}.cache."
    compared = 0
    for name, want in ref.items():
        if not name.startswith(prefix):
            continue
        hook = name[len(prefix):]
        if processing == "refactor" and hook.split(".")[-1] in ("hook_q", "hook_k", "hook_v", "hook_z"):
            continue  # basis-dependent under the SVD; the C tests compare invariants
        assert got[hook].shape == want.shape, hook
        assert rel_err(got[hook], want) <= 1e-4, hook
        compared += 1
    assert compared >= 4


def test_cache_command_names_filter_keeps_only_matching_hooks(tmp_path):
    out = tmp_path / "c.safetensors"
    subprocess.run([LENS, "cache", TINY, "--prompt", "Hello world", "--names", "hook_pattern$",
                    "--out", str(out)], check=True, capture_output=True)
    got = load_file(str(out))
    assert sorted(got) == ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern", "logits", "tokens"]
    pattern = got["blocks.1.attn.hook_pattern"]
    assert pattern.shape == (1, 4, 3, 3)
    assert np.allclose(pattern.sum(-1), 1.0, atol=1e-6)
    assert np.all(np.triu(pattern[0, 0], 1) == 0)


def test_random_model_is_a_loadable_hugging_face_directory(tmp_path):
    d = tmp_path / "rand"
    subprocess.run([LENS, "random-model", "--like", "tiny", str(d)], check=True, capture_output=True)
    assert sorted(os.listdir(d)) == ["config.json", "merges.txt", "model.safetensors", "vocab.json"]
    cfg = json.loads((d / "config.json").read_text())
    assert (cfg["n_layer"], cfg["n_embd"], cfg["n_head"]) == (2, 64, 4)
    weights = load_file(str(d / "model.safetensors"))
    assert weights["transformer.h.1.attn.c_attn.weight"].shape == (64, 192)
    assert "lm_head.weight" not in weights
    out = tmp_path / "c.safetensors"
    subprocess.run([LENS, "cache", str(d), "--prompt", "Hi", "--out", str(out)], check=True, capture_output=True)
    assert load_file(str(out))["logits"].shape == (1, 2, 50257)


def test_cache_command_reports_a_corrupt_model(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    for f in ("config.json", "vocab.json", "merges.txt"):
        (d / f).write_bytes((open(os.path.join(TINY, f), "rb")).read())
    (d / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1")
    r = subprocess.run([LENS, "cache", str(d), "--prompt", "Hi", "--out", str(tmp_path / "x")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "model.safetensors" in r.stderr and "lens cache:" in r.stderr


def test_run_errors_name_the_file_and_line(tmp_path):
    script = tmp_path / "bad.lens"
    script.write_text("x = 1\nlayers = [0, 1]\ntotal = x + layres[0]\n")
    out = subprocess.run([LENS, "run", str(script)], capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f'  File "{script}", line 3, column 13',
        "    total = x + layres[0]",
        "                ^",
        "NameError: name 'layres' is not defined. Did you mean: 'layers'?"]
    out = subprocess.run([LENS, "run", "-"], input="y = (\n", capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.startswith('  File "<stdin>", line 1')
    assert "Cell line" not in out.stderr
