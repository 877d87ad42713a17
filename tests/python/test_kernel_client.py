"""lens as a Jupyter kernel, driven through jupyter_client: interrupts, restart,
stop_on_error, signatures, several clients, stdin, shutdown, transports.

Cell sources for the lens language are collected at the top.
"""
import json
import os
import time
import uuid

import pytest
import zmq
from jupyter_client import KernelManager
from jupyter_client.session import Session

LONG_LOOP = "for i in range(100000000):\n    z = i"
SET_STATE = "kept = 42"
GET_STATE = "kept"
ERROR_AFTER_WORK = "for i in range(100000):\n    z = i\nundefined_name_here"
RESULT_CELL = "1+2+3"
INPUT_CELL = 'name = input("name? ")\nprint("got " + name)'
MANY_PRINTS = "for i in range(5000):\n    print(i)"

TIMEOUT = 20


def start(kernel_name="lens", **km_args):
    km = KernelManager(kernel_name=kernel_name, **km_args)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=TIMEOUT)
    return km, kc


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=False)


@pytest.fixture
def kernel():
    km, kc = start()
    yield km, kc
    stop(km, kc)


def run(kc, code, **kw):
    """Executes code; returns (reply content, IOPub messages up to idle)."""
    msg_id = kc.execute(code, **kw)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["parent_header"]["msg_id"] == msg_id
    outputs = []
    while True:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                break
            continue
        outputs.append(msg)
    return reply["content"], outputs


def result_text(outputs):
    for m in outputs:
        if m["msg_type"] == "execute_result":
            return m["content"]["data"]["text/plain"]
    return None


def interrupt_roundtrip(km, kc):
    run(kc, SET_STATE)
    msg_id = kc.execute(LONG_LOOP)
    time.sleep(0.5)
    t0 = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    elapsed = time.monotonic() - t0
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert elapsed < 1.0, f"interrupt took {elapsed:.2f} s"
    content, outputs = run(kc, GET_STATE)
    assert content["status"] == "ok"
    assert result_text(outputs) == "42"


def test_interrupt_by_signal():
    km, kc = start("lens")
    try:
        interrupt_roundtrip(km, kc)
    finally:
        stop(km, kc)


def test_interrupt_by_message():
    km, kc = start("lens-message")
    try:
        assert km.kernel_spec.interrupt_mode == "message"
        interrupt_roundtrip(km, kc)
    finally:
        stop(km, kc)


def test_restart_keeps_working(kernel):
    km, kc = kernel
    run(kc, SET_STATE)
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=TIMEOUT)
    content, outputs = run(kc, RESULT_CELL)
    assert content["status"] == "ok"
    assert result_text(outputs) == "6"
    # a fresh process: the old state is gone
    content, _ = run(kc, GET_STATE)
    assert content["status"] == "error"


def test_stop_on_error_aborts_queued_cells(kernel):
    _, kc = kernel
    first = kc.execute(ERROR_AFTER_WORK)
    queued = [kc.execute(RESULT_CELL), kc.execute(RESULT_CELL)]
    replies = {}
    while len(replies) < 3:
        r = kc.get_shell_msg(timeout=TIMEOUT)
        replies[r["parent_header"]["msg_id"]] = r["content"]
    assert replies[first]["status"] == "error"
    for q in queued:
        assert replies[q]["status"] == "aborted"
    # only the queued cells are aborted: the next one runs
    content, outputs = run(kc, RESULT_CELL)
    assert content["status"] == "ok" and result_text(outputs) == "6"


def test_without_stop_on_error_queued_cells_run(kernel):
    _, kc = kernel
    first = kc.execute(ERROR_AFTER_WORK, stop_on_error=False)
    second = kc.execute(RESULT_CELL)
    replies = {}
    while len(replies) < 2:
        r = kc.get_shell_msg(timeout=TIMEOUT)
        replies[r["parent_header"]["msg_id"]] = r["content"]
    assert replies[first]["status"] == "error"
    assert replies[second]["status"] == "ok"


def raw_shell(km):
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
    sock.connect(f"{km.transport}://{km.ip}:{km.shell_port}")
    return sock


