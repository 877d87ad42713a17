"""tests/python/test_gateway.py — the lens kernel behind jupyter_kernel_gateway.

The gateway runs on 127.0.0.1 with the build's kernelspec (conftest's
JUPYTER_PATH); a lens kernel is started through its REST API
(POST /api/kernels), a model cell runs over the kernel's websocket
(/api/kernels/ID/channels, Jupyter messages as JSON), and the kernel is shut
down through the API (DELETE). This is how Enterprise Gateway and JupyterHub
setups that use a gateway reach kernels (docs/DEPLOY.md).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
import websocket

from conftest import REPO

GATEWAY = os.path.join(os.path.dirname(sys.executable), "jupyter-kernelgateway")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
        return r.status, json.loads(text) if text else None


@pytest.fixture
def gateway(tmp_path):
    port = free_port()
    log = open(tmp_path / "gateway.log", "w")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    proc = subprocess.Popen([GATEWAY, "--KernelGatewayApp.ip=127.0.0.1", f"--KernelGatewayApp.port={port}",
                             "--KernelGatewayApp.port_retries=0", "--KernelGatewayApp.default_kernel_name=lens"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if api(base, "GET", "/api")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("the gateway did not start:\n" + (tmp_path / "gateway.log").read_text())
            time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def execute(ws, code):
    """Sends an execute_request over the websocket; returns (reply content,
    the IOPub messages of the request)."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    reply, iopub, idle = None, [], False
    deadline = time.time() + 120
    while (reply is None or not idle) and time.time() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["channel"] == "shell" and msg["msg_type"] == "execute_reply":
            reply = msg["content"]
        elif msg["channel"] == "iopub":
            iopub.append(msg)
            idle = idle or (msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle")
    assert reply is not None and idle, "no reply over the websocket"
    return reply, iopub


def test_gateway_starts_a_lens_kernel_and_runs_a_model_cell(gateway):
    status, specs = api(gateway, "GET", "/api/kernelspecs")
    assert status == 200 and specs["kernelspecs"]["lens"]["spec"]["language"] == "lens"
    status, kernel = api(gateway, "POST", "/api/kernels", {"name": "lens"})
    assert status == 201 and kernel["name"] == "lens"
    kid = kernel["id"]
    ws = websocket.create_connection(f"ws{gateway[4:]}/api/kernels/{kid}/channels", timeout=60)
    try:
        reply, iopub = execute(ws, 'model = load("lens-tinystories-16m")\n'
                                   'tokens = model.to_tokens("So John is a really great friend, isn\'t")\n'
                                   'logits, cache = model.run_with_cache(tokens)\n'
                                   'cache["pattern", 3].shape')
        assert reply["status"] == "ok", reply
        results = [m["content"]["data"]["text/plain"] for m in iopub if m["msg_type"] == "execute_result"]
        assert results == ["torch.Size([1, 8, 11, 11])"]  # BOS + 10 GPT-2 tokens, 8 heads
        reply, iopub = execute(ws, "imshw")
        assert reply["status"] == "error" and reply["evalue"].endswith("Did you mean: 'imshow'?")
        reply, _ = execute(ws, "model.cfg.n_layers")  # the state survived the error
        assert reply["status"] == "ok"
    finally:
        ws.close()
    status, _ = api(gateway, "DELETE", f"/api/kernels/{kid}")
    assert status == 204
    with pytest.raises(urllib.error.HTTPError) as gone:
        api(gateway, "GET", f"/api/kernels/{kid}")
    assert gone.value.code == 404
