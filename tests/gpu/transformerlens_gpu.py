#!/usr/bin/env python3
"""TransformerLens on the GPU, for tests/gpu/run.sh (only when it imports there).

Random GPT-2-small-shaped weights (speed does not depend on the values), float32,
the seed batch (100 x 11 tokens) with forward only and run_with_cache, and the long
workload (8 x 1024, run_with_cache), timed with CUDA events (median after a
warm-up), then the same with TF32 matrix products. Prints a markdown table.
"""
import argparse
import statistics

import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig


def timed(fn, runs):
    fn()  # warm-up: kernels chosen, memory pooled
    torch.cuda.synchronize()
    ts = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        ts.append(start.elapsed_time(end))
    return statistics.median(ts), min(ts), max(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    cfg = HookedTransformerConfig(n_layers=12, d_model=768, n_ctx=1024, d_head=64, n_heads=12, d_mlp=3072,
                                  d_vocab=50257, act_fn="gelu_new", normalization_type="LNPre", seed=0,
                                  device="cuda")
    model = HookedTransformer(cfg).eval()
    g = torch.Generator(device="cpu").manual_seed(0)
    seed = torch.randint(0, cfg.d_vocab, (100, 11), generator=g).cuda()
    long = torch.randint(0, cfg.d_vocab, (8, 1024), generator=g).cuda()
    print(f"TransformerLens on {torch.cuda.get_device_name(0)}, CUDA events, median of {a.runs}")
    print("| workload | precision | median ms | min ms | max ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    for precision in ("float32", "tf32"):
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        for name, fn, runs in (
            ("seed forward", lambda: model(seed), a.runs),
            ("seed run_with_cache", lambda: model.run_with_cache(seed), a.runs),
            ("long run_with_cache", lambda: model.run_with_cache(long), min(a.runs, 3)),
        ):
            med, lo, hi = timed(fn, runs)
            print(f"| {name} | {precision} | {med:.1f} | {lo:.1f} | {hi:.1f} |")
    torch.backends.cuda.matmul.allow_tf32 = False


if __name__ == "__main__":
    main()
