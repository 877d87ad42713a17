"""tqdm in the kernel: `for x in tqdm(...)` draws its bar before the loop body
runs (display_data with a display_id) and updates that same display in place
(update_display_data), because for loops walk their iterable item by item."""
from test_kernel_client import run, start, stop


def progress_messages(outputs):
    return [(m["msg_type"], m["content"]) for m in outputs if m["msg_type"] in ("display_data", "update_display_data", "stream")]


def test_tqdm_bar_appears_first_and_is_updated_in_place():
    km, kc = start()
    try:
        reply, outputs = run(kc, "from tqdm import tqdm\nfor i in tqdm(range(3), desc='layers'):\n    print(i)")
        assert reply["status"] == "ok", reply
        msgs = progress_messages(outputs)
        kinds = [k for k, _ in msgs]
        # the bar at 0, the body's prints, then the same display at 3/3
        assert kinds[0] == "display_data" and kinds[-1] == "update_display_data", kinds
        assert set(kinds[1:-1]) == {"stream"}, kinds
        first, last = msgs[0][1], msgs[-1][1]
        assert first["data"]["text/plain"] == "layers 0/3"
        assert last["data"]["text/plain"] == "layers 3/3"
        assert "3/3 (100%)" in last["data"]["text/html"]
        display_id = first["transient"]["display_id"]
        assert display_id and last["transient"]["display_id"] == display_id
        assert "".join(c["text"] for k, c in msgs if k == "stream") == "0\n1\n2\n"

        # leave=False clears the bar when the loop ends; tqdm.auto is the same tqdm
        reply, outputs = run(kc, "from tqdm.auto import tqdm as tq\ntotal = 0\nfor x in tq([1, 2], leave=False):\n    total += x\ntotal")
        msgs = progress_messages(outputs)
        assert [k for k, _ in msgs] == ["display_data", "update_display_data"], msgs
        assert msgs[0][1]["data"]["text/plain"] == "0/2" and msgs[1][1]["data"]["text/plain"] == ""
        results = [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"]
        assert results == ["3"]
    finally:
        stop(km, kc)
