"""One object per experiment (a key of `experiments:` in config.yaml): the cells it trains,
the settings one of its jobs computes from, and which model builder makes a cell's model.

A cell is one training job: every seed of (experiment, dataset, variant, depth). An
experiment without cells (hz1: its jobs are one per alpha) still names its job keys.
`job_keys` leave the grid (depths, inits, alphas, datasets), the root seed, the scale and
the judging keys out, so that growing a grid or changing a tolerance reruns no finished job
and keeps the checkpoints of unfinished ones. The seed count stays: seeds are stacked in
one model. The builders live in cells.py (they import torch; this module does not, so the
DAG is planned without it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def alpha_variant(alpha: float) -> str:
    return f"a{float(alpha):g}"


def lr_variant(init: str, lr: float) -> str:
    """XZ.4's cell variant: an initialisation trained at one of the learning rates it chooses from."""
    return f"{init}_lr{float(lr):g}"


def parse_lr_variant(variant: str) -> tuple[str, float]:
    init, sep, lr = variant.rpartition("_lr")
    if not sep:
        raise ValueError(f"not an init_lr variant: {variant!r}")
    return init, float(lr)


def crx4_depths(settings: dict) -> list[int]:
    """The companion paper's grid floor(1.2^n) within [3, max_depth], every `depth_stride`-th n."""
    depths, n = [], 0
    while int(1.2**n) <= settings["max_depth"]:
        d = int(1.2**n)
        if d >= 3 and (not depths or d != depths[-1]):
            depths.append(d)
        n += 1
    return depths[:: settings["depth_stride"]]


@dataclass(frozen=True)
class Experiment:
    key: str
    job_keys: tuple[str, ...]
    # settings -> [(dataset, variant, depth)], in training order; None: no training cells.
    grid: Callable[[dict], list[tuple[str, str, int]]] | None = None
    builder: str = ""                # cells.BUILDERS key: how a cell's model is built

    def cells(self, settings: dict) -> list[tuple[str, str, int]]:
        return self.grid(settings) if self.grid else []


_HZ_CELL = ("width", "branch_layers", "block", "epochs", "batch_size", "lr", "milestones", "augment")
_GD_CELL = ("dtype", "init_std", "steps", "lr")
# Every job of every experiment computes from these too.
EVERY_JOB = ("seeds", "checkpoint_every")

EXPERIMENTS = {e.key: e for e in [
    Experiment("hz1", ("depth", "dtype", "networks")),
    Experiment("hz2", _HZ_CELL, lambda e: [(e["dataset"], alpha_variant(e["alpha"]), e["depth"])], "hz"),
    Experiment("hz4", _HZ_CELL, lambda e: [(e["dataset"], alpha_variant(a), d) for a in e["alphas"]
                                           for d in e["depths"]], "hz"),
    # XZ.3 / XZ.4: every init at each learning rate it chooses from (on the validation split).
    Experiment("xz34", ("width", "alpha", "epochs", "batch_size", "validation"),
               lambda e: [(e["dataset"], lr_variant(init, lr), d) for init in e["inits"] for lr in e["lrs"]
                          for d in e["depths"]], "plain"),
    # CRX.1: the treated arm on near-orthogonal data, the control on crowded data (n = 2 dim).
    Experiment("crx1", (*_GD_CELL, "targets"), lambda e: [("near_orthogonal", "gd", d) for d in e["depths"]]
               + [("crowded", "gd", d) for d in e["control_depths"]], "gd"),
    Experiment("crx3", _GD_CELL, lambda e: [("near_orthogonal", init, d) for init in e["inits"]
                                            for d in e["depths"]], "gd"),
    Experiment("crx4", ("init_method", "s0", "loss", "stopping", "loss_threshold", "patience", "min_improvement",
                        "batching", "epochs", "batch_size", "lr"),
               lambda e: [(ds, model, d) for ds in e["datasets"] for model in e["models"] for d in crx4_depths(e)],
               "crx4"),
]}


def experiment_of(key: str) -> Experiment:
    try:
        return EXPERIMENTS[key]
    except KeyError:
        raise KeyError(f"experiment {key!r} has no jobs of its own; those with: {', '.join(EXPERIMENTS)}") from None
