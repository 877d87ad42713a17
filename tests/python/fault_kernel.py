"""A lens kernel started by hand for the fault and soak tests: its own
connection file (mode, key and transport chosen by the test), its own
environment, its stderr (the kernel log) in a file, and helpers to send raw
frames, run cells through jupyter_client and read the process's RSS, threads
and descriptors from /proc."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.session import Session

from conftest import LENS_BIN

TIMEOUT = 30


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Kernel:
    def __init__(self, env=None, key=None, mode=0o600, transport="tcp"):
        self.dir = tempfile.mkdtemp(prefix="lens-fault-")
        self.key = uuid.uuid4().hex if key is None else key
        ports = free_ports(5)
        ip = "127.0.0.1" if transport == "tcp" else os.path.join(self.dir, "k")
        self.info = {"shell_port": ports[0], "iopub_port": ports[1], "stdin_port": ports[2],
                     "control_port": ports[3], "hb_port": ports[4], "ip": ip, "key": self.key,
                     "transport": transport, "signature_scheme": "hmac-sha256", "kernel_name": "lens"}
        self.file = os.path.join(self.dir, "kernel.json")
        with open(self.file, "w") as f:
            json.dump(self.info, f)
        os.chmod(self.file, mode)
        self.log_path = os.path.join(self.dir, "kernel.log")
        self.log_file = open(self.log_path, "w")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([LENS_BIN, "kernel", "-f", self.file], env=full_env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        self.kc = BlockingKernelClient()
        self.kc.load_connection_info(self.info)
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=TIMEOUT)
        self.session = Session(key=self.key.encode(), signature_scheme="hmac-sha256")
        self.ctx = zmq.Context()

    def endpoint(self, name):
        if self.info["transport"] == "ipc":
            return f"ipc://{self.info['ip']}-{self.info[name + '_port']}"
        return f"tcp://127.0.0.1:{self.info[name + '_port']}"

    def raw(self, name="shell"):
        """A raw DEALER socket on shell, control or stdin."""
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint(name))
        return s

    def log(self):
        if not self.log_file.closed:
            self.log_file.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            time.sleep(0.05)
        return False

    def run(self, code, **kw):
        """Executes code; returns (reply content, {msg_type: [content, ...]})."""
        msg_id = self.kc.execute(code, **kw)
        reply = None
        while reply is None:
            r = self.kc.get_shell_msg(timeout=TIMEOUT)
            if r["parent_header"].get("msg_id") == msg_id:
                reply = r
        outputs = {}
        while True:
            m = self.kc.get_iopub_msg(timeout=TIMEOUT)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
            outputs.setdefault(m["msg_type"], []).append(m["content"])
        return reply["content"], outputs

    def value(self, expr):
        """The text/plain of expr, through user_expressions."""
        content, _ = self.run("", user_expressions={"v": expr})
        assert content["status"] == "ok", content
        v = content["user_expressions"]["v"]
        assert v["status"] == "ok", v
        return v["data"]["text/plain"]

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def threads(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        try:
            self.kc.stop_channels()
        except Exception:
            pass
        self.ctx.destroy(linger=0)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        log = self.log()
        shutil.rmtree(self.dir, ignore_errors=True)
        # under SANITIZE=1 every fault test is also a sanitizer check of the kernel
        for report in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert report not in log, log[-6000:]

    def discarded_on_stdin(self):
        """How many stdin messages the kernel logged as discarded."""
        import re
        return sum(int(n) for n in re.findall(r"discarded (\d+) message\(s\) on stdin", self.log()))
