"""tests/python/test_download.py — `lens download` against a Hub on 127.0.0.1.

A small HTTP server (http.server, in this process) answers as the Hugging Face
Hub does: /REPO/resolve/REV/FILE, HEAD with X-Repo-Commit and the file's
checksum (ETag: the git blob sha1 of a small file; for the LFS file
model.safetensors a 302 to a CDN URL with X-Linked-Etag, its sha256, and
X-Linked-Size). It serves the test model tests/fixtures/tiny-gpt2 as
openai-community/gpt2. Checked: the files land in the Hugging Face cache
layout under $HF_HOME (blobs, snapshots/COMMIT links, refs/main) where
`load("gpt2-small")` finds them; a second download fetches nothing; and a
truncated transfer, a checksum mismatch and a server error each fail with a
clear message, leaving no file, partial or not, where load would read it.
"""
import hashlib
import http.server
import os
import pathlib
import subprocess
import threading

import pytest

from conftest import LENS_BIN, REPO

FIXTURE = pathlib.Path(REPO) / "tests" / "fixtures" / "tiny-gpt2"
FILES = ["config.json", "vocab.json", "merges.txt", "model.safetensors"]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO_ID = "openai-community/gpt2"


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Hub(http.server.BaseHTTPRequestHandler):
    mode = "ok"          # ok | truncate | checksum | error
    gets = []            # paths of the GET requests served

    def log_message(self, *args):
        pass

    def send_file_headers(self, name, data):
        self.send_header("X-Repo-Commit", COMMIT)
        if name == "model.safetensors":
            sha = hashlib.sha256(data).hexdigest()
            if self.mode == "checksum":
                sha = hashlib.sha256(data + b"x").hexdigest()
            self.send_header("X-Linked-Etag", f'"{sha}"')
            self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("ETag", '"not-the-content-hash"')
        else:
            self.send_header("ETag", f'"{git_sha1(data)}"')
        self.send_header("Content-Length", str(len(data)))

    def answer(self, body):
        prefix = f"/{REPO_ID}/resolve/main/"
        if self.path.startswith(prefix) and self.path[len(prefix):] in FILES:
            name = self.path[len(prefix):]
            data = (FIXTURE / name).read_bytes()
            if name == "model.safetensors":   # LFS: a redirect to the CDN
                self.send_response(302)
                self.send_file_headers(name, data)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/cdn/{name}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_file_headers(name, data)
            self.end_headers()
            if body:
                self.wfile.write(data)
            return
        if self.path.startswith("/cdn/") and self.path[5:] in FILES:
            data = (FIXTURE / self.path[5:]).read_bytes()
            if self.mode == "error":
                self.send_error(500, "Internal Server Error")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data[: len(data) // 2] if self.mode == "truncate" else data)
                if self.mode == "truncate":
                    self.wfile.flush()
                    self.close_connection = True
            return
        self.send_error(404)

    def do_HEAD(self):
        self.answer(body=False)

    def do_GET(self):
        Hub.gets.append(self.path)
        self.answer(body=True)


@pytest.fixture
def hub(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Hub.mode, Hub.gets = "ok", []
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "HF_HOME": str(tmp_path / "hf"),
           "HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}/"}
    yield env
    server.shutdown()
    server.server_close()


def lens(env, *args):
    return subprocess.run([LENS_BIN, *args], env=env, capture_output=True, text=True, timeout=120)


def nothing_loadable(env):
    hub_dir = pathlib.Path(env["HF_HOME"]) / "hub"
    assert lens(env, "resolve", "gpt2-small").returncode == 1
    leftovers = [p for p in hub_dir.rglob("*") if p.name.endswith(".incomplete") or "snapshots" in p.parts]
    assert [p for p in leftovers if p.is_file() or p.is_symlink()] == [], leftovers


def test_download_stores_the_cache_layout_load_reads(hub):
    out = lens(hub, "download", "gpt2-small")
    assert out.returncode == 0, out.stderr
    repo = pathlib.Path(hub["HF_HOME"]) / "hub" / "models--openai-community--gpt2"
    snapshot = repo / "snapshots" / COMMIT
    assert out.stdout.strip() == str(snapshot)
    assert (repo / "refs" / "main").read_text() == COMMIT
    for name in FILES:
        data = (FIXTURE / name).read_bytes()
        etag = hashlib.sha256(data).hexdigest() if name == "model.safetensors" else git_sha1(data)
        link = snapshot / name
        assert os.readlink(link) == f"../../blobs/{etag}"
        assert link.read_bytes() == data
    assert lens(hub, "resolve", "gpt2-small").stdout.strip() == str(snapshot)
    script = pathlib.Path(hub["HOME"]) / "load.lens"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text('m = load("gpt2-small")\nm.cfg.n_layers\n')
    run = lens(hub, "run", str(script))
    assert run.returncode == 0 and run.stdout.strip().splitlines()[-1] == "2", run.stderr
    # again: every blob is verified in place, nothing is fetched
    Hub.gets = []
    again = lens(hub, "download", "gpt2-small")
    assert again.returncode == 0 and Hub.gets == [], (again.stderr, Hub.gets)
    assert again.stderr.count("already in the cache") == len(FILES)


def test_truncated_download_leaves_nothing(hub):
    Hub.mode = "truncate"
    out = lens(hub, "download", "gpt2-small")
    assert out.returncode == 1
    size = (FIXTURE / "model.safetensors").stat().st_size
    assert "model.safetensors" in out.stderr and f"of {size} bytes" in out.stderr, out.stderr
    nothing_loadable(hub)


def test_checksum_mismatch_leaves_nothing(hub):
    Hub.mode = "checksum"
    out = lens(hub, "download", "gpt2-small")
    assert out.returncode == 1
    assert "model.safetensors: checksum mismatch (expected sha256" in out.stderr, out.stderr
    nothing_loadable(hub)


def test_server_error_leaves_nothing(hub):
    Hub.mode = "error"
    out = lens(hub, "download", "distilgpt2")
    assert out.returncode == 1 and "not found (HTTP 404)" in out.stderr, out.stderr
    out = lens(hub, "download", "gpt2-small")
    assert out.returncode == 1 and "model.safetensors: HTTP 500 from the server" in out.stderr, out.stderr
    nothing_loadable(hub)


def test_unknown_model_and_usage():
    out = subprocess.run([LENS_BIN, "download", "gpt3"], capture_output=True, text=True)
    assert out.returncode == 2 and "unknown model 'gpt3'" in out.stderr
    out = subprocess.run([LENS_BIN, "download"], capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.startswith("usage: lens download MODEL")
