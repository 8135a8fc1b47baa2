"""What the pipeline trains for a resolved config: its training cells and their settings.

The Snakefile asks this module for its targets, so the DAG and the package agree on
paths, and the plan is testable without Snakemake.
"""

from __future__ import annotations

from dataclasses import dataclass

from .experiments import EVERY_JOB, EXPERIMENTS, experiment_of

# The files of a cell folder (the train rule's outputs); the checkpoint stays beside them
# while training runs and is not an output, so an interrupted job resumes from it.
CELL_FILES = {"weights": "weights.pt", "metrics": "metrics.csv", "provenance": "provenance.json"}
CHECKPOINT = "checkpoint.pt"


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

    @property
    def base_variant(self) -> str:
        """The variant without a sensitivity run's `~<choice>=<value>` (what the model is)."""
        return base_variant(self.variant)


def base_variant(variant: str) -> str:
    return variant.split("~", 1)[0]


def parse_alpha(variant: str) -> float:
    if not variant.startswith("a"):
        raise ValueError(f"not an alpha variant: {variant!r}")
    return float(variant[1:])


def cells(cfg: dict, experiment: str | None = None) -> list[Cell]:
    """The training cells of a resolved config (of one experiment, when given)."""
    return [Cell(e.key, ds, variant, depth) for e in EXPERIMENTS.values()
            if e.key in cfg["experiments"] and experiment in (None, e.key)
            for ds, variant, depth in e.cells(cfg["experiments"][e.key])]


def experiment_settings(cfg: dict, experiment: str) -> dict:
    """The settings that determine an experiment's results (what Snakemake watches)."""
    return {"seed": cfg["seed"], "scale": cfg["scale"], **cfg["experiments"][experiment]}


def job_keys(experiment: str) -> tuple[str, ...]:
    """The settings one job of an experiment computes from (experiments.py)."""
    return (*experiment_of(experiment).job_keys, *EVERY_JOB)


def job_settings(experiment: str, settings: dict, variant: str = "") -> dict:
    """The part of an experiment's settings that one of its jobs computes from (experiments.py),
    with the one declared choice that a sensitivity variant changes."""
    keys = job_keys(experiment)
    chosen = {}
    if SENSITIVITY_MARK in variant:
        choice, value = sensitivity_choice(settings, variant)
        if choice not in keys:
            raise KeyError(f"experiments.{experiment}.sensitivity.{choice}: not a setting its jobs compute from "
                           f"({', '.join(keys)})")
        chosen = {choice: value}
    return {k: chosen.get(k, settings[k]) for k in keys if k in settings}


# ------------------------------------------------------------------ sensitivity
# A claim whose protocol has choices that no source fixes declares them in its experiment's
# `sensitivity` block ({choice: [values to try]}). Each value reruns the experiment once,
# from the main setting with that one choice changed (not a factorial), as ordinary cells
# whose variant is `<variant>~<choice>=<value>`; they train, resume and rerun like the others.
SENSITIVITY_MARK = "~"


def value_word(value) -> str:
    """A choice's value as it appears in a path: 1.0 -> '1', 1e-4 -> '0.0001', 'none' -> 'none'."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def sensitivity_runs(settings: dict) -> list[tuple[str, object]]:
    """(choice, value) of every declared sensitivity run, in the config's order."""
    return [(choice, value) for choice, values in (settings.get("sensitivity") or {}).items() for value in values]


def sensitivity_name(choice: str, value) -> str:
    return f"{choice}={value_word(value)}"


def with_choice(settings: dict, name: str) -> dict:
    """An experiment's settings with the one choice of sensitivity run `name` (`<choice>=<value>`)
    changed: what an analysis-only sensitivity run computes from."""
    choice, value = sensitivity_choice(settings, f"{SENSITIVITY_MARK}{name}")
    return dict(settings, **{choice: value})


def sensitivity_choice(settings: dict, variant: str) -> tuple[str, object]:
    """The (choice, value) that a variant `<base>~<choice>=<value>` declares, looked up in
    the config (so the value keeps its type), or a KeyError naming the variant."""
    name = variant.split(SENSITIVITY_MARK, 1)[1]
    for choice, value in sensitivity_runs(settings):
        if sensitivity_name(choice, value) == name:
            return choice, value
    raise KeyError(f"variant {variant!r}: {name!r} is not a declared sensitivity choice "
                   f"({', '.join(sensitivity_name(c, v) for c, v in sensitivity_runs(settings)) or 'none declared'})")


# The main setting over a smaller grid, for the runs that a `sensitivity_max_depth` limits:
# `main_to_<depth>`; each run is compared with the main setting over its own depths.
MAIN_TO = "main_to_"


def sensitivity_limit(settings: dict, name: str) -> float:
    """The largest depth of sensitivity run `name` (`sensitivity_max_depth`; none: the grid's)."""
    if name.startswith(MAIN_TO):
        return int(name.removeprefix(MAIN_TO))
    return (settings.get("sensitivity_max_depth") or {}).get(name, float("inf"))


def sensitivity_names(settings: dict) -> list[str]:
    """Every sensitivity run of an experiment, and a `main_to_<depth>` for each smaller grid."""
    names = [sensitivity_name(c, v) for c, v in sensitivity_runs(settings)]
    limits = sorted({int(sensitivity_limit(settings, n)) for n in names if sensitivity_limit(settings, n) < float("inf")})
    return names + [f"{MAIN_TO}{d}" for d in limits]


def sensitivity_cells(cfg: dict, experiment: str, name: str, dataset: str | None = None) -> list[Cell]:
    """The cells of one sensitivity run (`choice=value`): the main cells under another variant,
    up to the run's `sensitivity_max_depth`; `main_to_<depth>` names the main setting's own
    cells up to that depth."""
    settings = cfg["experiments"][experiment]
    top = sensitivity_limit(settings, name)
    mark = "" if name.startswith(MAIN_TO) else f"{SENSITIVITY_MARK}{name}"
    return [Cell(c.experiment, c.dataset, f"{c.variant}{mark}", c.depth)
            for c in cells(cfg, experiment) if dataset in (None, c.dataset) and c.depth <= top]
