#!/usr/bin/env python3
"""lens against TransformerLens from alternating rounds (bench/run.sh): the folder
holds lens.N / tl.N (each round's tables: lens-bench or transformerlens_bench.py,
then the peak-memory table of each) and lens.sweepN / tl.sweepN (the patching sweep
rounds). Prints, per workload, the median over rounds of each side's value, the ratio
and the issue's target: for times TransformerLens / lens (above 1: lens is faster),
for memory lens / TransformerLens (below 1: lens uses less). Where the environment
pinned OpenBLAS's kernels (OPENBLAS_CORETYPE), lens-cpu-kernels.N hold lens's seed
rows with the kernels OpenBLAS picks for this CPU: printed after, labelled, against
the same TransformerLens rows (whose BLAS, MKL in torch, the variable does not pin).

Usage: python3 bench/compare_transformerlens.py ROUNDS_DIR
"""
import glob
import os
import re
import statistics
import sys

# (lens row, TransformerLens row, "time" or "memory", target text, target test on the ratio)
PAIRS = [
    ("seed forward", "seed forward", "time", "", None),
    ("seed run_with_cache", "seed run_with_cache", "time", "≥ 2", lambda r: r >= 2),
    ("seed run_with_cache, all logits", "seed run_with_cache", "time", "", None),
    ("seed-pipeline", "seed-pipeline", "time", "≥ 6", lambda r: r >= 6),
    ("patch resid_pre sweep", "patch resid_pre sweep", "time", "≥ 5", lambda r: r >= 5),
    ("peak memory, seed run_with_cache", "peak memory, seed run_with_cache", "memory", "≤ 0.5",
     lambda r: r <= 0.5),
    ("peak memory, seed run_with_cache, re-run cell", "peak memory, seed run_with_cache, re-run cell", "memory",
     "", None),
    # lens's attribution patching against TransformerLens's exact loop (transformerlens_patch_bench.py)
    ("attribution resid_pre", "exact resid_pre loop", "time", "≥ 50", lambda r: r >= 50),
    ("attribution z by head", "exact z by head loop", "time", "≥ 50", lambda r: r >= 50),
]


def values(path):
    """{row name: first number} from the markdown tables of a file (lens's time
    tables have a backend column before the median)."""
    rows = {}
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 2 or not cells[0] or cells[0] in ("workload", "measure", "---"):
                continue
            numbers = [c for c in cells[1:] if re.fullmatch(r"[0-9.]+", c)]
            if numbers:
                rows[cells[0]] = float(numbers[0])
    return rows


def print_rows(lens_runs, tl_runs, suffix):
    """One table row per PAIRS entry both sides measured; suffix labels the lens rows."""
    for lens_name, tl_name, kind, target, test in PAIRS:
        a = [r[lens_name] for r in lens_runs if lens_name in r]
        b = [r[tl_name] for r in tl_runs if tl_name in r]
        if not a or not b:
            continue
        la, tb = statistics.median(a), statistics.median(b)
        unit = "ms" if kind == "time" else "MiB"
        ratio = tb / la if kind == "time" else la / tb
        label = "TL / lens" if kind == "time" else "lens / TL"
        met = ("yes" if test(ratio) else "no") if test else ""
        print(f"| {lens_name}{suffix} | {la:.1f} {unit} | {tb:.1f} {unit} | {ratio:.2f} ({label}) | {target} | {met} |")


def main():
    d = sys.argv[1]

    def rounds(side):
        return [values(p) for p in sorted(glob.glob(os.path.join(d, side + ".*")))
                if re.fullmatch(side + r"\.(sweep)?[0-9]+", os.path.basename(p))]

    lens_runs, tl_runs, own_kernels = rounds("lens"), rounds("tl"), rounds("lens-cpu-kernels")
    print(f"TransformerLens against lens, alternating rounds (median of the rounds' values)")
    print("| workload | lens | TransformerLens | ratio | target | met? |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    pinned = os.environ.get("OPENBLAS_CORETYPE", "pinned")
    print_rows(lens_runs, tl_runs, "")
    print_rows(own_kernels, tl_runs, f" (OpenBLAS's kernels for this CPU, not {pinned})")

if __name__ == "__main__":
    main()
