"""Training throughput: the obvious eager PyTorch loop against the deeplimits engine.

Both train the same work: residual nets h <- h + delta * tanh(A h) on regression data,
Adam, the same number of optimiser steps per seed. (a) is one nn.Module per seed,
trained one after the other; (b) is the engine: all seeds stacked in one ResidualMLP
(batched matmuls, or the fused numba stack on a CPU where layers are narrow), trained by
deeplimits.engine.train. Prints samples/s of both and their ratio per case; the last
line is `min_ratio=<x> geomean_ratio=<y>`. Both run with the engine's allocator setting
(engine/memory.py), which is process-wide.

    python bench/train_throughput.py            # all cases (several minutes on 2 cores)
    python bench/train_throughput.py --quick    # 1-2 minutes
    python bench/train_throughput.py --dry      # one tiny case, seconds (a rehearsal of the script)

Each run but --dry writes its record, bench/results/train_throughput.json (`--record DIR`
elsewhere), which `python -m deeplimits docs` renders into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import torch
from torch import nn

from deeplimits.benchmarks import write_bench_record
from deeplimits.engine import TrainSettings, train
from deeplimits.engine.memory import keep_freed_memory
from deeplimits.models import ResidualMLP
from deeplimits.seeding import torch_generator

# (width d, depth L, seeds, batch size or None for full batch, samples, delta mode)
CASES = [
    (64, 8, 16, 256, 1024, "inv_sqrt"),
    (64, 64, 16, 256, 1024, "inv_sqrt"),
    (64, 512, 8, 256, 1024, "inv_sqrt"),
    (64, 64, 8, None, 1024, "inv_sqrt"),
    (10, 1000, 4, 50, 200, "shared"),
    (10, 9100, 2, 50, 100, "shared"),
]
DRY_CASES = [(8, 4, 2, 16, 32, "shared")]
# Seeds per (d, L) on a GPU where they differ: the GPU target is set at 16 seeds.
GPU_SEEDS = {(64, 512): 16}


class EagerResNet(nn.Module):
    """The obvious model: one Linear per layer, a Python loop over layers."""

    def __init__(self, d: int, depth: int, delta_mode: str):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(d, d, bias=False) for _ in range(depth))
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=(d * depth) ** -0.5)
        init = 1.0 / depth if delta_mode == "shared" else depth**-0.5
        self.delta = nn.Parameter(torch.tensor(init), requires_grad=delta_mode == "shared")

    def forward(self, h):
        for layer in self.layers:
            h = h + self.delta * torch.tanh(layer(h))
        return h


def eager_run(d, depth, seeds, batch, x, y, steps, delta_mode, device):
    start = time.perf_counter()
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = EagerResNet(d, depth, delta_mode).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        n = x.shape[0]
        for _ in range(steps):
            idx = torch.randint(0, n, (batch,), device=device) if batch < n else slice(None)
            loss = 0.5 * (model(x[idx]) - y[idx]).pow(2).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    _sync(device)
    return time.perf_counter() - start


def engine_run(d, depth, seeds, batch, x, y, steps, delta_mode, device, fused="auto"):
    gens = [torch_generator(0, "bench", s) for s in range(seeds)]
    model = ResidualMLP(gens, dim=d, depth=depth, activation="tanh", delta=delta_mode,
                        trainable=("A", "delta"), init_std=1.0, fused=fused)
    n = x.shape[0]
    per_epoch = math.ceil(n / batch)
    settings = TrainSettings(epochs=max(1, steps // per_epoch), batch_size=batch if batch < n else None,
                             optimizer="adam", lr=1e-3, loss="half_sum", eval_every=0, progress=False)
    data = {"x_train": x, "y_train": y, "x_test": x[:0], "y_test": y[:0]}
    start = time.perf_counter()
    result = train(model, data, settings, seeds=list(range(seeds)), root_seed=0, label="bench", device=device)
    _sync(device)
    return time.perf_counter() - start, result.steps


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def engine_flops(d, depth, seeds, batch, steps) -> float:
    """Multiply-adds of the stack's matrix products: forward (h A^T) and backward (gz^T h, gz A)."""
    return 3 * 2 * batch * d * d * depth * seeds * steps


