"""einops.rearrange / reduce / repeat and einsum with an ellipsis in the
language agree with the real einops and numpy on the same arrays: random
arrays go in through a safetensors file, a lens script evaluates each call
with `build/lens run` and saves the results, and einops evaluates the same
calls on the same arrays."""
import os
import subprocess

import einops
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LENS_BUILD", "build")
LENS = os.path.join(REPO, BUILD, "lens") if not os.path.isabs(BUILD) else os.path.join(BUILD, "lens")

# (function, input name, pattern, extra arguments as source text) — valid for both.
CALLS = [
    ("rearrange", "a", "b p d -> b (p d)", ""),
    ("rearrange", "a", "b p d -> d b p", ""),
    ("rearrange", "a", "b p (h e) -> b h p e", ", h=2"),
    ("rearrange", "a", "b p (h e) -> (b h) e p", ", e=3"),
    ("rearrange", "a", "... d -> d ...", ""),
    ("rearrange", "a", "b ... -> b (...)", ""),
    ("rearrange", "a", "b p d -> b 1 p () d", ""),
    ("rearrange", "u", "b 1 d -> b d", ""),
    ("rearrange", "h", "(layer head) -> layer head", ", layer=3, head=4"),
    ("rearrange", "h", "(layer head) -> head layer", ", layer=3"),
    ("reduce", "a", "b p d -> b d", ", 'mean'"),
    ("reduce", "a", "b p d -> d", ", 'sum'"),
    ("reduce", "a", "b p d -> b () d", ", 'max'"),
    ("reduce", "a", "b p (h e) -> b h", ", 'min', h=3"),
    ("reduce", "a", "... d -> ...", ", 'sum'"),
    ("reduce", "a", "b p d -> ", ", 'sum'"),
    ("repeat", "c", "p d -> b p d", ", b=3"),
    ("repeat", "c", "p d -> p (d r)", ", r=2"),
    ("repeat", "c", "p d -> p d 3", ""),
    ("repeat", "h", "n -> (k n)", ", k=2"),
]

# einsum specs with an ellipsis (lens's einsum, torch's, numpy's and fancy_einsum's are one builtin).
EINSUMS = [
    ("... batch d_model, batch d_model -> ...", ["s", "v"]),
    ("...ij,...jk->...ik", ["m", "n"]),
    ("b ... d, d -> b ...", ["a", "w"]),
    ("... d -> ...", ["s"]),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("lang-einops")
    rng = np.random.default_rng(11)
    env = {"a": rng.standard_normal((2, 4, 6)).astype(np.float32),
           "u": rng.standard_normal((3, 1, 5)).astype(np.float32),
           "h": rng.standard_normal((12,)).astype(np.float32),
           "c": rng.standard_normal((4, 5)).astype(np.float32),
           "s": rng.standard_normal((7, 3, 5)).astype(np.float32),
           "v": rng.standard_normal((3, 5)).astype(np.float32),
           "m": rng.standard_normal((2, 3, 4, 5)).astype(np.float32),
           "n": rng.standard_normal((2, 3, 5, 2)).astype(np.float32),
           "w": rng.standard_normal((6,)).astype(np.float32)}
    save_file(env, str(d / "in.safetensors"))
    lines = [f'x = load_tensors("{d / "in.safetensors"}")', "out = {}"]
    for k, (fn, name, pattern, extra) in enumerate(CALLS):
        lines.append(f'out["r{k}"] = einops.{fn}(x["{name}"], "{pattern}"{extra}).float()')
    for k, (spec, names) in enumerate(EINSUMS):
        operands = ", ".join(f'x["{n}"]' for n in names)
        fn = "np.einsum" if k % 2 else "torch.einsum"
        lines.append(f'out["e{k}"] = {fn}("{spec}", {operands})')
    lines.append(f'save("{d / "out.safetensors"}", **out)')
    r = subprocess.run([LENS, "run", "-"], input="\n".join(lines) + "\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return env, load_file(str(d / "out.safetensors"))


@pytest.mark.parametrize("k,call", list(enumerate(CALLS)))
def test_einops_call_matches_einops(results, k, call):
    env, got = results
    fn, name, pattern, extra = call
    want = eval(f"einops.{fn}(x, pattern{extra})", {"einops": einops}, {"x": env[name], "pattern": pattern})
    g = got[f"r{k}"]
    assert g.shape == want.shape, (pattern, g.shape, want.shape)
    np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-5)


def numpy_spec(spec):
    """fancy_einsum's spelling (words, spaces) as numpy's single letters."""
    if " " not in spec:
        return spec
    letters = iter("ijklmnopqrstuvw")
    names = {}
    def side(s):
        out = []
        for word in s.replace("...", " ... ").split():
            if word == "...":
                out.append("...")
            else:
                if word not in names:
                    names[word] = next(letters)
                out.append(names[word])
        return "".join(out)
    lhs, rhs = spec.split("->")
    return ",".join(side(p) for p in lhs.split(",")) + "->" + side(rhs)


@pytest.mark.parametrize("k,case", list(enumerate(EINSUMS)))
def test_einsum_with_ellipsis_matches_numpy(results, k, case):
    env, got = results
    spec, names = case
    want = np.einsum(numpy_spec(spec), *[env[n] for n in names])
    g = got[f"e{k}"]
    assert g.shape == want.shape, (spec, g.shape, want.shape)
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-4)


def run_lens(code):
    return subprocess.run([LENS, "run", "-"], input=code, capture_output=True, text=True)


@pytest.mark.parametrize("code,message", [
    ('einops.rearrange(zeros(2, 3), "a b -> a")', "axis b is on the left of the pattern but not on the right"),
    ('einops.rearrange(zeros(6), "(a b) -> a b")', "cannot infer the sizes of both a and b"),
    ('einops.rearrange(zeros(7), "(a b) -> a b", a=2)', "dim 0 of size 7 cannot be split by 2"),
    ('einops.repeat(zeros(2), "a -> a b")', "give the size of the new axis b as a keyword"),
    ('einops.rearrange(zeros(2, 3), "a (b) c -> a b c")', "the pattern's left side has 3 dims, the tensor has 2"),
    ('einops.rearrange(zeros(2), "a a -> a")', "axis 'a' appears twice on one side of the pattern"),
    ('einops.rearrange(zeros(2), "((a)) -> a")', "parentheses cannot be nested"),
    ('einops.reduce(zeros(2), "a -> ", "median")', "reduction must be 'sum', 'mean', 'max', 'min' or 'prod'"),
])
def test_einops_errors_say_what_is_wrong(code, message):
    r = run_lens(code + "\n")
    assert r.returncode != 0
    assert message in r.stdout + r.stderr, r.stdout + r.stderr
