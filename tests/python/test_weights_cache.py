"""Processed weights shared between processes: two `lens run` processes that load
the same model with the same processing flags map one cache file (written by the
first), and the kernel counts its pages as shared in both (/proc/PID/smaps): none of them is a private copy;
the embeddings are not resident until read."""
import glob
import os
import subprocess
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LENS_BUILD", "build")
LENS = os.path.join(REPO, BUILD, "lens") if not os.path.isabs(BUILD) else os.path.join(BUILD, "lens")
TINY = os.path.join(REPO, "tests", "fixtures", "tiny-gpt2")


def mapping_of(pid, path):
    """The smaps fields (kB) of the process's mappings of path, summed over its
    areas (the embeddings' pages are advised apart from the rest), or None."""
    fields, inside, found = {}, False, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and ":" not in parts[0]:
                inside = len(parts) >= 6 and parts[5] == path
                found |= inside
            elif inside and parts[0].endswith(":") and len(parts) >= 2 and parts[1].isdigit():
                fields[parts[0][:-1]] = fields.get(parts[0][:-1], 0) + int(parts[1])
    return fields if found else None


def wait_for(cond, what, proc):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_processes_share_one_mapping_of_the_processed_weights(tmp_path):
    cache = tmp_path / "cache"
    program = tmp_path / "hold.lens"
    program.write_text(f'model = load("{TINY}")\nprint(model.W_E.shape)\nline = input()\nprint(line)\n')
    env = dict(os.environ, LENS_CACHE_DIR=str(cache))
    procs = []
    try:
        entry = None
        for i in range(2):
            p = subprocess.Popen([LENS, "run", str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, text=True)
            procs.append(p)
            entry = wait_for(lambda: [e for e in glob.glob(str(cache / "*.safetensors"))], "the cache entry", p)[0]
            wait_for(lambda: mapping_of(p.pid, os.path.realpath(entry)), "the mapping", p)
        assert len(glob.glob(str(cache / "*"))) == 1, "one entry, written once"
        # every weight is resident but the embeddings (W_E [50257, 64], W_pos [128, 64]),
        # whose rows come back only when a run reads them
        resident_kb = (os.path.getsize(entry) - (50257 + 128) * 64 * 4) // 1024
        for p in procs:
            m = mapping_of(p.pid, os.path.realpath(entry))
            assert resident_kb * 9 // 10 <= m["Rss"] <= resident_kb * 11 // 10, m
            # file pages both processes map (dirty while the new file is not yet on disk)
            assert m["Shared_Clean"] + m["Shared_Dirty"] >= m["Rss"] * 9 // 10, m
            assert m["Private_Dirty"] == 0 and m["Anonymous"] == 0, m
            assert m["Pss"] <= m["Rss"] * 6 // 10, m   # each is charged about half
        for p in procs:
            out, err = p.communicate("done\n", timeout=60)
            assert p.returncode == 0, err
            assert out.split("\n")[-2:] == ["done", ""] and "torch.Size([50257, 64])" in out
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
