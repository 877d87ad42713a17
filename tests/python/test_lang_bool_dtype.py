"""The bool dtype and torch's names for dtypes and types in the language: each
expression runs in `build/lens run` and must print exactly what torch 2 prints
for it (the expected text below was taken from torch on the same inputs, error
messages included). lens has one integer dtype, so .int() is left out (torch
gives int32 there)."""
import os
import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LENS_BUILD", "build")
LENS = os.path.join(REPO, BUILD, "lens") if not os.path.isabs(BUILD) else os.path.join(BUILD, "lens")

SETUP = """import torch
x = torch.tensor([1.5, -2.0, 0.5, 3.0])
i = torch.tensor([1, 2, 3, 4])
m = torch.tensor([[1, 2, 3], [0, 1, 0]])
"""

# (expression, what torch prints for repr(expression) or for the error it raises)
CASES = [
    ('x > 0',
     'tensor([ True, False,  True,  True])'),
    ('x >= 0.5',
     'tensor([ True, False,  True,  True])'),
    ('i == 2',
     'tensor([False,  True, False, False])'),
    ('(x > 0).dtype',
     'torch.bool'),
    ('x.dtype',
     'torch.float32'),
    ('i.dtype',
     'torch.int64'),
    ('torch.bool',
     'torch.bool'),
    ('x.dtype == torch.float32',
     'True'),
    ('i.dtype == torch.long',
     'True'),
    ('(x > 0).dtype == torch.bool',
     'True'),
    ('type(x)',
     "<class 'torch.Tensor'>"),
    ('type(x.shape)',
     "<class 'torch.Size'>"),
    ('isinstance(x > 0, torch.Tensor)',
     'True'),
    ('type(x).__name__',
     "'Tensor'"),
    ('torch.tensor([True, False, True])',
     'tensor([ True, False,  True])'),
    ('torch.tensor(True)',
     'tensor(True)'),
    ('torch.tensor([[True], [False]])',
     'tensor([[ True],\n        [False]])'),
    ('torch.tensor([True, 2])',
     'tensor([1, 2])'),
    ('torch.tensor([True, 2.5])',
     'tensor([1.0000, 2.5000])'),
    ('torch.tensor([1, 0, 2], dtype=torch.bool)',
     'tensor([ True, False,  True])'),
    ('torch.zeros(2, 3, dtype=torch.bool)',
     'tensor([[False, False, False],\n        [False, False, False]])'),
    ('torch.ones(3, dtype=torch.bool)',
     'tensor([True, True, True])'),
    ('torch.full((2,), True)',
     'tensor([True, True])'),
    ('(x > 0).clone()',
     'tensor([ True, False,  True,  True])'),
    ('(x > 0)[1:]',
     'tensor([False,  True,  True])'),
    ('(x > 0)[::2]',
     'tensor([True, True])'),
    ('torch.cat([x > 0, x < 0])',
     'tensor([ True, False,  True,  True, False,  True, False, False])'),
    ('torch.stack([x > 0, x < 0])',
     'tensor([[ True, False,  True,  True],\n        [False,  True, False, False]])'),
    ('(x > 0).unsqueeze(0)',
     'tensor([[ True, False,  True,  True]])'),
    ('(x > 0).reshape(2, 2)',
     'tensor([[ True, False],\n        [ True,  True]])'),
    ('(x > 0).reshape(2, 2).T',
     'tensor([[ True,  True],\n        [False,  True]])'),
    ('(x > 0)[0].item()',
     'True'),
    ('(x > 0).item()',
     'RuntimeError: a Tensor with 4 elements cannot be converted to Scalar'),
    ('3.0 in x', 'True'),
    ('4 in x', 'False'),
    ('int(torch.tensor(True))', '1'),
    ('float(x[0] > 0)', '1.0'),
    ('bool(x[1] > 0)', 'False'),
    ("f'{x[0] > 0}'", "'True'"),
    ('str(x > 0)', "'tensor([ True, False,  True,  True])'"),
    ('sum(x > 0)', 'tensor(3)'),
    ('(x > 0).tolist()',
     '[True, False, True, True]'),
    ('(x > 0).sum()',
     'tensor(3)'),
    ('(x > 0).sum().item()',
     '3'),
    ('(x > 0).float()',
     'tensor([1., 0., 1., 1.])'),
    ('(x > 0).long()',
     'tensor([1, 0, 1, 1])'),
    ('i.bool()',
     'tensor([True, True, True, True])'),
    ('x.bool()',
     'tensor([True, True, True, True])'),
    ('x.to(torch.bool)',
     'tensor([True, True, True, True])'),
    ('(x > 0).to(torch.float32)',
     'tensor([1., 0., 1., 1.])'),
    ('(x > 0).any()',
     'tensor(True)'),
    ('(x > 0).all()',
     'tensor(False)'),
    ('(x > 0).float().mean()',
     'tensor(0.7500)'),
    ('(x > 0) & (x < 1)',
     'tensor([False, False,  True, False])'),
    ('(x > 0) | (i == 4)',
     'tensor([ True, False,  True,  True])'),
    ('(x > 0) ^ (x < 1)',
     'tensor([ True,  True, False,  True])'),
    ('~(x > 0)',
     'tensor([False,  True, False, False])'),
    ('i & 6',
     'tensor([0, 2, 2, 4])'),
    ('i | 1',
     'tensor([1, 3, 3, 5])'),
    ('~i',
     'tensor([-2, -3, -4, -5])'),
    ('(x > 0) + (x < 1)',
     'tensor([True, True, True, True])'),
    ('(x > 0) * 3',
     'tensor([3, 0, 3, 3])'),
    ('(x > 0) + 0.5',
     'tensor([1.5000, 0.5000, 1.5000, 1.5000])'),
    ('(x > 0) + i',
     'tensor([2, 2, 4, 5])'),
    ('x[x > 0]',
     'tensor([1.5000, 0.5000, 3.0000])'),
    ('i[x > 0]',
     'tensor([1, 3, 4])'),
    ('x[[True, False, True, False]]',
     'tensor([1.5000, 0.5000])'),
    ('i[torch.tensor([1, 0, 1, 1])]',
     'tensor([2, 1, 2, 2])'),
    ('i[torch.tensor([0, 1])]',
     'tensor([1, 2])'),
    ('m[m.sum(1) > 1]',
     'tensor([[1, 2, 3]])'),
    ('m > 2',
     'tensor([[False, False,  True],\n        [False, False, False]])'),
    ('torch.where(x > 0, x, 0.0)',
     'tensor([1.5000, 0.0000, 0.5000, 3.0000])'),
    ('torch.where(x > 0, i, x)',
     'tensor([ 1., -2.,  3.,  4.])'),
    ('x.masked_fill(x < 0, -9)',
     'tensor([ 1.5000, -9.0000,  0.5000,  3.0000])'),
    ('torch.tril(torch.ones(3, 3)).bool()',
     'tensor([[ True, False, False],\n        [ True,  True, False],\n        [ True,  True,  True]])'),
    ('torch.tril(torch.ones(3, 3, dtype=torch.bool))',
     'tensor([[ True, False, False],\n        [ True,  True, False],\n        [ True,  True,  True]])'),
    ('(m > 2).max(dim=1).values',
     'tensor([ True, False])'),
    ('torch.ones(1001, dtype=torch.bool)',
     'tensor([True, True, True,  ..., True, True, True])'),
    ('(x > 0) - (x < 1)',
     'NotImplementedError: Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.'),
    ('-(x > 0)',
     'NotImplementedError: Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.'),
    ('(x > 0).mean()',
     'NotImplementedError: mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Bool'),
    ('(x > 0).argmax()',
     'NotImplementedError: argmax(): does not support bool input'),
    ('x.masked_fill(i, 0)',
     'RuntimeError: masked_fill_ only supports boolean masks, but got mask with dtype long int'),
    ('torch.where(i, x, x)',
     'RuntimeError: where expected condition to be a boolean tensor, but got a tensor with dtype Long'),
    ('~x',
     'TypeError: ~ (operator.invert) is only implemented on integer and Boolean-type tensors'),
    ('x & x',
     'NotImplementedError: "bitwise_and_cpu" not implemented for \'Float\''),
    ('torch.arange(3, dtype=torch.bool)',
     'NotImplementedError: "arange_cpu" not implemented for \'Bool\''),
]

