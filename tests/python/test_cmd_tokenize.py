"""test_cmd_tokenize.py — `lens tokenize MODEL_DIR TEXT [--prepend-bos]` prints the
reference GPT-2 ids as a JSON list, needs only vocab.json + merges.txt, and reports
errors with exit status 1 (bad input) or 2 (bad usage)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LENS_BUILD", "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
LENS = BUILD / "lens"
MODEL = ROOT / "tests/fixtures/tiny-gpt2"
CASES = json.loads((ROOT / "tests/fixtures/tokenizer-cases.json").read_text())["cases"]
EOT = "<|endoftext|>"


def lens(*args):
    assert LENS.exists(), f"{LENS} is missing: run `make` first"
    return subprocess.run([str(LENS), *map(str, args)], capture_output=True, cwd=ROOT, timeout=60)


@pytest.fixture(scope="module")
def tokenizer_only_dir(tmp_path_factory):
    """A model directory with the tokenizer files and no weights."""
    d = tmp_path_factory.mktemp("tokenizer-only")
    shutil.copy(MODEL / "vocab.json", d)
    shutil.copy(MODEL / "merges.txt", d)
    return d


# Every tenth reference case (the literal <|endoftext|> is a special token here,
# while the reference encoder treats it as text, so those cases are left out).
SAMPLE = [c for c in CASES[::10] if EOT not in c["text"]]


@pytest.mark.parametrize("case", SAMPLE, ids=lambda c: repr(c["text"][:30]))
def test_tokenize_prints_the_reference_ids(case, tokenizer_only_dir):
    out = lens("tokenize", tokenizer_only_dir, "--", case["text"])
    assert out.returncode == 0, out.stderr.decode()
    line = out.stdout.decode()
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == case["ids"]


def test_tokenize_prepends_bos_on_request():
    case = CASES[0]
    out = lens("tokenize", MODEL, case["text"], "--prepend-bos")
    assert out.returncode == 0, out.stderr.decode()
    assert json.loads(out.stdout) == [50256] + case["ids"]
    assert out.stdout.decode() == "[" + ", ".join(map(str, [50256] + case["ids"])) + "]\n"


def test_tokenize_encodes_the_special_literal_as_one_token():
    out = lens("tokenize", MODEL, EOT)
    assert out.returncode == 0 and json.loads(out.stdout) == [50256]


def test_tokenize_of_empty_text_is_an_empty_list():
    out = lens("tokenize", MODEL, "")
    assert out.returncode == 0 and out.stdout == b"[]\n"


def test_tokenize_rejects_invalid_utf8_with_status_1():
    out = subprocess.run([str(LENS), "tokenize", str(MODEL), b"abc\xff"], capture_output=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 1 and out.stdout == b""
    assert b"UTF-8" in out.stderr


def test_tokenize_reports_a_missing_tokenizer_with_status_1(tmp_path):
    out = lens("tokenize", tmp_path, "hello")
    assert out.returncode == 1
    assert str(tmp_path / "vocab.json").encode() in out.stderr


@pytest.mark.parametrize("args", [[], ["only-a-dir"], ["a", "b", "c"], ["a", "b", "--frobnicate"]])
def test_tokenize_usage_errors_exit_2(args):
    out = lens("tokenize", *args)
    assert out.returncode == 2 and b"usage" in out.stderr
