"""lens inside JupyterLab's server: start a kernel through the REST API and run a
cell over the websocket channels API, as the browser does."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import pytest
import websocket

TOKEN = uuid.uuid4().hex


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, method, path, body=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
        return json.loads(text) if text else None


@pytest.fixture(scope="module")
def lab():
    port = free_port()
    work = tempfile.mkdtemp(prefix="lens-lab-")
    env = dict(os.environ)
    env["JUPYTER_CONFIG_DIR"] = os.path.join(work, "config")
    env["JUPYTER_RUNTIME_DIR"] = os.path.join(work, "runtime")
    env["JUPYTER_DATA_DIR"] = os.path.join(work, "data")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={work}",
         "--ServerApp.port_retries=0", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            api(port, "GET", "/api/status")
            break
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("JupyterLab did not start: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.3)
    yield port
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_lens_kernelspec_is_listed(lab):
    specs = api(lab, "GET", "/api/kernelspecs")["kernelspecs"]
    assert "lens" in specs
    assert specs["lens"]["spec"]["language"] == "lens"


def test_run_a_cell_over_websocket(lab):
    kernel = api(lab, "POST", "/api/kernels", {"name": "lens"})
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{lab}/api/kernels/{kernel['id']}/channels?token={TOKEN}", timeout=30)
    try:
        session = uuid.uuid4().hex

        def send(msg_type, content):
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": "test", "session": session,
                           "msg_type": msg_type, "version": "5.3",
                           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                "parent_header": {}, "metadata": {}, "content": content, "channel": "shell",
            }))
            return msg_id

        msg_id = send("execute_request", {"code": 'print("hello from lab")\n1+2+3', "silent": False,
                                          "store_history": True, "user_expressions": {},
                                          "allow_stdin": False, "stop_on_error": True})
        stream, result, reply, idle = "", None, None, False
        deadline = time.monotonic() + 30
        while not (reply and idle) and time.monotonic() < deadline:
            m = json.loads(ws.recv())
            if m.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            t = m["msg_type"]
            if t == "stream":
                stream += m["content"]["text"]
            elif t == "execute_result":
                result = m["content"]["data"]["text/plain"]
            elif t == "execute_reply":
                reply = m["content"]
            elif t == "status" and m["content"]["execution_state"] == "idle":
                idle = True
        assert reply and reply["status"] == "ok"
        assert stream == "hello from lab\n"
        assert result == "6"
        assert idle
    finally:
        ws.close()
        api(lab, "DELETE", f"/api/kernels/{kernel['id']}")


def test_run_all_stops_at_an_error(lab):
    """Run All as the browser sends it: every cell's execute_request back to back
    with millisecond dates. After the error, the cells behind it are aborted (each
    made before the error reply left) and a cell run afterwards sees b == 1."""
    kernel = api(lab, "POST", "/api/kernels", {"name": "lens"})
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{lab}/api/kernels/{kernel['id']}/channels?token={TOKEN}", timeout=30)
    try:
        session = uuid.uuid4().hex

        def browser_date():
            t = time.time()
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)

        def send(code, **extra):
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": "test", "session": session,
                           "msg_type": "execute_request", "version": "5.3", "date": browser_date()},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": True,
                            "user_expressions": extra.get("user_expressions", {}),
                            "allow_stdin": False, "stop_on_error": True},
            }))
            return msg_id

        def replies(ids):
            got = {}
            deadline = time.monotonic() + 30
            while len(got) < len(ids) and time.monotonic() < deadline:
                m = json.loads(ws.recv())
                if m["msg_type"] == "execute_reply" and m["parent_header"].get("msg_id") in ids:
                    got[m["parent_header"]["msg_id"]] = m["content"]
            return [got.get(i, {}).get("status") for i in ids]

        assert replies([send("b = 0")]) == ["ok"]
        for _ in range(10):
            ids = [send(c) for c in ["b = 1", "no_such_name", "b = 2", "b = 3"]]
            assert replies(ids) == ["ok", "error", "aborted", "aborted"]
            after = send("", user_expressions={"v": "b"})
            got = None
            deadline = time.monotonic() + 30
            while got is None and time.monotonic() < deadline:
                m = json.loads(ws.recv())
                if m["msg_type"] == "execute_reply" and m["parent_header"].get("msg_id") == after:
                    got = m["content"]
            assert got["status"] == "ok"
            assert got["user_expressions"]["v"]["data"]["text/plain"] == "1"
    finally:
        ws.close()
        api(lab, "DELETE", f"/api/kernels/{kernel['id']}")
