"""Tensor ops against numpy: random inputs (including strided views made by permutes and
python slices) go through build/tests/tensor_ops_driver, and every result is compared
with numpy on the same input: shape, dtype (torch's promotion rules) and values."""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / os.environ.get("LENS_BUILD", "build") / "tests" / "tensor_ops_driver"

rng = np.random.default_rng(1234)


def enc_bound(x):
    return "n" if x is None else str(x)


def make(arr, perm=None, slices=()):
    """Encodes a base array plus view transforms; returns (line, the numpy view)."""
    arr = np.ascontiguousarray(arr)
    is_int = arr.dtype.kind in "iub"
    kind = "b" if arr.dtype == np.bool_ else "i" if is_int else "f"
    parts = [kind, str(arr.ndim)] + [str(s) for s in arr.shape]
    view = arr
    if perm is not None:
        parts += ["p"] + [str(p) for p in perm]
        view = view.transpose(perm)
    for d, a, b, c in slices:
        parts += ["s", str(d), enc_bound(a), enc_bound(b), enc_bound(c)]
        idx = [slice(None)] * view.ndim
        idx[d] = slice(a, b, c)
        view = view[tuple(idx)]
    vals = arr.reshape(-1)
    parts.append("v")
    parts += [str(int(v)) for v in vals] if is_int else ["%.9g" % v for v in vals]
    return " ".join(parts), view