def matmul_tflops(device, n=4096, dtype=torch.float32) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    reps = 3 if device.type == "cpu" else 20
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, no L = 9100 case")
    parser.add_argument("--dry", action="store_true", help="one tiny case, to rehearse the script")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--record", default=None, help="folder of the JSON record (default bench/results; none with --dry)")
    args = parser.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    torch.manual_seed(0)
    # The engine's train() sets this anyway; set here first, so that both loops run with
    # the same allocator from their first step.
    kept = keep_freed_memory()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    peak = matmul_tflops(device, n=256 if args.dry else 4096)
    print(f"# {time.strftime('%Y-%m-%d')} {name}, torch {torch.__version__}, device {device}, "
          f"{torch.get_num_threads()} threads; freed memory kept (both loops): {kept}; "
          f"large float32 matmul: {peak:.3f} TFLOP/s")
    print(f"{'d':>4} {'L':>5} {'seeds':>5} {'batch':>6}  {'eager samples/s':>16} {'engine samples/s':>17} {'ratio':>7}"
          f" {'engine TFLOP/s':>15} {'of matmul':>10}")
    ratios, rows = [], []
    for d, depth, seeds, batch, n, delta in DRY_CASES if args.dry else CASES:
        if args.quick and depth > 1000:
            continue
        if device.type == "cuda":
            seeds = GPU_SEEDS.get((d, depth), seeds)
        batch_size = batch or n
        steps = 8 if not args.quick else 4
        if depth >= 1000:
            steps = 4 if not args.quick else 2
        x = torch.randn(n, d, device=device) / math.sqrt(d)
        y = torch.randn(n, d, device=device) / math.sqrt(d)
        # Warm-up outside the timings, at the real depth, batch and seed count: numba loads
        # (or compiles) the serial or the parallel driver the timed run takes, and Triton
        # specialises its kernels on the depth and batch. The eager loop warms up too: its
        # first torch.optim step imports torch._dynamo (about 0.9 s, once per process).
        engine_run(d, depth, seeds, batch_size, x, y, 1, delta, device)
        eager_run(d, depth, 1, batch_size, x, y, 1, delta, device)
        t_eager = eager_run(d, depth, seeds, batch_size, x, y, steps, delta, device)
        t_engine, engine_steps = engine_run(d, depth, seeds, batch_size, x, y, steps, delta, device)
        eager_sps = seeds * batch_size * steps / t_eager
        engine_sps = seeds * batch_size * engine_steps / t_engine
        ratio = engine_sps / eager_sps
        ratios.append(ratio)
        tflops = engine_flops(d, depth, seeds, batch_size, engine_steps) / t_engine / 1e12
        rows.append([d, depth, seeds, batch or "full", round(eager_sps), round(engine_sps), round(ratio, 2),
                     round(tflops, 4), f"{tflops / peak:.2%}"])
        print(f"{d:>4} {depth:>5} {seeds:>5} {batch if batch else 'full':>6}  {eager_sps:>16.0f} {engine_sps:>17.0f} {ratio:>7.2f}"
              f" {tflops:>15.4f} {tflops / peak:>10.2%}", flush=True)
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"min_ratio={min(ratios):.2f} geomean_ratio={geo:.2f}")
    if args.record or not args.dry:
        columns = ["d", "L", "seeds", "batch", "eager samples/s", "engine samples/s", "ratio", "engine TFLOP/s",
                   "of matmul"]
        summary = {"min_ratio": round(min(ratios), 2), "geomean_ratio": round(geo, 2),
                   "matmul_tflops": round(peak, 3)}
        path = write_bench_record("train_throughput", columns, rows, summary, device=name,
                                  options=[o for o in ("--quick" if args.quick else "",
                                                       "--dry" if args.dry else "") if o],
                                  out_dir=args.record)
        print(f"record: {path}")


if __name__ == "__main__":
    main()
