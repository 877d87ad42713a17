"""The language's tensor indexing, slicing and broadcasting agree with numpy on
the same shapes: random arrays go in through a safetensors file (load_tensors),
a lens script evaluates each expression with `build/lens run`, saves the
results (save), and numpy evaluates the same expressions on the same arrays."""
import os
import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LENS_BUILD", "build")
LENS = os.path.join(REPO, BUILD, "lens") if not os.path.isabs(BUILD) else os.path.join(BUILD, "lens")

# Expressions valid in both numpy (on arrays a, b, c, i) and lens (on tensors).
EXPRESSIONS = [
    "a[1]", "a[-1]", "a[:, -1]", "a[:, -1, :]", "a[1:3]", "a[::2]", "a[1::2, :, 1:]",
    "a[-3:-1, 0]", "a[:, 1:-1, ::3]", "a[0, 0, -2]", "a[2:100]", "a[-100:2]", "a[..., 0]",
    "a[None, 1].shape", "a[:, None, 0]",
    "a + b", "a - c", "a * b - c", "a / (b * b + 1)", "-a + 2", "2 * a ** 2", "a[:, 0, :] + c[0]",
    "b.T + c.T[:, :1]", "(a > 0) * a",
    "a.sum(-1)", "a.mean(1)", "a.max(0).values", "a.argmax(-1)", "a.reshape(4, -1)[1:3]",
    "a.transpose(0, 2)[1]", "a.permute(2, 0, 1)[:, -1]", "a.flatten()[7:20:3]", "a[i]", "a[:, i]",
]


def numpy_eval(expr, env):
    e = (expr.replace(".max(0).values", ".max(0)")
         .replace(".permute(2, 0, 1)", ".transpose(2, 0, 1)").replace(".transpose(0, 2)", ".swapaxes(0, 2)"))
    return np.asarray(eval(e, {"np": np}, env))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("lang-numpy")
    rng = np.random.default_rng(7)
    env = {"a": rng.standard_normal((5, 4, 6)).astype(np.float32),
           "b": rng.standard_normal((4, 6)).astype(np.float32),
           "c": rng.standard_normal((4, 6)).astype(np.float32),
           "i": np.array([3, 0, -1, 2], dtype=np.int64)}
    save_file(env, str(d / "in.safetensors"))
    lines = [f'x = load_tensors("{d / "in.safetensors"}")', 'a, b, c, i = x["a"], x["b"], x["c"], x["i"]', "out = {}"]
    for k, expr in enumerate(EXPRESSIONS):
        value = f"tensor(list({expr}))" if expr.endswith(".shape") else f"({expr}).float()"
        lines.append(f'out["e{k}"] = {value}')
    lines.append(f'save("{d / "out.safetensors"}", **out)')
    r = subprocess.run([LENS, "run", "-"], input="\n".join(lines) + "\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return env, load_file(str(d / "out.safetensors"))


@pytest.mark.parametrize("k,expr", list(enumerate(EXPRESSIONS)))
def test_expression_matches_numpy(results, k, expr):
    env, got = results
    want = numpy_eval(expr, env)
    if expr.endswith(".shape"):
        want = np.array(want, dtype=np.float32)
    g = got[f"e{k}"]
    assert g.shape == want.shape, (expr, g.shape, want.shape)
    np.testing.assert_allclose(g, want.astype(np.float32), rtol=1e-5, atol=1e-6, err_msg=expr)


def test_index_errors_name_the_position():
    r = subprocess.run([LENS, "run", "-"], input="t = arange(6).reshape(2, 3)\nt[2]\n", capture_output=True, text=True)
    assert r.returncode == 1
    assert "IndexError" in r.stderr and "line 2" in r.stderr and "^" in r.stderr