def fl(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def it(*shape, lo=-5, hi=6):
    return rng.integers(lo, hi, size=shape, dtype=np.int64)


def bo(*shape):
    return rng.integers(0, 2, size=shape).astype(np.bool_)


class Cases:
    def __init__(self):
        self.items = []  # (opline, [lines], expected list or "err", label)

    def add(self, opline, inputs, expect, label=None):
        lines, views = zip(*inputs) if inputs else ((), ())
        exp = expect(*views) if callable(expect) else expect
        if isinstance(exp, tuple) and len(exp) == 2 and isinstance(exp[1], (bool, np.bool_)):
            exp = [exp]
        self.items.append((opline, list(lines), exp, label or opline))

    def run(self):
        text = "".join(f"{op}\n{len(ls)}\n" + "".join(l + "\n" for l in ls) for op, ls, _, _ in self.items)
        assert DRIVER.exists(), f"{DRIVER} is missing: run make first"
        out = subprocess.run([str(DRIVER)], input=text, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        results, i = [], 0
        for _ in self.items:
            head = lines[i]
            i += 1
            if head.startswith("err"):
                results.append(("err", head[4:]))
                continue
            k = int(head.split()[1])
            results.append(("ok", [parse_tensor(l) for l in lines[i:i + k]]))
            i += k
        return results


def parse_tensor(line):
    tok = line.split()
    kind, nd = tok[0], int(tok[1])
    shape = tuple(int(s) for s in tok[2:2 + nd])
    vals = tok[3 + nd:]
    if kind == "i":
        return np.array([int(v) for v in vals], dtype=np.int64).reshape(shape)
    if kind == "b":
        return np.array([int(v) != 0 for v in vals], dtype=np.bool_).reshape(shape)
    return np.array([float(v) for v in vals], dtype=np.float32).reshape(shape)


def check_all(cases):
    failures = []
    for (op, _, exp, label), (status, got) in zip(cases.items, cases.run()):
        if isinstance(exp, str) and exp == "err":
            if status != "err":
                failures.append(f"{label}: expected an error, got a result")
            continue
        if status == "err":
            failures.append(f"{label}: error {got}")
            continue
        if len(got) != len(exp):
            failures.append(f"{label}: {len(got)} results, expected {len(exp)}")
            continue
        for g, (e, want_int) in zip(got, exp):
            e = np.asarray(e)
            # an exact result is int64, or bool when the expected array is bool
            want_dtype = (np.bool_ if e.dtype == np.bool_ else np.int64) if want_int else np.float32
            if g.shape != e.shape:
                failures.append(f"{label}: shape {g.shape}, expected {e.shape}")
            elif g.dtype != want_dtype:
                failures.append(f"{label}: dtype {g.dtype}, expected {np.dtype(want_dtype).name}")
            elif want_int and not np.array_equal(g, e):
                failures.append(f"{label}: values {g.ravel()[:8]} expected {e.ravel()[:8]}")
            elif not want_int and not np.allclose(g, e.astype(np.float64), rtol=2e-5, atol=2e-6, equal_nan=True):
                failures.append(f"{label}: values differ, max err {np.nanmax(np.abs(g - e))}")
    assert not failures, "\n".join(failures[:30]) + f"\n({len(failures)} failures)"


def F(x):
    return (np.asarray(x, dtype=np.float64), False)


def I(x):
    return (np.asarray(x, dtype=np.int64), True)


def B(x):
    return (np.asarray(x, dtype=np.bool_), True)


BIN = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "maximum": np.maximum, "minimum": np.minimum, "floordiv": np.floor_divide, "mod": np.mod,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal,
}
CMP = {"eq", "ne", "lt", "le", "gt", "ge"}


def test_broadcasting_binary_ops_match_numpy():
    c = Cases()
    shapes = [((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((5,), ()), ((1,), (3, 2, 1)), ((4, 3), (4, 3)),
              ((), ()), ((2, 0, 3), (3,))]
    for sa, sb in shapes:
        for name, fn in BIN.items():
            for ta, tb in [("f", "f"), ("i", "i"), ("i", "f"), ("b", "i"), ("b", "f"), ("b", "b")]:
                if (ta, tb) == ("b", "b") and name in ("floordiv", "mod") or ta == "b" and name == "sub":
                    continue   # torch refuses these (below)
                a = {"f": fl, "i": it, "b": bo}[ta](*sa)
                b = {"f": fl, "i": it, "b": bo}[tb](*sb)
                if name in ("floordiv", "mod"):
                    b = np.where(b == 0, 3, b).astype(b.dtype)
                # torch's promotion, which numpy shares for these: bool < int64 < float32;
                # comparisons give bool
                exact = name in CMP or ({ta, tb} <= {"i", "b"} and name != "div")
                def exp(x, y, fn=fn, exact=exact, ta=ta, tb=tb, name=name):
                    if tb == "f":
                        x = x.astype(np.float32)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        r = fn(x, y)
                    if name in CMP or (ta, tb) == ("b", "b") and name != "div":
                        return B(r)
                    return (r.astype(np.int64), True) if exact else (r.astype(np.float64), False)
                c.add(f"binary {name}", [make(a), make(b)], exp, f"{name} {ta}{sa} {tb}{sb}")
    # Strided operands: a transposed view against a reversed slice.
    a, b = fl(4, 3), fl(3, 4)
    c.add("binary mul", [make(a, perm=(1, 0)), make(b, slices=[(1, None, None, -1)])],
          lambda x, y: F(x * y))
    c.add("binary pow", [make(np.abs(fl(3, 4)) + 0.5), make(fl(4))], lambda x, y: F(np.power(x, y)))
    c.add("binary pow", [make(it(3, 4)), make(rng.integers(0, 4, size=(4,)))], lambda x, y: I(x ** y))
    c.add("binary add", [make(fl(3, 4)), make(fl(3))], "err", "broadcast mismatch is an error")
    c.add("binary floordiv", [make(it(3)), make(np.zeros(3, np.int64))], "err", "int division by zero")
    # & | ^: logical on bool, bitwise on int64 (also int64 with bool), refused on float32
    for name, fn in (("and", np.bitwise_and), ("or", np.bitwise_or), ("xor", np.bitwise_xor)):
        c.add(f"binary {name}", [make(bo(3, 4)), make(bo(4))], lambda x, y, fn=fn: B(fn(x, y)), f"{name} bool")
        c.add(f"binary {name}", [make(it(3, 4, lo=-9, hi=9)), make(it(4, lo=-9, hi=9))],
              lambda x, y, fn=fn: I(fn(x, y)), f"{name} int64")
        c.add(f"binary {name}", [make(it(3, 4)), make(bo(4))], lambda x, y, fn=fn: I(fn(x, y)), f"{name} int64 bool")
        c.add(f"binary {name}", [make(fl(3)), make(fl(3))], "err", f"{name} float32")
    for name in ("sub", "floordiv", "mod", "pow"):
        c.add(f"binary {name}", [make(bo(3)), make(bo(3))], "err", f"{name} of two bools")
    c.add("binary sub", [make(bo(3)), make(it(3))], "err", "bool - int64")
    check_all(c)


def random_slice(n):
    pick = lambda: rng.choice([None, int(rng.integers(-n - 3, n + 4))])
    step = int(rng.choice([None, 1, 2, 3, -1, -2, -3]) or 1)
    return (pick(), pick(), step)


def test_slicing_with_negative_indices_and_steps_matches_numpy():
    c = Cases()
    for _ in range(120):
        nd = int(rng.integers(1, 4))
        shape = tuple(int(s) for s in rng.integers(1, 7, size=nd))
        a = fl(*shape)
        slices = []
        for _ in range(int(rng.integers(1, 3))):
            d = int(rng.integers(0, nd))
            slices.append((d, *random_slice(shape[d])))
        perm = tuple(int(p) for p in rng.permutation(nd)) if rng.random() < 0.3 else None
        c.add("view", [make(a, perm=perm, slices=slices)], lambda x: F(x), f"view {shape} {perm} {slices}")
    # Negative dims in the slice.
    a = fl(3, 5)
    c.add("view", [make(a, slices=[(-1, -2, None, -1)])], F(a[:, -2::-1]))
    check_all(c)


RED = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod,
       "argmax": np.argmax, "argmin": np.argmin}


def test_reductions_match_numpy():
    c = Cases()
    for dt in ("f", "i"):
        a = fl(3, 4, 5) if dt == "f" else it(3, 4, 5)
        for name, fn in RED.items():
            int_out = name.startswith("arg") or (dt == "i" and name != "mean")
            for dim in (0, 1, 2, -1, -3):
                for keep in (0, 1):
                    def exp(x, fn=fn, dim=dim, keep=keep, int_out=int_out, name=name):
                        r = fn(x.astype(np.float64) if not int_out else x, axis=dim)
                        if keep:
                            r = np.expand_dims(r, dim)
                        return (r.astype(np.int64), True) if int_out else F(r)
                    c.add(f"reduce {name} {dim} {keep}", [make(a, perm=(2, 0, 1))], exp,
                          f"{name} {dt} dim={dim} keep={keep}")
            c.add(f"reduce {name} all 0", [make(a)],
                  lambda x, fn=fn, int_out=int_out: (np.asarray(fn(x)).astype(np.int64), True) if int_out
                  else F(fn(x.astype(np.float64))), f"{name} {dt} all")
        for keep in (0, 1):
            c.add(f"reduce sum 0,2 {keep}", [make(a)],
                  lambda x, keep=keep: (x.sum(axis=(0, 2), keepdims=bool(keep)), dt == "i"))
        for name, fn in (("var", np.var), ("std", np.std)):
            c.add(f"reduce {name} 1 0", [make(a)], lambda x, fn=fn: F(fn(x.astype(np.float64), axis=1, ddof=1)))
    a = fl(4, 6)
    c.add("reduce max 5 0", [make(a)], "err", "dim out of range")
    c.add("reduce max 0 0", [make(np.zeros((0, 3), np.float32))], "err", "max of empty dim")
    c.add("cumsum 1", [make(a)], lambda x: F(np.cumsum(x, axis=1)))
    c.add("cumsum 0", [make(it(4, 3))], lambda x: I(np.cumsum(x, axis=0)))
    # bool: sum, prod and cumsum count in int64; max, min, any, all stay bool; mean and arg* refuse
    m = bo(3, 4, 5)
    for dim in ("1", "0,2", "all"):
        c.add(f"reduce sum {dim} 0", [make(m, perm=(2, 0, 1))],
              lambda x, dim=dim: I(x.sum(axis=None if dim == "all" else tuple(int(d) for d in dim.split(",")))),
              f"sum bool {dim}")
    for name, fn in (("max", np.max), ("min", np.min), ("any", np.any), ("all", np.all)):
        c.add(f"reduce {name} 1 1", [make(m)], lambda x, fn=fn: B(fn(x, axis=1, keepdims=True)), f"{name} bool")
    c.add("reduce prod all 0", [make(m)], lambda x: I(np.prod(x)), "prod bool")
    for name, fn in (("any", np.any), ("all", np.all)):
        c.add(f"reduce {name} 0 0", [make(it(3, 4, lo=0, hi=2))], lambda x, fn=fn: B(fn(x, axis=0)), f"{name} int64")
    c.add("cumsum 1", [make(m)], lambda x: I(np.cumsum(x, axis=1)), "cumsum bool")
    for name in ("mean", "argmax", "argmin", "var", "std"):
        c.add(f"reduce {name} 0 0", [make(m)], "err", f"{name} of bool")
    check_all(c)


def test_diagonal_matches_numpy():
    c = Cases()
    for shape in [(4, 4), (3, 5), (5, 3), (2, 3, 4), (4, 3, 3)]:
        a = fl(*shape)
        nd = len(shape)
        for d1, d2 in [(0, 1), (1, 0), (-2, -1), (0, nd - 1)]:
            if (d1 % nd) == (d2 % nd):
                continue
            for off in (-2, -1, 0, 1, 2, 6):
                c.add(f"diagonal {off} {d1} {d2}", [make(a)],
                      lambda x, off=off, d1=d1, d2=d2: F(np.diagonal(x, off, d1, d2)),
                      f"diagonal {shape} off={off} dims={d1},{d2}")
    c.add("diagonal 0 1 1", [make(fl(3, 3))], "err", "same dims")
    check_all(c)


def test_topk_and_sort_order_ties_by_lower_index():
    c = Cases()
    for dt in ("f", "i"):
        a = fl(4, 9) if dt == "f" else it(4, 9, lo=0, hi=4)  # ints have many ties
        wi = dt == "i"
        for dim in (1, -1, 0):
            n = a.shape[dim]
            for largest in (1, 0):
                for k in (1, 3, n):
                    def exp(x, k=k, dim=dim, largest=largest):
                        order = np.argsort(-x if largest else x, axis=dim, kind="stable")
                        idx = np.take(order, np.arange(k), axis=dim)
                        return [(np.take_along_axis(x, idx, axis=dim), wi), I(idx)]
                    c.add(f"topk {k} {dim} {largest}", [make(a)], exp, f"topk {dt} k={k} dim={dim} largest={largest}")
            for desc in (0, 1):
                def exp2(x, dim=dim, desc=desc):
                    order = np.argsort(-x if desc else x, axis=dim, kind="stable")
                    return [(np.take_along_axis(x, order, axis=dim), wi), I(order)]
                c.add(f"sort {dim} {desc}", [make(a, slices=[(1, None, None, -1)])], exp2, f"sort {dt} dim={dim} desc={desc}")
    # Long rows (the selection path for small k), with ties among the ints.
    for a, wi in ((fl(3, 300), False), (it(3, 300, lo=0, hi=20), True)):
        for k, largest in ((1, 1), (5, 1), (7, 0), (60, 1)):
            def exp3(x, k=k, largest=largest, wi=wi):
                order = np.argsort(-x if largest else x, axis=1, kind="stable")[:, :k]
                return [(np.take_along_axis(x, order, axis=1), wi), I(order)]
            c.add(f"topk {k} 1 {largest}", [make(a, perm=(0, 1))], exp3, f"topk long rows k={k} int={wi}")
    c.add("topk 10 -1 1", [make(fl(3, 4))], "err", "k too large")
    check_all(c)


def softmax_np(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_softmax_and_log_softmax_match_numpy():
    c = Cases()
    for dim in (0, 1, -1):
        a = (fl(3, 7) * 10).astype(np.float32)
        c.add(f"softmax {dim}", [make(a)], lambda x, dim=dim: F(softmax_np(x.astype(np.float64), dim)))
        c.add(f"log_softmax {dim}", [make(a, perm=(1, 0))],
              lambda x, dim=dim: F(np.log(softmax_np(x.astype(np.float64), dim))))
    c.add("softmax 0", [make(it(4))], lambda x: F(softmax_np(x.astype(np.float64), 0)))
    check_all(c)


def test_einsum_classic_and_named_specs_match_numpy():
    c = Cases()
    specs = [
        ("bd,bd->b", [(5, 4), (5, 4)]),
        ("bd,bd->", [(5, 4), (5, 4)]),
        ("ij,jk->ik", [(3, 4), (4, 2)]),
        ("ij,jk->ki", [(3, 4), (4, 2)]),
        ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
        ("ij->ji", [(3, 4)]),
        ("ij->", [(3, 4)]),
        ("ii->i", [(4, 4)]),
        ("ii->", [(4, 4)]),
        ("i,j->ij", [(3,), (4,)]),
        ("ij,j,k->ik", [(3, 4), (4,), (2,)]),
        ("abc,cd,bd->a", [(2, 3, 4), (4, 5), (3, 5)]),
        ("bpd,dv->bpv", [(2, 3, 4), (4, 6)]),
    ]
    for spec, shapes in specs:
        arrs = [fl(*s) for s in shapes]
        c.add(f"einsum {spec}", [make(a) for a in arrs],
              lambda *xs, spec=spec: F(np.einsum(spec, *[x.astype(np.float64) for x in xs])), spec)
        # Same spec with spaces and with long names.
        words = {ch: f"{ch}{ch}_dim" for ch in "abcdhijkpqv"}
        lhs, rhs = spec.split("->")
        named = ", ".join(" ".join(words[ch] for ch in t) for t in lhs.split(",")) + " -> " + " ".join(words[ch] for ch in rhs)
        c.add(f"einsum {named}", [make(a) for a in arrs],
              lambda *xs, spec=spec: F(np.einsum(spec, *[x.astype(np.float64) for x in xs])), named)
    # The notebook's spelling, with one-word terms (named by rank mismatch).
    a, b = fl(6, 8), fl(6, 8)
    c.add("einsum batch d_model, batch d_model -> ", [make(a), make(b)], lambda x, y: F((x.astype(np.float64) * y).sum()))
    c.add("einsum batch, batch -> batch", [make(fl(5)), make(fl(5))], lambda x, y: F(x * y))
    c.add("einsum ij,jk->ik", [make(fl(3, 4), perm=(1, 0)), make(fl(3, 2))],
          lambda x, y: F(x.astype(np.float64) @ y), "einsum on a transposed view")
    c.add("einsum ij,jk->ik", [make(it(3, 4)), make(it(4, 2))], lambda x, y: I(x @ y), "int einsum")
    c.add("einsum ij,jk->ik", [make(fl(3, 4)), make(fl(5, 2))], "err", "size mismatch")
    c.add("einsum ij,jk", [make(fl(3, 4)), make(fl(4, 2))], "err", "no arrow")
    c.add("einsum ij->k", [make(fl(3, 4))], "err", "unknown output index")
    check_all(c)


def test_matmul_matches_numpy():
    c = Cases()
    pairs = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 6)),
             ((2, 3, 4), (4, 2)), ((1, 4), (4, 1)), ((3, 0), (0, 2)), ((5, 3, 4), (4,))]
    for sa, sb in pairs:
        c.add("matmul", [make(fl(*sa)), make(fl(*sb))], lambda x, y: F(np.matmul(x.astype(np.float64), y)), f"matmul {sa} {sb}")
    # Transposed and sliced views, which BLAS reads in place or through a copy.
    c.add("matmul", [make(fl(4, 3), perm=(1, 0)), make(fl(5, 4), perm=(1, 0))],
          lambda x, y: F(x.astype(np.float64) @ y), "matmul transposed")
    c.add("matmul", [make(fl(6, 8), slices=[(0, None, None, 2), (1, 1, 5, None)]), make(fl(4, 3), slices=[(0, None, None, -1)])],
          lambda x, y: F(x.astype(np.float64) @ y), "matmul sliced")
    c.add("matmul", [make(it(3, 4)), make(it(4, 2))], lambda x, y: I(x @ y), "int matmul")
    c.add("matmul", [make(it(3, 4)), make(fl(4, 2))], lambda x, y: F(x.astype(np.float64) @ y), "mixed matmul")
    c.add("matmul", [make(fl(3, 4)), make(fl(5, 2))], "err", "inner mismatch")
    check_all(c)


