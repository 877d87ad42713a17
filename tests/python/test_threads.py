"""How the lens program's threads wait: it restarts itself with
OMP_WAIT_POLICY=passive (same process id) unless the environment already chooses
a wait policy, so idle or competing kernels do not spin on the CPU."""
import os
import subprocess
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LENS_BUILD", "build")
LENS = os.path.join(REPO, BUILD, "lens") if not os.path.isabs(BUILD) else os.path.join(BUILD, "lens")


def waiting_on_stdin(pid):
    """True once the process sleeps reading its stdin pipe (past any restart)."""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            if f.read().endswith("pipe_read"):
                return True
        with open(f"/proc/{pid}/syscall") as f:
            fields = f.read().split()
        return fields[:2] in (["0", "0x0"], ["63", "0x0"])   # read(0, ...) on x86-64 / arm64
    except OSError:
        return False


def environ_of_waiting_lens(env):
    """The environment of a `lens run -` process waiting for its program on stdin."""
    p = subprocess.Popen([LENS, "run", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 20
        while not waiting_on_stdin(p.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        with open(f"/proc/{p.pid}/cmdline", "rb") as f:
            cmd = f.read().split(b"\0")
        with open(f"/proc/{p.pid}/environ", "rb") as f:
            pairs = [e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e]
        environ = {k.decode(): v.decode() for k, v in pairs}
        assert cmd[1:3] == [b"run", b"-"]
        return environ
    finally:
        out, err = p.communicate(b"1 + 1\n", timeout=60)
        assert p.returncode == 0, err
        assert out.decode().strip() == "2"


def test_lens_restarts_itself_with_passive_waiting():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    assert environ_of_waiting_lens(env)["OMP_WAIT_POLICY"] == "passive"


def test_a_wait_policy_chosen_by_the_user_is_kept():
    env = dict(os.environ, OMP_WAIT_POLICY="active")
    env.pop("GOMP_SPINCOUNT", None)
    assert environ_of_waiting_lens(env)["OMP_WAIT_POLICY"] == "active"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["GOMP_SPINCOUNT"] = "1000"
    environ = environ_of_waiting_lens(env)
    assert "OMP_WAIT_POLICY" not in environ and environ["GOMP_SPINCOUNT"] == "1000"
