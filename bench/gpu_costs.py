"""What a training cell costs on this device, measured: the numbers deeplimits.estimate assumes
until this has run on a GPU.

Per builder (cells.BUILDERS), the scale's largest cell by work per step, and by memory where
that is another cell: its model and train
settings as the pipeline builds them (plan.cells, cells.build), on random data of its dataset's
shape (the time of a step does not depend on the values; nothing is downloaded). For each:
- seconds per optimiser step, eager and by CUDA-graph replay (the pipeline's default on a GPU),
  from the difference of two runs of the engine (`warm` and `warm + steps` steps) after a first
  untimed one, so start-up, compilation and graph capture cancel;
- per layer (seconds per step / depth) and FLOP/s (costs.flops_per_step / seconds per step);
- the peak memory of the graph run (torch.cuda.max_memory_allocated) against costs.py's
  estimate for the same cell without its data (the random data here is one batch).
Writes one JSON record, <out>/gpu_costs.json (atomic); estimate.py reads it from
artifacts/gpu/gpu_costs.json once a GPU run is copied there.

    python bench/gpu_costs.py --out DIR                 # on a GPU: paper scale (a minute or two)
    python bench/gpu_costs.py --dry --out DIR           # a rehearsal on the CPU: smoke scale, seconds
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import platform
import time
from pathlib import Path

import torch

from deeplimits.cells import build
from deeplimits.config import load_config
from deeplimits.costs import MB, cell_cost, dataset_shape, flops_per_step
from deeplimits.engine import train
from deeplimits.experiments import experiment_of
from deeplimits.io import write_json
from deeplimits.plan import cells, experiment_settings, job_settings

RECORD = "gpu_costs.json"


def largest_cells(cfg: dict) -> list[tuple]:
    """Per builder, (builder, cell, job settings, FLOPs per step) of the cell with the most work
    per step, then of the one with the most memory (costs.py) where that is another cell."""
    rows = []
    for cell in cells(cfg):
        builder = experiment_of(cell.experiment).builder
        settings = job_settings(cell.experiment, experiment_settings(cfg, cell.experiment), cell.variant)
        flops = flops_per_step(builder, settings, cell.dataset, cell.depth, cfg["data"])
        memory = cell_cost(builder, settings, cell.dataset, cell.depth, cfg["data"]).memory_mb()
        rows.append((builder, cell, settings, flops, memory))
    chosen = []
    for builder in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == builder]
        for key in (3, 4):
            pick = max(mine, key=lambda r: r[key])[:4]
            if pick not in chosen:
                chosen.append(pick)
    return chosen


def random_data(builder: str, settings: dict, dataset: str, data_cfg: dict) -> dict:
    """One batch (GD: the whole training set) of random values shaped as the dataset's."""
    shape, classes, n_train, _ = dataset_shape(dataset, data_cfg)
    n = n_train if builder == "gd" else min(settings.get("batch_size") or n_train, n_train)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, *shape, generator=g)
    if builder in ("hz", "plain"):  # classification
        y = torch.randint(classes, (n,), generator=g)
    else:  # regression onto a vector of the input's size
        y = torch.randn(n, classes, generator=g)
    meta = {"x_shape": list(shape), "classes": list(range(classes))}
    return {"x_train": x, "y_train": y, "x_test": x[:1], "y_test": y[:1], "meta": meta}