def test_indexing_and_shape_ops_match_numpy():
    c = Cases()
    a = fl(5, 4, 3)
    for dim in (0, 1, -1):
        n = a.shape[dim]
        idx = rng.integers(-n, n, size=(2, 3))
        c.add(f"index_select {dim}", [make(a), make(idx)], lambda x, i, dim=dim: F(np.take(x, i, axis=dim)))
    c.add("index_select 0", [make(a), make(np.array([5]))], "err", "index out of range")
    idx = rng.integers(0, 4, size=(5, 4, 3))
    c.add("gather 1", [make(a), make(idx)], lambda x, i: F(np.take_along_axis(x, i, axis=1)))
    for dim in (0, 1, -1):
        parts = [fl(2, 3), fl(2, 3), fl(2, 3)]
        c.add(f"cat {dim if dim != -1 else -1}", [make(p) for p in parts], lambda *xs, dim=dim: F(np.concatenate(xs, axis=dim)))
        c.add(f"stack {dim}", [make(p) for p in parts], lambda *xs, dim=dim: F(np.stack(xs, axis=dim)))
    c.add("cat 0", [make(fl(2, 3)), make(fl(2, 4))], "err", "cat mismatch")
    for s, e in [(0, -1), (1, 2), (0, 1), (-2, -1)]:
        c.add(f"flatten {s} {e}", [make(a, perm=(2, 1, 0))],
              lambda x, s=s, e=e: F(x.reshape(x.shape[:s % 3] + (-1,) + x.shape[e % 3 + 1:])))
    cond = bo(4, 1)
    c.add("where", [make(cond), make(fl(4, 3)), make(fl(3))], lambda m, x, y: F(np.where(m, x, y)))
    c.add("where", [make(cond), make(it(4, 3)), make(bo(3))], lambda m, x, y: I(np.where(m, x, y)), "where int64/bool")
    c.add("where", [make(cond), make(bo(4, 3)), make(bo(3))], lambda m, x, y: B(np.where(m, x, y)), "where bool/bool")
    c.add("where", [make(rng.integers(0, 2, size=(4, 1))), make(fl(4, 3)), make(fl(3))], "err", "an int64 condition")
    c.add("cat 0", [make(bo(2, 3)), make(bo(1, 3))], lambda *xs: B(np.concatenate(xs)), "cat of bools")
    c.add("cat 0", [make(bo(2, 3)), make(it(1, 3))], lambda *xs: I(np.concatenate(xs)), "cat bool with int64")
    c.add("stack 1", [make(bo(2, 3)), make(bo(2, 3), perm=None, slices=[(1, None, None, -1)])],
          lambda *xs: B(np.stack(xs, axis=1)), "stack of bool views")
    c.add("tril 0", [make(bo(4, 4))], lambda x: B(np.tril(x)), "tril of a bool mask")
    c.add("sort 0 0", [make(bo(6))], lambda x: [B(np.sort(x, kind="stable")), I(np.argsort(x, kind="stable"))], "sort bool")
    c.add("topk 1 0 1", [make(bo(6))], "err", "topk of bool")
    for k in (-1, 0, 2):
        c.add(f"tril {k}", [make(fl(2, 4, 5))], lambda x, k=k: F(np.tril(x, k)))
        c.add(f"triu {k}", [make(it(4, 5))], lambda x, k=k: I(np.triu(x, k)))
    c.add("expand 2 3 4", [make(fl(3, 1))], lambda x: F(np.broadcast_to(x, (2, 3, 4))))
    c.add("expand -1 4", [make(fl(3, 1))], lambda x: F(np.broadcast_to(x, (3, 4))))
    c.add("expand 3 4", [make(fl(2, 4))], "err", "expand non-1 dim")
    check_all(c)


