#!/usr/bin/env python3
"""The same CPU workloads in TransformerLens, for a same-machine comparison.

`make bench` runs it, alternating with lens's workloads, when TL_PYTHON (default
.venv-tl/bin/python) imports torch and transformer_lens (about 4 GB, which the test venv
does not carry). Usage, in a venv with transformer_lens installed:
    python bench/transformerlens_bench.py [--model DIR] [--threads 2] [--runs 5]
                                          [--only WORD] [--sweep [--sweep-cells N]] [--long] [--peak]
--model DIR loads the Hugging Face directory lens loads (config.json, model.safetensors,
vocab.json, merges.txt) as HookedTransformer.from_pretrained does: transformers reads the
weights, convert_gpt2_weights renames them, load_and_process_state_dict processes them
with lens's default flags (fold_ln, center_writing_weights, center_unembed,
fold_value_biases). Without it: a randomly initialised HookedTransformer in GPT-2-small
shapes (speed does not depend on the values) and random tokens, so no seed-pipeline.
Rows, float32 on the CPU: the seed batch (100 x 11 tokens) forward and run_with_cache
(every hook); seed-pipeline (tokenize the 100 prompts, run_with_cache, logit lens,
per-layer and per-head attribution, as the seed notebook does); with --sweep the
resid_pre patching sweep as the TransformerLens tutorial runs it (one forward with a hook
per layer x position cell, the normalized logit difference read from each; --sweep-cells N
times the first N cells and gives the sweep as 132 x their mean); with --long
8 x 1024 tokens. --only WORD runs the rows whose names contain it.
--peak instead measures this process's peak resident memory (VmHWM, which counts the
torch libraries, the model's weights, the activation cache, the logits and what is
freed again) after one seed run_with_cache whose results are kept, then after a second
one while the first's results are still alive (a re-run notebook cell). Prints a
markdown table.
"""
import argparse
import json
import os
import statistics
import time

import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig

TEMPLATES = ["So {} is a really great friend, isn't", "So {} is such a good cook, isn't",
             "So {} is a very good athlete, isn't", "So {} is a really nice person, isn't",
             "So {} is such a funny person, isn't"]
NAMES = ["John", "David", "Mark", "Paul", "Ryan", "Gary", "Jack", "Sean", "Carl", "Joe",
         "Mary", "Lisa", "Anna", "Sarah", "Amy", "Carol", "Karen", "Susan", "Julie", "Judy"]


def seed_prompts(swap=False):
    """The seed's 100 prompts (the order lens's bench uses); swap: the corrupted ones."""
    return [TEMPLATES[t].format(NAMES[(n + 10) % 20 if swap else n]) for n in range(20) for t in range(5)]


def memory_mib():
    """(VmRSS, VmHWM) of this process in MiB."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def timed(fn, runs, warm_up=True):
    if warm_up:
        fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts), max(ts)


def random_model():
    cfg = HookedTransformerConfig(n_layers=12, d_model=768, n_ctx=1024, d_head=64, n_heads=12, d_mlp=3072,
                                  d_vocab=50257, act_fn="gelu_new", normalization_type="LNPre", seed=0)
    return HookedTransformer(cfg)


def load_model(directory):
    """A Hugging Face GPT-2 directory into a processed HookedTransformer, the way
    HookedTransformer.from_pretrained does it (without the hub)."""
    from transformers import GPT2LMHeadModel, GPT2TokenizerFast
    from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights
    with open(os.path.join(directory, "config.json")) as f:
        hf = json.load(f)
    d_model, n_heads = hf["n_embd"], hf["n_head"]
    cfg = HookedTransformerConfig(n_layers=hf["n_layer"], d_model=d_model, n_ctx=hf.get("n_positions", 1024),
                                  d_head=d_model // n_heads, n_heads=n_heads,
                                  d_mlp=hf.get("n_inner") or 4 * d_model, d_vocab=hf.get("vocab_size", 50257),
                                  act_fn=hf.get("activation_function", "gelu_new"), normalization_type="LN",
                                  eps=hf.get("layer_norm_epsilon", 1e-5), original_architecture="GPT2LMHeadModel",
                                  default_prepend_bos=True)
    tokenizer = GPT2TokenizerFast.from_pretrained(directory)
    hf_model = GPT2LMHeadModel.from_pretrained(directory, dtype=torch.float32)
    state_dict = convert_gpt2_weights(hf_model, cfg)
    del hf_model
    model = HookedTransformer(cfg, tokenizer=tokenizer)
    model.load_and_process_state_dict(state_dict, fold_ln=True, center_writing_weights=True, center_unembed=True,
                                      fold_value_biases=True, refactor_factored_attn_matrices=False)
    del state_dict
    return model


def seed_tokens(model, loaded):
    if loaded:
        return model.to_tokens(seed_prompts()), model.to_tokens(seed_prompts(swap=True))
    g = torch.Generator().manual_seed(0)
    return (torch.randint(0, model.cfg.d_vocab, (100, 11), generator=g),
            torch.randint(0, model.cfg.d_vocab, (100, 11), generator=g))


def answer_tokens(model):
    he, she = model.to_single_token(" he"), model.to_single_token(" she")
    return torch.tensor([[he, she] if i < 50 else [she, he] for i in range(100)])


def logit_diff(logits, answers):
    last = logits[:, -1, :]
    return (last.gather(-1, answers[:, :1]) - last.gather(-1, answers[:, 1:])).mean()


def seed_pipeline(model, answers):
    """The numbers behind the seed notebook's three plots."""
    tokens = model.to_tokens(seed_prompts())
    logits, cache = model.run_with_cache(tokens)
    directions = model.tokens_to_residual_directions(answers)
    diff_directions = directions[:, 0] - directions[:, 1]

    def to_logit_diff(stack):
        scaled = cache.apply_ln_to_stack(stack, layer=-1, pos_slice=-1)
        return torch.einsum("...bd,bd->...", scaled, diff_directions) / len(tokens)

    out = [to_logit_diff(cache.accumulated_resid(layer=-1, incl_mid=True, pos_slice=-1)),
           to_logit_diff(cache.decompose_resid(layer=-1, pos_slice=-1)),
           to_logit_diff(cache.stack_head_results(layer=-1, pos_slice=-1))]
    return logits, out