def raw_frames(session, msg_type, content, key=None):
    msg = session.msg(msg_type, content)
    parts = [session.pack(msg["header"]), session.pack({}), session.pack({}), session.pack(content)]
    return msg, parts


def reply_to(sock, session, msg_id, timeout_ms=2000):
    """The reply to msg_id on a raw socket, or None."""
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if not sock.poll(50):
            continue
        frames = sock.recv_multipart()
        _, rest = session.feed_identities(frames)
        msg = session.deserialize(rest)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg
    return None


def test_bad_signature_is_ignored_and_next_message_answered(kernel):
    km, _ = kernel
    session = Session(key=km.session.key, signature_scheme=km.session.signature_scheme)
    sock = raw_shell(km)
    try:
        bad, parts = raw_frames(session, "kernel_info_request", {})
        sock.send_multipart([b"<IDS|MSG>", b"0" * 64] + parts)
        # valid signature over garbage JSON
        garbage = [b"{not json", b"{}", b"{}", b"{}"]
        sock.send_multipart([b"<IDS|MSG>", session.sign(garbage)] + garbage)
        # no delimiter at all
        sock.send_multipart([b"hello", b"world"])
        assert reply_to(sock, session, bad["header"]["msg_id"], 700) is None

        good = session.msg("kernel_info_request", {})
        session.send(sock, good)
        reply = reply_to(sock, session, good["header"]["msg_id"])
        assert reply is not None and reply["msg_type"] == "kernel_info_reply"
        # the kernel's signature checks out with Python's hmac
        assert reply["content"]["implementation"] == "lens"
    finally:
        sock.close()


def test_replayed_message_is_ignored(kernel):
    km, _ = kernel
    session = Session(key=km.session.key, signature_scheme=km.session.signature_scheme)
    sock = raw_shell(km)
    try:
        msg = session.msg("kernel_info_request", {})
        frames = session.serialize(msg)
        sock.send_multipart(frames)
        assert reply_to(sock, session, msg["header"]["msg_id"]) is not None
        sock.send_multipart(frames)
        assert reply_to(sock, session, msg["header"]["msg_id"], 700) is None
    finally:
        sock.close()


def test_two_clients_both_see_iopub(kernel):
    km, kc = kernel
    # a second frontend has its own session (and so its own socket identities)
    kc2 = km.client(session=Session(key=km.session.key, signature_scheme=km.session.signature_scheme))
    kc2.start_channels()
    try:
        kc2.wait_for_ready(timeout=TIMEOUT)
        msg_id = kc.execute('print("shared output")')
        seen = []
        for client in (kc, kc2):
            while True:
                m = client.get_iopub_msg(timeout=TIMEOUT)
                if m["parent_header"].get("msg_id") != msg_id:
                    continue
                if m["msg_type"] == "stream":
                    seen.append(m["content"]["text"])
                if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    break
        assert seen == ["shared output\n", "shared output\n"]
    finally:
        kc2.stop_channels()


def test_shutdown_leaves_no_process():
    km, kc = start()
    proc = km.provisioner.process
    kc.stop_channels()
    km.shutdown_kernel(now=False)
    assert proc.poll() is not None
    assert proc.returncode == 0, "the kernel did not exit cleanly by itself"
    assert not km.is_alive()


@pytest.mark.parametrize("scheme", ["hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5"])
def test_signature_schemes(scheme):
    km = KernelManager(kernel_name="lens")
    km.session = Session(key=uuid.uuid4().hex.encode(), signature_scheme=scheme)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT)
        content, outputs = run(kc, RESULT_CELL)
        assert result_text(outputs) == "6"
    finally:
        stop(km, kc)


def test_empty_key_works():
    km = KernelManager(kernel_name="lens")
    km.session = Session(key=b"")
    km.start_kernel()
    with open(km.connection_file) as f:
        assert json.load(f)["key"] == ""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT)
        content, outputs = run(kc, RESULT_CELL)
        assert content["status"] == "ok" and result_text(outputs) == "6"
    finally:
        stop(km, kc)


def test_ipc_transport():
    km = KernelManager(kernel_name="lens", transport="ipc")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT)
        content, outputs = run(kc, RESULT_CELL)
        assert result_text(outputs) == "6"
    finally:
        stop(km, kc)


