#!/usr/bin/env python3
"""TransformerLens's exact activation-patching loop on the seed batch, for the
attribution-patching rows of `make bench` (bench/run.sh alternates it with lens).

The loop is written as TransformerLens's attribution-patching demo writes its exact
baseline: one run_with_hooks per cell, the hook overwriting the corrupted run's
activation with the clean cache's, then the normalised logit difference. Two maps:
resid_pre by position (12 layers x 11 positions) and z by head (12 x 12, every
position of the head). Usage, in a venv with transformer_lens installed:
    python bench/transformerlens_patch_bench.py [--threads 2] [--cells 24]
--cells N times only the first N cells of each map and reports the whole map's time
as N cells' time scaled to every cell (the row says so); 0 times every cell. The cpu
column is the process's CPU time (all threads), steadier than wall time on a loaded machine.
Random weights in GPT-2-small shapes and random tokens (speed depends on neither).
"""
import argparse
import time

import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cells", type=int, default=24)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    cfg = HookedTransformerConfig(n_layers=12, d_model=768, n_ctx=1024, d_head=64, n_heads=12, d_mlp=3072,
                                  d_vocab=50257, act_fn="gelu_new", normalization_type="LNPre", seed=0)
    model = HookedTransformer(cfg)
    model.eval()
    g = torch.Generator().manual_seed(0)
    clean = torch.randint(0, 50257, (100, 11), generator=g)
    corrupted = torch.randint(0, 50257, (100, 11), generator=g)
    answers = torch.randint(0, 50257, (100, 2), generator=g)
    rows = torch.arange(100)

    def logit_diff(logits):
        last = logits[:, -1]
        return (last[rows, answers[:, 0]] - last[rows, answers[:, 1]]).mean()

    clean_logits, clean_cache = model.run_with_cache(clean)
    clean_ld, corrupted_ld = logit_diff(clean_logits), logit_diff(model(corrupted))

    def metric(logits):
        return (logit_diff(logits) - corrupted_ld) / (clean_ld - corrupted_ld)

    def resid_pre_cell(layer, pos):
        name = f"blocks.{layer}.hook_resid_pre"

        def hook(act, hook):
            act[:, pos] = clean_cache[name][:, pos]
            return act
        return metric(model.run_with_hooks(corrupted, fwd_hooks=[(name, hook)])).item()

    def z_cell(layer, head):
        name = f"blocks.{layer}.attn.hook_z"

        def hook(act, hook):
            act[:, :, head] = clean_cache[name][:, :, head]
            return act
        return metric(model.run_with_hooks(corrupted, fwd_hooks=[(name, hook)])).item()

    maps = [("exact resid_pre loop", resid_pre_cell, [(l, p) for l in range(12) for p in range(11)]),
            ("exact z by head loop", z_cell, [(l, h) for l in range(12) for h in range(12)])]
    print(f"TransformerLens exact patching loops, torch {torch.__version__}, {a.threads} threads")
    print("| workload | median ms | cpu ms | cells timed | cells |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, cell, cells in maps:
        cell(*cells[0])  # warm-up
        timed = cells if a.cells <= 0 else cells[:a.cells]
        t0, c0 = time.perf_counter(), time.process_time()
        for c in timed:
            cell(*c)
        scale = len(cells) / len(timed)
        total, cpu = (time.perf_counter() - t0) * scale, (time.process_time() - c0) * scale
        print(f"| {name} | {total * 1e3:.1f} | {cpu * 1e3:.1f} | {len(timed)} | {len(cells)} |")


if __name__ == "__main__":
    main()
