#!/usr/bin/env python3
"""TL/lens ratios from alternating rounds (bench/run.sh): each round's folder
holds lens.N (lens-bench's table) and tl.N (transformerlens_bench.py's table).
Prints, per workload, the median over rounds of each side's median and the
ratio TransformerLens / lens (above 1: lens is faster).

Usage: python3 bench/compare_transformerlens.py ROUNDS_DIR
"""
import glob
import os
import re
import statistics
import sys

# lens-bench row name -> transformerlens_bench.py row name
PAIRS = [("seed forward", "seed forward"), ("seed run_with_cache", "seed run_with_cache"),
         ("seed run_with_cache, all logits", "seed run_with_cache"),
         # lens's attribution patching against TransformerLens's exact loop (transformerlens_patch_bench.py)
         ("attribution resid_pre", "exact resid_pre loop"), ("attribution z by head", "exact z by head loop")]


def medians(path):
    """{workload: median ms} from a markdown table (lens's has a backend column)."""
    rows = {}
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 2 or not cells[0] or cells[0] in ("workload", "---"):
                continue
            values = [c for c in cells[1:] if re.fullmatch(r"[0-9.]+", c)]
            if values:
                rows[cells[0]] = float(values[0])
    return rows


def main():
    d = sys.argv[1]
    def rounds(side):
        return [medians(p) for p in sorted(glob.glob(os.path.join(d, side + ".*")))
                if re.fullmatch(side + r"\.[0-9]+", os.path.basename(p))]
    lens_runs, tl_runs = rounds("lens"), rounds("tl")
    print(f"TransformerLens against lens, {len(tl_runs)} alternating rounds (median of the rounds' medians)")
    print("| workload | lens ms | TransformerLens ms | TL / lens |")
    print("| --- | ---: | ---: | ---: |")
    for lens_name, tl_name in PAIRS:
        a = [r[lens_name] for r in lens_runs if lens_name in r]
        b = [r[tl_name] for r in tl_runs if tl_name in r]
        if a and b:
            la, tb = statistics.median(a), statistics.median(b)
            print(f"| {lens_name} | {la:.1f} | {tb:.1f} | {tb / la:.2f} |")


if __name__ == "__main__":
    main()