def test_silent_execution_has_no_outputs_and_keeps_the_count(kernel):
    _, kc = kernel
    before, _ = run(kc, RESULT_CELL)
    content, outputs = run(kc, 'print("quiet")', silent=True)
    assert content["status"] == "ok"
    assert [m["msg_type"] for m in outputs] == []
    after, outputs = run(kc, RESULT_CELL)
    assert after["execution_count"] == before["execution_count"] + 1
    kinds = [m["msg_type"] for m in outputs]
    assert kinds == ["execute_input", "execute_result"]
    assert outputs[0]["content"]["execution_count"] == after["execution_count"]
    assert outputs[1]["content"]["execution_count"] == after["execution_count"]


def test_user_expressions(kernel):
    _, kc = kernel
    content, _ = run(kc, SET_STATE, user_expressions={"a": GET_STATE, "b": "undefined_name_here"})
    ue = content["user_expressions"]
    assert ue["a"]["status"] == "ok" and ue["a"]["data"]["text/plain"] == "42"
    assert ue["b"]["status"] == "error"


def test_input_request_on_stdin(kernel):
    _, kc = kernel
    msg_id = kc.execute(INPUT_CELL, allow_stdin=True)
    req = kc.get_stdin_msg(timeout=TIMEOUT)
    assert req["msg_type"] == "input_request"
    assert req["parent_header"]["msg_id"] == msg_id
    assert req["content"]["prompt"] == "name? "
    kc.input("Ada")
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["content"]["status"] == "ok"
    text = ""
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "stream":
            text += m["content"]["text"]
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    assert "got Ada" in text


def test_input_without_allow_stdin_is_an_error(kernel):
    _, kc = kernel
    content, _ = run(kc, INPUT_CELL, allow_stdin=False)
    assert content["status"] == "error"


def test_prints_are_coalesced(kernel):
    _, kc = kernel
    content, outputs = run(kc, MANY_PRINTS)
    assert content["status"] == "ok"
    streams = [m for m in outputs if m["msg_type"] == "stream"]
    text = "".join(m["content"]["text"] for m in streams)
    assert text == "".join(f"{i}\n" for i in range(5000))
    assert len(streams) < 50, f"{len(streams)} stream messages for one loop"


def test_comms_and_unknown_messages(kernel):
    _, kc = kernel
    msg = kc.session.msg("comm_info_request", {})
    kc.shell_channel.send(msg)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["content"] == {"status": "ok", "comms": {}}
    comm_id = uuid.uuid4().hex
    kc.shell_channel.send(kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "x", "data": {}}))
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["msg_type"] == "comm_close":
            assert m["content"]["comm_id"] == comm_id
            break
    kc.shell_channel.send(kc.session.msg("no_such_request", {}))
    content, outputs = run(kc, RESULT_CELL)
    assert result_text(outputs) == "6"


def test_interrupt_while_waiting_for_input():
    """A cell blocked in input() stops with KeyboardInterrupt when interrupted, as
    ipykernel's does, and the kernel keeps its state."""
    km, kc = start("lens")
    try:
        run(kc, SET_STATE)
        msg_id = kc.execute(INPUT_CELL, allow_stdin=True)
        assert kc.get_stdin_msg(timeout=TIMEOUT)["msg_type"] == "input_request"
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        content, outputs = run(kc, GET_STATE)
        assert content["status"] == "ok" and result_text(outputs) == "42"
    finally:
        stop(km, kc)


@pytest.mark.parametrize("code", ["exit", "quit()", "x = 1\nexit()\nx = 2"])
def test_exit_asks_the_frontend_to_end_the_session(kernel, code):
    """exit / quit answer with jupyter console's ask_exit payload; the rest of the cell does not run."""
    km, kc = kernel
    run(kc, "x = 0")
    content, _ = run(kc, code)
    assert content["status"] == "ok"
    assert content["payload"] == [{"source": "ask_exit", "keepkernel": False}]
    _, outputs = run(kc, "x")
    assert result_text(outputs) == ("1" if "x = 1" in code else "0")
