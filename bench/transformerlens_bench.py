#!/usr/bin/env python3
"""The same CPU workloads in TransformerLens, for a same-machine comparison.

`make bench` runs it, alternating with lens's seed workloads, when TL_PYTHON (default
.venv-tl/bin/python) imports torch and transformer_lens (about 4 GB, which the test venv
does not carry). Usage, in a venv with transformer_lens installed:
    python bench/transformerlens_bench.py [--threads 2] [--runs 5] [--long]
Random weights in GPT-2-small shapes (speed does not depend on the values), float32,
the seed batch (100 x 11 tokens) with forward only and with run_with_cache (every hook),
optionally the long workload (8 x 1024, run_with_cache). Prints a markdown table.
"""
import argparse
import statistics
import time

import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig


def timed(fn, runs):
    fn()  # warm-up
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts), max(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--long", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    cfg = HookedTransformerConfig(n_layers=12, d_model=768, n_ctx=1024, d_head=64, n_heads=12, d_mlp=3072,
                                  d_vocab=50257, act_fn="gelu_new", normalization_type="LNPre", seed=0)
    model = HookedTransformer(cfg)
    model.eval()
    g = torch.Generator().manual_seed(0)
    seed = torch.randint(0, 50257, (100, 11), generator=g)
    rows = [("seed forward", timed(lambda: model(seed), a.runs)),
            ("seed run_with_cache", timed(lambda: model.run_with_cache(seed), a.runs))]
    if a.long:
        long = torch.randint(0, 50257, (8, 1024), generator=g)
        rows.append(("long run_with_cache", timed(lambda: model.run_with_cache(long), 1)))
    print(f"TransformerLens, torch {torch.__version__}, {a.threads} threads")
    print("| workload | median ms | min ms | max ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, (med, lo, hi) in rows:
        print(f"| {name} | {med * 1e3:.1f} | {lo * 1e3:.1f} | {hi * 1e3:.1f} |")


if __name__ == "__main__":
    main()
