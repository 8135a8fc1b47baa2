"""Where the fused numba stack stops beating the batched-matmul stack on this CPU: the
measurement behind ResidualMLP's choice between them (models/residual.py, numba_wins).

For each width d and batch B: one training step's forward and backward (4 seeds, L = 64,
tanh, float32, torch's thread count), median of 5 after a warm-up, through each stack.
Prints both times, the speed ratio numba/bmm and the stack the rule picks; the last line
is `rule_picks_faster=<k>/<n> worst_slowdown=<x>`, x being the largest time ratio of the
rule's pick to the faster stack.

    python bench/cpu_crossover.py          # under a minute on 2 cores

It writes its record, bench/results/cpu_crossover.json, which `python -m deeplimits docs`
renders into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from deeplimits.benchmarks import write_bench_record
from deeplimits.engine.memory import keep_freed_memory
from deeplimits.models import ResidualMLP
from deeplimits.seeding import torch_generator

WIDTHS = (8, 16, 24, 32, 48, 64)
BATCHES = (16, 64, 256, 1024, 4096)
SEEDS, DEPTH, REPS = 4, 64, 5


def step_seconds(model: ResidualMLP, x: torch.Tensor) -> float:
    times = []
    for rep in range(REPS + 1):  # the first is the warm-up
        start = time.perf_counter()
        model(x).square().sum().backward()
        if rep:
            times.append(time.perf_counter() - start)
        model.A.grad = None
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", default=None, help="folder of the JSON record (default bench/results)")
    args = parser.parse_args()
    keep_freed_memory()  # as in training
    print(f"# {time.strftime('%Y-%m-%d')}, {torch.get_num_threads()} threads, {SEEDS} seeds, L = {DEPTH}")
    print(f"{'d':>4} {'B':>5} {'d x B':>7} {'numba ms':>9} {'bmm ms':>8} {'numba/bmm speed':>16} {'rule':>6}")
    slowdowns, rows = [], []
    for d in WIDTHS:
        model = ResidualMLP([torch_generator(0, "crossover", s) for s in range(SEEDS)], dim=d, depth=DEPTH,
                            activation="tanh", delta="inv_sqrt", trainable=("A",), init_std=1.0)
        for batch in BATCHES:
            x = torch.randn(SEEDS, batch, d) / d**0.5
            model.fused = "auto"
            rule = model.fused_backend(x)
            model.fused = True
            numba_s = step_seconds(model, x)
            model.fused = "bmm"
            bmm_s = step_seconds(model, x)
            picked = numba_s if rule == "numba" else bmm_s
            slowdowns.append(picked / min(numba_s, bmm_s))
            rows.append([d, batch, d * batch, round(numba_s * 1e3, 2), round(bmm_s * 1e3, 2),
                         round(bmm_s / numba_s, 2), rule])
            print(f"{d:>4} {batch:>5} {d * batch:>7} {numba_s * 1e3:>9.2f} {bmm_s * 1e3:>8.2f} "
                  f"{bmm_s / numba_s:>16.2f} {rule:>6}")
    faster = sum(s == 1.0 for s in slowdowns)
    print(f"rule_picks_faster={faster}/{len(slowdowns)} worst_slowdown={max(slowdowns):.2f}")
    columns = ["d", "B", "d x B", "numba ms", "bmm ms", "numba/bmm speed", "rule"]
    summary = {"rule_picks_faster": f"{faster}/{len(slowdowns)}", "worst_slowdown": round(max(slowdowns), 2),
               "seeds": SEEDS, "depth": DEPTH}
    path = write_bench_record("cpu_crossover", columns, rows, summary, device="cpu", options=[],
                              out_dir=args.record)
    print(f"record: {path}")


if __name__ == "__main__":
    main()
