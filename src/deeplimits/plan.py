"""What the pipeline trains for a resolved config: its training cells and their settings.

The Snakefile asks this module for its targets, so the DAG and the package agree on
paths, and the plan is testable without Snakemake.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """One training job: every seed of (experiment, dataset, variant, depth)."""

    experiment: str
    dataset: str
    variant: str
    depth: int

    @property
    def path(self) -> str:
        return f"{self.experiment}/{self.dataset}/{self.variant}/L{self.depth}"


def alpha_variant(alpha: float) -> str:
    return f"a{float(alpha):g}"


def parse_alpha(variant: str) -> float:
    if not variant.startswith("a"):
        raise ValueError(f"not an alpha variant: {variant!r}")
    return float(variant[1:])


def cells(cfg: dict, experiment: str | None = None) -> list[Cell]:
    exps = cfg["experiments"]
    out: list[Cell] = []
    if "hz2" in exps:
        e = exps["hz2"]
        out.append(Cell("hz2", e["dataset"], alpha_variant(e["alpha"]), e["depth"]))
    if "hz4" in exps:
        e = exps["hz4"]
        out += [Cell("hz4", e["dataset"], alpha_variant(a), d) for a in e["alphas"] for d in e["depths"]]
    if "xz4" in exps:
        e = exps["xz4"]
        out += [Cell("xz4", e["dataset"], init, d) for init in e["inits"] for d in e["depths"]]
    if "crx1" in exps:
        out += [Cell("crx1", "near_orthogonal", "gd", d) for d in exps["crx1"]["depths"]]
    if "crx4" in exps:
        e = exps["crx4"]
        out += [Cell("crx4", ds, model, d) for ds in e["datasets"] for model in e["models"]
                for d in crx4_depths(e)]
    if "crx3" in exps:
        e = exps["crx3"]
        out += [Cell("crx3", "near_orthogonal", init, d) for init in e["inits"] for d in e["depths"]]
    return [c for c in out if experiment is None or c.experiment == experiment]


def crx4_depths(settings: dict) -> list[int]:
    """The companion paper's grid floor(1.2^n) within [3, max_depth], every `depth_stride`-th n."""
    depths, n = [], 0
    while int(1.2**n) <= settings["max_depth"]:
        d = int(1.2**n)
        if d >= 3 and (not depths or d != depths[-1]):
            depths.append(d)
        n += 1
    return depths[:: settings["depth_stride"]]








def experiment_settings(cfg: dict, experiment: str) -> dict:
    """The settings that determine an experiment's results (what Snakemake watches)."""
    return {"seed": cfg["seed"], "scale": cfg["scale"], **cfg["experiments"][experiment]}


# The settings one job of an experiment computes from: a training cell, or one HZ.1 alpha.
# The grid (depths, inits, alphas, datasets), the root seed, the scale and the judging keys are
# left out, so that growing a grid or changing a tolerance reruns no finished job and keeps
# the checkpoints of unfinished ones. The seed count stays: seeds are stacked in one model.
_HZ_CELL = ("width", "branch_layers", "block", "epochs", "batch_size", "lr", "milestones", "augment")
_CRX_GD_CELL = ("dtype", "init_std", "steps", "lr")
JOB_KEYS = {
    "hz1": ("depth", "dtype"),
    "hz2": _HZ_CELL,
    "hz4": _HZ_CELL,
    "xz4": ("width", "alpha", "epochs", "batch_size", "lr"),
    "crx1": _CRX_GD_CELL,
    "crx3": _CRX_GD_CELL,
    "crx4": ("s0", "epochs", "batch_size", "lr", "loss_threshold"),
}
_EVERY_JOB = ("seeds", "checkpoint_every")


def job_keys(experiment: str) -> tuple[str, ...]:
    return (*JOB_KEYS[experiment], *_EVERY_JOB)


def job_settings(experiment: str, settings: dict) -> dict:
    """The part of an experiment's settings that one of its jobs computes from (see JOB_KEYS)."""
    return {k: settings[k] for k in job_keys(experiment) if k in settings}
