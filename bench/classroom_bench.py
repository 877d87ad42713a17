#!/usr/bin/env python3
"""Classroom benchmark: N lens kernels on one machine, started through
jupyter_client, each loading the same model and running the seed
(run_with_cache of the 100 prompts and their logit difference).

First one kernel alone (it also writes the processed-weights cache entry the
others then map), then N kernels: all load at once, then all run the seed at
once, three times. Reports the time of each round of N concurrent seeds
against N one after another, like with like: N x the lone kernel's run of the
same rank. The first run maps and touches fresh activation memory; so does the
second, a re-run cell whose previous results stay alive until the new ones
exist; from the third on the two arenas alternate (the lone kernel's third is
the median of its runs 3-5). Also each kernel's private memory
(Private_Clean + Private_Dirty from /proc/PID/smaps_rollup) after the load and
after the seed (which then holds its activation cache), plus the total.

Usage: .venv/bin/python bench/classroom_bench.py MODEL_DIR [--kernels 8]
LENS_BUILD (default "build") names the build directory holding `lens`.
"""
import argparse
import os
import shutil
import statistics
import sys
import time

from jupyter_client import KernelManager

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kernel_bench import lens_kernelspec_dir  # noqa: E402

TEMPLATES = ["So {} is a really great friend, isn't", "So {} is such a good cook, isn't",
             "So {} is a very good athlete, isn't", "So {} is a really nice person, isn't",
             "So {} is such a funny person, isn't"]
NAMES = ["John", "David", "Mark", "Paul", "Ryan", "Gary", "Jack", "Sean", "Carl", "Joe",
         "Mary", "Lisa", "Anna", "Sarah", "Amy", "Carol", "Karen", "Susan", "Julie", "Judy"]


def seed_cell():
    prompts = [t.format(n) for n in NAMES for t in TEMPLATES]
    answers = [(" he", " she")] * 50 + [(" she", " he")] * 50
    return (f"prompts = {prompts!r}\n"
            f"answer_tokens = model.to_single_token({answers!r})\n"
            "tokens = model.to_tokens(prompts, prepend_bos=True)\n"
            "logits, cache = model.run_with_cache(tokens)\n"
            "average_logit_diff = logit_diff(logits, answer_tokens).item()\n")


def private_mib(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                fields[parts[0].rstrip(":")] = int(parts[1])
    return (fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)) / 1024, fields.get("Pss", 0) / 1024


class Kernel:
    def __init__(self):
        self.km = KernelManager(kernel_name="lens")
        self.km.start_kernel(stderr=open(os.devnull, "w"))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.pid = self.km.provisioner.process.pid

    def send(self, code):
        self.msg_id = self.kc.execute(code)

    def wait(self):
        while True:
            m = self.kc.get_shell_msg(timeout=600)
            if m["parent_header"].get("msg_id") == self.msg_id:
                if m["content"]["status"] != "ok":
                    raise RuntimeError(f"cell failed: {m['content']}")
                return

    def run(self, code):
        t0 = time.perf_counter()
        self.send(code)
        self.wait()
        return time.perf_counter() - t0

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def all_at_once(kernels, code):
    t0 = time.perf_counter()
    for k in kernels:
        k.send(code)
    for k in kernels:
        k.wait()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--kernels", type=int, default=8)
    a = ap.parse_args()
    load = f"model = load({os.path.abspath(a.model)!r})\n"
    spec_root = lens_kernelspec_dir()
    os.environ["JUPYTER_PATH"] = spec_root + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    kernels = []
    try:
        lone = Kernel()
        kernels.append(lone)
        lone_load = lone.run(load)
        lone_runs = [lone.run(seed_cell()) for _ in range(5)]
        lone_rank = [lone_runs[0], lone_runs[1], statistics.median(lone_runs[2:])]
        lone.close()
        kernels.remove(lone)

        kernels = [Kernel() for _ in range(a.kernels)]
        load_all = all_at_once(kernels, load)
        after_load = [private_mib(k.pid) for k in kernels]
        rounds = [all_at_once(kernels, seed_cell())]
        after_seed = [private_mib(k.pid) for k in kernels]
        rounds += [all_at_once(kernels, seed_cell()) for _ in range(2)]
    finally:
        for k in kernels:
            k.close()
        shutil.rmtree(spec_root, ignore_errors=True)
    n = a.kernels
    priv_load = [p for p, _ in after_load]
    priv_seed = [p for p, _ in after_seed]
    print(f"classroom: {n} lens kernels through jupyter_client, each loads {os.path.basename(a.model)} and runs the seed")
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| one kernel alone: load (writes the weights cache entry when absent) | {lone_load * 1e3:.0f} ms |")
    ranks = ["first seed", "second seed (re-run, fresh second arena)", "third seed (arenas reused)"]
    print(f"| one kernel alone: seed cell, runs 1 / 2 / 3-5 (median) | "
          f"{' / '.join(f'{t * 1e3:.0f}' for t in lone_rank)} ms |")
    print(f"| {n} kernels: load at once (cache mapped) | {load_all * 1e3:.0f} ms |")
    for rank, t, lone_t in zip(ranks, rounds, lone_rank):
        print(f"| {n} kernels: {rank} at once / {n} x the lone kernel's | "
              f"{t * 1e3:.0f} / {n * lone_t * 1e3:.0f} ms = {t / (n * lone_t):.2f} |")
    print(f"| private memory per kernel after load (median / max) | {statistics.median(priv_load):.0f} / {max(priv_load):.0f} MiB |")
    print(f"| private memory, all {n} kernels after load | {sum(priv_load):.0f} MiB (Pss {sum(p for _, p in after_load):.0f} MiB) |")
    print(f"| private memory per kernel after the seed (median / max) | {statistics.median(priv_seed):.0f} / {max(priv_seed):.0f} MiB |")
    print(f"| private memory, all {n} kernels after the seed | {sum(priv_seed):.0f} MiB (Pss {sum(p for _, p in after_seed):.0f} MiB) |")


if __name__ == "__main__":
    main()