def run_seconds(cell, settings, data, device, steps: int, graph: bool) -> float:
    """Wall time of `steps` optimiser steps of a freshly built cell (one step per epoch)."""
    model, ts, seeds = build(cell, settings, data, root_seed=0)
    ts = dataclasses.replace(ts, epochs=steps, eval_every=0, checkpoint_every=0, milestones=[],
                             stopping="none", progress=False, cuda_graph=graph, augment=False)
    _sync(device)
    t0 = time.perf_counter()
    train(model, data, ts, seeds=seeds, root_seed=0, label=cell.path, device=device)
    _sync(device)
    return time.perf_counter() - t0


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(builder: str, cell, settings: dict, flops: float, data_cfg: dict, device, warm: int, steps: int,
            repeats: int = 1) -> dict:
    data = random_data(builder, settings, cell.dataset, data_cfg)
    row = {"builder": builder, "cell": cell.path, "depth": cell.depth, "seeds": settings["seeds"],
           "batch": int(data["x_train"].shape[0]), "flops_per_step": flops}
    modes = [("eager", False)] + ([("graph", True)] if device.type == "cuda" else [])
    for mode, graph in modes:
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        run_seconds(cell, settings, data, device, warm, graph)  # compiles (numba, Triton) and warms caches
        # The least of `repeats` runs of each length: a shared CPU's noise only ever adds time.
        short = min(run_seconds(cell, settings, data, device, warm, graph) for _ in range(repeats))
        long = min(run_seconds(cell, settings, data, device, warm + steps, graph) for _ in range(repeats))
        per_step = max(long - short, 1e-9) / steps
        row[f"{mode}_s_per_step"] = per_step
        row[f"{mode}_ms_per_layer"] = 1e3 * per_step / cell.depth
        row[f"{mode}_flops_per_s"] = flops / per_step
        if device.type == "cuda":
            row[f"{mode}_peak_mb"] = torch.cuda.max_memory_allocated(device) / MB
    cost = cell_cost(builder, settings, cell.dataset, cell.depth, data_cfg)
    row["estimated_mb_without_data"] = cost.memory_mb() - cost.data_values * cost.bytes_per_value / MB
    # The pipeline's mode on this device: graph replay on a GPU, eager elsewhere.
    row["mode"] = "graph" if device.type == "cuda" else "eager"
    print(f"{builder:6s} {cell.path:45s} {row['mode']} {1e3 * row[row['mode'] + '_s_per_step']:9.2f} ms/step "
          f"{row[row['mode'] + '_flops_per_s']:.3g} FLOP/s"
          + (f"  peak {row['graph_peak_mb']:.0f} MiB (estimate {row['estimated_mb_without_data']:.0f})"
             if "graph_peak_mb" in row else ""), flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder of the record")
    p.add_argument("--dry", action="store_true", help="smoke scale on the CPU (a rehearsal)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per run (default 20; --dry 10)")
    args = p.parse_args()
    device = torch.device("cpu" if args.dry or not torch.cuda.is_available() else "cuda")
    scale = "smoke" if args.dry else "paper"
    cfg = load_config(overrides={"scale": scale})
    steps = args.steps or (10 if args.dry else 20)
    meta = {"scale": scale, "device": torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or platform.machine(), "torch": torch.__version__,
            "python": platform.python_version(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "steps": steps}
    rows = []
    for builder, cell, settings, flops in largest_cells(cfg):
        try:
            rows.append(measure(builder, cell, settings, flops, cfg["data"], device, warm=2, steps=steps,
                                repeats=1 if device.type == "cuda" else 3))
        except torch.cuda.OutOfMemoryError as err:  # a finding: the record says which cell did not fit
            print(f"{builder:6s} {cell.path:45s} out of GPU memory: {str(err).splitlines()[0]}", flush=True)
            rows.append({"builder": builder, "cell": cell.path, "depth": cell.depth, "error": "out of memory",
                         "estimated_mb": cell_cost(builder, settings, cell.dataset, cell.depth, cfg["data"]).memory_mb()})
            torch.cuda.empty_cache()
        # Written after every cell: a step stopped at its time limit keeps what it measured. The
        # throughput per builder is its largest-work cell's (the first measured).
        flops_per_s = {}
        for r in rows:
            if "mode" in r:
                flops_per_s.setdefault(r["builder"], r[f"{r['mode']}_flops_per_s"])
        record = {**meta, "cells": rows, "flops_per_s": flops_per_s}
        path = Path(args.out) / RECORD
        write_json(path, record)  # atomic
    assert all(math.isfinite(v) for v in record["flops_per_s"].values())
    print(f"gpu_costs: {path}")


if __name__ == "__main__":
    main()