def resid_pre_sweep(model, clean, corrupted, answers, cells=None):
    """The tutorial's activation-patching loop: one forward per (layer, position).
    cells: only the first that many cells (layer by layer), timed; returns the
    seconds per cell (each cell is one whole forward pass whatever its layer)."""
    _, clean_cache = model.run_with_cache(clean)
    clean_diff = logit_diff(model(clean), answers)
    corrupted_diff = logit_diff(model(corrupted), answers)
    out = torch.zeros(model.cfg.n_layers, clean.shape[1])
    total = model.cfg.n_layers * clean.shape[1]
    todo = total if cells is None else min(cells, total)
    t0 = time.perf_counter()
    for cell in range(todo):
        layer, pos = divmod(cell, clean.shape[1])

        def patch(resid, hook, pos=pos):
            resid[:, pos, :] = clean_cache[hook.name][:, pos, :]
            return resid
        patched = model.run_with_hooks(corrupted, fwd_hooks=[(f"blocks.{layer}.hook_resid_pre", patch)])
        out[layer, pos] = (logit_diff(patched, answers) - corrupted_diff) / (clean_diff - corrupted_diff)
    return (time.perf_counter() - t0) / todo, todo, total


def peak(model_dir):
    """Peak memory of a fresh process: load, one seed run_with_cache kept, a re-run."""
    model = load_model(model_dir) if model_dir else random_model()
    model.eval()
    tokens, _ = seed_tokens(model, bool(model_dir))
    after_load = memory_mib()
    logits, cache = model.run_with_cache(tokens)
    one_run = memory_mib()
    cache_mib = sum(v.numel() * v.element_size() for v in cache.values()) / 2**20
    logits2, cache2 = model.run_with_cache(tokens)   # the first results are still alive
    logits, cache = logits2, cache2
    rerun = memory_mib()
    source = "the bench model, loaded and processed" if model_dir else "random init"
    print(f"TransformerLens peak memory, torch {torch.__version__}, {source}")
    print("| measure | MiB |")
    print("| --- | ---: |")
    print(f"| peak memory, seed run_with_cache | {one_run[1]:.0f} |")
    print(f"| peak memory, seed run_with_cache, re-run cell | {rerun[1]:.0f} |")
    print(f"| resident after the load | {after_load[0]:.0f} |")
    print(f"| activation cache | {cache_mib:.0f} |")
    print(f"| logits | {logits.numel() * logits.element_size() / 2**20:.0f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="a Hugging Face GPT-2 directory (the one lens loads)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--sweep-cells", type=int, help="time only the first N cells of the sweep")
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--peak", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    if a.peak:
        peak(a.model)
        return
    model = load_model(a.model) if a.model else random_model()
    model.eval()
    loaded = bool(a.model)
    seed, corrupted = seed_tokens(model, loaded)
    rows = []

    def want(name):
        return a.only in name

    if want("seed forward"):
        rows.append(("seed forward", timed(lambda: model(seed), a.runs)))
    if want("seed run_with_cache"):
        rows.append(("seed run_with_cache", timed(lambda: model.run_with_cache(seed), a.runs)))
    if loaded and want("seed-pipeline"):
        answers = answer_tokens(model)
        rows.append(("seed-pipeline", timed(lambda: seed_pipeline(model, answers), a.runs)))
    notes = []
    if loaded and a.sweep and want("patch resid_pre sweep"):
        answers = answer_tokens(model)
        per_cell, done, total = resid_pre_sweep(model, seed, corrupted, answers, a.sweep_cells)
        sweep = per_cell * total
        rows.append(("patch resid_pre sweep", (sweep, sweep, sweep)))
        rows.append(("patch per cell", (per_cell, per_cell, per_cell)))
        if done < total:
            notes.append(f"patch resid_pre sweep: {done} of {total} cells timed, the sweep is {total} x their mean "
                         "(each cell is one whole forward pass)")
    if a.long and want("long run_with_cache"):
        g = torch.Generator().manual_seed(1)
        long = torch.randint(0, model.cfg.d_vocab, (8, 1024), generator=g)
        rows.append(("long run_with_cache", timed(lambda: model.run_with_cache(long), 1, False)))
    print(f"TransformerLens, torch {torch.__version__}, {a.threads} threads")
    print("| workload | median ms | min ms | max ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, (med, lo, hi) in rows:
        print(f"| {name} | {med * 1e3:.1f} | {lo * 1e3:.1f} | {hi * 1e3:.1f} |")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
