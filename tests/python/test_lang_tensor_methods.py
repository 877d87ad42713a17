"""Tensor methods and boolean masks in the language agree with numpy (torch's
semantics where they differ, noted per case): random arrays go in through a
safetensors file, `build/lens run` evaluates each lens expression and saves the
results, and numpy evaluates its counterpart on the same arrays. In-place
writes (slice assignment through views, copy_, masked assignment) are checked
the same way, on copies."""
import os
import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LENS_BUILD", "build")
LENS = os.path.join(REPO, BUILD, "lens") if not os.path.isabs(BUILD) else os.path.join(BUILD, "lens")

# (lens expression, numpy expression) on a [5, 4, 6], b [4, 6], g int [5, 4, 2], m [5] floats.
CASES = [
    ("a[a > 0]", "a[a > 0]"),
    ("a[:, b > 0]", "a[:, b > 0]"),
    ("a[m > 0]", "a[m > 0]"),
    ("a[(a > 0) & (a < 1)]", "a[(a > 0) & (a < 1)]"),
    ("a[~(a > 0)]", "a[~(a > 0)]"),
    ("a[(m > 0) | (m < -1)]", "a[(m > 0) | (m < -1)]"),
    ("a[[True, False, True, True, False]]", "a[[True, False, True, True, False]]"),
    ("a[m > 0, 1]", "a[m > 0, 1]"),
    ("a.gather(2, g)", "np.take_along_axis(a, g, 2)"),
    ("a.gather(-1, g)", "np.take_along_axis(a, g, -1)"),
    # torch: an index smaller than the input in other dims reads only those entries
    ("a.gather(dim=1, index=g[:, :2, :1])", "np.take_along_axis(a[:, :, :1], g[:, :2, :1], 1)"),
    ("a.diagonal(0, 1, 2)", "a.diagonal(0, 1, 2)"),
    ("a.diagonal(1, 1, 2)", "a.diagonal(1, 1, 2)"),
    ("a.diagonal(offset=-2, dim1=2, dim2=1)", "a.diagonal(-2, 2, 1)"),
    ("a.diagonal(dim1=0, dim2=2)", "a.diagonal(0, 0, 2)"),
    ("a.abs()", "np.abs(a)"),
    ("a.argmax()", "np.array(a.argmax())"),
    ("a.argmax(-1)", "a.argmax(-1)"),
    ("a.argmax(dim=1, keepdim=True)", "a.argmax(1)[:, None, :]"),
    ("a.cuda().cpu().to('cuda').detach().numpy().clone()", "a"),
]

# In-place writes: lens statements on x = a.clone(), then x; numpy on x = a.copy().
WRITES = [
    ("x[:, 2, :] = b[0]", "x[:, 2, :] = b[0]"),
    ("x[1:3, :, ::2] = 0.5", "x[1:3, :, ::2] = 0.5"),
    ("x[:, 1] = b[2]", "x[:, 1] = b[2]"),
    ("v = x[:, :, 3]\nv[:] = m[:, None]", "v = x[:, :, 3]\nv[:] = m[:, None]"),
    ("x[:, 0].copy_(b[1])", "x[:, 0] = b[1]"),
    ("x[x < 0] = 0", "x[x < 0] = 0"),
    ("x[m > 0] = -1.0", "x[m > 0] = -1.0"),
    ("x[1].zero_()", "x[1] = 0"),
    ("x[..., -1].fill_(7)", "x[..., -1] = 7"),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("lang-methods")
    rng = np.random.default_rng(3)
    env = {"a": rng.standard_normal((5, 4, 6)).astype(np.float32),
           "b": rng.standard_normal((4, 6)).astype(np.float32),
           "g": rng.integers(0, 4, (5, 4, 2)).astype(np.int64),
           "m": rng.standard_normal((5,)).astype(np.float32)}
    save_file(env, str(d / "in.safetensors"))
    lines = [f'x0 = load_tensors("{d / "in.safetensors"}")', 'a, b, g, m = x0["a"], x0["b"], x0["g"], x0["m"]', "out = {}"]
    for k, (expr, _) in enumerate(CASES):
        lines.append(f'out["c{k}"] = ({expr}).float()')
    for k, (stmts, _) in enumerate(WRITES):
        lines.append("x = a.clone()")
        lines.extend(stmts.splitlines())
        lines.append(f'out["w{k}"] = x')
    lines.append(f'save("{d / "out.safetensors"}", **out)')
    r = subprocess.run([LENS, "run", "-"], input="\n".join(lines) + "\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return env, load_file(str(d / "out.safetensors"))


@pytest.mark.parametrize("k,case", list(enumerate(CASES)), ids=[c[0] for c in CASES])
def test_expression_matches_numpy(results, k, case):
    env, got = results
    want = np.asarray(eval(case[1], {"np": np}, dict(env))).astype(np.float32)
    g = got[f"c{k}"]
    assert g.shape == want.shape, (case, g.shape, want.shape)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("k,case", list(enumerate(WRITES)), ids=[w[0] for w in WRITES])
def test_in_place_write_matches_numpy(results, k, case):
    env, got = results
    scope = dict(env)
    scope["x"] = env["a"].copy()
    exec(case[1], {"np": np}, scope)
    np.testing.assert_array_equal(got[f"w{k}"], scope["x"])


@pytest.mark.parametrize("code,message", [
    ("zeros(2, 3)[zeros(3) > 0]", "the mask of shape [3] does not match the indexed dims of the tensor of shape [2, 3]"),
    ("x = zeros(2, 3)\nx[zeros(3) > 0] = 1", "the mask of shape [3] does not match the leading dims of the tensor of shape [2, 3]"),
])
def test_mask_shape_errors(code, message):
    r = subprocess.run([LENS, "run", "-"], input=code + "\n", capture_output=True, text=True)
    assert r.returncode != 0 and message in r.stderr, r.stderr