# Assignments through a bool mask: (statements ending with the tensor shown, torch's repr)
WRITES = [
    ("y = x.clone()\ny[y > 0] = 0", "tensor([ 0., -2.,  0.,  0.])"),
    ("y = x.clone()\ny[[True, False, False, True]] = 7.0", "tensor([ 7.0000, -2.0000,  0.5000,  7.0000])"),
    ("y = i.clone()\ny[i > 2] = torch.tensor(0)", "tensor([1, 2, 0, 0])"),
    ("y = torch.zeros(2, 3)\ny[torch.tensor([False, True])] = 1.0", "tensor([[0., 0., 0.],\n        [1., 1., 1.]])"),
]

SEPARATOR = "---"


def run_lens(code):
    r = subprocess.run([LENS, "run", "-"], input=code, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def printed():
    lines = [SETUP]
    for expr, _ in CASES:
        lines.append(f"try:\n    print(repr({expr}))\nexcept Exception as err:\n"
                     f"    print(type(err).__name__ + ': ' + str(err))\nprint('{SEPARATOR}')")
    for stmts, _ in WRITES:
        lines.append(f"{stmts}\nprint(repr(y))\nprint('{SEPARATOR}')")
    out = run_lens("\n".join(lines) + "\n").split(SEPARATOR + "\n")
    assert len(out) == len(CASES) + len(WRITES) + 1, out[-1]
    return out


@pytest.mark.parametrize("k,case", list(enumerate(CASES)), ids=[c[0] for c in CASES])
def test_prints_what_torch_prints(printed, k, case):
    assert printed[k].rstrip("\n") == case[1], case[0]


@pytest.mark.parametrize("k,case", list(enumerate(WRITES)), ids=[w[0] for w in WRITES])
def test_mask_assignment_matches_torch(printed, k, case):
    assert printed[len(CASES) + k].rstrip("\n") == case[1], case[0]


def test_bool_tensors_round_trip_through_safetensors(tmp_path):
    """A mask saved by lens is a BOOL entry numpy reads as np.bool_; a BOOL file
    written by numpy loads as a bool tensor."""
    save_file({"flags": np.array([[True, False, True], [False, False, True]])}, str(tmp_path / "in.safetensors"))
    out = run_lens(SETUP + f"""t = load_tensors("{tmp_path / 'in.safetensors'}")["flags"]
print(t.dtype, t.sum().item(), t[0].tolist())
save("{tmp_path / 'out.safetensors'}", mask=x > 0, flags_t=t.T)
""")
    assert out == "torch.bool 3 [True, False, True]\n"
    got = load_file(str(tmp_path / "out.safetensors"))
    assert got["mask"].dtype == np.bool_ and got["mask"].tolist() == [True, False, True, True]
    assert got["flags_t"].dtype == np.bool_ and got["flags_t"].tolist() == [[True, False], [False, False], [True, True]]
