"""test_safetensors_interop.py — the C safetensors reader and writer agree with the
Python `safetensors` package and numpy.

The C side is the test program build/tests/test_safetensors in its two extra modes
(--write-example PATH, --dump PATH [--values]); see tests/engine/test_safetensors.c
for the dump format and its checksum.
"""
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LENS_BUILD", "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
PROGRAM = BUILD / "tests" / "test_safetensors"
FIXTURE = ROOT / "tests/fixtures/tiny-gpt2/model.safetensors"
F16_MODEL = ROOT / "models/lens-tinystories-16m/model.safetensors"

MASK = (1 << 64) - 1


def run_c(*args):
    assert PROGRAM.exists(), f"{PROGRAM} is missing: run `make {PROGRAM.relative_to(ROOT)}` first"
    out = subprocess.run([str(PROGRAM), *map(str, args)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def parse_dump(text):
    """name -> (dtype, shape tuple, checksum int, values list or None)."""
    entries, last = {}, None
    for line in text.splitlines():
        if line.startswith("="):
            entries[last] = entries[last][:3] + (line[1:].split(),)
            continue
        name, dtype, shape, checksum = line.split("\t")
        shape = tuple(int(d) for d in shape.split(",")) if shape else ()
        entries[name] = (dtype, shape, int(checksum, 16), None)
        last = name
    return entries


def checksum(array):
    """The dump's checksum: sum of bits(v_i) * (i + 1) mod 2^64 over the values as
    float32 bit patterns (float dtypes) or int64 values (integer dtypes)."""
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype.kind == "f":
        words = flat.astype(np.float32).view(np.uint32).astype(np.uint64)
    else:
        words = flat.astype(np.int64).view(np.uint64)
    weights = np.arange(1, flat.size + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return int(np.sum(words * weights, dtype=np.uint64)) & MASK


DTYPE_NAMES = {np.float32: "F32", np.float16: "F16", np.float64: "F64", np.int64: "I64",
               np.int32: "I32", np.int16: "I16", np.int8: "I8", np.uint8: "U8",
               np.bool_: "BOOL"}


def check_against_numpy(path):
    dumped = parse_dump(run_c("--dump", path))
    with safe_open(str(path), "numpy") as f:
        names = list(f.keys())
        assert sorted(dumped) == sorted(names)
        for name in names:
            value = f.get_tensor(name)
            dtype, shape, got, _ = dumped[name]
            assert dtype == DTYPE_NAMES[value.dtype.type], name
            assert shape == value.shape, name
            assert got == checksum(value), f"{name}: values differ from numpy's"
    return dumped


def test_c_reader_matches_numpy_on_the_tiny_gpt2_fixture():
    dumped = check_against_numpy(FIXTURE)
    assert len(dumped) == 28


def test_c_reader_matches_numpy_on_the_f16_model():
    dumped = check_against_numpy(F16_MODEL)
    assert all(d[0] == "F16" for d in dumped.values())


def test_c_reader_converts_every_dtype_like_numpy(tmp_path):
    every_f16 = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    tensors = {
        "f16.all_patterns": every_f16.reshape(256, 256),
        "f64": np.array([0.1, -1e-30, 1e30, 3.0000001, -0.0, 1e-45, 7e-46], dtype=np.float64),
        "i64": np.array([[-(2**63), 2**63 - 1], [2**53 + 1, -7]], dtype=np.int64),
        "i32": np.array([-(2**31), 2**31 - 1, 16777217], dtype=np.int32),
        "i16": np.array([-32768, 32767], dtype=np.int16),
        "i8": np.array([-128, 127, 0], dtype=np.int8),
        "u8": np.array([0, 255, 128], dtype=np.uint8),
        "bool": np.array([True, False, True], dtype=np.bool_),
        "scalar": np.array(2.5, dtype=np.float32),
    }
    path = tmp_path / "dtypes.safetensors"
    save_file(tensors, str(path))
    dumped = parse_dump(run_c("--dump", path, "--values"))
    for name, value in tensors.items():
        dtype, shape, got_sum, values = dumped[name]
        assert dtype == DTYPE_NAMES[value.dtype.type] and shape == value.shape, name
        assert got_sum == checksum(value), name
        flat = value.reshape(-1)
        if value.dtype.kind == "f":
            want = flat.astype(np.float32)
            got = np.array([int(v, 16) for v in values], dtype=np.uint32).view(np.float32)
            nan = np.isnan(want)
            assert np.array_equal(np.isnan(got), nan), name
            assert np.array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32)), name
        else:
            assert [int(v) for v in values] == flat.astype(np.int64).tolist(), name


def test_c_reader_converts_bf16_by_widening_the_bits(tmp_path):
    # numpy has no bfloat16: write the file by hand. bfloat16 is the top half of a float32.
    bits = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    header = json.dumps({"bf16": {"dtype": "BF16", "shape": [65536],
                                  "data_offsets": [0, 2 * 65536]}}).encode()
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bits.astype("<u2").tobytes())
    _, shape, _, values = parse_dump(run_c("--dump", path, "--values"))["bf16"]
    assert shape == (65536,)
    want = (bits.astype(np.uint32) << 16).tolist()
    assert [int(v, 16) for v in values] == want


def test_python_reads_the_file_written_by_c(tmp_path):
    path = tmp_path / "example.safetensors"
    run_c("--write-example", path)
    loaded = load_file(str(path))
    rows = -np.arange(12, dtype=np.float32).reshape(4, 3)
    expected = {
        "a.transposed": (np.arange(6, dtype=np.float32).reshape(2, 3) + 0.125).T,
        "b.matrix": (np.arange(12, dtype=np.float32) * 0.5 - 2.25).reshape(3, 4),
        "c.ids": np.array([-3, 0, 50256, 2**40, -(2**63) + 1], dtype=np.int64),
        "d.scalar": np.array(3.5, dtype=np.float32),
        "e.empty": np.zeros((0, 4), dtype=np.float32),
        "f.slice": rows[1:3],
        "g.columns": rows[:, 1:3],
    }
    assert sorted(loaded) == sorted(expected)
    for name, want in expected.items():
        got = loaded[name]
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert np.array_equal(got, want), name
    with safe_open(str(path), "numpy") as f:
        assert f.metadata() == {"format": "pt", "note": 'café "quoted"'}
    # the layout the writer promises: names sorted, header padded to 8 bytes
    raw = path.read_bytes()
    (hlen,) = struct.unpack("<Q", raw[:8])
    assert hlen % 8 == 0
    header = json.loads(raw[8:8 + hlen])
    names = [k for k in header if k != "__metadata__"]
    assert names == sorted(names)


def test_c_reports_a_bad_file_clearly(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 1000) + b"{}")
    out = subprocess.run([str(PROGRAM), "--dump", str(path)], capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.strip() == (f"{path}: the header length in the first 8 bytes exceeds the file (2 bytes after "
                                  "the length field); the file is truncated or not safetensors")
