"""stop_on_error under a race: three execute_requests sent back to back on a raw
shell socket (`b = 1`, an error, `b = 2`) must give ok, error, aborted and leave
b == 1 however fast the kernel answers, and a request sent after the client saw
the error reply must run. Repeated many times at full speed.

The rule, checked from the client's side: a request whose header date precedes
the date in the error reply's header was sent before the reply left and is
aborted; one made later (a client descheduled between two sends on a loaded
machine makes its third request after the reply has left) runs. Both clocks
are this machine's."""
import datetime
import uuid

import pytest
import zmq
from jupyter_client import KernelManager
from jupyter_client.session import Session

TIMEOUT_MS = 20000
ROUNDS = 150
CELLS = ["b = 1", "no_such_name", "b = 2"]


@pytest.fixture(scope="module")
def shell():
    km = KernelManager(kernel_name="lens")
    km.start_kernel()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"{km.transport}://{km.ip}:{km.shell_port}")
    session = Session(key=km.session.key, signature_scheme=km.session.signature_scheme)
    yield km, sock, session
    sock.close()
    ctx.term()
    km.shutdown_kernel(now=True)


def content(code, **kw):
    c = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
         "allow_stdin": False, "stop_on_error": True}
    c.update(kw)
    return c


def recv_reply(sock, session):
    assert sock.poll(TIMEOUT_MS), "no reply from the kernel"
    _, frames = session.feed_identities(sock.recv_multipart())
    return session.deserialize(frames)


def replies_for(sock, session, msg_ids, whole=False):
    got = {}
    while len(got) < len(msg_ids):
        r = recv_reply(sock, session)
        got[r["parent_header"]["msg_id"]] = r
    return [got[m] if whole else got[m]["content"] for m in msg_ids]


def value_of_b(sock, session):
    """Sent after the client saw every earlier reply: it must run."""
    msg = session.send(sock, "execute_request", content("", user_expressions={"v": "b"}))
    (reply,) = replies_for(sock, session, [msg["header"]["msg_id"]])
    assert reply["status"] == "ok", reply
    return reply["user_expressions"]["v"]["data"]["text/plain"]


def check_round(sock, session, msgs):
    """Returns True when the third request was made before the error reply left."""
    replies = replies_for(sock, session, [m["header"]["msg_id"] for m in msgs], whole=True)
    statuses = [r["content"]["status"] for r in replies]
    before = msgs[2]["header"]["date"] < replies[1]["header"]["date"]
    if before:
        assert statuses == ["ok", "error", "aborted"], statuses
        assert value_of_b(sock, session) == "1"
    else:
        assert statuses == ["ok", "error", "ok"], statuses
        assert value_of_b(sock, session) == "2"
    return before


def test_back_to_back_sends(shell):
    """Each header made as it is sent (session.send one after another)."""
    _, sock, session = shell
    before = sum(check_round(sock, session, [session.send(sock, "execute_request", content(c))
                                             for c in CELLS]) for _ in range(ROUNDS))
    # almost always the three are made before the kernel has answered the second
    assert before >= ROUNDS * 0.8, before


def test_prebuilt_messages_sent_at_once(shell):
    """All three made first, then sent: every one was sent before the error reply."""
    _, sock, session = shell
    for _ in range(ROUNDS):
        msgs = [session.msg("execute_request", content(c)) for c in CELLS]
        for m in msgs:
            session.send(sock, m)
        assert check_round(sock, session, msgs)


def test_millisecond_dates_like_a_browser(shell):
    """A browser's Date has millisecond resolution."""
    _, sock, session = shell
    for _ in range(ROUNDS // 3):
        msgs = []
        for c in CELLS:
            m = session.msg("execute_request", content(c))
            now = datetime.datetime.now(datetime.timezone.utc)
            m["header"]["date"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
            msgs.append(m)
        for m in msgs:
            session.send(sock, m)
        ids = [m["header"]["msg_id"] for m in msgs]
        assert [r["status"] for r in replies_for(sock, session, ids)] == ["ok", "error", "aborted"]
        assert value_of_b(sock, session) == "1"


def test_another_clients_requests_still_run(shell):
    """An error aborts its own client's requests, not a second client's."""
    km, sock, session = shell
    other = Session(key=km.session.key, signature_scheme=km.session.signature_scheme)
    assert other.session != session.session
    first = session.send(sock, "execute_request", content("no_such_name"))
    second = other.send(sock, "execute_request", content("c = 5"))
    a, b = replies_for(sock, session, [first["header"]["msg_id"], second["header"]["msg_id"]])
    assert a["status"] == "error" and b["status"] == "ok"


def test_a_client_with_a_lagging_clock(shell):
    """A client whose clock lags by an hour: requests it made before the error
    reply left are aborted, and one it sends after seeing the reply runs (without
    the kernel relating the two clocks, every request for an hour would look
    earlier than the reply)."""
    km, sock, _ = shell
    lagging = Session(key=km.session.key, signature_scheme=km.session.signature_scheme)
    hour = datetime.timedelta(hours=1)

    def make(code, made_earlier=datetime.timedelta(0)):
        m = lagging.msg("execute_request", content(code))
        m["header"]["date"] = datetime.datetime.now(datetime.timezone.utc) - hour - made_earlier
        return m

    def send_now(code):
        m = make(code)
        lagging.send(sock, m)
        return m["header"]["msg_id"]

    (first,) = replies_for(sock, lagging, [send_now("b = 0")])
    assert first["status"] == "ok"
    for _ in range(20):
        # three requests made 50 ms before they are sent (a client's own queue)
        msgs = [make(c, datetime.timedelta(milliseconds=50)) for c in CELLS]
        for m in msgs:
            lagging.send(sock, m)
        replies = replies_for(sock, lagging, [m["header"]["msg_id"] for m in msgs])
        assert [r["status"] for r in replies] == ["ok", "error", "aborted"]
        (after,) = replies_for(sock, lagging, [send_now("b")])
        assert after["status"] == "ok"