def test_unary_ops_match_numpy():
    c = Cases()
    a = fl(3, 5)
    pos = np.abs(a) + 0.1
    for name, fn, x in [("neg", np.negative, a), ("abs", np.abs, a), ("exp", np.exp, a), ("log", np.log, pos),
                        ("sqrt", np.sqrt, pos), ("tanh", np.tanh, a), ("relu", lambda v: np.maximum(v, 0), a),
                        ("sigmoid", lambda v: 1 / (1 + np.exp(-v)), a), ("floor", np.floor, a * 3),
                        ("round", np.round, a * 3)]:
        c.add(f"unary {name}", [make(x, perm=(1, 0))], lambda v, fn=fn: F(fn(v.astype(np.float64))), name)
    c.add("unary neg", [make(it(4))], lambda v: I(-v))
    c.add("unary not", [make(bo(3, 4), perm=(1, 0))], lambda v: B(np.logical_not(v)), "~ of bool")
    c.add("unary not", [make(it(5))], lambda v: I(np.invert(v)), "~ of int64 is bitwise")
    c.add("unary not", [make(fl(3))], "err", "~ of float32")
    c.add("unary exp", [make(bo(4))], lambda v: F(np.exp(v.astype(np.float64))), "exp of bool")
    for name in ("neg", "abs", "relu", "floor"):
        c.add(f"unary {name}", [make(bo(3))], "err", f"{name} of bool")
    c.add("unary exp", [make(it(4))], lambda v: F(np.exp(v.astype(np.float64))))
    check_all(c)
