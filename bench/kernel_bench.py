#!/usr/bin/env python3
"""Kernel benchmarks: lens against ipykernel, in one run, on this machine.

kernel-rtt    a trivial cell (`x = 1`) executed 1,000 times through a
              jupyter_client BlockingKernelClient; each sample waits for the
              execute_reply and the idle status. Median and p99.
kernel-start  from process start to the first kernel_info_reply, read through a
              socket that retries its connection every 2 ms (so the client's
              reconnect interval does not dominate). Median over 10 starts.

Usage: .venv/bin/python bench/kernel_bench.py [--iterations N] [--starts N]
LENS_BUILD (default "build") names the build directory holding `lens`.
Prints a markdown table.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import zmq
from jupyter_client import KernelManager
from jupyter_client.session import Session

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def lens_kernelspec_dir():
    build = os.environ.get("LENS_BUILD", "build")
    lens = os.path.join(REPO, build, "lens") if not os.path.isabs(build) else os.path.join(build, "lens")
    if not os.access(lens, os.X_OK):
        sys.exit(f"kernel_bench: {lens} is not built (run make)")
    root = tempfile.mkdtemp(prefix="lens-bench-")
    d = os.path.join(root, "kernels", "lens")
    os.makedirs(d)
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump({"argv": [lens, "kernel", "-f", "{connection_file}"], "display_name": "lens",
                   "language": "lens", "interrupt_mode": "signal"}, f)
    return root


def percentile(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def rtt(kernel_name, iterations):
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        samples = []
        for i in range(iterations + 20):
            t0 = time.perf_counter()
            msg_id = kc.execute("x = 1")
            while kc.get_shell_msg(timeout=30)["parent_header"].get("msg_id") != msg_id:
                pass  # a late kernel_info_reply from wait_for_ready
            while True:
                m = kc.get_iopub_msg(timeout=30)
                if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                        and m["content"]["execution_state"] == "idle"):
                    break
            if i >= 20:  # the first few warm up both sides
                samples.append(time.perf_counter() - t0)
        return statistics.median(samples), percentile(samples, 99)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def start_time(kernel_name, starts):
    samples = []
    for _ in range(starts):
        km = KernelManager(kernel_name=kernel_name)
        session = Session(key=km.session.key, signature_scheme=km.session.signature_scheme)
        km.session = session
        t0 = time.perf_counter()
        km.start_kernel(stderr=subprocess.DEVNULL)  # ports are final once this returns; the process is starting
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RECONNECT_IVL, 2)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 2)
        sock.connect(f"tcp://{km.ip}:{km.shell_port}")
        msg = session.msg("kernel_info_request", {})
        session.send(sock, msg)
        try:
            while True:
                if not sock.poll(30000):
                    raise RuntimeError(f"{kernel_name}: no kernel_info_reply in 30 s")
                _, parts = session.feed_identities(sock.recv_multipart())
                reply = session.deserialize(parts)
                if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                    break
            samples.append(time.perf_counter() - t0)
        finally:
            sock.close()
            km.shutdown_kernel(now=True)
            km.cleanup_resources()
    return statistics.median(samples)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--starts", type=int, default=10)
    args = ap.parse_args()
    spec_root = lens_kernelspec_dir()
    os.environ["JUPYTER_PATH"] = spec_root + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    try:
        rows = []
        for name, label in (("lens", "lens"), ("python3", "ipykernel")):
            med, p99 = rtt(name, args.iterations)
            start = start_time(name, args.starts)
            rows.append((label, med, p99, start))
    finally:
        shutil.rmtree(spec_root, ignore_errors=True)
    print(f"| kernel | kernel-rtt median (ms) | kernel-rtt p99 (ms) | kernel-start median (ms) |")
    print("| --- | ---: | ---: | ---: |")
    for label, med, p99, start in rows:
        print(f"| {label} | {med * 1e3:.3f} | {p99 * 1e3:.3f} | {start * 1e3:.1f} |")
    print(f"\n{args.iterations} executes of `x = 1` per kernel; {args.starts} starts per kernel.")


if __name__ == "__main__":
    main()
